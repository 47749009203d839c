"""State over time: events with onset and duration, and states over sliding windows.

One `SignalSession` per video or live client (never module state):

    session = SignalSession()                 # or SignalSession(baseline=Baseline.load("me.json"))
    for frame in frames:                      # FrameResult with faces carrying .signals (FaceSignals)
        snap = session.update(frame)          # SessionSnapshot: events started/ended now, states per track
    last = session.close()                    # ends open episodes
    session.summary()                         # per-track totals (blinks/min, PERCLOS, ...)

The session routes each face to its track (track.py); each track runs one detector per kind of
event (events/) and the states are computed apart from them (states.py).
Formulas, thresholds and sources: docs/signals.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .baseline import Baseline
from .config import SignalConfig
from .events import Episode, Event
from .events.base import _r
from .geometry import face_signals
from .states import State, StateInputs, compute_states
from .track import Track
from .windows import SEEN


STATE_NAMES = ("attention", "fatigue", "tension")


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
    # per eye (the subject's right, left), this frame: closure 0 open .. 1 shut against that
    # eye's own recent open level, and whether it counts as closed (SignalConfig.eye_closed_rel)
    closure_right: Optional[float] = None
    closure_left: Optional[float] = None
    right_closed: Optional[bool] = None
    left_closed: Optional[bool] = None
    # this frame: brows lowered outside a smile / smiling (events.expression); None = unknown
    frowning: Optional[bool] = None
    smiling: Optional[bool] = None

    def views(self, cues: Optional[int] = 3) -> Dict[str, dict]:
        """The states as every page shows them (State.view: the level, how sure, the cues)."""
        return {k: getattr(self, k).view(cues) for k in STATE_NAMES}

    def to_dict(self) -> dict:
        return {"track_id": self.track_id, "present": self.present, "eyes_closed": self.eyes_closed,
                "eyes": {"right": {"closure": _r(self.closure_right), "closed": self.right_closed},
                         "left": {"closure": _r(self.closure_left), "closed": self.left_closed}},
                "closure": _r(self.closure), "on_screen": self.on_screen,
                "attention": self.attention.to_dict(), "fatigue": self.fatigue.to_dict(),
                "tension": self.tension.to_dict(), "frowning": self.frowning, "smiling": self.smiling,
                "baseline": self.baseline_source, "seen_s": _r(self.seen_s, 1)}


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
        self._tracks: Dict[int, Track] = {}
        self._alias: Dict[int, int] = {}
        self._absent = Episode("face_absent", None, config.face_absent_min_s)
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
            tr = self._track_for(tid, t)
            seen_ids.add(tr.id)
            fs = face.signals
            if fs is None:
                fs = face_signals(face.landmarks, face.pose, self.calibration, self.cone)
            tr.update(t, dt, fs, face, self.calibration, self._collector(started, ended, tr), self.cone)

        for tid, tr in list(self._tracks.items()):
            if tr.id in seen_ids:
                continue
            tr.missing(t, dt, self._collector([], ended, tr))
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
            tr.end_episodes(tr.last_t if tr.last_t is not None else t, self._collector([], ended, tr))
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

    def _track_summary(self, tr: Track) -> dict:
        minutes = tr.total_present / 60.0
        c = tr.counts
        return {
            "track_id": self._current_id(tr.id), "seen_s": round(tr.total_present, 2),
            "blinks": c.get("blink", 0), "slow_blinks": c.get("slow_blink", 0),
            "incomplete_blinks": c.get("incomplete_blink", 0),
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

    def _get(self, track_id: Optional[int]) -> Optional[Track]:
        if track_id is None:
            return next(iter(self._tracks.values()), None)
        return self._tracks.get(self._alias.get(track_id, track_id))

    def _track_for(self, tid: int, t: float) -> Track:
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
        tr = Track(tid, self.config, self.given_baseline)
        self._tracks[tid] = tr
        return tr

    def _collector(self, started: List[Event], ended: List[Event], tr: Track):
        return lambda s, e: self._collect(s, e, started, ended, tr)

    def _collect(self, s: Optional[Event], e: Optional[Event], started: List[Event], ended: List[Event],
                 tr: Optional[Track] = None) -> None:
        if s is not None:
            started.append(self._renamed(s))
        if e is not None:
            e = self._renamed(e)
            ended.append(e)
            if e.type == "face_absent":
                self._absent_count += 1
            if tr is not None:
                tr.record(e)

    def _renamed(self, e: Event) -> Event:
        if e.track is None:
            return e
        cur = self._current_id(e.track)
        return e if cur == e.track else Event(e.type, cur, e.onset, e.duration, e.details)

    # -- states
    def _states(self, tr: Track, t: float, present: bool, cur_id: int) -> TrackState:
        cfg = self.config
        b = tr.baseline
        seen_recent = tr.win["recent"].mean(SEEN) or 0.0
        abstain = (not present) or seen_recent < cfg.min_seen_share or tr.seen_s < cfg.min_state_s
        closed, c, on = tr.last if (tr.last is not None and present) else (False, None, None)
        key = (present, abstain, b.source)
        cache = tr.state_cache
        if cache is not None and not tr.dirty and cache[1] == key and t - cache[0] < cfg.state_interval_s:
            attention, fatigue, tension = cache[2]
        else:
            attention, fatigue, tension = compute_states(StateInputs(cfg, t, tr.win, tr.events, b, abstain,
                                                                     tr.gaze_mode(self.calibration, self.cone)))
            tr.state_cache = (t, key, (attention, fatigue, tension))
            tr.dirty = False
        eyes = tr.last_eyes if present else None
        cr, cl = (float(eyes[0]), float(eyes[1])) if eyes is not None else (None, None)
        r_closed, l_closed = tr.blinks.eyes_closed(eyes)
        frowning, smiling = tr.expression if present else (None, None)
        return TrackState(cur_id, present, bool(closed), c, on, attention, fatigue, tension,
                          tr.baseline_source(), tr.seen_s, cr, cl, r_closed, l_closed, frowning, smiling)


def face_states(frame, cues: Optional[int] = 3) -> Dict[str, dict]:
    """The states of a FrameResult's primary face as every page shows them (TrackState.views):
    what the Reading and Wellbeing pages send, and what Live shows from the same snapshot.
    {} when there is no face or no session."""
    face = frame.primary_face()
    sess = frame.session
    if face is None or sess is None or face.track_id is None:
        return {}
    tr = sess.track(face.track_id)
    return tr.views(cues) if tr is not None else {}


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
