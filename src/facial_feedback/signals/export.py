"""Writing signals to disk as a video is analysed (streaming) and a readable summary.

- events CSV: one row per complete event: track, type, onset, duration, details (JSON);
- states CSV: one row per track per second of video: the three states with level,
  confidence and abstain flag, and the main metrics behind them.
"""
from __future__ import annotations

import csv
import json
import math
import os
from typing import IO, Iterable, List, Optional, Union

PathLike = Union[str, os.PathLike]

EVENT_COLUMNS = ("track", "type", "onset", "duration", "details")
STATE_COLUMNS = ("time", "track", "present",
                 "attention", "attention_level", "attention_confidence", "attention_abstain",
                 "fatigue", "fatigue_level", "fatigue_confidence", "fatigue_abstain",
                 "tension", "tension_level", "tension_confidence", "tension_abstain",
                 "on_screen_share", "perclos", "blink_rate", "look_aways", "yawns", "brow_lowered_share",
                 "baseline")


def _num(v, nd=3):
    return "" if v is None else round(float(v), nd)


class SignalWriter:
    """Streams SessionSnapshots into an events CSV and a per-second states CSV."""

    def __init__(self, events_path: Optional[PathLike] = None, states_path: Optional[PathLike] = None,
                 states_every: float = 1.0):
        self._files: List[IO] = []
        self._ev = self._st = None
        self.every = states_every
        self._next_t: Optional[float] = None
        self.n_events = 0
        if events_path is not None:
            f = open(events_path, "w", newline="")
            self._files.append(f)
            self._ev = csv.writer(f)
            self._ev.writerow(EVENT_COLUMNS)
        if states_path is not None:
            f = open(states_path, "w", newline="")
            self._files.append(f)
            self._st = csv.writer(f)
            self._st.writerow(STATE_COLUMNS)

    def write_events(self, events: Iterable) -> None:
        for e in events:
            self.n_events += 1
            if self._ev is not None:
                d = e.to_dict()
                self._ev.writerow([d["track"] if d["track"] is not None else "", d["type"], d["onset"],
                                   d["duration"], json.dumps(d["details"], separators=(",", ":"))])

    def write(self, snap) -> None:
        """Feed every frame's SessionSnapshot (FrameResult.session)."""
        if snap is None:
            return
        self.write_events(snap.ended)
        if self._st is None:
            return
        if self._next_t is None:
            self._next_t = math.floor(snap.time / self.every) * self.every
        if snap.time + 1e-9 < self._next_t:
            return
        self._next_t = (math.floor(snap.time / self.every) + 1) * self.every
        for tr in snap.tracks:
            a, f, t = tr.attention, tr.fatigue, tr.tension
            self._st.writerow([
                round(snap.time, 3), tr.track_id, int(tr.present),
                _num(a.value), a.level, _num(a.confidence, 2), int(a.abstain),
                _num(f.value), f.level, _num(f.confidence, 2), int(f.abstain),
                _num(t.value), t.level, _num(t.confidence, 2), int(t.abstain),
                _num(a.metrics.get("on_screen_share")), _num(f.metrics.get("perclos")),
                _num(f.metrics.get("blink_rate"), 1), _num(a.metrics.get("look_aways"), 0),
                _num(f.metrics.get("yawns"), 0), _num(t.metrics.get("brow_lowered_share")), tr.baseline_source,
            ])

    def close(self, final_events: Iterable = ()) -> None:
        """Write the events that ended when the session closed, and close the files."""
        self.write_events(final_events)
        for f in self._files:
            f.close()
        self._files = []


def format_summary(summary: Optional[dict]) -> List[str]:
    """Readable lines for SignalSession.summary()."""
    if not summary:
        return []
    lines = []
    for t in summary.get("tracks", []):
        parts = [f"{t['blinks']} blinks"
                 + (f" ({t['blinks_per_min']:.0f}/min" if t.get("blinks_per_min") is not None else "")
                 + (f", mean {t['mean_blink_s']:.2f} s)" if t.get("mean_blink_s") is not None else
                    (")" if t.get("blinks_per_min") is not None else ""))]
        if t.get("incomplete_blinks"):
            parts.append(f"{t['incomplete_blinks']} incomplete (lids not fully closed)")
        if t.get("perclos") is not None:
            parts.append(f"eyes at least 80% closed {100 * t['perclos']:.0f}% of the time (PERCLOS)")
        for key, name in (("slow_blinks", "slow blinks"), ("eye_closures", "eye closures > 1 s"), ("yawns", "yawns"),
                          ("look_aways", "look-aways"), ("frowns", "frowns"), ("smiles", "smiles"),
                          ("nods", "nods"), ("head_drops", "head drops")):
            parts.append(f"{t.get(key, 0)} {name}")
        lines.append(f"  track {t['track_id']} ({t['seen_s']:.1f} s seen, baseline: {t['baseline']}): "
                     + ", ".join(parts))
    if summary.get("face_absent_episodes"):
        lines.append(f"  no face for {summary['face_absent_s']:.1f} s in {summary['face_absent_episodes']} episode(s)")
    return lines
