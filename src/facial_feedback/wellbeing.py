"""The wellbeing monitor: break suggestions from fatigue, attention and tension over time, plus
face-independent rules (20-20-20, a longest stretch without a break), and a per-minute history.

    from facial_feedback.wellbeing import Rules, WellbeingMonitor, HistoryStore

    mon = WellbeingMonitor(Rules(), start_wall=time.time())
    for fr in frames:                          # FrameResult (or its to_dict()) with fr.session, as
        for s in mon.observe(fr):              # a live camera session produces them
            print(s.title, s.cues)             # a Suggestion names the cues behind it
    store = HistoryStore("instance/wellbeing.sqlite3")
    store.add(mon.pop_minutes())               # per-minute aggregates only, never images

The states come from facial_feedback.signals (each against the person's own baseline, with a
confidence, abstaining when the face is missing or poorly seen); the rules here decide when they
have built up long enough to suggest a break. Every threshold is in `Rules`, the user's to set.
This is a prompt to rest, not a measurement of health and not a diagnosis.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sqlite3
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Tuple


# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rules:
    """The user's rules and thresholds (minutes and seconds in the names; levels 0..1)."""

    fatigue_on: bool = True
    fatigue_level: float = 0.6          # fatigue state value (0..1) at or above this ...
    fatigue_for_s: float = 120.0        # ... for this long
    tension_on: bool = True
    tension_level: float = 0.6
    tension_for_s: float = 180.0
    attention_on: bool = True
    attention_low_for_s: float = 600.0  # attention state 'low' (against baseline) for this long
    eye_closures_on: bool = True
    eye_closures: int = 2               # this many eye closures ...
    eye_closure_min_s: float = 1.0      # ... each at least this long ...
    eye_closures_window_min: float = 10.0  # ... within this many minutes
    yawns_on: bool = True
    yawns: int = 3
    yawns_window_min: float = 10.0
    rule_20_20_20_on: bool = True       # every 20 min, look 20 ft (6 m) away for 20 s
    eye_break_every_min: float = 20.0
    eye_break_s: float = 20.0           # a look-away or absence this long counts as the eye break
    max_no_break_on: bool = True
    max_no_break_min: float = 60.0
    break_min_s: float = 300.0          # away from the camera this long = a break taken
    cooldown_min: float = 10.0          # the same rule suggests again at most this often
    notify: bool = True                 # a browser notification besides the in-page message

    LIMITS = {  # name: (min, max)
        "fatigue_level": (0.05, 1.0), "fatigue_for_s": (0.0, 3600.0), "tension_level": (0.05, 1.0),
        "tension_for_s": (0.0, 3600.0), "attention_low_for_s": (0.0, 7200.0), "eye_closures": (1, 50),
        "eye_closure_min_s": (0.5, 60.0), "eye_closures_window_min": (0.5, 240.0), "yawns": (1, 50),
        "yawns_window_min": (0.5, 240.0), "eye_break_every_min": (1.0, 240.0), "eye_break_s": (5.0, 600.0),
        "max_no_break_min": (1.0, 600.0), "break_min_s": (10.0, 3600.0), "cooldown_min": (0.0, 240.0),
    }

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Optional["Rules"] = None) -> "Rules":
        """Rules from (part of) a dict; unknown keys and out-of-range values raise ValueError."""
        base = base or cls()
        kw = base.to_dict()
        names = {f.name: f for f in fields(cls)}
        for k, v in d.items():
            if k not in names:
                raise ValueError(f"unknown rule setting {k!r}")
            default = kw[k]
            if isinstance(default, bool):
                if not isinstance(v, bool):
                    raise ValueError(f"{k} must be true or false")
            else:
                try:
                    v = type(default)(v)
                except (TypeError, ValueError):
                    raise ValueError(f"{k} must be a number") from None
                if isinstance(v, float) and not math.isfinite(v):
                    raise ValueError(f"{k} must be a finite number")
                lo, hi = cls.LIMITS.get(k, (-math.inf, math.inf))
                if not lo <= v <= hi:
                    raise ValueError(f"{k} must be between {lo:g} and {hi:g}")
            kw[k] = v
        return cls(**kw)


@dataclass(frozen=True)
class Suggestion:
    rule: str                     # fatigue | tension | attention | eye_closures | yawns | 20-20-20 | max_no_break
    title: str
    message: str
    cues: Tuple[str, ...]         # what triggered it, in plain sentences
    t: float                      # session seconds
    wall: float                   # epoch seconds
    face_based: bool = True
    confidence: Optional[float] = None

    def to_dict(self) -> dict:
        return {"rule": self.rule, "title": self.title, "message": self.message, "cues": list(self.cues),
                "t": round(self.t, 2), "wall": round(self.wall, 1), "face_based": self.face_based,
                "confidence": None if self.confidence is None else round(self.confidence, 2)}


# --------------------------------------------------------------------------- per-minute aggregates

COLUMNS = ("minute", "monitored_s", "screen_s", "fatigue_sum", "fatigue_s", "tension_sum", "tension_s",
           "attention_sum", "attention_s", "blinks", "eye_closures", "yawns", "look_aways", "breaks", "suggestions")
_SUMS = COLUMNS[1:]


class _Minutes:
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


# --------------------------------------------------------------------------- the monitor

def _as_dict(frame) -> dict:
    return frame if isinstance(frame, dict) else frame.to_dict()


class _Sustained:
    """A condition held (unknown values hold the current state, up to hold_s) for at least for_s."""

    def __init__(self, hold_s: float = 15.0):
        self.since: Optional[float] = None
        self.last_true: Optional[float] = None
        self.hold_s = hold_s

    def update(self, t: float, cond: Optional[bool]) -> Optional[float]:
        """Seconds the condition has held (None when it does not hold)."""
        if cond is None:
            if self.since is not None and self.last_true is not None and t - self.last_true > self.hold_s:
                self.since = None
        elif cond:
            if self.since is None:
                self.since = t
            self.last_true = t
        else:
            self.since = None
        return None if self.since is None else t - self.since

    def reset(self):
        self.since = self.last_true = None


class WellbeingMonitor:
    """Follows one person's live session; `observe(frame)` returns the suggestions due now."""

    def __init__(self, rules: Rules = Rules(), start_wall: Optional[float] = None):
        self.rules = rules
        self.start_wall = time.time() if start_wall is None else start_wall
        self.t: Optional[float] = None
        self.minutes = _Minutes()
        self.snoozed_until = -math.inf        # session seconds
        self.paused = False                   # the user said they are on a break
        self.last_fired: Dict[str, float] = {}
        self.pending: List[Suggestion] = []
        self.history: List[Suggestion] = []
        self._fatigue = _Sustained()
        self._tension = _Sustained()
        self._attention = _Sustained()
        self._away_since: Optional[float] = None      # face absent since
        self._look_since: Optional[float] = None      # absent or looking away since
        self.last_break: float = 0.0                  # session seconds at the end of the last break
        self.last_eye_break: float = 0.0
        self.breaks = 0
        self._closures: Dict[float, float] = {}   # onset -> duration of eye closures (ongoing: so far)
        self._open_closure: Optional[float] = None
        self._yawns: Deque[float] = deque()
        self.latest: dict = {}

    # ---- controls
    def set_rules(self, rules: Rules) -> None:
        self.rules = rules

    def snooze(self, minutes: float) -> None:
        now = self.t or 0.0
        self.snoozed_until = now + max(0.0, float(minutes)) * 60.0

    def take_break(self, on: bool = True) -> None:
        """The user says they are taking a break (on) or are back (off)."""
        now = self.t or 0.0
        if on and not self.paused:
            self.paused = True
            self.breaks += 1
            self.minutes.add(self.start_wall + now, breaks=1)
        elif not on and self.paused:
            self.paused = False
            self._reset_after_break(now)

    def _reset_after_break(self, t: float) -> None:
        self.last_break = self.last_eye_break = t
        for s in (self._fatigue, self._tension, self._attention):
            s.reset()

    @property
    def snoozed(self) -> bool:
        return self.t is not None and self.t < self.snoozed_until

    # ---- input
    def observe(self, frame) -> List[Suggestion]:
        """Feed the next FrameResult (or its to_dict()) of the live camera session."""
        d = _as_dict(frame)
        t = d.get("time")
        t = float(t) if t is not None else (self.t or 0.0) + 1 / 15
        return self._step(t, d)

    def tick(self, t: float) -> List[Suggestion]:
        """Time passes with no frame (e.g. the tab is hidden and the camera is throttled): the
        face-independent rules still run; face states are unknown."""
        return self._step(float(t), None)

    def _step(self, t: float, d: Optional[dict]) -> List[Suggestion]:
        r = self.rules
        if self.t is not None and t <= self.t:
            return []
        dt = 0.0 if self.t is None else min(t - self.t, 5.0)
        self.t = t
        wall = self.start_wall + t
        out: List[Suggestion] = []
        present: Optional[bool] = None
        on_screen: Optional[bool] = None
        states: Dict[str, dict] = {}
        if d is not None:
            sess = d.get("session") or {}
            faces = d.get("faces") or []
            face = max(faces, key=lambda f: f["box"][2] * f["box"][3]) if faces else None
            present = face is not None
            tid = face.get("track_id") if face else None
            tr = next((x for x in sess.get("tracks") or [] if x.get("track_id") == tid), None) or {}
            on_screen = tr.get("on_screen")
            for k in ("fatigue", "tension", "attention"):
                st = tr.get(k)
                if st and not st.get("abstain"):
                    states[k] = st
            counts = {"blinks": 0, "eye_closures": 0, "yawns": 0, "look_aways": 0}
            for e in sess.get("events_ended") or []:
                if e.get("track") not in (None, tid):
                    continue
                typ = e.get("type")
                if typ in ("blink", "slow_blink"):
                    counts["blinks"] += 1
                elif typ == "eye_closure":
                    self._closure_seen(float(e["onset"]), float(e.get("duration") or 0.0), ended=True)
            for e in sess.get("events_started") or []:
                if e.get("track") not in (None, tid):
                    continue
                typ = e.get("type")
                if typ == "eye_closure":
                    self._closure_seen(float(e["onset"]), 0.0, ended=False)
                    counts["eye_closures"] += 1
                elif typ == "yawn":
                    self._yawns.append(float(e["onset"]))
                    counts["yawns"] += 1
                elif typ == "look_away":
                    counts["look_aways"] += 1
            # an eye closure still going on counts as soon as it is long enough
            if self._open_closure is not None:
                self._closures[self._open_closure] = t - self._open_closure
            agg = dict(monitored_s=dt, screen_s=dt if present else 0.0, **counts)
            for k in ("fatigue", "tension", "attention"):
                if k in states and states[k].get("value") is not None:
                    agg[f"{k}_sum"] = dt * float(states[k]["value"])
                    agg[f"{k}_s"] = dt
            self.minutes.add(wall, **agg)
        else:
            self.minutes.add(wall, monitored_s=dt, screen_s=0.0 if self._away_since is not None else dt)

        # breaks: away from the camera long enough (or the user said so)
        if present is False:
            if self._away_since is None:
                self._away_since = t
            if t - self._away_since >= r.break_min_s and self.last_break < self._away_since:
                self.breaks += 1
                self.minutes.add(wall, breaks=1)
                self._reset_after_break(t)
                self.last_break = self._away_since + r.break_min_s  # counted once per absence
        elif present:
            if self._away_since is not None and t - self._away_since >= r.break_min_s:
                self._reset_after_break(t)
            self._away_since = None
        # eye breaks (20-20-20): looking away from the screen or away from the camera long enough
        if present is False or on_screen is False:
            if self._look_since is None:
                self._look_since = t
            if t - self._look_since >= r.eye_break_s:
                self.last_eye_break = t
        elif present:
            self._look_since = None

        if self.paused:
            self.latest = self._status(t, states, present)
            return []

        window = r.eye_closures_window_min * 60.0
        for onset in [o for o in self._closures if o < t - window and o != self._open_closure]:
            del self._closures[onset]
        while self._yawns and self._yawns[0] < t - r.yawns_window_min * 60.0:
            self._yawns.popleft()

        def fire(rule, title, message, cues, face_based=True, confidence=None):
            last = self.last_fired.get(rule)
            if last is not None and t - last < r.cooldown_min * 60.0:
                return
            if self.snoozed:
                return
            self.last_fired[rule] = t
            s = Suggestion(rule, title, message, tuple(cues), t, wall, face_based, confidence)
            out.append(s)

        def level_rule(name, on, level, for_s, label):
            st = states.get(name)
            cond = None if st is None else float(st.get("value") or 0.0) >= level
            held = getattr(self, "_" + name).update(t, cond if present is not False else None)
            if on and held is not None and held >= for_s and st is not None:
                cues = [f"{label} {st.get('level')} ({100 * float(st['value']):.0f}%) for {_dur(held)}"]
                cues += list(st.get("cues") or [])[:2]
                fire(name, f"Time for a break: {label} has built up",
                     f"Your {label} cues have been {st.get('level')} for {_dur(held)}. A short break away from the "
                     "screen may help.", cues, True, st.get("confidence"))

        level_rule("fatigue", r.fatigue_on, r.fatigue_level, r.fatigue_for_s, "fatigue")
        level_rule("tension", r.tension_on, r.tension_level, r.tension_for_s, "tension")
        st = states.get("attention")
        held = self._attention.update(t, None if st is None else st.get("level") == "low")
        if r.attention_on and held is not None and held >= r.attention_low_for_s and st is not None:
            fire("attention", "Time for a break: attention has been low",
                 f"You have been looking at the screen less than usual for {_dur(held)}.",
                 [f"attention low for {_dur(held)}"] + list(st.get("cues") or [])[:2], True, st.get("confidence"))
        long_closures = [(o, d) for o, d in self._closures.items() if d >= r.eye_closure_min_s]
        if r.eye_closures_on and len(long_closures) >= r.eye_closures:
            longest = max(c[1] for c in long_closures)
            n = len(long_closures)
            fire("eye_closures", "Time for a break: your eyes are closing",
                 "Your eyes closed for a while, more than once lately: signs of tiredness. Rest your eyes, or take a break.",
                 [f"eyes closed {n} time{'s' if n != 1 else ''} for over {r.eye_closure_min_s:g} s in the last "
                  f"{r.eye_closures_window_min:g} min (the longest {longest:.1f} s)"], True)
        if r.yawns_on and len(self._yawns) >= r.yawns:
            fire("yawns", "Time for a break: yawning",
                 "You have yawned several times lately.",
                 [f"{len(self._yawns)} yawns in the last {r.yawns_window_min:g} min"], True)
        if r.rule_20_20_20_on and t - self.last_eye_break >= r.eye_break_every_min * 60.0:
            fire("20-20-20", "Rest your eyes (20-20-20)",
                 "Look at something about 20 feet (6 m) away for 20 seconds.",
                 [f"{_dur(t - self.last_eye_break)} of screen time since you last looked away for "
                  f"{r.eye_break_s:g} s"], False)
        if r.max_no_break_on and t - self.last_break >= r.max_no_break_min * 60.0:
            fire("max_no_break", "Time for a break",
                 f"You have been at the screen for {_dur(t - self.last_break)} without a break.",
                 [f"{_dur(t - self.last_break)} without a break (your limit: {r.max_no_break_min:g} min)"], False)
        for s in out:
            self.minutes.add(wall, suggestions=1)
        self.history.extend(out)
        self.latest = self._status(t, states, present)
        return out

    def _status(self, t: float, states: Dict[str, dict], present: Optional[bool]) -> dict:
        r = self.rules
        return {
            "t": round(t, 2), "present": present, "paused": self.paused,
            "snoozed_for_s": round(max(0.0, self.snoozed_until - t), 1) if self.snoozed else 0,
            "since_break_s": round(t - self.last_break, 1), "since_eye_break_s": round(t - self.last_eye_break, 1),
            "breaks": self.breaks,
            "eye_closures": sum(1 for d in self._closures.values() if d >= r.eye_closure_min_s), "yawns": len(self._yawns),
            "states": {k: {"value": v.get("value"), "level": v.get("level"), "confidence": v.get("confidence"),
                           "cues": list(v.get("cues") or [])[:3]} for k, v in states.items()},
            "next_eye_break_s": round(max(0.0, r.eye_break_every_min * 60 - (t - self.last_eye_break)), 1),
        }

    def _closure_seen(self, onset: float, duration: float, ended: bool) -> None:
        key = next((o for o in self._closures if abs(o - onset) < 0.5), onset)
        self._closures[key] = duration if ended else max(duration, self._closures.get(key, 0.0))
        if ended:
            if self._open_closure is not None and abs(self._open_closure - onset) < 0.5:
                self._open_closure = None
        else:
            self._open_closure = key

    def pop_minutes(self) -> List[dict]:
        return self.minutes.pop()


def _dur(s: float) -> str:
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


# --------------------------------------------------------------------------- history (SQLite)

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
