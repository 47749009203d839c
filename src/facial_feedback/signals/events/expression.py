"""Yawn, frown and smile: episodes of a mouth or brow measure held past a threshold, with
hysteresis (the `on` level starts one, the lower `off` level ends it)."""
from __future__ import annotations

from typing import Optional, Tuple

from ..config import SignalConfig
from .base import EpisodeDetector, Observation


class YawnDetector(EpisodeDetector):
    """Mouth aspect ratio (inner lips) above yawn_on for at least yawn_min_s."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("yawn", track, cfg.yawn_min_s, cfg.merge_gap_s)
        self.cfg = cfg

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        mar = obs.fs.mar
        self.state = mar >= self.cfg.yawn_on or (self.state and mar > self.cfg.yawn_off)
        return self.state, mar


class FrownDetector(EpisodeDetector):
    """Brows lowered by >= frown_on of the person's own brow height for frown_min_s.

    Relative to the person's own levels only (anatomy varies too much for population values):
    unknown until provisional_s of them were seen. Also says whether the lips are pressed
    (`pressed`, a tension cue read against the same levels)."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("frown", track, cfg.frown_min_s, cfg.merge_gap_s)
        self.cfg = cfg
        self.pressed: Optional[bool] = None

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        cfg, b, fs = self.cfg, obs.baseline, obs.fs
        if obs.personal:
            drop = (b.brow_height - fs.brow_height) / b.brow_height if b.brow_height > 0 else 0.0
            self.state = drop >= cfg.frown_on or (self.state and drop > cfg.frown_off)
            self.pressed = fs.lip_press <= b.lip_press * (1.0 - cfg.lip_press_on) and fs.mar < 0.1
        else:
            drop, self.state, self.pressed = 0.0, False, None
        return (self.state if (obs.good and obs.personal) else None), drop


class SmileDetector(EpisodeDetector):
    """Smile intensity above the person's baseline by smile_on for smile_min_s."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("smile", track, cfg.smile_min_s, cfg.merge_gap_s)
        self.cfg = cfg

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        ds = obs.fs.smile - obs.baseline.smile
        self.state = ds >= self.cfg.smile_on or (self.state and ds > self.cfg.smile_off)
        return (self.state if obs.good else None), obs.fs.smile
