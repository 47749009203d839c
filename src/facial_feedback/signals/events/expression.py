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


def _mean_bs(face, name: str) -> Optional[float]:
    bs = getattr(face, "blendshapes", None)
    if not bs:
        return None
    return 0.5 * (float(bs[name + "Left"]) + float(bs[name + "Right"]))


def broad_smile(face, cfg: SignalConfig) -> Optional[bool]:
    """A smile whatever the person's usual levels: the emotion model's happy >= smile_happy, or
    without emotions the blendshapes' mouthSmile >= smile_mouth_bs; None when neither is known.
    (Not the mouth alone when emotions are known: a crying mouth stretches like a smile.)"""
    emo = getattr(face, "emotion", None)
    if emo is not None:
        return float(emo.scores.get("happy", 0.0)) >= cfg.smile_happy
    m = _mean_bs(face, "mouthSmile")
    return None if m is None else m >= cfg.smile_mouth_bs


def in_smile(obs: Observation, cfg: SignalConfig) -> bool:
    """Whether this frame's face is smiling: broadly (broad_smile), or above the person's own
    smile level by smile_off (the smile episode's lower threshold)."""
    return bool(broad_smile(obs.face, cfg)) or obs.fs.smile - obs.baseline.smile >= cfg.smile_off


def brows_pulled_down(face, cfg: SignalConfig) -> Optional[bool]:
    """The blendshape model's browDown (the brows themselves lowered and drawn in), None without it."""
    m = _mean_bs(face, "browDown")
    return None if m is None else m >= cfg.frown_brow_down


def frown_cue(drop: float, obs: Observation, cfg: SignalConfig, on: bool) -> bool:
    """Brows lowered (by frown_on of their usual height, frown_off to stay on) and not as part of
    a smile: in a smile they count only when the brows themselves are pulled down."""
    if drop < (cfg.frown_off if on else cfg.frown_on):
        return False
    return not in_smile(obs, cfg) or bool(brows_pulled_down(obs.face, cfg))


class FrownDetector(EpisodeDetector):
    """Brows lowered by >= frown_on of the person's own brow height for frown_min_s, not as part
    of a smile (frown_cue).

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
            self.state = frown_cue(drop, obs, cfg, bool(self.state))
            self.pressed = fs.lip_press <= b.lip_press * (1.0 - cfg.lip_press_on) and fs.mar < 0.1
        else:
            drop, self.state, self.pressed = 0.0, False, None
        return (self.state if (obs.good and obs.personal) else None), drop


class SmileDetector(EpisodeDetector):
    """Smile intensity above the person's baseline by smile_on for smile_min_s, or a broad smile
    (broad_smile) whatever the baseline."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("smile", track, cfg.smile_min_s, cfg.merge_gap_s)
        self.cfg = cfg

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        ds = obs.fs.smile - obs.baseline.smile
        self.state = (ds >= self.cfg.smile_on or (self.state and ds > self.cfg.smile_off)
                      or bool(broad_smile(obs.face, self.cfg)))
        return (self.state if obs.good else None), obs.fs.smile
