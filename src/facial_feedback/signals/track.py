"""One person's state over time: the baseline in use, the lid levels, the event detectors,
the state windows and the session totals. The session (session.py) routes frames to tracks."""
from __future__ import annotations

import math
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

from .baseline import Baseline, BaselineLearner
from .closure import LidLevels
from .config import SignalConfig
from .events import (BlinkDetector, ClosureDetector, Detector, Event, FrownDetector, HeadDropDetector,
                     LookAwayDetector, NodDetector, Observation, SmileDetector, YawnDetector)
from .events.expression import broad_smile
from .gaze_ref import GazeReference
from .geometry import FaceSignals, negative_emotion
from .windows import NCH, PRESENT, SEEN, Window

Collect = Callable[[Optional[Event], Optional[Event]], None]


class Track:
    def __init__(self, tid: int, cfg: SignalConfig, baseline: Optional[Baseline]):
        self.id = tid
        self.cfg = cfg
        self.given = baseline
        self.learner = BaselineLearner() if (baseline is None and cfg.baseline_s > 0) else None
        self.learned: Optional[Baseline] = None
        self.first_t: Optional[float] = None
        self.last_t: Optional[float] = None
        self.seen_s = 0.0
        self.lids = LidLevels(cfg)
        self.gaze_ref = GazeReference(cfg)
        self.blinks = BlinkDetector(cfg, tid)
        self.closures = ClosureDetector(cfg, tid)
        self.yawn = YawnDetector(cfg, tid)
        self.look = LookAwayDetector(cfg, tid)
        self.frown = FrownDetector(cfg, tid)
        self.smile = SmileDetector(cfg, tid)
        self.nods = NodDetector(cfg, tid)
        self.drop = HeadDropDetector(cfg, tid)
        # in this order per frame (the gaze reads the eye detectors' state)
        self.eye_detectors: Tuple[Detector, ...] = (self.blinks, self.closures)
        self.face_detectors: Tuple[Detector, ...] = (self.yawn, self.look, self.frown, self.smile, self.nods, self.drop)
        self.detectors = self.eye_detectors + self.face_detectors
        by_span: Dict[float, Window] = {}
        self.win = {name: by_span.setdefault(span, Window(span, NCH)) for name, span in (
            ("attention", cfg.attention_window_s), ("fatigue", cfg.fatigue_window_s),
            ("tension", cfg.tension_window_s), ("recent", cfg.recent_s))}
        self.windows = list(by_span.values())  # each distinct window once
        self.events: Deque[Event] = deque()  # ended events over the longest window, for rates
        self.prev_pose: Optional[Tuple[float, float, float, float]] = None
        self.state_cache: Optional[tuple] = None
        self.dirty = True
        self._prov: Optional[Baseline] = None
        self._prov_t = -math.inf
        self.last: Optional[Tuple[bool, Optional[float], Optional[bool]]] = None
        self.last_eyes: Optional[Tuple[float, float]] = None  # blink closure per eye (right, left)
        # this frame's expression: (brows lowered outside a smile, smiling), None = unknown. The
        # one reading of them that the states, the live page and the reading report all use.
        self.expression: Tuple[Optional[bool], Optional[bool]] = (None, None)
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

    def closure(self, t: float, fs: FaceSignals) -> Tuple[float, float]:
        """(closure against the person's open level, closure against the lids' level of the
        last second). The first is PERCLOS's; the second drives the blink detector."""
        known = self.given is not None or self.learned is not None
        prior = self.baseline.eye_open if known else Baseline().eye_open
        closed = self.blinks.closed or self.closures.closed
        return self.lids.closure(t, fs.eye_open_right, fs.eye_open_left, prior, known, closed)

    # -- events
    @property
    def busy(self) -> bool:
        return any(d.busy for d in self.detectors)

    def record(self, e: Event) -> None:
        """A complete event of this track (already renamed to the track's current id)."""
        self.dirty = True
        self.events.append(e)
        self.counts[e.type] = self.counts.get(e.type, 0) + 1
        if e.type in ("blink", "slow_blink"):
            self.blink_durations.append(float(e.duration))
            if e.details.get("complete") is False:
                self.counts["incomplete_blink"] = self.counts.get("incomplete_blink", 0) + 1
        if self.learner is not None and self.learned is None:
            if e.type in ("blink", "slow_blink"):
                self.learner.blinks.append(float(e.duration))
            elif e.type == "look_away":
                self.learner.look_aways += 1

    def end_episodes(self, t_end: float, collect: Collect) -> None:
        for d in self.detectors:
            collect(None, d.close(t_end))
        self.prev_pose = None

    def missing(self, t: float, dt: float, collect: Collect) -> None:
        """A frame without this track's face."""
        if self.last_t is not None and t - self.last_t > self.cfg.max_gap_s and self.busy:
            self.end_episodes(self.last_t, collect)
        v = [None] * NCH
        v[PRESENT] = 0.0
        v[SEEN] = 0.0
        for w in self.windows:
            w.push(t, dt, v)

    # -- a frame with this track's face
    def update(self, t: float, dt: float, fs: FaceSignals, face, calibration, collect: Collect,
               cone=None) -> None:
        cfg = self.cfg
        if self.last_t is not None and t - self.last_t > cfg.max_gap_s:
            self.end_episodes(self.last_t, collect)
        if self.first_t is None:
            self.first_t = t
        self.last_t = t
        self.seen_s += dt
        self.total_present += dt
        b = self.baseline
        good = fs.quality >= cfg.min_quality
        c, cb = self.closure(t, fs)
        personal = b.learned or (self._prov is not None and b is self._prov)
        obs = Observation(t, fs, face.pose, good, c, cb, None, b, bool(personal), self.lids.eyes, face)
        for d in self.eye_detectors:
            started, ended = d.update(obs)
            if d is self.blinks and ended is not None and self._inside_closure(ended):
                self.blinks.retract()
                ended = None   # a dip while the eyes are shut (a hand, a squeeze) is no blink
            collect(started, ended)
        p80 = c >= cfg.perclos_closure
        self.total_p80 += dt if p80 else 0.0
        obs.on_screen = on = self._on_screen(t, fs, face.pose, good and c <= cfg.gaze_open_max, calibration, cone)
        for d in self.face_detectors:
            collect(*d.update(obs))
        motion = self._motion(t, face.pose)
        neg = negative_emotion(face.emotion)
        fr, pressed = self.frown, self.frown.pressed
        # attention: eyes shut past closure_min_s are not on the screen (a blink is unknown), as
        # the reading report counts them; the look-away detector above still saw "unknown"
        att_on = False if (on is None and self.closures.lids.long_started) else on
        v = [1.0, 1.0 if good else 0.0,
             None if att_on is None else float(att_on),
             float(p80) if good else None, c if good else None,
             float(fr.state) if (good and personal) else None,
             float(pressed) if (good and pressed is not None) else None,
             neg, motion,
             float(self.smile.state) if good else None]
        for w in self.windows:
            w.push(t, dt, v)
        self.last = (self.closures.closed, c, on)   # eyes shut: the closure detector's hysteresis
        self.last_eyes = self.lids.eyes if good else None
        # before the person's own levels are known the smile is told by broad_smile only (against
        # population values a broad resting mouth would "smile" all along)
        self.expression = (bool(fr.state) if (good and personal) else None,
                           (bool(self.smile.state) if personal else bool(broad_smile(face, cfg))) if good else None)
        if good:
            self._learn(t, dt, fs, face.pose, motion, neg, p80, on)
        # drop old events
        horizon = t - max(cfg.fatigue_window_s, cfg.tension_window_s, cfg.attention_window_s)
        while self.events and (self.events[0].end or self.events[0].onset) < horizon:
            self.events.popleft()

    def _inside_closure(self, e: Event) -> bool:
        """Whether a blink event began while a long eye closure of this track was under way."""
        lm = self.closures.lids
        return lm.long_started and lm.t_on <= e.onset

    def gaze_mode(self, calibration, cone) -> str:
        """How "on the screen" is decided: calibrated | cone (an explicit ScreenCone) | relative."""
        return "calibrated" if calibration is not None else ("cone" if cone is not None else "relative")

    def _on_screen(self, t: float, fs: FaceSignals, pose, usable: bool, calibration, cone) -> Optional[bool]:
        """Gaze / head on screen (unknown while the eyes are shut: a blink is no look-away)."""
        cfg = self.cfg
        closed = self.closures.closed
        mode = self.gaze_mode(calibration, cone)
        head_off = pose is not None and abs(pose.yaw) >= cfg.head_off_yaw
        if mode == "calibrated" and fs.gaze_yaw is not None:
            on = calibration.contains(fs.gaze_yaw, fs.gaze_pitch)
        elif mode == "relative":
            gaze = ((fs.gaze_yaw, fs.gaze_pitch) if fs.gaze_yaw is not None
                    else ((pose.yaw, pose.pitch) if pose is not None else None))
            on = self.gaze_ref.update(t, gaze, usable and not closed and not head_off)
            if self.gaze_ref.ref is None:
                on = fs.on_screen   # no open-eyed frame seen yet: the fixed default cone meanwhile
        else:
            on = fs.on_screen
        if head_off:
            on = False
        if closed and on is not None and not head_off:
            on = None
        return on

    def _motion(self, t: float, pose) -> Optional[float]:
        """Angular speed of the head (degrees per second) since the previous frame."""
        if pose is None:
            return None
        motion = None
        if self.prev_pose is not None and 0 < t - self.prev_pose[0] <= self.cfg.max_gap_s:
            pt, py, pp, pr = self.prev_pose
            motion = math.sqrt((pose.yaw - py) ** 2 + (pose.pitch - pp) ** 2 + (pose.roll - pr) ** 2) / (t - pt)
            motion = min(motion, 360.0)
        self.prev_pose = (t, pose.yaw, pose.pitch, pose.roll)
        return motion

    def _learn(self, t, dt, fs: FaceSignals, pose, motion, neg, p80: bool, on: Optional[bool]) -> None:
        """Baseline learning over the track's first baseline_s of well-seen frames."""
        if self.learner is None or self.learned is not None:
            return
        self.learner.add(t, dt, {"eye_open": fs.eye_open, "brow_height": fs.brow_height, "lip_press": fs.lip_press,
                                 "smile": fs.smile, "head_pitch": None if pose is None else pose.pitch,
                                 "head_motion": motion, "negative": neg}, p80, on)
        if self.learner.seconds >= self.cfg.baseline_s:
            self.learned = self.learner.baseline(source="session")
