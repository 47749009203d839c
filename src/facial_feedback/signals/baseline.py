"""A person's own resting levels, against which states are read.

Learned over the first minutes of a session (or an explicit calibration step:
sit relaxed, look at the screen for a minute) and stored per person as JSON:

    b = session.baseline(track_id)        # once learned
    b.save("me.json")
    SignalSession(baseline=Baseline.load("me.json"))

Until a baseline is learned, `Baseline.population()` (adult averages, sources in
docs/signals.md) stands in, and states say so with a lower confidence.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, List, Mapping, Optional, Union

import numpy as np


@dataclass(frozen=True)
class Baseline:
    eye_open: float = 0.12           # open-eye lid gap / IOD (90th percentile)
    perclos: float = 0.03            # share of time eyes >= 80% closed
    blink_rate: float = 17.0         # blinks per minute (15-20 at rest: Bentivoglio 1997)
    blink_duration: float = 0.2      # seconds, at half closure
    brow_height: float = 0.30        # brow-to-eye-line height / IOD
    lip_press: float = 0.33          # lip thickness / mouth width
    smile: float = 0.10              # smile intensity 0..1
    head_pitch: float = 0.0          # degrees, usual head pitch
    head_motion: float = 8.0         # degrees per second, mean angular speed of the head
    negative: float = 0.15           # mean probability of angry+disgust+fear+sad
    on_screen: float = 0.9           # share of time looking at the screen
    look_away_rate: float = 1.0      # look-aways per minute
    seconds: float = 0.0             # how much well-seen face time it was learned from (0 = population)
    source: str = "population"       # "population" | "session" | "calibration" | "file"

    @classmethod
    def population(cls) -> "Baseline":
        return cls()

    @property
    def learned(self) -> bool:
        return self.source != "population"

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Baseline":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: Union[str, os.PathLike]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Baseline":
        with open(path, encoding="utf-8") as f:
            b = cls.from_dict(json.load(f))
        return b if b.source != "population" else replace(b, source="file")


class BaselineLearner:
    """Collects one track's well-seen frames (at most `rate` Hz) and event counts, then
    summarises them into a Baseline."""

    def __init__(self, rate: float = 5.0):
        self._dt = 1.0 / rate
        self._next_t = -math.inf
        self.values: dict = {k: [] for k in ("eye_open", "brow_height", "lip_press", "smile", "head_pitch",
                                              "head_motion", "negative")}
        self.seconds = 0.0        # well-seen time
        self.closed80 = 0.0       # time with eyes >= 80% closed
        self.on_screen_t = 0.0
        self.on_screen_known = 0.0
        self.blinks: List[float] = []  # durations
        self.look_aways = 0

    def add(self, t: float, dt: float, values: Mapping[str, Optional[float]], closed80: bool,
            on_screen: Optional[bool]) -> None:
        self.seconds += dt
        self.closed80 += dt if closed80 else 0.0
        if on_screen is not None:
            self.on_screen_known += dt
            self.on_screen_t += dt if on_screen else 0.0
        if t >= self._next_t:
            self._next_t = t + self._dt
            for k, v in values.items():
                if v is not None and k in self.values and math.isfinite(v):
                    self.values[k].append(float(v))

    def baseline(self, source: str = "session") -> Baseline:
        pop = Baseline.population()
        med = lambda k, d: float(np.median(self.values[k])) if len(self.values[k]) >= 5 else d  # noqa: E731
        minutes = self.seconds / 60.0
        open_level = (float(np.percentile(self.values["eye_open"], 90)) if len(self.values["eye_open"]) >= 5
                      else pop.eye_open)
        motion = self.values["head_motion"]
        return Baseline(
            eye_open=open_level,
            perclos=self.closed80 / self.seconds if self.seconds > 0 else pop.perclos,
            blink_rate=len(self.blinks) / minutes if minutes > 0.25 else pop.blink_rate,
            blink_duration=float(np.median(self.blinks)) if len(self.blinks) >= 3 else pop.blink_duration,
            brow_height=med("brow_height", pop.brow_height),
            lip_press=med("lip_press", pop.lip_press),
            smile=med("smile", pop.smile),
            head_pitch=med("head_pitch", pop.head_pitch),
            head_motion=float(np.mean(motion)) if len(motion) >= 5 else pop.head_motion,
            negative=float(np.mean(self.values["negative"])) if len(self.values["negative"]) >= 5 else pop.negative,
            on_screen=self.on_screen_t / self.on_screen_known if self.on_screen_known > 0 else pop.on_screen,
            look_away_rate=self.look_aways / minutes if minutes > 0.25 else pop.look_away_rate,
            seconds=round(self.seconds, 1),
            source=source,
        )
