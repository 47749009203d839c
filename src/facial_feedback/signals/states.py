"""States over sliding windows, computed apart from the event detectors: attention, fatigue
and tension, each from a track's window means (windows.py) and its recent events.

Each is a `State`: a value in [0, 1], a level, a confidence, an abstain flag and the cues
behind it in plain sentences, strongest first. Formulas and sources: docs/signals.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Deque, List, Mapping, Optional, Tuple

import numpy as np

from .baseline import Baseline
from .config import SignalConfig
from .events.base import Event, _r
from .windows import BROW, LIPS, MOTION, NEG, ONSCREEN, P80, PRESENT, SEEN, Window

LEVELS = ("low", "moderate", "high")


@dataclass(frozen=True)
class State:
    name: str                      # attention | fatigue | tension
    value: float                   # 0..1
    level: str                     # low | moderate | high
    baseline: Optional[float]      # the same value at the person's baseline
    confidence: float              # 0..1
    abstain: bool                  # True: face missing or poorly seen, do not act on this state
    cues: Tuple[str, ...] = ()     # human sentences, strongest first
    metrics: Mapping[str, Optional[float]] = field(default_factory=dict)

    @property
    def shown(self) -> str:
        """The level as every page shows it ("unknown" while abstaining)."""
        return "unknown" if self.abstain else self.level

    @property
    def sure(self) -> str:
        """How sure, shown beside the level and never merged into it: a high level from little
        face data reads "high", "unsure (35%)", not "high · 35% sure"."""
        return "not enough face data" if self.abstain else sure_text(self.confidence)

    def view(self, cues: Optional[int] = None) -> dict:
        """What the pages (Live, Reading, Wellbeing) show of this state: one wording for all."""
        return {"value": _r(self.value), "level": self.level, "shown": self.shown, "sure": self.sure,
                "confidence": _r(self.confidence, 2), "abstain": self.abstain,
                "cues": list(self.cues if cues is None else self.cues[:cues])}

    def to_dict(self) -> dict:
        return {**self.view(), "baseline": _r(self.baseline),
                "metrics": {k: _r(v, 4) for k, v in self.metrics.items()}}


# How sure a state is, in words; thresholds on State.confidence (docs/signals.md)
SURE_WORDS = ((0.7, "sure"), (0.4, "fairly sure"), (0.0, "unsure"))


def sure_word(confidence: float) -> str:
    return next(w for lo, w in SURE_WORDS if confidence >= lo)


def sure_text(confidence: float) -> str:
    """How sure, as every page words it: "fairly sure (62%)"."""
    return f"{sure_word(confidence)} ({100 * confidence:.0f}%)"


_GAZE_MODES = {"relative": " (not calibrated: relative to the person's usual gaze)",
               "calibrated": " (calibrated gaze)", "cone": ""}


def _level(v: float) -> str:
    return "low" if v < 0.3 else ("moderate" if v < 0.6 else "high")


def _pct(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _span_txt(s: float) -> str:
    return "minute" if abs(s - 60) < 1e-6 else f"{s:.0f} s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _combine(terms: List[Tuple[float, str]]) -> Tuple[float, Tuple[str, ...]]:
    """Noisy-OR of the weighted terms, and their cues strongest first."""
    value = 1.0 - float(np.prod([1.0 - x for x, _ in terms])) if terms else 0.0
    return value, tuple(cu for _, cu in sorted(terms, key=lambda p: -p[0]))


class StateInputs:
    """What the states read of one track at time t."""

    def __init__(self, cfg: SignalConfig, t: float, windows: Mapping[str, Window], events: Deque[Event],
                 baseline: Baseline, abstain: bool, gaze_mode: str = "cone"):
        self.cfg, self.t, self.win, self.events, self.b, self.abstain = cfg, t, windows, events, baseline, abstain
        self.gaze_mode = gaze_mode  # calibrated | relative (to the person's usual gaze) | cone

    def conf(self, win: Window) -> float:
        fill = min(1.0, win.weight(PRESENT) / win.span)
        seen = win.mean(SEEN) or 0.0
        return round(max(0.0, min(1.0, seen * (0.3 + 0.7 * fill) * (1.0 if self.b.learned else 0.6))), 3)

    def events_in(self, win_s: float, *types: str) -> List[Event]:
        lo = self.t - win_s
        return [e for e in self.events if e.type in types and (e.end or e.onset) >= lo]


def attention_state(x: StateInputs) -> State:
    cfg, b = x.cfg, x.b
    w = x.win["attention"]
    span = _span_txt(cfg.attention_window_s)
    present_share = w.mean(PRESENT)
    on_share = w.mean(ONSCREEN)
    looks = x.events_in(cfg.attention_window_s, "look_away")
    minutes = max(w.weight(PRESENT), 1e-6) / 60.0
    look_rate = len(looks) / minutes
    value = (on_share if on_share is not None else 0.0) * (present_share or 0.0)
    base_att = b.on_screen
    ref = max(base_att, cfg.attention_high_min)
    lvl = "high" if value >= ref - 0.1 else ("moderate" if value >= ref - 0.3 else "low")
    cues = []
    if on_share is not None:
        how = _GAZE_MODES.get(x.gaze_mode, "")
        cues.append(f"looking at the screen {_pct(on_share)} of the last {span}, baseline {_pct(base_att)}{how}")
    cues.append(f"{_plural(len(looks), 'look-away')} in the last {span} "
                f"({look_rate:.1f}/min, baseline {b.look_away_rate:.1f}/min)")
    if present_share is not None and present_share < 0.99:
        cues.append(f"face visible {_pct(present_share)} of the last {span}")
    return State("attention", value, lvl, base_att, x.conf(w), x.abstain or on_share is None, tuple(cues),
                 {"on_screen_share": on_share, "present_share": present_share,
                  "look_aways": float(len(looks)), "look_away_rate": look_rate})


def fatigue_state(x: StateInputs) -> State:
    cfg, b = x.cfg, x.b
    w = x.win["fatigue"]
    ws = cfg.fatigue_window_s
    span = _span_txt(ws)
    perclos = w.mean(P80)
    blinks = x.events_in(ws, "blink", "slow_blink")
    seen_min = w.total(SEEN) / 60.0
    rate = len(blinks) / seen_min if seen_min >= 10.0 / 60.0 else None
    mean_dur = float(np.mean([e.duration for e in blinks])) if len(blinks) >= 2 else None
    yawns = x.events_in(ws, "yawn")
    closures = x.events_in(ws, "eye_closure") + x.events_in(ws, "slow_blink")
    drops = x.events_in(ws, "head_drop")
    terms = []  # (weight*term, cue)
    if perclos is not None:
        v = np.clip((perclos - b.perclos) / 0.12, 0, 1)
        terms.append((0.6 * v, f"eyes closed {_pct(perclos)} of the last {span}, baseline {_pct(b.perclos)}"))
    if mean_dur is not None:
        v = np.clip((mean_dur - b.blink_duration) / 0.15, 0, 1)
        terms.append((0.3 * v, f"blinks last {mean_dur:.2f} s on average, baseline {b.blink_duration:.2f} s"))
    if rate is not None:
        v = np.clip((rate - b.blink_rate) / max(b.blink_rate, 1.0), 0, 1)
        terms.append((0.15 * v, f"{rate:.0f} blinks/min, baseline {b.blink_rate:.0f}"))
    terms.append((0.5 * min(1.0, len(yawns) / 2.0), f"{_plural(len(yawns), 'yawn')} in the last {span}"))
    if closures:
        terms.append((0.5 * min(1.0, len(closures) / 2.0),
                      f"{_plural(len(closures), 'eye closure')} longer than {cfg.blink_max_s:.1f} s"))
    if drops:
        terms.append((0.5 * min(1.0, len(drops) / 2.0), f"head dropped {_plural(len(drops), 'time')}"))
    value, cues = _combine(terms)
    return State("fatigue", value, _level(value), 0.0, x.conf(w), x.abstain or perclos is None, cues,
                 {"perclos": perclos, "blink_rate": rate, "blink_duration": mean_dur,
                  "yawns": float(len(yawns)), "eye_closures": float(len(closures)), "head_drops": float(len(drops))})


def tension_state(x: StateInputs) -> State:
    cfg, b = x.cfg, x.b
    w = x.win["tension"]
    span = _span_txt(cfg.tension_window_s)
    brow, lips, neg, motion = w.mean(BROW), w.mean(LIPS), w.mean(NEG), w.mean(MOTION)
    terms = []
    if brow is not None:
        terms.append((0.5 * np.clip((brow - 0.05) / 0.3, 0, 1), f"brows lowered {_pct(brow)} of the last {span}"))
    if lips is not None:
        terms.append((0.4 * np.clip((lips - 0.05) / 0.3, 0, 1), f"lips pressed {_pct(lips)} of the last {span}"))
    if neg is not None:
        terms.append((0.4 * np.clip((neg - b.negative) / 0.3, 0, 1),
                      f"negative expression {_pct(neg)} on average, baseline {_pct(b.negative)}"))
    if motion is not None:
        terms.append((0.3 * np.clip((motion - b.head_motion) / max(b.head_motion, 1.0) / 2.0, 0, 1),
                      f"head movement {motion:.0f} deg/s, baseline {b.head_motion:.0f} deg/s"))
    value, cues = _combine(terms)
    return State("tension", value, _level(value), 0.0, x.conf(w), x.abstain or brow is None, cues,
                 {"brow_lowered_share": brow, "lip_pressed_share": lips, "negative": neg, "head_motion": motion})


def compute_states(x: StateInputs) -> Tuple[State, State, State]:
    return attention_state(x), fatigue_state(x), tension_state(x)
