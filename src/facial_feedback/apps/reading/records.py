"""What the reading report is built from: one Rec per camera frame, and the thresholds.

Apart from session.py (which makes the records) and report.py (which aggregates them), so that
neither imports the other's module for its types: session -> report -> records, no circle."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class ReadingConfig:
    """Thresholds (units in the names). Tilt, squint and lean are relative to the reader's own
    medians; brows and smile come from the signals (Rec.frown, Rec.smiling)."""
    max_dt_s: float = 0.5            # a longer gap between frames counts as this much
    min_visit_s: float = 0.6         # shorter stays (scrolling past) are not visits
    tilt_deg: float = 8.0            # head tilted this far from the reader's median tilt
    squint_lo: float = 0.45          # lid gap between these fractions of the reader's median:
    squint_hi: float = 0.8           # narrowed, not a blink (below squint_lo the eyes count as closed)
    lean_in: float = 1.08            # face size (inter-ocular px) this ratio of the median
    min_quality: float = 0.5
    skim_ratio: float = 0.35         # time below this share of the expected reading time = skimmed
    min_expected_s: float = 1.5
    min_reliable_s: float = 3.0      # values rest on at least this many seconds for full confidence


@dataclass
class Rec:
    """What one camera frame says about the reader (the report's input)."""

    t: float
    dt: float
    p: Optional[int]
    present: bool
    seen: bool
    on: Optional[bool]
    brow: Optional[float] = None
    tilt: Optional[float] = None
    eye: Optional[float] = None
    closed: bool = False
    smile: Optional[float] = None
    iod: Optional[float] = None
    fatigue: Optional[float] = None
    frown: bool = False              # brows lowered outside a smile (the signals' TrackState.frowning)
    smiling: bool = False            # TrackState.smiling
    eyes_shut: bool = False          # within a long eye closure (not a blink): not reading
    events: Tuple[str, ...] = ()
