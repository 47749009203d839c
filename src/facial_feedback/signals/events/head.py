"""Nod and head drop, from the head pitch (degrees, > 0 up)."""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

from ..config import SignalConfig
from .base import Detector, EpisodeDetector, Event, Observation, Pair


class NodDetector(Detector):
    """A nod: within nod_max_s the head pitch swings at least nod_deg one way (down, or up)
    and comes back at least nod_deg. Onset = when the swing left its starting level."""

    kind = "nod"

    def __init__(self, cfg: SignalConfig, track: int):
        self.cfg, self.track = cfg, track
        self.h: Deque[Tuple[float, float]] = deque()

    def update(self, obs: Observation) -> Pair:
        if obs.pose is None:
            return None, None
        return None, self.step(obs.t, obs.pose.pitch)

    def close(self, t: float) -> Optional[Event]:
        self.h = deque()  # a nod does not span a gap in the track
        return None

    def step(self, t: float, p: float) -> Optional[Event]:
        cfg = self.cfg
        h = self.h
        h.append((t, p))
        while h and h[0][0] < t - cfg.nod_max_s:
            h.popleft()
        if len(h) < 3:
            return None
        ps = [x[1] for x in h]
        for sign, direction in ((1.0, "down"), (-1.0, "up")):
            q = [-sign * v for v in ps]           # a down-nod is a trough in pitch: a peak of -pitch
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


class HeadDropDetector(EpisodeDetector):
    """Pitch below the person's usual pitch by head_drop_deg for head_drop_min_s."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("head_drop", track, cfg.head_drop_min_s, cfg.merge_gap_s)
        self.cfg = cfg

    def update(self, obs: Observation) -> Pair:
        if obs.pose is None:
            return None, None
        return super().update(obs)

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        b = obs.baseline
        return obs.pose.pitch <= b.head_pitch - self.cfg.head_drop_deg, -(obs.pose.pitch - b.head_pitch)
