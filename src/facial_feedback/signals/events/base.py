"""What every event detector shares: the Event record, the one detector interface, and the
held-condition episode most detectors are made of."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ..baseline import Baseline
    from ..geometry import FaceSignals


def _r(v, nd=3):
    return None if v is None else round(float(v), nd)


@dataclass(frozen=True)
class Event:
    type: str                       # blink, slow_blink, eye_closure, yawn, look_away, face_absent, frown, smile, nod, head_drop
    track: Optional[int]            # None for session-wide events (face_absent)
    onset: float                    # seconds
    duration: Optional[float] = None  # None while ongoing
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> Optional[float]:
        return None if self.duration is None else self.onset + self.duration

    def to_dict(self) -> dict:
        return {"type": self.type, "track": self.track, "onset": _r(self.onset), "duration": _r(self.duration),
                "details": {k: (_r(v) if isinstance(v, float) else v) for k, v in self.details.items()}}


@dataclass
class Observation:
    """What one track's detectors see of one frame (built once per frame by the track; on_screen
    is filled in after the eye detectors ran, since a closed eye makes the gaze unknown)."""

    t: float
    fs: "FaceSignals"
    pose: Any                       # facial_feedback.types.HeadPose or None
    good: bool                      # face well seen (FaceSignals.quality >= min_quality)
    closure: float                  # 0 open .. 1 shut, against the person's open level
    blink_closure: float            # the same against the lids' level of the last second
    on_screen: Optional[bool]       # gaze on the screen (None: unknown, e.g. eyes closed)
    baseline: "Baseline"
    personal: bool                  # the baseline holds the person's own levels (learned or provisional)
    eye_closure: Any = None         # the EyeClosure of this frame (per-eye values), when known
    face: Any = None                # the Face (its emotion and blendshapes), when known


Pair = Tuple[Optional[Event], Optional[Event]]


class Detector:
    """One kind of event from a track's frames.

    update(obs) -> (started, ended): an episode confirmed at this frame (duration None, still
    ongoing) and a complete event, each or both None. close(t) ends what is open at t (the face
    was lost, the session ends); busy says whether something is open or pending.
    """

    kind: str = ""

    def update(self, obs: Observation) -> Pair:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self, t: float) -> Optional[Event]:
        return None

    @property
    def busy(self) -> bool:
        return False


def cross(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which a linear ramp from (t0, v0) to (t1, v1) crosses level."""
    if v1 == v0:
        return t1
    return t0 + (t1 - t0) * min(1.0, max(0.0, (level - v0) / (v1 - v0)))


class Episode:
    """A boolean condition held for at least min_s becomes an episode; returns shorter than
    gap_s do not end it. `update` returns (started, ended) Events or None."""

    def __init__(self, kind: str, track: Optional[int], min_s: float, gap_s: float = 0.0):
        self.kind, self.track, self.min_s, self.gap_s = kind, track, min_s, gap_s
        self.on_since: Optional[float] = None   # condition true since (candidate onset)
        self.off_since: Optional[float] = None  # condition false since, while in an episode
        self.active = False
        self.peak: Optional[float] = None

    @property
    def busy(self) -> bool:
        return self.active or self.on_since is not None

    def update(self, t: float, cond: Optional[bool], value: Optional[float] = None) -> Pair:
        started = ended = None
        if cond is None:  # unknown: hold
            return None, None
        if cond:
            self.off_since = None
            if self.on_since is None:
                self.on_since, self.peak = t, value
            elif value is not None:
                self.peak = value if self.peak is None else max(self.peak, value)
            if not self.active and t - self.on_since >= self.min_s - 1e-9:
                self.active = True
                started = Event(self.kind, self.track, self.on_since, None, self._details())
        else:
            if self.active:
                if self.off_since is None:
                    self.off_since = t
                if t - self.off_since >= self.gap_s - 1e-9:
                    ended = self._end(self.off_since)
            else:
                self.on_since = None
        return started, ended

    def _details(self) -> dict:
        return {} if self.peak is None else {"peak": float(self.peak)}

    def _end(self, t_end: float) -> Event:
        ev = Event(self.kind, self.track, self.on_since, max(0.0, t_end - self.on_since), self._details())
        self.active, self.on_since, self.off_since, self.peak = False, None, None, None
        return ev

    def close(self, t: float) -> Optional[Event]:
        """End any episode at t (e.g. the face was lost); drop an unconfirmed candidate."""
        ev = self._end(self.off_since if self.off_since is not None else t) if self.active else None
        self.active, self.on_since, self.off_since, self.peak = False, None, None, None
        return ev


class EpisodeDetector(Detector):
    """A detector whose events are the episodes of one per-frame condition (with hysteresis
    kept by the subclass in `state`). Subclasses define condition(obs) -> (cond or None, value)."""

    def __init__(self, kind: str, track: int, min_s: float, gap_s: float):
        self.kind = kind
        self.episode = Episode(kind, track, min_s, gap_s)
        self.state = False

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:  # pragma: no cover
        raise NotImplementedError

    def update(self, obs: Observation) -> Pair:
        cond, value = self.condition(obs)
        return self.episode.update(obs.t, cond, value)

    def close(self, t: float) -> Optional[Event]:
        return self.episode.close(t)

    @property
    def busy(self) -> bool:
        return self.episode.busy
