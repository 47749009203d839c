"""Per-minute aggregates: the accumulator the monitor fills, and the SQLite history on the
user's machine (aggregates and the user's rules only, never images)."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import threading
import time
from typing import Dict, Iterable, List, Mapping, Optional

from .rules import Rules

COLUMNS = ("minute", "monitored_s", "screen_s", "fatigue_sum", "fatigue_s", "tension_sum", "tension_s",
           "attention_sum", "attention_s", "blinks", "eye_closures", "yawns", "look_aways", "breaks", "suggestions")
_SUMS = COLUMNS[1:]


class Minutes:
    """Accumulates per-minute deltas (epoch minute -> sums) until popped."""

    def __init__(self):
        self.rows: Dict[int, Dict[str, float]] = {}

    def add(self, wall: float, **kv: float) -> None:
        m = int(wall // 60) * 60
        row = self.rows.get(m)
        if row is None:
            row = self.rows[m] = {k: 0.0 for k in _SUMS}
        for k, v in kv.items():
            row[k] += v

    def pop(self) -> List[dict]:
        out = [dict(minute=m, **{k: round(v, 3) for k, v in r.items()}) for m, r in sorted(self.rows.items())]
        self.rows = {}
        return out


class HistoryStore:
    """Per-minute aggregates and the user's rules, in one SQLite file on the user's machine."""

    def __init__(self, path):
        self.path = str(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._lock = threading.Lock()
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS minutes (minute INTEGER PRIMARY KEY, "
                      + ", ".join(f"{k} REAL NOT NULL DEFAULT 0" for k in _SUMS) + ")")
            c.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @contextlib.contextmanager
    def _conn(self):
        """A connection for one operation: committed (or rolled back) and closed at the end."""
        c = sqlite3.connect(self.path, timeout=10)
        try:
            with c:
                yield c
        finally:
            c.close()

    def add(self, rows: Iterable[Mapping[str, float]]) -> int:
        rows = list(rows)
        if not rows:
            return 0
        sql = (f"INSERT INTO minutes ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
               f"ON CONFLICT(minute) DO UPDATE SET " + ", ".join(f"{k} = {k} + excluded.{k}" for k in _SUMS))
        with self._lock, self._conn() as c:
            c.executemany(sql, [tuple(int(r["minute"]) if k == "minute" else float(r.get(k, 0.0)) for k in COLUMNS)
                                for r in rows])
        return len(rows)

    def rows(self, start: Optional[float] = None, end: Optional[float] = None) -> List[dict]:
        q, args = "SELECT " + ", ".join(COLUMNS) + " FROM minutes", []
        if start is not None or end is not None:
            q += " WHERE minute >= ? AND minute < ?"
            args = [int(start if start is not None else 0), int(end if end is not None else 2 ** 62)]
        with self._conn() as c:
            return [dict(zip(COLUMNS, r)) for r in c.execute(q + " ORDER BY minute", args)]

    def series(self, start: float, end: float, bin_s: int, tz_offset_s: int = 0) -> List[dict]:
        """Binned history from start to end (epoch seconds): bins aligned to local time
        (tz_offset_s = local - UTC), with screen minutes, mean fatigue / tension / attention
        (over the time they were known), breaks and suggestions per bin (empty bins included)."""
        bin_s = max(60, int(bin_s))
        first = (int(start) + tz_offset_s) // bin_s * bin_s - tz_offset_s
        bins: Dict[int, dict] = {}
        b = first
        while b < end and len(bins) < 2000:
            bins[b] = {k: 0.0 for k in _SUMS}
            b += bin_s
        for r in self.rows(first, end):
            k = (r["minute"] + tz_offset_s) // bin_s * bin_s - tz_offset_s
            if k in bins:
                for c in _SUMS:
                    bins[k][c] += r[c]
        out = []
        for k, v in sorted(bins.items()):
            out.append({
                "start": k, "monitored_min": round(v["monitored_s"] / 60, 2), "screen_min": round(v["screen_s"] / 60, 2),
                "fatigue": round(v["fatigue_sum"] / v["fatigue_s"], 3) if v["fatigue_s"] > 0 else None,
                "tension": round(v["tension_sum"] / v["tension_s"], 3) if v["tension_s"] > 0 else None,
                "attention": round(v["attention_sum"] / v["attention_s"], 3) if v["attention_s"] > 0 else None,
                "breaks": int(v["breaks"]), "suggestions": int(v["suggestions"]), "blinks": int(v["blinks"]),
                "eye_closures": int(v["eye_closures"]), "yawns": int(v["yawns"]), "look_aways": int(v["look_aways"]),
            })
        return out

    def get_rules(self) -> Rules:
        with self._conn() as c:
            row = c.execute("SELECT value FROM settings WHERE key = 'rules'").fetchone()
        if not row:
            return Rules()
        try:
            return Rules.from_dict(json.loads(row[0]))
        except (ValueError, TypeError):
            return Rules()

    def set_rules(self, rules: Rules) -> None:
        with self._lock, self._conn() as c:
            c.execute("INSERT INTO settings (key, value) VALUES ('rules', ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (json.dumps(rules.to_dict()),))

    def export(self) -> dict:
        return {"format": "facial-feedback wellbeing history 1", "exported": time.time(),
                "note": "Per-minute aggregates only; no images were ever stored.",
                "rules": self.get_rules().to_dict(), "minutes": self.rows()}

    def export_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["minute_utc", *COLUMNS])
        w.writeheader()
        for r in self.rows():
            w.writerow({"minute_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["minute"])), **r})
        return buf.getvalue()

    def delete_all(self) -> None:
        with self._lock, self._conn() as c:
            c.execute("DELETE FROM minutes")
            c.execute("DELETE FROM settings")
        with self._conn() as c:
            c.execute("VACUUM")   # no deleted rows left in the file's free pages
