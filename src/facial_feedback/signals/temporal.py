"""State over time: events with onset and duration, and states over sliding windows.

One `SignalSession` per video or live client (never module state):

    session = SignalSession()                 # or SignalSession(baseline=Baseline.load("me.json"))
    for frame in frames:                      # FrameResult with faces carrying .signals (FaceSignals)
        snap = session.update(frame)          # SessionSnapshot: events started/ended now, states per track
    last = session.close()                    # ends open episodes
    session.summary()                         # per-track totals (blinks/min, PERCLOS, ...)

Events: blink, slow_blink, eye_closure, yawn, look_away, face_absent, frown, smile,
nod, head_drop. States: attention, fatigue, tension (each a value in [0, 1], a level,
a confidence, an abstain flag and the cues behind it in plain sentences).
Formulas, thresholds and sources: docs/signals.md.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

import numpy as np

from .baseline import Baseline, BaselineLearner
from .geometry import FaceSignals, face_signals, negative_emotion


# --------------------------------------------------------------------------- config

@dataclass(frozen=True)
class SignalConfig:
    """Every threshold in one place (units in the names; sources in docs/signals.md)."""

    # Eye closure: closure = (1 - open/open_level) / (1 - closed_ratio), clipped to [0, 1], per eye,
    # then averaged; open_level = a running percentile of the person's lid gap, blended with a prior.
    open_percentile: float = 90.0
    open_window_s: float = 60.0
    open_prior_weight_s: float = 10.0   # the prior (baseline) counts as this many seconds of data
    open_recent_s: float = 0.5          # ... and the median of this recent span, if higher, wins
    closed_ratio: float = 0.2           # lid gap of a shut eye / open lid gap, on MediaPipe meshes
    blink_ref_s: float = 1.0            # blinks are measured against the lid gap (80th percentile)
    blink_ref_floor: float = 0.6        # ... of the past second outside blinks, at least this x the open level
    blink_on: float = 0.5               # closure entering "closed"
    blink_off: float = 0.35             # closure leaving "closed" (hysteresis)
    reopen_max: float = 0.6             # ... and the closure against the open level must be this low
    blink_max_s: float = 0.5            # longer closures are slow blinks ...
    closure_min_s: float = 1.0          # ... and from this long on, eye closures
    perclos_closure: float = 0.8        # PERCLOS counts time with closure >= this (P80)
    # Yawn: mouth aspect ratio (inner lips) above yawn_on for at least yawn_min_s.
    yawn_on: float = 0.6
    yawn_off: float = 0.45
    yawn_min_s: float = 1.5
    # Look-away: gaze (or head) off the screen for at least look_away_min_s; shorter returns merged.
    look_away_min_s: float = 1.0
    merge_gap_s: float = 0.3
    head_off_yaw: float = 40.0          # head alone turned this far is off screen whatever the eyes do
    face_absent_min_s: float = 0.5
    # Frown: brows lowered by >= frown_on of their baseline height (relative) for frown_min_s.
    frown_on: float = 0.10
    frown_off: float = 0.06
    frown_min_s: float = 1.0
    lip_press_on: float = 0.15          # lip thickness ratio this much (relative) below baseline = pressed
    # Smile: smile intensity above the baseline by smile_on for smile_min_s.
    smile_on: float = 0.35
    smile_off: float = 0.2
    smile_min_s: float = 0.5
    # Nod: pitch down then up (or up then down) by nod_deg each, within nod_max_s.
    nod_deg: float = 7.0
    nod_max_s: float = 1.5
    # Head drop: pitch below the baseline pitch by head_drop_deg for head_drop_min_s.
    head_drop_deg: float = 15.0
    head_drop_min_s: float = 1.0
    # Windows.
    attention_window_s: float = 30.0
    fatigue_window_s: float = 60.0
    tension_window_s: float = 60.0
    recent_s: float = 5.0               # abstain when the face was poorly seen most of this
    state_interval_s: float = 0.2       # states are recomputed at most this often (and on every event)
    min_seen_share: float = 0.5
    min_quality: float = 0.5            # FaceSignals.quality below this = poorly seen
    min_state_s: float = 5.0            # states abstain until a track was seen this long
    max_gap_s: float = 0.5              # a longer gap in a track's frames resets its detectors
    # Baseline learning over the first minutes of each track (0 = never learn; use the given one).
    baseline_s: float = 120.0
    provisional_s: float = 10.0         # until then, population values; then the person's levels so far
    # A new track id appearing while exactly one known track is missing continues that person.
    reuse_lost_tracks: bool = True
    forget_s: float = 120.0             # a track unseen this long is dropped
    track_memory_s: float = 2.0         # the pipeline keeps an id this long (AnalyzerConfig.track_memory)


# --------------------------------------------------------------------------- result types

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

    def to_dict(self) -> dict:
        return {"value": _r(self.value), "level": self.level, "baseline": _r(self.baseline),
                "confidence": _r(self.confidence, 2), "abstain": self.abstain, "cues": list(self.cues),
                "metrics": {k: _r(v, 4) for k, v in self.metrics.items()}}


@dataclass(frozen=True)
class TrackState:
    track_id: int
    present: bool
    eyes_closed: bool
    closure: Optional[float]        # 0 open .. 1 shut, this frame
    on_screen: Optional[bool]
    attention: State
    fatigue: State
    tension: State
    baseline_source: str            # population | session | calibration | file
    seen_s: float                   # seconds this track was seen

    def to_dict(self) -> dict:
        return {"track_id": self.track_id, "present": self.present, "eyes_closed": self.eyes_closed,
                "closure": _r(self.closure), "on_screen": self.on_screen,
                "attention": self.attention.to_dict(), "fatigue": self.fatigue.to_dict(),
                "tension": self.tension.to_dict(), "baseline": self.baseline_source, "seen_s": _r(self.seen_s, 1)}


@dataclass(frozen=True)
class SessionSnapshot:
    index: Optional[int]
    time: float
    started: Tuple[Event, ...] = ()   # episodes confirmed at this frame (duration None: ongoing)
    ended: Tuple[Event, ...] = ()     # complete events (blinks, nods, and episodes that ended)
    tracks: Tuple[TrackState, ...] = ()
    face_absent: bool = False

    def track(self, track_id: int) -> Optional[TrackState]:
        return next((t for t in self.tracks if t.track_id == track_id), None)

    def to_dict(self) -> dict:
        return {"time": _r(self.time), "face_absent": self.face_absent,
                "events_started": [e.to_dict() for e in self.started],
                "events_ended": [e.to_dict() for e in self.ended],
                "tracks": [t.to_dict() for t in self.tracks]}


# --------------------------------------------------------------------------- building blocks

def _cross(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which a linear ramp from (t0, v0) to (t1, v1) crosses level."""
    if v1 == v0:
        return t1
    return t0 + (t1 - t0) * min(1.0, max(0.0, (level - v0) / (v1 - v0)))


class _Episode:
    """A boolean condition held for at least min_s becomes an episode; returns shorter than
    gap_s do not end it. `update` returns (started, ended) Events or None."""

    def __init__(self, kind: str, track: Optional[int], min_s: float, gap_s: float = 0.0):
        self.kind, self.track, self.min_s, self.gap_s = kind, track, min_s, gap_s
        self.on_since: Optional[float] = None   # condition true since (candidate onset)
        self.off_since: Optional[float] = None  # condition false since, while in an episode
        self.active = False
        self.peak: Optional[float] = None

    def update(self, t: float, cond: Optional[bool], value: Optional[float] = None):
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


class _Blinks:
    """Eye closures from the per-frame closure (0 open .. 1 shut), with hysteresis.

    Onset and end are interpolated where the closure crosses blink_on between frames, so a
    blink 1-2 frames long at 15 fps still gets a duration between frame times.
    """

    def __init__(self, cfg: SignalConfig, track: int):
        self.cfg, self.track = cfg, track
        self.closed = False
        self.t_on = 0.0
        self.t_down: Optional[float] = None  # last time closure fell below blink_on while closed
        self.peak = 0.0
        self.long_started = False
        self.pending: Optional[float] = None  # a long closure's tentative end
        self.prev: Optional[Tuple[float, float]] = None

    def update(self, t: float, c: float, c_long: float = 0.0):
        """c: closure against the recent lid level; c_long: against the person's open level
        (the eyes count as open again only when both say so)."""
        cfg = self.cfg
        started = ended = None
        prev = self.prev
        self.prev = (t, c)
        if not self.closed:
            if c >= cfg.blink_on:
                self.closed, self.peak, self.long_started, self.t_down = True, c, False, None
                self.t_on = _cross(prev[0], prev[1], t, c, cfg.blink_on) if prev else t
        else:
            self.peak = max(self.peak, c)
            if c >= cfg.blink_on:
                self.t_down = None
            elif self.t_down is None and prev is not None:
                self.t_down = _cross(prev[0], prev[1], t, c, cfg.blink_on)
            if c <= cfg.blink_off and c_long <= cfg.reopen_max:
                t_end = self.t_down if self.t_down is not None else t
                if self.long_started:
                    # a long closure ends only after merge_gap_s open (a hand or a squint can lift
                    # the lids' mesh for a frame or two)
                    self.pending = t_end if self.pending is None else self.pending
                    if t - self.pending >= cfg.merge_gap_s - 1e-9:
                        ended = self._finish(self.pending)
                else:
                    ended = self._finish(t_end)
            else:
                self.pending = None
                if not self.long_started and t - self.t_on >= cfg.closure_min_s:
                    self.long_started = True
                    started = Event("eye_closure", self.track, self.t_on, None, {})
        return started, ended

    def _finish(self, t_end: float) -> Event:
        d = max(0.0, t_end - self.t_on)
        kind = "blink" if d <= self.cfg.blink_max_s else ("slow_blink" if d < self.cfg.closure_min_s else "eye_closure")
        if self.long_started:
            kind = "eye_closure"
        self.closed, self.long_started, self.t_down, self.pending = False, False, None, None
        return Event(kind, self.track, self.t_on, d, {"peak_closure": float(self.peak)})

    def close(self, t: float) -> Optional[Event]:
        ev = None
        if self.closed:
            ev = self._finish(self.pending if self.pending is not None else t)
            if ev.type != "eye_closure":
                ev = None  # a blink cut by a gap is not counted
        self.closed, self.prev = False, None
        return ev


class _Window:
    """Time-weighted sliding means of several channels (None = unknown, excluded).

    Running sums in plain Python (for 10 channels this is several times quicker than
    small NumPy arrays)."""

    def __init__(self, span: float, n: int):
        self.span = span
        self.n = n
        self.q: Deque[Tuple[float, float, list]] = deque()
        self.sw = [0.0] * n
        self.swv = [0.0] * n

    def push(self, t: float, dt: float, v: list) -> None:
        self.q.append((t, dt, v))
        sw, swv = self.sw, self.swv
        if dt > 0:
            for i, x in enumerate(v):
                if x is not None:
                    sw[i] += dt
                    swv[i] += dt * x
        lim = t - self.span
        q = self.q
        while q and q[0][0] <= lim:
            _, d0, v0 = q.popleft()
            if d0 > 0:
                for i, x in enumerate(v0):
                    if x is not None:
                        sw[i] -= d0
                        swv[i] -= d0 * x

    def mean(self, i: int) -> Optional[float]:
        return self.swv[i] / self.sw[i] if self.sw[i] > 1e-9 else None

    def total(self, i: int) -> float:
        """Time-weighted sum (e.g. seconds seen)."""
        return max(self.swv[i], 0.0)

    def weight(self, i: int) -> float:
        return max(self.sw[i], 0.0)


class _Nods:
    """A nod: within nod_max_s the head pitch swings at least nod_deg one way (down, or up)
    and comes back at least nod_deg. Onset = when the swing left its starting level."""

    def __init__(self, cfg: SignalConfig, track: int):
        self.cfg, self.track = cfg, track
        self.h: Deque[Tuple[float, float]] = deque()

    def update(self, t: float, p: float) -> Optional[Event]:
        cfg = self.cfg
        h = self.h
        h.append((t, p))
        while h and h[0][0] < t - cfg.nod_max_s:
            h.popleft()
        if len(h) < 3:
            return None
        ps = [x[1] for x in h]
        for sign, direction in ((1.0, "down"), (-1.0, "up")):
            q = [sign * v for v in ps]           # a down-nod is a trough in pitch: a peak of -pitch
            q = [-v for v in q]
            k = max(range(len(q)), key=q.__getitem__)  # the extreme of the swing
            amp_back = q[k] - q[-1]
            before = q[:k]
            if not before or amp_back < cfg.nod_deg:
                continue
            start = min(before)
            amp = q[k] - start
            if amp < cfg.nod_deg:
                continue
            lim = start + 0.2 * amp
            i0 = max(i for i in range(k) if q[i] <= lim)
            t0 = h[i0][0]
            self.h = deque([h[-1]])
            return Event("nod", self.track, t0, t - t0, {"direction": direction, "amplitude_deg": float(amp)})
        return None


# Window channels
_PRESENT, _SEEN, _ONSCREEN, _P80, _CLOSURE, _BROW, _LIPS, _NEG, _MOTION, _SMILE = range(10)
_NCH = 10


class _Track:
    def __init__(self, tid: int, cfg: SignalConfig, baseline: Optional[Baseline]):
        self.id = tid
        self.cfg = cfg
        self.given = baseline
        self.learner = BaselineLearner() if (baseline is None and cfg.baseline_s > 0) else None
        self.learned: Optional[Baseline] = None
        self.first_t: Optional[float] = None
        self.last_t: Optional[float] = None
        self.seen_s = 0.0
        self.open_hist: Deque[Tuple[float, float, float]] = deque()  # (t, right, left) lid gaps
        self.open_recent: Deque[Tuple[float, float, float]] = deque()
        self.open_local: Deque[Tuple[float, float, float]] = deque()  # lids outside blinks, last blink_ref_s
        self.blink_ref: Optional[Tuple[float, float]] = None
        self.open_level: Optional[Tuple[float, float]] = None
        self.open_level_t = -math.inf
        self.blinks = _Blinks(cfg, tid)
        self.nods = _Nods(cfg, tid)
        self.yawn = _Episode("yawn", tid, cfg.yawn_min_s, cfg.merge_gap_s)
        self.look = _Episode("look_away", tid, cfg.look_away_min_s, cfg.merge_gap_s)
        self.frown = _Episode("frown", tid, cfg.frown_min_s, cfg.merge_gap_s)
        self.smile = _Episode("smile", tid, cfg.smile_min_s, cfg.merge_gap_s)
        self.drop = _Episode("head_drop", tid, cfg.head_drop_min_s, cfg.merge_gap_s)
        self.episodes = (self.yawn, self.look, self.frown, self.smile, self.drop)
        by_span: Dict[float, _Window] = {}
        self.win = {name: by_span.setdefault(span, _Window(span, _NCH)) for name, span in (
            ("attention", cfg.attention_window_s), ("fatigue", cfg.fatigue_window_s),
            ("tension", cfg.tension_window_s), ("recent", cfg.recent_s))}
        self.windows = list(by_span.values())  # each distinct window once
        self.events: Deque[Event] = deque()  # ended events over the longest window, for rates
        self.prev_pose: Optional[Tuple[float, float, float, float]] = None
        self.frown_state = False
        self.yawn_state = False
        self.state_cache: Optional[tuple] = None
        self.dirty = True
        self._prov: Optional[Baseline] = None
        self._prov_t = -math.inf
        self.smile_state = False
        self.last: Optional[Tuple[bool, Optional[float], Optional[bool]]] = None
        # session totals
        self.total_present = 0.0
        self.total_p80 = 0.0
        self.counts: Dict[str, int] = {}
        self.blink_durations: List[float] = []

    # -- baseline
    @property
    def baseline(self) -> Baseline:
        if self.given is not None:
            return self.given
        if self.learned is not None:
            return self.learned
        if self.learner is not None and self.learner.seconds >= self.cfg.provisional_s:
            # provisional: the person's own levels so far, still reported as "population" quality
            if self.last_t is not None and self.last_t - self._prov_t >= 2.0:
                self._prov = self.learner.baseline(source="population")
                self._prov_t = self.last_t
            if self._prov is not None:
                return self._prov
        return Baseline.population()

    def baseline_source(self) -> str:
        if self.given is not None:
            return self.given.source
        return "session" if self.learned is not None else "population"

    # -- per-eye open level
    def _open_levels(self, t: float, r: float, l: float) -> Tuple[float, float]:
        cfg = self.cfg
        self.open_hist.append((t, r, l))
        while self.open_hist[0][0] < t - cfg.open_window_s:
            self.open_hist.popleft()
        self.open_recent.append((t, r, l))
        while self.open_recent[0][0] < t - cfg.open_recent_s:
            self.open_recent.popleft()
        if self.open_level is None or t - self.open_level_t >= 0.5 or len(self.open_hist) < 30:
            a = np.array(self.open_hist)
            pr, pl = np.percentile(a[:, 1:], cfg.open_percentile, axis=0)
            span = max(0.0, a[-1, 0] - a[0, 0]) if len(a) > 1 else 0.0
            known = self.given is not None or self.learned is not None
            prior = self.baseline.eye_open if known else Baseline().eye_open
            w0 = max(cfg.open_prior_weight_s, 30.0) if known else cfg.open_prior_weight_s
            k = span / (span + w0)
            self.open_level = (k * pr + (1 - k) * prior, k * pl + (1 - k) * prior)
            self.open_level_t = t
        # the eyes just seen open count at once: the median of the last open_recent_s (a blink
        # fills less than half of it) lifts the level when the long window is dominated by a
        # closure (e.g. a video that starts with the eyes shut)
        if len(self.open_recent) >= 3:
            rs = sorted(x[1] for x in self.open_recent)
            ls = sorted(x[2] for x in self.open_recent)
            m = len(rs) // 2
            mr = rs[m] if len(rs) % 2 else (rs[m - 1] + rs[m]) / 2
            ml = ls[m] if len(ls) % 2 else (ls[m - 1] + ls[m]) / 2
            return max(self.open_level[0], mr), max(self.open_level[1], ml)
        return self.open_level

    def closure(self, t: float, fs: FaceSignals) -> Tuple[float, float]:
        """(closure against the person's open level, closure against the lids' level of the
        last second). The first is PERCLOS's; the second drives the blink detector, so a
        blink from narrowed eyes (a smile, looking down) is still a blink, and narrowed eyes
        alone are not one."""
        cfg = self.cfg
        r, l = fs.eye_open_right, fs.eye_open_left
        lr, ll = self._open_levels(t, r, l)
        d = 1.0 - cfg.closed_ratio
        c_long = ((1.0 - r / lr) if lr > 0 else 0.0) + ((1.0 - l / ll) if ll > 0 else 0.0)
        c_long = min(1.0, max(0.0, c_long / 2.0 / d))
        q = self.open_local
        if not self.blinks.closed:  # the reference is frozen while the eyes are closed
            while q and q[0][0] < t - cfg.blink_ref_s:
                q.popleft()
            if len(q) >= 3:
                rs = sorted(x[1] for x in q)
                ls = sorted(x[2] for x in q)
                k = min(len(rs) - 1, int(0.8 * len(rs)))  # 80th percentile of the open-lid samples
                self.blink_ref = (rs[k], ls[k])
        if self.blink_ref is None:  # warming up (the first frames of a track): no blink can start yet
            q.append((t, r, l))
            return c_long, 0.0
        br = max(self.blink_ref[0], cfg.blink_ref_floor * lr)
        bl = max(self.blink_ref[1], cfg.blink_ref_floor * ll)
        c_blink = ((1.0 - r / br) if br > 0 else 0.0) + ((1.0 - l / bl) if bl > 0 else 0.0)
        c_blink = min(1.0, max(0.0, c_blink / 2.0 / d))
        if not self.blinks.closed and c_blink < cfg.blink_on:
            q.append((t, r, l))
        return c_long, c_blink


class SignalSession:
    """Events and states over time for one video or one live client."""

    def __init__(self, config: SignalConfig = SignalConfig(), baseline: Optional[Baseline] = None,
                 calibration=None, cone=None):
        self.config = config
        self.given_baseline = baseline
        # GazeCalibration: when set (also later, e.g. after a calibration step), "on screen" is
        # decided by it from each face's gaze angles, whatever the per-frame default cone said
        self.calibration = calibration
        self.cone = cone
        self._tracks: Dict[int, _Track] = {}
        self._alias: Dict[int, int] = {}
        self._absent = _Episode("face_absent", None, config.face_absent_min_s)
        self._last_t: Optional[float] = None
        self._t0: Optional[float] = None
        self._absent_total = 0.0
        self._absent_count = 0
        self._finished: List[dict] = []  # summaries of tracks dropped after forget_s

    # -- public API
    def update(self, frame) -> SessionSnapshot:
        """Feed the next FrameResult (timestamps increasing); returns this frame's snapshot."""
        cfg = self.config
        t = float(frame.timestamp if frame.timestamp is not None else (self._last_t or 0.0) + 1.0 / 30)
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        dt = min(dt, cfg.max_gap_s)
        if self._t0 is None:
            self._t0 = t
        self._last_t = t
        started: List[Event] = []
        ended: List[Event] = []

        faces = [f for f in frame.faces if f.landmarks is not None or f.signals is not None]
        absent = len(faces) == 0
        s, e = self._absent.update(t, absent)
        self._collect(s, e, started, ended)
        if absent:
            self._absent_total += dt

        seen_ids = set()
        for i, face in enumerate(faces):
            tid = face.track_id if face.track_id is not None else -(i + 1)
            tr = self._track_for(tid, t, len(faces))
            seen_ids.add(tr.id)
            fs = face.signals
            if fs is None:
                fs = face_signals(face.landmarks, face.pose, self.calibration, self.cone)
            self._update_track(tr, t, dt, fs, face, started, ended)

        for tid, tr in list(self._tracks.items()):
            if tr.id in seen_ids:
                continue
            self._missing(tr, t, dt, ended)
            if tr.last_t is not None and t - tr.last_t > cfg.forget_s:
                self._finished.append(self._track_summary(tr))  # its totals stay in summary()
                del self._tracks[tid]
                self._alias = {k: v for k, v in self._alias.items() if v != tid}

        states = tuple(self._states(tr, t, present=tr.id in seen_ids, cur_id=self._current_id(tr.id))
                       for tr in self._tracks.values())
        return SessionSnapshot(index=frame.index, time=t, started=tuple(started), ended=tuple(ended),
                               tracks=states, face_absent=absent)

    def close(self) -> Tuple[Event, ...]:
        """End every open episode at the last frame time; returns the events that ended."""
        t = self._last_t if self._last_t is not None else 0.0
        ended: List[Event] = []
        ev = self._absent.close(t)
        self._collect(None, ev, [], ended)
        for tr in self._tracks.values():
            self._end_track_episodes(tr, tr.last_t if tr.last_t is not None else t, ended)
        return tuple(ended)

    def baseline(self, track_id: Optional[int] = None) -> Baseline:
        """The baseline in use for a track (the learned one once learned; so far-learned
        values while learning; the given one if the session was given one)."""
        tr = self._get(track_id)
        if tr is None:
            return self.given_baseline or Baseline.population()
        if tr.given is not None:
            return tr.given
        if tr.learned is not None:
            return tr.learned
        if tr.learner is not None and tr.learner.seconds > 0:
            return tr.learner.baseline(source="session")
        return Baseline.population()

    def summary(self) -> dict:
        """Totals per track over the whole session (for the CLI's end-of-run summary)."""
        out = {"duration_s": round((self._last_t or 0.0) - (self._t0 or 0.0), 2),
               "face_absent_s": round(self._absent_total, 2), "face_absent_episodes": self._absent_count,
               "tracks": []}
        out["tracks"] = list(self._finished) + [self._track_summary(tr) for tr in self._tracks.values()]
        return out

    def _track_summary(self, tr: _Track) -> dict:
        minutes = tr.total_present / 60.0
        c = tr.counts
        return {
            "track_id": self._current_id(tr.id), "seen_s": round(tr.total_present, 2),
            "blinks": c.get("blink", 0), "slow_blinks": c.get("slow_blink", 0),
            "blinks_per_min": round((c.get("blink", 0) + c.get("slow_blink", 0)) / minutes, 1) if minutes > 0 else None,
            "mean_blink_s": round(float(np.mean(tr.blink_durations)), 3) if tr.blink_durations else None,
            "perclos": round(tr.total_p80 / tr.total_present, 3) if tr.total_present > 0 else None,
            "eye_closures": c.get("eye_closure", 0), "yawns": c.get("yawn", 0),
            "look_aways": c.get("look_away", 0), "frowns": c.get("frown", 0), "smiles": c.get("smile", 0),
            "nods": c.get("nod", 0), "head_drops": c.get("head_drop", 0),
            "baseline": tr.baseline_source(),
        }

    # -- tracks
    def _current_id(self, internal: int) -> int:
        for k, v in self._alias.items():
            if v == internal:
                return k
        return internal

    def _get(self, track_id: Optional[int]) -> Optional[_Track]:
        if track_id is None:
            return next(iter(self._tracks.values()), None)
        return self._tracks.get(self._alias.get(track_id, track_id))

    def _track_for(self, tid: int, t: float, n_faces: int) -> _Track:
        key = self._alias.get(tid, tid)
        tr = self._tracks.get(key)
        if tr is not None:
            return tr
        if self.config.reuse_lost_tracks:
            lost = [x for x in self._tracks.values()
                    if x.last_t is not None and t - x.last_t >= self.config.track_memory_s - 0.05]
            if len(lost) == 1:
                # the only missing person comes back under a new id: keep their history
                old = lost[0]
                self._alias = {k: v for k, v in self._alias.items() if v != old.id}
                self._alias[tid] = old.id
                return old
        tr = _Track(tid, self.config, self.given_baseline)
        self._tracks[tid] = tr
        return tr

    def _collect(self, s: Optional[Event], e: Optional[Event], started: List[Event], ended: List[Event],
                 tr: Optional[_Track] = None) -> None:
        if s is not None:
            started.append(self._renamed(s))
        if e is not None:
            e = self._renamed(e)
            ended.append(e)
            if e.type == "face_absent":
                self._absent_count += 1
            if tr is not None:
                tr.dirty = True
                tr.events.append(e)
                tr.counts[e.type] = tr.counts.get(e.type, 0) + 1
                if e.type in ("blink", "slow_blink"):
                    tr.blink_durations.append(float(e.duration))
                if tr.learner is not None and tr.learned is None:
                    if e.type in ("blink", "slow_blink"):
                        tr.learner.blinks.append(float(e.duration))
                    elif e.type == "look_away":
                        tr.learner.look_aways += 1

    def _renamed(self, e: Event) -> Event:
        if e.track is None:
            return e
        cur = self._current_id(e.track)
        return e if cur == e.track else Event(e.type, cur, e.onset, e.duration, e.details)

    def _end_track_episodes(self, tr: _Track, t_end: float, ended: List[Event]) -> None:
        self._collect(None, tr.blinks.close(t_end), [], ended, tr)
        for ep in tr.episodes:
            self._collect(None, ep.close(t_end), [], ended, tr)
        tr.nods = _Nods(self.config, tr.id)
        tr.prev_pose = None

    def _missing(self, tr: _Track, t: float, dt: float, ended: List[Event]) -> None:
        if tr.last_t is not None and t - tr.last_t > self.config.max_gap_s and (
                tr.blinks.closed or any(ep.active or ep.on_since is not None for ep in tr.episodes)):
            self._end_track_episodes(tr, tr.last_t, ended)
        v = [None] * _NCH
        v[_PRESENT] = 0.0
        v[_SEEN] = 0.0
        for w in tr.windows:
            w.push(t, dt, v)

    def _update_track(self, tr: _Track, t: float, dt: float, fs: FaceSignals, face, started, ended) -> None:
        cfg = self.config
        if tr.last_t is not None and t - tr.last_t > cfg.max_gap_s:
            self._end_track_episodes(tr, tr.last_t, ended)
        if tr.first_t is None:
            tr.first_t = t
        tr.last_t = t
        tr.seen_s += dt
        tr.total_present += dt
        b = tr.baseline
        good = fs.quality >= cfg.min_quality

        # eyes
        c, cb = tr.closure(t, fs)
        s, e = tr.blinks.update(t, cb, c) if good else (None, None)
        self._collect(s, e, started, ended, tr)
        p80 = c >= cfg.perclos_closure
        tr.total_p80 += dt if p80 else 0.0

        # mouth
        tr.yawn_state = fs.mar >= cfg.yawn_on or (tr.yawn_state and fs.mar > cfg.yawn_off)
        s, e = tr.yawn.update(t, tr.yawn_state, fs.mar)
        self._collect(s, e, started, ended, tr)

        # gaze / head on screen (unknown while the eyes are closed: a blink is no look-away)
        pose = face.pose
        on = fs.on_screen
        if self.calibration is not None and fs.gaze_yaw is not None:
            on = self.calibration.contains(fs.gaze_yaw, fs.gaze_pitch)
        if pose is not None and abs(pose.yaw) >= cfg.head_off_yaw:
            on = False
        if tr.blinks.closed and on is not None and not (pose is not None and abs(pose.yaw) >= cfg.head_off_yaw):
            on = None
        s, e = tr.look.update(t, None if on is None else (not on))
        self._collect(s, e, started, ended, tr)

        # brows and lips: relative to the person's own levels only (anatomy varies too much
        # for population values); unknown until provisional_s of them were seen
        personal = b.learned or (tr._prov is not None and b is tr._prov)
        if personal:
            drop = (b.brow_height - fs.brow_height) / b.brow_height if b.brow_height > 0 else 0.0
            tr.frown_state = drop >= cfg.frown_on or (tr.frown_state and drop > cfg.frown_off)
            pressed: Optional[bool] = fs.lip_press <= b.lip_press * (1.0 - cfg.lip_press_on) and fs.mar < 0.1
        else:
            drop, tr.frown_state, pressed = 0.0, False, None
        s, e = tr.frown.update(t, tr.frown_state if (good and personal) else None, drop)
        self._collect(s, e, started, ended, tr)
        ds = fs.smile - b.smile
        tr.smile_state = ds >= cfg.smile_on or (tr.smile_state and ds > cfg.smile_off)
        s, e = tr.smile.update(t, tr.smile_state if good else None, fs.smile)
        self._collect(s, e, started, ended, tr)

        # head
        motion = None
        if pose is not None:
            if tr.prev_pose is not None and 0 < t - tr.prev_pose[0] <= cfg.max_gap_s:
                pt, py, pp, pr = tr.prev_pose
                motion = math.sqrt((pose.yaw - py) ** 2 + (pose.pitch - pp) ** 2 + (pose.roll - pr) ** 2) / (t - pt)
                motion = min(motion, 360.0)
            tr.prev_pose = (t, pose.yaw, pose.pitch, pose.roll)
            ev = tr.nods.update(t, pose.pitch)
            self._collect(None, ev, started, ended, tr)
            s, e = tr.drop.update(t, pose.pitch <= b.head_pitch - cfg.head_drop_deg, -(pose.pitch - b.head_pitch))
            self._collect(s, e, started, ended, tr)

        neg = negative_emotion(face.emotion)
        v = [1.0, 1.0 if good else 0.0,
             None if on is None else float(on),
             float(p80) if good else None, c if good else None,
             float(tr.frown_state) if (good and personal) else None,
             float(pressed) if (good and pressed is not None) else None,
             neg, motion,
             float(tr.smile_state) if good else None]
        for w in tr.windows:
            w.push(t, dt, v)
        tr.last = (tr.blinks.closed, c, on)

        # baseline learning
        if tr.learner is not None and tr.learned is None and good:
            tr.learner.add(t, dt, {"eye_open": fs.eye_open, "brow_height": fs.brow_height, "lip_press": fs.lip_press,
                                   "smile": fs.smile, "head_pitch": None if pose is None else pose.pitch,
                                   "head_motion": motion, "negative": neg}, p80, on)
            if tr.learner.seconds >= cfg.baseline_s:
                tr.learned = tr.learner.baseline(source="session")
        # drop old events
        horizon = t - max(cfg.fatigue_window_s, cfg.tension_window_s, cfg.attention_window_s)
        while tr.events and (tr.events[0].end or tr.events[0].onset) < horizon:
            tr.events.popleft()

    # -- states
    def _states(self, tr: _Track, t: float, present: bool, cur_id: int) -> TrackState:
        cfg = self.config
        b = tr.baseline
        recent = tr.win["recent"]
        seen_recent = recent.mean(_SEEN) or 0.0
        abstain = (not present) or seen_recent < cfg.min_seen_share or tr.seen_s < cfg.min_state_s
        closed, c, on = tr.last if (tr.last is not None and present) else (False, None, None)
        key = (present, abstain, b.source)
        cache = tr.state_cache
        if cache is not None and not tr.dirty and cache[1] == key and t - cache[0] < cfg.state_interval_s:
            attention, fatigue, tension = cache[2]
        else:
            attention, fatigue, tension = self._compute_states(tr, t, abstain, b)
            tr.state_cache = (t, key, (attention, fatigue, tension))
            tr.dirty = False
        return TrackState(cur_id, present, bool(closed), c, on, attention, fatigue, tension,
                          tr.baseline_source(), tr.seen_s)

    def _compute_states(self, tr: _Track, t: float, abstain: bool, b: Baseline) -> Tuple[State, State, State]:
        cfg = self.config
        learned = b.learned

        def conf(win: _Window) -> float:
            fill = min(1.0, win.weight(_PRESENT) / win.span)
            seen = win.mean(_SEEN) or 0.0
            return round(max(0.0, min(1.0, seen * (0.3 + 0.7 * fill) * (1.0 if learned else 0.6))), 3)

        def events_in(win_s: float, *types: str) -> List[Event]:
            lo = t - win_s
            return [e for e in tr.events if e.type in types and (e.end or e.onset) >= lo]

        def pct(x: Optional[float]) -> str:
            return "n/a" if x is None else f"{100 * x:.0f}%"

        def span_txt(s: float) -> str:
            return "minute" if abs(s - 60) < 1e-6 else f"{s:.0f} s"

        # attention
        w = tr.win["attention"]
        present_share = w.mean(_PRESENT)
        on_share = w.mean(_ONSCREEN)
        looks = events_in(cfg.attention_window_s, "look_away")
        minutes = max(w.weight(_PRESENT), 1e-6) / 60.0
        look_rate = len(looks) / minutes
        value = (on_share if on_share is not None else 0.0) * (present_share or 0.0)
        base_att = b.on_screen
        lvl = "high" if value >= base_att - 0.1 else ("moderate" if value >= base_att - 0.3 else "low")
        cues = []
        if on_share is not None:
            cues.append(f"looking at the screen {pct(on_share)} of the last {span_txt(cfg.attention_window_s)}"
                        f", baseline {pct(base_att)}")
        cues.append(f"{len(looks)} look-away{'s' if len(looks) != 1 else ''} in the last "
                    f"{span_txt(cfg.attention_window_s)} ({look_rate:.1f}/min, baseline {b.look_away_rate:.1f}/min)")
        if present_share is not None and present_share < 0.99:
            cues.append(f"face visible {pct(present_share)} of the last {span_txt(cfg.attention_window_s)}")
        attention = State("attention", value, lvl, base_att, conf(w), abstain or on_share is None, tuple(cues),
                          {"on_screen_share": on_share, "present_share": present_share,
                           "look_aways": float(len(looks)), "look_away_rate": look_rate})

        # fatigue
        w = tr.win["fatigue"]
        ws = cfg.fatigue_window_s
        perclos = w.mean(_P80)
        blinks = events_in(ws, "blink", "slow_blink")
        seen_min = w.total(_SEEN) / 60.0
        rate = len(blinks) / seen_min if seen_min >= 10.0 / 60.0 else None
        mean_dur = float(np.mean([e.duration for e in blinks])) if len(blinks) >= 2 else None
        yawns = events_in(ws, "yawn")
        closures = events_in(ws, "eye_closure") + events_in(ws, "slow_blink")
        drops = events_in(ws, "head_drop")
        terms = []  # (weight*term, cue)
        if perclos is not None:
            x = np.clip((perclos - b.perclos) / 0.12, 0, 1)
            terms.append((0.6 * x, f"eyes closed {pct(perclos)} of the last {span_txt(ws)}, baseline {pct(b.perclos)}"))
        if mean_dur is not None:
            x = np.clip((mean_dur - b.blink_duration) / 0.15, 0, 1)
            terms.append((0.3 * x, f"blinks last {mean_dur:.2f} s on average, baseline {b.blink_duration:.2f} s"))
        if rate is not None:
            x = np.clip((rate - b.blink_rate) / max(b.blink_rate, 1.0), 0, 1)
            terms.append((0.15 * x, f"{rate:.0f} blinks/min, baseline {b.blink_rate:.0f}"))
        terms.append((0.5 * min(1.0, len(yawns) / 2.0), f"{len(yawns)} yawn{'s' if len(yawns) != 1 else ''} in the last {span_txt(ws)}"))
        if closures:
            terms.append((0.5 * min(1.0, len(closures) / 2.0),
                          f"{len(closures)} eye closure{'s' if len(closures) != 1 else ''} longer than {cfg.blink_max_s:.1f} s"))
        if drops:
            terms.append((0.5 * min(1.0, len(drops) / 2.0), f"head dropped {len(drops)} time{'s' if len(drops) != 1 else ''}"))
        value = 1.0 - float(np.prod([1.0 - x for x, _ in terms])) if terms else 0.0
        cues = tuple(cu for _, cu in sorted(terms, key=lambda p: -p[0]))
        fatigue = State("fatigue", value, _level(value), 0.0, conf(w), abstain or perclos is None, cues,
                        {"perclos": perclos, "blink_rate": rate, "blink_duration": mean_dur,
                         "yawns": float(len(yawns)), "eye_closures": float(len(closures)), "head_drops": float(len(drops))})

        # tension
        w = tr.win["tension"]
        ws = cfg.tension_window_s
        brow = w.mean(_BROW)
        lips = w.mean(_LIPS)
        neg = w.mean(_NEG)
        motion = w.mean(_MOTION)
        terms = []
        if brow is not None:
            terms.append((0.5 * np.clip((brow - 0.05) / 0.3, 0, 1),
                          f"brows lowered {pct(brow)} of the last {span_txt(ws)}"))
        if lips is not None:
            terms.append((0.4 * np.clip((lips - 0.05) / 0.3, 0, 1), f"lips pressed {pct(lips)} of the last {span_txt(ws)}"))
        if neg is not None:
            terms.append((0.4 * np.clip((neg - b.negative) / 0.3, 0, 1),
                          f"negative expression {pct(neg)} on average, baseline {pct(b.negative)}"))
        if motion is not None:
            terms.append((0.3 * np.clip((motion - b.head_motion) / max(b.head_motion, 1.0) / 2.0, 0, 1),
                          f"head movement {motion:.0f} deg/s, baseline {b.head_motion:.0f} deg/s"))
        value = 1.0 - float(np.prod([1.0 - x for x, _ in terms])) if terms else 0.0
        cues = tuple(cu for _, cu in sorted(terms, key=lambda p: -p[0]))
        tension = State("tension", value, _level(value), 0.0, conf(w), abstain or brow is None, cues,
                        {"brow_lowered_share": brow, "lip_pressed_share": lips, "negative": neg, "head_motion": motion})

        return attention, fatigue, tension


def _level(v: float) -> str:
    return "low" if v < 0.3 else ("moderate" if v < 0.6 else "high")


def learn_baseline(frames, config: Optional[SignalConfig] = None, track_id: Optional[int] = None,
                   source: str = "calibration") -> Baseline:
    """A Baseline from a calibration recording: FrameResults of the person sitting relaxed and
    looking at the screen (a minute or two is enough). Uses the given track (default: the
    first one seen)."""
    from dataclasses import replace as _replace

    cfg = _replace(config or SignalConfig(), baseline_s=float("inf"))
    session = SignalSession(cfg)
    for fr in frames:
        session.update(fr)
    session.close()
    tr = session._get(track_id)
    if tr is None or tr.learner is None or tr.learner.seconds <= 0:
        raise ValueError("no well-seen face in the calibration frames")
    return tr.learner.baseline(source=source)
