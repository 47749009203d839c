"""Blinks and eye closures from the per-frame closure (0 open .. 1 shut), with hysteresis.

The blink detector finds dips of the closure (blink, slow_blink); the closure detector runs a
hysteresis machine (`LidMachine`) for the long ones (eye_closure, confirmed after closure_min_s
and ended when the eyes stay open merge_gap_s).
"""
from __future__ import annotations

from collections import deque
from typing import Deque, FrozenSet, List, Optional, Tuple

import numpy as np

from ..config import SignalConfig
from .base import Detector, Event, Observation, Pair, cross


class LidMachine:
    """Onset and end are interpolated where the closure crosses blink_on between frames, so a
    blink 1-2 frames long at 15 fps still gets a duration between frame times."""

    def __init__(self, cfg: SignalConfig, track: int):
        self.cfg, self.track = cfg, track
        self.closed = False
        self.t_on = 0.0
        self.t_down: Optional[float] = None  # last time closure fell below blink_on while closed
        self.peak = 0.0
        self.long_started = False
        self.pending: Optional[float] = None  # a long closure's tentative end
        self.prev: Optional[Tuple[float, float]] = None

    def update(self, t: float, c: float, c_long: float = 0.0) -> Pair:
        """c: closure against the recent lid level; c_long: against the person's open level
        (the eyes count as open again only when both say so)."""
        cfg = self.cfg
        started = ended = None
        prev = self.prev
        self.prev = (t, c)
        if not self.closed:
            if c >= cfg.blink_on:
                self.closed, self.peak, self.long_started, self.t_down = True, c, False, None
                self.t_on = cross(prev[0], prev[1], t, c, cfg.blink_on) if prev else t
            return None, None
        self.peak = max(self.peak, c)
        if c >= cfg.blink_on:
            self.t_down = None
        elif self.t_down is None and prev is not None:
            self.t_down = cross(prev[0], prev[1], t, c, cfg.blink_on)
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
        """End a closure in progress at t (the face was lost, the session ends): a long one
        is reported, a blink cut by a gap is not counted."""
        ev = None
        if self.closed:
            ev = self._finish(self.pending if self.pending is not None else t)
            if ev.type != "eye_closure":
                ev = None
        self.closed, self.prev = False, None
        return ev


class _LidDetector(Detector):
    kinds: FrozenSet[str] = frozenset()

    def __init__(self, cfg: SignalConfig, track: int):
        self.lids = LidMachine(cfg, track)

    @property
    def closed(self) -> bool:
        return self.lids.closed

    @property
    def busy(self) -> bool:
        return self.lids.closed

    def _keep(self, e: Optional[Event]) -> Optional[Event]:
        return e if e is not None and e.type in self.kinds else None

    def update(self, obs: Observation) -> Pair:
        if not obs.good:
            return None, None
        s, e = self.lids.update(obs.t, obs.blink_closure, obs.closure)
        return self._keep(s), self._keep(e)

    def close(self, t: float) -> Optional[Event]:
        return self._keep(self.lids.close(t))


class BlinkDetector(Detector):
    """blink (<= blink_max_s) and slow_blink (< closure_min_s): a dip of the blink closure.

    The closure is already per person (against the lids' own level of the last second,
    config.py, closure.py); a dip counts when it rises at least the threshold above its left
    base (the lowest closure of the blink_base_s before it started) and falls back below half
    of its rise. The threshold starts at the population prior and then follows the person's
    own blinks (a share of the median rise of the last ones), so a shallow blinker (looking
    up, heavy lids) is not missed and a deep one is not fooled by a laugh's narrowing. A dip
    longer than closure_min_s is no blink (ClosureDetector's eye_closure) and is dropped.
    Details: peak_closure, prominence, per-eye peak closures, complete (both eyes closed at
    once at some frame; an eye is closed at a share of its own typical blink peak, config.py).
    """

    kind = "blink"

    def __init__(self, cfg: SignalConfig, track: int):
        self.cfg, self.track = cfg, track
        self.hist: Deque[Tuple[float, float]] = deque()   # (t, c) before a dip, for its left base
        self.dip: Optional[List[tuple]] = None             # (t, c, c_right, c_left) while in a dip
        self.base = 0.0
        self.rises: Deque[float] = deque(maxlen=cfg.blink_memory)
        self.peaks: Deque[Tuple[float, float]] = deque(maxlen=cfg.blink_memory)  # per eye (right, left)

    @property
    def closed(self) -> bool:
        return self.dip is not None

    @property
    def busy(self) -> bool:
        return self.dip is not None

    def threshold(self) -> float:
        cfg = self.cfg
        if len(self.rises) < cfg.blink_personal_n:
            return cfg.blink_prominence
        typical = float(np.median(self.rises))
        return min(cfg.blink_max_prominence, max(cfg.blink_min_prominence, cfg.blink_rel * typical))

    def eye_thresholds(self) -> Tuple[float, float]:
        """Closure at which each eye (right, left) counts as closed, from the person's own blinks."""
        cfg = self.cfg
        if len(self.peaks) < cfg.blink_personal_n:
            typical = (cfg.eye_closed_prior, cfg.eye_closed_prior)
        else:
            typical = tuple(float(np.median([p[i] for p in self.peaks])) for i in (0, 1))
        return tuple(max(cfg.eye_closed_min, cfg.eye_closed_rel * x) for x in typical)  # type: ignore[return-value]

    def eyes_closed(self, eyes: Optional[Tuple[float, float]]) -> Tuple[Optional[bool], Optional[bool]]:
        if eyes is None:
            return None, None
        tr, tl = self.eye_thresholds()
        return bool(eyes[0] >= tr), bool(eyes[1] >= tl)

    def update(self, obs: Observation) -> Pair:
        if not obs.good:
            return None, None
        t = obs.t
        eyes = obs.eye_closure if obs.eye_closure is not None else (obs.blink_closure, obs.blink_closure)
        c = (eyes[0] + eyes[1]) / 2.0
        if self.dip is None:
            h = self.hist
            while h and h[0][0] < t - self.cfg.blink_base_s:
                h.popleft()
            base = min((x[1] for x in h), default=c)
            h.append((t, c))
            if c - base >= 0.5 * self.threshold():
                self.base = base
                prev = h[-2] if len(h) >= 2 else (t, base)
                self.dip = [(prev[0], prev[1], prev[1], prev[1]), (t, c, eyes[0], eyes[1])]
            return None, None
        self.dip.append((t, c, eyes[0], eyes[1]))
        if t - self.dip[1][0] > self.cfg.closure_min_s:
            self._reset(t, c)   # a long closure: not a blink (ClosureDetector's)
            return None, None
        peak = max(x[1] for x in self.dip)
        half = self.base + 0.5 * (peak - self.base)
        if c > half:
            return None, None
        thr = self.threshold()
        if peak - self.base >= thr and peak - c < thr:
            # risen enough for a blink but not yet fallen back as far: the lids have not
            # reopened (a closure whose mesh wobbles around half of its rise); the dip goes on
            return None, None
        ev = self._event(peak, half)
        self._reset(t, c)
        return None, ev

    def _reset(self, t: float, c: float) -> None:
        self.dip = None
        self.hist = deque([(t, c)])

    def _event(self, peak: float, half: float) -> Optional[Event]:
        cfg, d = self.cfg, self.dip
        rise = peak - self.base
        if rise < self.threshold():
            return None
        k = max(range(len(d)), key=lambda i: d[i][1])
        i0 = max(i for i in range(k + 1) if d[i][1] <= half) if d[0][1] <= half else 0
        t_on = cross(d[i0][0], d[i0][1], d[i0 + 1][0], d[i0 + 1][1], half) if i0 < k else d[k][0]
        j = max(i for i in range(k, len(d) - 1) if d[i][1] > half)   # the last frame above half
        t_end = cross(d[j][0], d[j][1], d[j + 1][0], d[j + 1][1], half)
        dur = max(0.0, t_end - t_on)
        if dur >= cfg.closure_min_s:
            return None
        tr, tl = self.eye_thresholds()
        complete = any(x[2] >= tr and x[3] >= tl for x in d[1:])
        pr, pl = max(x[2] for x in d[1:]), max(x[3] for x in d[1:])
        self.rises.append(rise)
        self.peaks.append((pr, pl))
        details = {"peak_closure": float(peak), "prominence": float(rise),
                   "peak_right": float(pr), "peak_left": float(pl), "complete": bool(complete)}
        kind = "blink" if dur <= cfg.blink_max_s else "slow_blink"
        return Event(kind, self.track, t_on, dur, details)

    def retract(self) -> None:
        """The blink just returned is not counted (the track found it inside a long eye
        closure): it does not teach the person's threshold or eye peaks either."""
        if self.rises:
            self.rises.pop()
        if self.peaks:
            self.peaks.pop()

    def close(self, t: float) -> Optional[Event]:
        self.dip = None   # a blink cut by a gap is not counted
        self.hist = deque()
        return None


class ClosureDetector(_LidDetector):
    """eye_closure: the eyes shut for closure_min_s or longer."""

    kind = "eye_closure"
    kinds = frozenset(("eye_closure",))
