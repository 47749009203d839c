"""Look-away: the gaze (or the head) off the screen for at least look_away_min_s."""
from __future__ import annotations

from typing import Optional, Tuple

from ..config import SignalConfig
from .base import EpisodeDetector, Observation


class LookAwayDetector(EpisodeDetector):
    """Episodes of Observation.on_screen == False; unknown (None, e.g. during a blink) holds,
    returns shorter than merge_gap_s do not end one."""

    def __init__(self, cfg: SignalConfig, track: int):
        super().__init__("look_away", track, cfg.look_away_min_s, cfg.merge_gap_s)

    def condition(self, obs: Observation) -> Tuple[Optional[bool], Optional[float]]:
        return (None if obs.on_screen is None else (not obs.on_screen)), None
