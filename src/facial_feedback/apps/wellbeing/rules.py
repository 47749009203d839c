"""The user's rules and thresholds, and the suggestions they produce."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Optional, Tuple

from ...signals.states import sure_text


class RuleError(ValueError):
    """A rule setting that cannot be taken: `field` names it, `reason` says why ("must be ...")."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field} {reason}" if field else reason)
        self.field = field
        self.reason = reason


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
                raise RuleError("", f"unknown rule setting {k!r}")
            default = kw[k]
            if isinstance(default, bool):
                if not isinstance(v, bool):
                    raise RuleError(k, "must be true or false")
            else:
                try:
                    v = type(default)(v)
                except (TypeError, ValueError):
                    raise RuleError(k, "must be a number") from None
                if isinstance(v, float) and not math.isfinite(v):
                    raise RuleError(k, "must be a finite number")
                lo, hi = cls.LIMITS.get(k, (-math.inf, math.inf))
                if not lo <= v <= hi:
                    raise RuleError(k, f"must be between {lo:g} and {hi:g}")
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
                "confidence": None if self.confidence is None else round(self.confidence, 2),
                "sure": None if self.confidence is None else sure_text(self.confidence)}
