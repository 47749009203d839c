"""Time-weighted sliding means of a track's per-frame channels, over the states' windows."""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional, Tuple

# Window channels
PRESENT, SEEN, ONSCREEN, P80, CLOSURE, BROW, LIPS, NEG, MOTION, SMILE = range(10)
NCH = 10


class Window:
    """Time-weighted sliding means of several channels (None = unknown, excluded).

    Running sums in plain Python (for 10 channels this is several times quicker than
    small NumPy arrays)."""

    def __init__(self, span: float, n: int = NCH):
        self.span = span
        self.n = n
        self.q: Deque[Tuple[float, float, list]] = deque()
        self.sw = [0.0] * n
        self.swv = [0.0] * n

    def push(self, t: float, dt: float, v: list) -> None:
        self.q.append((t, dt, v))
        sw, swv = self.sw, self.swv
        if dt > 0:
            for i, x in enumerate(v):
                if x is not None:
                    sw[i] += dt
                    swv[i] += dt * x
        lim = t - self.span
        q = self.q
        while q and q[0][0] <= lim:
            _, d0, v0 = q.popleft()
            if d0 > 0:
                for i, x in enumerate(v0):
                    if x is not None:
                        sw[i] -= d0
                        swv[i] -= d0 * x

    def mean(self, i: int) -> Optional[float]:
        return self.swv[i] / self.sw[i] if self.sw[i] > 1e-9 else None

    def total(self, i: int) -> float:
        """Time-weighted sum (e.g. seconds seen)."""
        return max(self.swv[i], 0.0)

    def weight(self, i: int) -> float:
        return max(self.sw[i], 0.0)
