"""Eye closure per frame, normalised to the person's own open lids.

closure = (1 - gap / open_level) / (1 - closed_ratio), clipped to [0, 1], per eye, then
averaged; open_level = a running percentile of the person's lid gap, blended with a prior.
Two such closures: against the person's open level (PERCLOS) and against the lids' level of
the last second outside blinks (the blink detector's: a blink from narrowed eyes is still a
blink, narrowed eyes alone are not one).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Deque, Optional, Tuple

import numpy as np

from .config import SignalConfig


class LidLevels:
    """One track's open-lid levels (right, left) and the closures read against them."""

    def __init__(self, cfg: SignalConfig):
        self.cfg = cfg
        self.open_hist: Deque[Tuple[float, float, float]] = deque()  # (t, right, left) lid gaps
        self.open_recent: Deque[Tuple[float, float, float]] = deque()
        self.open_local: Deque[Tuple[float, float, float]] = deque()  # lids outside blinks, last blink_ref_s
        self.blink_ref: Optional[Tuple[float, float]] = None
        self.open_level: Optional[Tuple[float, float]] = None
        self.open_level_t = -math.inf
        self.eyes: Tuple[float, float] = (0.0, 0.0)  # this frame's blink closure per eye (right, left)

    def open_levels(self, t: float, r: float, l: float, prior: float, known: bool) -> Tuple[float, float]:
        """prior: the open level before the person's own is known (the baseline's); known: the
        baseline is the person's (given or learned), so the prior weighs more."""
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

    def closure(self, t: float, r: float, l: float, prior: float, known: bool, closed: bool) -> Tuple[float, float]:
        """(closure against the person's open level, closure against the lids' level of the
        last second, 0 until that level is known); closed: a detector has the eyes closed (the
        reference freezes). Sets `eyes`: the second closure per eye (right, left), read against
        the open level while the lids' level is not known yet (the blink detector's input)."""
        cfg = self.cfg
        lr, ll = self.open_levels(t, r, l, prior, known)
        d = 1.0 - cfg.closed_ratio
        c_long = ((1.0 - r / lr) if lr > 0 else 0.0) + ((1.0 - l / ll) if ll > 0 else 0.0)
        c_long = min(1.0, max(0.0, c_long / 2.0 / d))
        q = self.open_local
        if not closed:  # the reference is frozen while the eyes are closed
            while q and q[0][0] < t - cfg.blink_ref_s:
                q.popleft()
            if len(q) >= 3:
                rs = sorted(x[1] for x in q)
                ls = sorted(x[2] for x in q)
                k = min(len(rs) - 1, int(0.8 * len(rs)))  # 80th percentile of the open-lid samples
                self.blink_ref = (rs[k], ls[k])
        if self.blink_ref is None:
            # warming up (the first frames of a track): the open level (the population prior
            # blended with what was seen) stands in, so a blink in the first frames counts
            q.append((t, r, l))
            br, bl = lr, ll
        else:
            br = max(self.blink_ref[0], cfg.blink_ref_floor * lr)
            bl = max(self.blink_ref[1], cfg.blink_ref_floor * ll)
        cr = min(1.0, max(0.0, ((1.0 - r / br) if br > 0 else 0.0) / d))
        cl = min(1.0, max(0.0, ((1.0 - l / bl) if bl > 0 else 0.0) / d))
        self.eyes = (cr, cl)
        if self.blink_ref is None:
            return c_long, 0.0   # no eye closure can start before the lids' own level is known
        c_blink = (cr + cl) / 2.0
        if not closed and c_blink < cfg.blink_on:
            q.append((t, r, l))
        return c_long, c_blink
