"""The monitor: follows one person's live session (their FrameResults) and says when a break is due.

The states come from facial_feedback.signals (each against the person's own baseline, with a
confidence, abstaining when the face is missing or poorly seen); the rules decide when they have
built up long enough to suggest a break. Face-independent rules (20-20-20, a longest stretch
without a break) run on the clock, with or without frames.
"""
from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING, Deque, Dict, List, Optional, Tuple

from ...signals.session import face_states
from ...types import FrameResult
from .rules import Rules, Suggestion
from .store import Minutes

if TYPE_CHECKING:
    from ...signals import SessionSnapshot, State

STATES = ("fatigue", "tension", "attention")


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
        self.minutes = Minutes()
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
        self._views: Dict[str, dict] = {}     # this frame's states as the pages show them

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
    def observe(self, frame: FrameResult) -> List[Suggestion]:
        """Feed the next FrameResult of the live camera session."""
        t = frame.timestamp
        # to the millisecond, as in the JSON schema: a threshold of 5 s held from 12.267 to 17.267
        # is met (float seconds from frame counts would make it 4.9999999)
        t = round(float(t), 3) if t is not None else (self.t or 0.0) + 1 / 15
        return self._step(t, frame)

    def tick(self, t: float) -> List[Suggestion]:
        """Time passes with no frame (e.g. the tab is hidden and the camera is throttled): the
        face-independent rules still run; face states are unknown."""
        return self._step(float(t), None)

    def _step(self, t: float, frame: Optional[FrameResult]) -> List[Suggestion]:
        if self.t is not None and t <= self.t:
            return []
        dt = 0.0 if self.t is None else min(t - self.t, 5.0)
        self.t = t
        wall = self.start_wall + t
        present: Optional[bool] = None
        on_screen: Optional[bool] = None
        states: Dict[str, "State"] = {}
        if frame is not None:
            present, on_screen, states = self._read(frame, t, dt, wall)
        else:
            self.minutes.add(wall, monitored_s=dt, screen_s=0.0 if self._away_since is not None else dt)
        self._breaks(t, wall, present, on_screen)
        if self.paused:
            self.latest = self._status(t, present)
            return []
        self._forget(t)
        out: List[Suggestion] = []
        self._state_rules(out, t, wall, states, present)
        self._count_rules(out, t, wall)
        self._time_rules(out, t, wall)
        for s in out:
            self.minutes.add(wall, suggestions=1)
        self.history.extend(out)
        self.latest = self._status(t, present)
        return out

    # ---- one frame in
    def _read(self, frame: FrameResult, t: float, dt: float, wall: float):
        """The person's face, track state and events in this frame; adds them to the minute."""
        sess = frame.session
        face = frame.primary_face()
        present = face is not None
        tid = face.track_id if face else None
        tr = sess.track(tid) if sess is not None and tid is not None else None
        on_screen = tr.on_screen if tr is not None else None
        states: Dict[str, "State"] = {}
        # shown as the live page shows them (State.view: one wording), abstaining ones too; the
        # rules act on the others only
        self._views = face_states(frame)
        for k in STATES:
            st = getattr(tr, k) if tr is not None else None
            if st and not st.abstain:
                states[k] = st
        counts = self._events(sess, tid) if sess is not None else dict.fromkeys(
            ("blinks", "eye_closures", "yawns", "look_aways"), 0)
        # an eye closure still going on counts as soon as it is long enough
        if self._open_closure is not None:
            self._closures[self._open_closure] = t - self._open_closure
        agg = dict(monitored_s=dt, screen_s=dt if present else 0.0, **counts)
        for k, st in states.items():
            agg[f"{k}_sum"] = dt * float(st.value)
            agg[f"{k}_s"] = dt
        self.minutes.add(wall, **agg)
        return present, on_screen, states

    def _events(self, sess: "SessionSnapshot", tid: Optional[int]) -> Dict[str, int]:
        """Counts this frame's events of the person's track (and session-wide ones); follows the
        eye closures and yawns the rules look at."""
        counts = {"blinks": 0, "eye_closures": 0, "yawns": 0, "look_aways": 0}
        for e in sess.ended:
            if e.track not in (None, tid):
                continue
            if e.type in ("blink", "slow_blink"):
                counts["blinks"] += 1
            elif e.type == "eye_closure":
                self._closure_seen(float(e.onset), float(e.duration or 0.0), ended=True)
        for e in sess.started:
            if e.track not in (None, tid):
                continue
            if e.type == "eye_closure":
                self._closure_seen(float(e.onset), 0.0, ended=False)
                counts["eye_closures"] += 1
            elif e.type == "yawn":
                self._yawns.append(float(e.onset))
                counts["yawns"] += 1
            elif e.type == "look_away":
                counts["look_aways"] += 1
        return counts

    def _breaks(self, t: float, wall: float, present: Optional[bool], on_screen: Optional[bool]) -> None:
        """Away from the camera long enough is a break; looking away long enough, an eye break."""
        r = self.rules
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

    def _forget(self, t: float) -> None:
        """Eye closures and yawns older than their rules' windows."""
        r = self.rules
        window = r.eye_closures_window_min * 60.0
        for onset in [o for o in self._closures if o < t - window and o != self._open_closure]:
            del self._closures[onset]
        while self._yawns and self._yawns[0] < t - r.yawns_window_min * 60.0:
            self._yawns.popleft()

    # ---- the rules
    def _fire(self, out: List[Suggestion], t: float, wall: float, rule: str, title: str, message: str,
              cues, face_based: bool = True, confidence: Optional[float] = None) -> None:
        last = self.last_fired.get(rule)
        if last is not None and t - last < self.rules.cooldown_min * 60.0:
            return
        if self.snoozed:
            return
        self.last_fired[rule] = t
        out.append(Suggestion(rule, title, message, tuple(cues), t, wall, face_based, confidence))

    def _state_rules(self, out: List[Suggestion], t: float, wall: float, states: Dict[str, "State"],
                     present: Optional[bool]) -> None:
        """Fatigue or tension at a level, or attention low, held long enough."""
        r = self.rules
        for name, on, level, for_s in (("fatigue", r.fatigue_on, r.fatigue_level, r.fatigue_for_s),
                                       ("tension", r.tension_on, r.tension_level, r.tension_for_s)):
            st = states.get(name)
            cond = None if st is None else float(st.value or 0.0) >= level
            held = getattr(self, "_" + name).update(t, cond if present is not False else None)
            if on and held is not None and held >= for_s and st is not None:
                cues = [f"{name} {st.level} ({100 * float(st.value):.0f}%) for {_dur(held)}"]
                cues += list(st.cues or [])[:2]
                self._fire(out, t, wall, name, f"Time for a break: {name} has built up",
                           f"Your {name} cues have been {st.level} for {_dur(held)}. A short break away from the "
                           "screen may help.", cues, True, st.confidence)
        st = states.get("attention")
        held = self._attention.update(t, None if st is None else st.level == "low")
        if r.attention_on and held is not None and held >= r.attention_low_for_s and st is not None:
            self._fire(out, t, wall, "attention", "Time for a break: attention has been low",
                       f"You have been looking at the screen less than usual for {_dur(held)}.",
                       [f"attention low for {_dur(held)}"] + list(st.cues or [])[:2], True, st.confidence)

    def _count_rules(self, out: List[Suggestion], t: float, wall: float) -> None:
        """Long eye closures, or yawns, often enough lately."""
        r = self.rules
        long_closures = [(o, d) for o, d in self._closures.items() if d >= r.eye_closure_min_s]
        if r.eye_closures_on and len(long_closures) >= r.eye_closures:
            longest = max(c[1] for c in long_closures)
            n = len(long_closures)
            self._fire(out, t, wall, "eye_closures", "Time for a break: your eyes are closing",
                       "Your eyes closed for a while, more than once lately: signs of tiredness. Rest your eyes, or take a break.",
                       [f"eyes closed {n} time{'s' if n != 1 else ''} for over {r.eye_closure_min_s:g} s in the last "
                        f"{r.eye_closures_window_min:g} min (the longest {longest:.1f} s)"], True)
        if r.yawns_on and len(self._yawns) >= r.yawns:
            self._fire(out, t, wall, "yawns", "Time for a break: yawning",
                       "You have yawned several times lately.",
                       [f"{len(self._yawns)} yawns in the last {r.yawns_window_min:g} min"], True)

    def _time_rules(self, out: List[Suggestion], t: float, wall: float) -> None:
        """No camera needed: 20-20-20 and the longest stretch without a break."""
        r = self.rules
        if r.rule_20_20_20_on and t - self.last_eye_break >= r.eye_break_every_min * 60.0:
            self._fire(out, t, wall, "20-20-20", "Rest your eyes (20-20-20)",
                       "Look at something about 20 feet (6 m) away for 20 seconds.",
                       [f"{_dur(t - self.last_eye_break)} of screen time since you last looked away for "
                        f"{r.eye_break_s:g} s"], False)
        if r.max_no_break_on and t - self.last_break >= r.max_no_break_min * 60.0:
            self._fire(out, t, wall, "max_no_break", "Time for a break",
                       f"You have been at the screen for {_dur(t - self.last_break)} without a break.",
                       [f"{_dur(t - self.last_break)} without a break (your limit: {r.max_no_break_min:g} min)"], False)

    def _status(self, t: float, present: Optional[bool]) -> dict:
        r = self.rules
        return {
            "t": round(t, 2), "present": present, "paused": self.paused,
            "snoozed_for_s": round(max(0.0, self.snoozed_until - t), 1) if self.snoozed else 0,
            "since_break_s": round(t - self.last_break, 1), "since_eye_break_s": round(t - self.last_eye_break, 1),
            "breaks": self.breaks,
            "eye_closures": sum(1 for d in self._closures.values() if d >= r.eye_closure_min_s), "yawns": len(self._yawns),
            "states": dict(self._views) if present else {},
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
