"""Blinks and eye closures from the per-frame closure (0 open .. 1 shut), with hysteresis.

Both detectors run the same lid machine (`LidMachine`); the blink detector reports the short
closures (blink, slow_blink), the closure detector the long ones (eye_closure, confirmed after
closure_min_s and ended when the eyes stay open merge_gap_s).
"""
from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

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


class BlinkDetector(_LidDetector):
    """blink (<= blink_max_s) and slow_blink (< closure_min_s)."""

    kind = "blink"
    kinds = frozenset(("blink", "slow_blink"))


class ClosureDetector(_LidDetector):
    """eye_closure: the eyes shut for closure_min_s or longer."""

    kind = "eye_closure"
    kinds = frozenset(("eye_closure",))
