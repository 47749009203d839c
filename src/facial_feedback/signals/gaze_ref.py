""""On the screen" without calibration: relative to the person's own usual gaze.

An uncalibrated gaze estimate is off by 5-10 degrees, and where the screen lies from the
camera varies (a laptop's camera above it, a webcam beside a second monitor, a face filmed
from below). So, with no GazeCalibration (and no explicit ScreenCone), the session takes the
person's usual gaze (head + eyes; the head alone without iris points) as "the screen": the
weighted median of their well-seen, open-eyed frames of the last gaze_window_s, and a gaze
counts as on the screen within a cone around it. From the first frames on (a person at a
screen mostly looks at it); gazes outside the cone weigh half (gaze_off_weight), so a
look-away moves it only when it lasts twice as long as the looking at the screen around it,
and a lasting change of posture or of camera does. Until a first open-eyed frame was seen, the
track falls back to the fixed default cone (FaceSignals.on_screen).
"""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

import numpy as np

from .config import SignalConfig


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(v)
    cw = np.cumsum(w[order])
    return float(v[order][int(np.searchsorted(cw, 0.5 * cw[-1]))])


class GazeReference:
    SAMPLE_DT = 0.2   # at most 5 samples per second are kept
    REFRESH_S = 1.0   # the median is recomputed this often once settled

    def __init__(self, cfg: SignalConfig):
        self.cfg = cfg
        self.samples: Deque[Tuple[float, float, float, float]] = deque()  # (t, yaw, pitch, weight)
        self.ref: Optional[Tuple[float, float]] = None
        self._ref_t = -1e18
        self._last_sample_t = -1e18

    def contains(self, yaw: float, pitch: float) -> bool:
        cfg = self.cfg
        ry, rp = self.ref
        dp = pitch - rp
        return bool(abs(yaw - ry) <= cfg.gaze_rel_yaw and -cfg.gaze_rel_pitch_down <= dp <= cfg.gaze_rel_pitch_up)

    def update(self, t: float, gaze: Optional[Tuple[float, float]], usable: bool) -> Optional[bool]:
        """Feed one frame's gaze (None: unknown); usable = well seen, eyes open, head not
        turned away. Returns whether it is on the screen (None while nothing is known)."""
        cfg = self.cfg
        if gaze is not None and usable and t - self._last_sample_t >= self.SAMPLE_DT - 1e-9:
            self._last_sample_t = t
            w = 1.0 if self.ref is None or self.contains(*gaze) else cfg.gaze_off_weight
            self.samples.append((t, gaze[0], gaze[1], w))
            while self.samples and self.samples[0][0] < t - cfg.gaze_window_s:
                self.samples.popleft()
            span = t - self.samples[0][0]
            if span < cfg.gaze_ref_min_s or t - self._ref_t >= self.REFRESH_S:
                a = np.array([s[1:] for s in self.samples])
                self.ref = (_weighted_median(a[:, 0], a[:, 2]), _weighted_median(a[:, 1], a[:, 2]))
                self._ref_t = t
        if gaze is None or self.ref is None:
            return None
        return self.contains(*gaze)
