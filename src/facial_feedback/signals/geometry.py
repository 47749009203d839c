"""Per-frame facial signals: pure functions over one 478-point mesh (no model, no state).

Conventions (see facial_feedback.types): landmarks are (478, 3) in image pixels,
z in the same pixel scale; "left"/"right" are the subject's own (facial_feedback.topology).
Lengths are normalised by the inter-ocular distance (IOD, between the two eye
centres, each the midpoint of its corners; about 62 mm on an adult), so every
ratio is independent of image size and distance to the camera. Distances are 3-D
(x, y, z) so that turning the head shrinks them less than 2-D distances would.
Vertical measures are taken along the face's own up axis (perpendicular to the
line through the outer eye corners), so they do not change with head roll.

Formulas, thresholds and their sources: docs/signals.md.
"""
from __future__ import annotations


import math
from dataclasses import dataclass, fields
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import topology as T

# Anatomical constants for the gaze estimate (adult averages).
IRIS_DIAMETER_MM = 11.7   # horizontal visible iris diameter, nearly constant across adults
EYEBALL_RADIUS_MM = 12.0  # rotation radius of the eye (half of the ~24 mm axial length)
# With the eyes looking straight ahead the iris centre sits above the midpoint of the
# corners (the inner corner is lower): measured at +8.7..+9.3 degrees on frontal faces
# looking at the camera (tests/test_signals_geometry.py); subtracted so 0 = straight ahead.
EYE_PITCH_REST_DEG = 9.0

_NEGATIVE = ("angry", "disgust", "fear", "sad")


# --------------------------------------------------------------------------- helpers

def _pts(landmarks) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[1] not in (2, 3) or lm.shape[0] < T.NUM_POINTS_NO_IRIS:
        raise ValueError(f"expected a (478, 3) mesh, got {lm.shape}")
    if lm.shape[1] == 2:
        lm = np.hstack([lm, np.zeros((lm.shape[0], 1))])
    return lm


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def has_iris(landmarks) -> bool:
    return np.asarray(landmarks).shape[0] >= T.NUM_POINTS


def eye_centers(landmarks) -> Tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres: midpoints of each eye's two corners (3-D)."""
    lm = _pts(landmarks)
    right = (lm[T.RIGHT_EYE_OUTER] + lm[T.RIGHT_EYE_INNER]) / 2.0
    left = (lm[T.LEFT_EYE_OUTER] + lm[T.LEFT_EYE_INNER]) / 2.0
    return right, left


def interocular_distance(landmarks) -> float:
    """IOD in pixels: distance between the two eye centres (3-D)."""
    r, l = eye_centers(landmarks)
    return _dist(r, l)


def face_axes(landmarks) -> Tuple[np.ndarray, np.ndarray]:
    """Unit vectors (x_axis, up_axis) in the image plane.

    x_axis runs from the subject's right outer eye corner (33) to the left one (263),
    i.e. towards the image's right for an unmirrored frontal face; up_axis is
    perpendicular to it, pointing towards the forehead (image y decreases).
    """
    lm = _pts(landmarks)
    v = lm[T.LEFT_EYE_OUTER, :2] - lm[T.RIGHT_EYE_OUTER, :2]
    n = float(np.hypot(*v))
    x = v / n if n > 0 else np.array([1.0, 0.0])
    up = np.array([x[1], -x[0]])
    return x, up


def head_tilt(landmarks) -> float:
    """In-plane roll in degrees from the outer eye-corner line; > 0 = clockwise in the image."""
    x, _ = face_axes(landmarks)
    return math.degrees(math.atan2(x[1], x[0]))


def face_up_3d(landmarks) -> np.ndarray:
    """The face's own up direction in 3-D (unit vector): from the base of the nose (2) to the
    middle of the forehead (151), both on rigid bone, made perpendicular to the outer
    eye-corner line (33 -> 263). Heights measured along it do not change when the head
    turns or nods (a 2-D up axis would: brows "drop" by a quarter when the head pitches 15
    degrees), only when the face itself moves."""
    lm = _pts(landmarks)
    x = lm[T.LEFT_EYE_OUTER] - lm[T.RIGHT_EYE_OUTER]
    nx = float(np.sqrt((x * x).sum()))
    x = x / nx if nx > 0 else np.array([1.0, 0.0, 0.0])
    u = lm[T.FOREHEAD_MID] - lm[T.NOSE_BOTTOM]
    u = u - x * float(u @ x)
    nu = float(np.sqrt((u * u).sum()))
    return u / nu if nu > 0 else np.array([0.0, -1.0, 0.0])


# --------------------------------------------------------------------------- eyes

def eye_aspect_ratio(landmarks, side: str) -> float:
    """EAR of one eye (Soukupova & Cech 2016): (|p2-p6| + |p3-p5|) / (2 |p1-p4|).

    About 0.25-0.35 open and below about 0.1 closed on MediaPipe meshes; side is
    "left" or "right" (the subject's).
    """
    lm = _pts(landmarks)
    p1, p2, p3, p4, p5, p6 = (lm[i] for i in (T.LEFT_EYE_EAR if side == "left" else T.RIGHT_EYE_EAR))
    w = _dist(p1, p4)
    return (_dist(p2, p6) + _dist(p3, p5)) / (2.0 * w) if w > 0 else 0.0


def eye_openness(landmarks, side: str, iod: Optional[float] = None) -> float:
    """Mean gap between the upper and lower lid (3 central point pairs) / IOD.

    About 0.10-0.16 open, below 0.03 closed. Unlike EAR it does not depend on
    the eye's own width, which foreshortens when the head turns.
    """
    lm = _pts(landmarks)
    pairs = T.LEFT_EYE_LID_PAIRS if side == "left" else T.RIGHT_EYE_LID_PAIRS
    gap = float(np.mean([_dist(lm[u], lm[d]) for u, d in pairs[2:5]]))
    iod = interocular_distance(lm) if iod is None else iod
    return gap / iod if iod > 0 else 0.0


# --------------------------------------------------------------------------- mouth

def mouth_aspect_ratio(landmarks) -> float:
    """MAR: mean of three inner-lip gaps (81-178, 13-14, 311-402) / inner mouth width (78-308).

    About 0-0.05 closed, 0.1-0.4 talking, above 0.6 in a yawn.
    """
    lm = _pts(landmarks)
    w = _dist(lm[T.MOUTH_INNER_RIGHT], lm[T.MOUTH_INNER_LEFT])
    gap = float(np.mean([_dist(lm[u], lm[d]) for u, d in T.MAR_PAIRS]))
    return gap / w if w > 0 else 0.0


def mouth_opening(landmarks, iod: Optional[float] = None) -> float:
    """Inner-lip gap at the midline (13-14) / IOD: about 0 closed, 0.1-0.3 talking, > 0.5 yawning."""
    lm = _pts(landmarks)
    iod = interocular_distance(lm) if iod is None else iod
    return _dist(lm[T.UPPER_LIP_BOTTOM], lm[T.LOWER_LIP_TOP]) / iod if iod > 0 else 0.0


def mouth_width(landmarks, iod: Optional[float] = None) -> float:
    """Distance between the outer mouth corners (61-291) / IOD (about 0.75-0.9 at rest)."""
    lm = _pts(landmarks)
    iod = interocular_distance(lm) if iod is None else iod
    return _dist(lm[T.MOUTH_RIGHT], lm[T.MOUTH_LEFT]) / iod if iod > 0 else 0.0


def lip_press(landmarks) -> float:
    """Visible lip thickness / mouth width: (|0-13| + |14-17|) / |61-291|.

    Pressing the lips together rolls the red of the lips inwards and this ratio
    drops (typically 0.25-0.35 at rest); read it against the person's baseline.
    """
    lm = _pts(landmarks)
    w = _dist(lm[T.MOUTH_RIGHT], lm[T.MOUTH_LEFT])
    th = _dist(lm[T.UPPER_LIP_TOP], lm[T.UPPER_LIP_BOTTOM]) + _dist(lm[T.LOWER_LIP_TOP], lm[T.LOWER_LIP_BOTTOM])
    return th / w if w > 0 else 0.0


def mouth_corner_lift(landmarks, iod: Optional[float] = None) -> float:
    """Height of the mouth corners above the centre of the lips (midpoint of 13 and 14),
    along the face's 3-D up axis (face_up_3d), / IOD.

    Negative when the corners hang below the centre of the lips, rising in a smile.
    """
    lm = _pts(landmarks)
    up = face_up_3d(lm)
    iod = interocular_distance(lm) if iod is None else iod
    centre = (lm[T.UPPER_LIP_BOTTOM] + lm[T.LOWER_LIP_TOP]) / 2.0
    corners = (lm[T.MOUTH_RIGHT] + lm[T.MOUTH_LEFT]) / 2.0
    return float(np.dot(corners - centre, up)) / iod if iod > 0 else 0.0


# Population rest values for the smile intensity (MediaPipe meshes of neutral faces).
SMILE_REST_WIDTH = 0.72
SMILE_FULL_WIDTH = 1.05
SMILE_REST_LIFT = 0.0
SMILE_FULL_LIFT = 0.14


def smile_intensity(landmarks, iod: Optional[float] = None) -> float:
    """0 (mouth at rest) .. 1 (broad smile): mean of the corner lift and the mouth widening,
    each scaled between population rest and full-smile values (docs/signals.md)."""
    lm = _pts(landmarks)
    iod = interocular_distance(lm) if iod is None else iod
    lift = (mouth_corner_lift(lm, iod) - SMILE_REST_LIFT) / (SMILE_FULL_LIFT - SMILE_REST_LIFT)
    width = (mouth_width(lm, iod) - SMILE_REST_WIDTH) / (SMILE_FULL_WIDTH - SMILE_REST_WIDTH)
    return float(np.clip(0.5 * np.clip(lift, 0, 1) + 0.5 * np.clip(width, 0, 1), 0.0, 1.0))


# --------------------------------------------------------------------------- brows

def brow_height(landmarks, iod: Optional[float] = None, inner: bool = False) -> float:
    """Height of the brows' lower edge above each eye's centre, along the face's 3-D up axis
    (face_up_3d), / IOD.

    Mean over both brows (all five lower-edge points, or only the inner ends with
    inner=True). Lowering the brows (a frown) decreases it; it is measured from
    the eye CORNERS, which do not move when the lids close. About 0.25-0.3 at rest.
    """
    lm = _pts(landmarks)
    up = face_up_3d(lm)
    iod = interocular_distance(lm) if iod is None else iod
    r_c, l_c = eye_centers(lm)
    if inner:
        h = (np.dot(lm[T.RIGHT_BROW_INNER] - r_c, up) + np.dot(lm[T.LEFT_BROW_INNER] - l_c, up)) / 2.0
    else:
        h = (np.mean((lm[list(T.RIGHT_BROW_LOWER)] - r_c) @ up)
             + np.mean((lm[list(T.LEFT_BROW_LOWER)] - l_c) @ up)) / 2.0
    return float(h) / iod if iod > 0 else 0.0


# --------------------------------------------------------------------------- gaze

def _iris_offset(lm: np.ndarray, side: str, x_axis: np.ndarray, up: np.ndarray) -> Tuple[float, float]:
    """Iris centre minus eye centre, in iris diameters, along (x_axis, up)."""
    if side == "left":
        c, ring, a, b = T.LEFT_IRIS_CENTER, T.LEFT_IRIS_RING, T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER
    else:
        c, ring, a, b = T.RIGHT_IRIS_CENTER, T.RIGHT_IRIS_RING, T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = lm[list(ring), :2].tolist()
    diam = (math.hypot(x0 - x2, y0 - y2) + math.hypot(x1 - x3, y1 - y3)) / 2.0
    if diam <= 0:
        return 0.0, 0.0
    d = lm[c, :2] - (lm[a, :2] + lm[b, :2]) / 2.0
    return float(d @ x_axis) / diam, float(d @ up) / diam


def _offset_to_deg(o: float) -> float:
    # the iris centre sits on a sphere of radius EYEBALL_RADIUS_MM: sin(angle) = displacement / radius
    s = np.clip(o * IRIS_DIAMETER_MM / EYEBALL_RADIUS_MM, -1.0, 1.0)
    return math.degrees(math.asin(float(s)))


def eye_gaze(landmarks) -> Optional[Tuple[float, float]]:
    """Eye-in-head gaze (yaw, pitch) in degrees, mean of both eyes; None without iris points.

    yaw > 0 towards the image's right, pitch > 0 upwards (the head-pose convention
    of facial_feedback.types). From the iris centre's displacement from the midpoint
    of the eye corners, measured in iris diameters (11.7 mm) and turned into an
    angle on a 12 mm eyeball. Approximate: +-5-10 degrees without calibration.
    """
    lm = _pts(landmarks)
    if not has_iris(lm):
        return None
    x_axis, up = face_axes(lm)
    rx, ry = _iris_offset(lm, "right", x_axis, up)
    lx, ly = _iris_offset(lm, "left", x_axis, up)
    return _offset_to_deg((rx + lx) / 2.0), _offset_to_deg((ry + ly) / 2.0) - EYE_PITCH_REST_DEG


@dataclass(frozen=True)
class ScreenCone:
    """Default "on screen" region without calibration: gaze angles (head + eyes) in degrees.

    A laptop screen seen from 50-60 cm with the camera on its top edge spans about
    +-18 degrees horizontally and 0 to -30 degrees vertically; the cone adds the
    +-5-10 degree error of the uncalibrated gaze estimate.
    """

    yaw_max: float = 25.0
    pitch_min: float = -35.0
    pitch_max: float = 15.0

    def contains(self, yaw: float, pitch: float) -> bool:
        return abs(yaw) <= self.yaw_max and self.pitch_min <= pitch <= self.pitch_max


@dataclass(frozen=True)
class GazeCalibration:
    """Affine map from gaze angles (yaw, pitch) to screen coordinates (0..1, 0..1).

    Fit from the person looking at known screen points (the four corners and the
    centre): ``GazeCalibration.fit([(gaze_yaw, gaze_pitch), ...], [(sx, sy), ...])``,
    with (0, 0) the screen's top-left and (1, 1) its bottom-right. A gaze is on the
    screen when it maps inside the unit square grown by ``margin`` on every side.
    """

    coef: Tuple[Tuple[float, float, float], Tuple[float, float, float]]  # rows: sx, sy = coef @ [yaw, pitch, 1]
    margin: float = 0.1
    rms_error: float = 0.0  # on the calibration points, in screen units

    @classmethod
    def fit(cls, gaze: Sequence[Tuple[float, float]], screen: Sequence[Tuple[float, float]],
            margin: float = 0.1) -> "GazeCalibration":
        g = np.asarray(gaze, dtype=np.float64).reshape(-1, 2)
        s = np.asarray(screen, dtype=np.float64).reshape(-1, 2)
        if len(g) != len(s) or len(g) < 3:
            raise ValueError("calibration needs at least 3 (gaze, screen point) pairs, e.g. 4 corners + centre")
        A = np.hstack([g, np.ones((len(g), 1))])
        coef, *_ = np.linalg.lstsq(A, s, rcond=None)  # (3, 2)
        rms = float(np.sqrt(np.mean(np.sum((A @ coef - s) ** 2, axis=1))))
        return cls(coef=tuple(tuple(float(v) for v in row) for row in coef.T), margin=margin, rms_error=rms)

    @classmethod
    def from_samples(cls, samples: Mapping[Tuple[float, float], Sequence[Tuple[float, float]]],
                     margin: float = 0.1) -> "GazeCalibration":
        """Fit from {screen point: [(gaze_yaw, gaze_pitch), ...] seen while looking at it}; the
        median gaze of each point is used (blinks and saccades are outliers)."""
        pts = [p for p, g in samples.items() if len(g)]
        med = [tuple(np.median(np.asarray(samples[p], dtype=np.float64), axis=0)) for p in pts]
        return cls.fit(med, pts, margin=margin)

    def to_screen(self, yaw: float, pitch: float) -> Tuple[float, float]:
        c = np.asarray(self.coef)
        sx, sy = c @ np.array([yaw, pitch, 1.0])
        return float(sx), float(sy)

    def contains(self, yaw: float, pitch: float) -> bool:
        sx, sy = self.to_screen(yaw, pitch)
        m = self.margin
        return -m <= sx <= 1 + m and -m <= sy <= 1 + m

    def to_dict(self) -> dict:
        return {"coef": [list(r) for r in self.coef], "margin": self.margin, "rms_error": self.rms_error}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GazeCalibration":
        return cls(coef=tuple(tuple(float(v) for v in r) for r in d["coef"]), margin=float(d.get("margin", 0.1)),
                   rms_error=float(d.get("rms_error", 0.0)))


def gaze_on_screen(yaw: float, pitch: float, calibration: Optional[GazeCalibration] = None,
                   cone: Optional[ScreenCone] = None) -> bool:
    """Whether a gaze direction (head + eyes, degrees) falls on the screen."""
    if calibration is not None:
        return calibration.contains(yaw, pitch)
    return (cone or ScreenCone()).contains(yaw, pitch)


# --------------------------------------------------------------------------- the per-frame record

#: below this IOD (pixels) the eyes are a few pixels tall and lid / iris measures are unreliable
MIN_IOD_PX = 24.0
#: beyond this head yaw (degrees) one eye is foreshortened or hidden
MAX_RELIABLE_YAW = 40.0


def _round(v, nd=4):
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    return round(float(v), nd)


@dataclass(frozen=True)
class FaceSignals:
    """Per-frame facial signals of one face. All ratios are unitless (see each function)."""

    ear_left: float
    ear_right: float
    eye_open_left: float       # lid gap / IOD
    eye_open_right: float
    mar: float                 # mouth aspect ratio
    mouth_open: float          # inner-lip gap / IOD
    mouth_width: float         # / IOD
    mouth_corner_lift: float   # / IOD
    smile: float               # 0..1
    lip_press: float           # lip thickness / mouth width (lower = pressed)
    brow_height: float         # / IOD (lower = brows lowered)
    brow_inner_height: float   # / IOD
    head_tilt: float           # degrees, > 0 clockwise in the image
    eye_yaw: Optional[float]   # eye-in-head, degrees (None without iris points)
    eye_pitch: Optional[float]
    gaze_yaw: Optional[float]  # eyes + head pose when known, degrees
    gaze_pitch: Optional[float]
    on_screen: Optional[bool]  # gaze (or head, without iris) within the screen
    iod_px: float              # face scale in pixels
    quality: float             # 0..1: how well the eye/mouth region is seen (size and head yaw)

    @property
    def ear(self) -> float:
        return (self.ear_left + self.ear_right) / 2.0

    @property
    def eye_open(self) -> float:
        return (self.eye_open_left + self.eye_open_right) / 2.0

    def to_dict(self) -> dict:
        d = {f.name: _round(getattr(self, f.name)) for f in fields(self)}
        for k in ("head_tilt", "eye_yaw", "eye_pitch", "gaze_yaw", "gaze_pitch", "iod_px"):
            d[k] = _round(getattr(self, k), 1)
        d["quality"] = _round(self.quality, 2)
        return d


# Index arrays for the one-pass computation in face_signals (same definitions as the
# single-purpose functions above, which stay the readable reference; a test checks they agree).
_R_EAR, _L_EAR = T.RIGHT_EYE_EAR, T.LEFT_EYE_EAR
_DIST_A = np.array([
    _R_EAR[1], _R_EAR[2], _R_EAR[0],            # 0-2  right EAR: p2-p6, p3-p5, p1-p4
    _L_EAR[1], _L_EAR[2], _L_EAR[0],            # 3-5  left EAR
    *[u for u, _ in T.RIGHT_EYE_LID_PAIRS[2:5]],  # 6-8  right lid gaps
    *[u for u, _ in T.LEFT_EYE_LID_PAIRS[2:5]],   # 9-11 left lid gaps
    *[u for u, _ in T.MAR_PAIRS],                 # 12-14 MAR gaps (12+1 = 13-14 midline)
    T.MOUTH_INNER_RIGHT,                          # 15 inner mouth width
    T.MOUTH_RIGHT,                                # 16 mouth width
    T.UPPER_LIP_TOP, T.LOWER_LIP_TOP,             # 17-18 lip thickness
])
_DIST_B = np.array([
    _R_EAR[5], _R_EAR[4], _R_EAR[3],
    _L_EAR[5], _L_EAR[4], _L_EAR[3],
    *[d for _, d in T.RIGHT_EYE_LID_PAIRS[2:5]],
    *[d for _, d in T.LEFT_EYE_LID_PAIRS[2:5]],
    *[d for _, d in T.MAR_PAIRS],
    T.MOUTH_INNER_LEFT,
    T.MOUTH_LEFT,
    T.UPPER_LIP_BOTTOM, T.LOWER_LIP_BOTTOM,
])
_R_BROW_LOW = list(T.RIGHT_BROW_LOWER)
_L_BROW_LOW = list(T.LEFT_BROW_LOWER)


def _clip01(v: float) -> float:
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


def face_signals(landmarks, pose=None, calibration: Optional[GazeCalibration] = None,
                 cone: Optional[ScreenCone] = None) -> FaceSignals:
    """All per-frame signals of one face, in one pass over the mesh (about 0.1 ms).

    landmarks: (478, 3) mesh in image pixels (468 points also work: no gaze then);
    pose: a facial_feedback.types.HeadPose (or None); the gaze is the eye-in-head
    angle plus the head yaw/pitch (small-angle sum). Without iris points, on_screen
    falls back to the head pose alone.
    """
    lm = _pts(landmarks)
    D = np.sqrt(((lm[_DIST_A] - lm[_DIST_B]) ** 2).sum(axis=1)).tolist()
    r_c = (lm[T.RIGHT_EYE_OUTER] + lm[T.RIGHT_EYE_INNER]) / 2.0
    l_c = (lm[T.LEFT_EYE_OUTER] + lm[T.LEFT_EYE_INNER]) / 2.0
    iod = float(math.sqrt(((r_c - l_c) ** 2).sum()))
    inv = 1.0 / iod if iod > 0 else 0.0
    vx, vy = (lm[T.LEFT_EYE_OUTER, :2] - lm[T.RIGHT_EYE_OUTER, :2]).tolist()
    n = math.hypot(vx, vy)
    x_axis = np.array([vx / n, vy / n]) if n > 0 else np.array([1.0, 0.0])
    up = np.array([x_axis[1], -x_axis[0]])

    ear_r = (D[0] + D[1]) / (2.0 * D[2]) if D[2] > 0 else 0.0
    ear_l = (D[3] + D[4]) / (2.0 * D[5]) if D[5] > 0 else 0.0
    open_r = (D[6] + D[7] + D[8]) / 3.0 * inv
    open_l = (D[9] + D[10] + D[11]) / 3.0 * inv
    mar = (D[12] + D[13] + D[14]) / 3.0 / D[15] if D[15] > 0 else 0.0
    m_open = D[13] * inv
    m_width = D[16] * inv
    lip = (D[17] + D[18]) / D[16] if D[16] > 0 else 0.0
    x3 = lm[T.LEFT_EYE_OUTER] - lm[T.RIGHT_EYE_OUTER]
    x3 = x3 / math.sqrt(float(x3 @ x3)) if n > 0 else np.array([1.0, 0.0, 0.0])
    up3 = lm[T.FOREHEAD_MID] - lm[T.NOSE_BOTTOM]
    up3 = up3 - x3 * float(up3 @ x3)
    nu = math.sqrt(float(up3 @ up3))
    up3 = up3 / nu if nu > 0 else np.array([0.0, -1.0, 0.0])
    centre = (lm[T.UPPER_LIP_BOTTOM] + lm[T.LOWER_LIP_TOP]) / 2.0
    corners = (lm[T.MOUTH_RIGHT] + lm[T.MOUTH_LEFT]) / 2.0
    lift = float((corners - centre) @ up3) * inv
    smile = _clip01(0.5 * _clip01((lift - SMILE_REST_LIFT) / (SMILE_FULL_LIFT - SMILE_REST_LIFT))
                    + 0.5 * _clip01((m_width - SMILE_REST_WIDTH) / (SMILE_FULL_WIDTH - SMILE_REST_WIDTH)))
    brow = (float(((lm[_R_BROW_LOW] - r_c) @ up3).mean())
            + float(((lm[_L_BROW_LOW] - l_c) @ up3).mean())) / 2.0 * inv
    brow_in = (float((lm[T.RIGHT_BROW_INNER] - r_c) @ up3)
               + float((lm[T.LEFT_BROW_INNER] - l_c) @ up3)) / 2.0 * inv
    tilt = math.degrees(math.atan2(x_axis[1], x_axis[0]))

    eg = None
    if lm.shape[0] >= T.NUM_POINTS:
        rx, ry = _iris_offset(lm, "right", x_axis, up)
        lx, ly = _iris_offset(lm, "left", x_axis, up)
        eg = (_offset_to_deg((rx + lx) / 2.0), _offset_to_deg((ry + ly) / 2.0) - EYE_PITCH_REST_DEG)
    hy = float(pose.yaw) if pose is not None else 0.0
    hp = float(pose.pitch) if pose is not None else 0.0
    if eg is not None:
        gy, gp = eg[0] + hy, eg[1] + hp
        on = gaze_on_screen(gy, gp, calibration, cone)
    else:
        gy = gp = None
        on = gaze_on_screen(hy, hp, calibration, cone) if pose is not None else None
    size_q = _clip01((iod - MIN_IOD_PX / 2) / (MIN_IOD_PX / 2))  # 0 at 12 px, 1 at 24 px
    yaw_q = _clip01((70.0 - abs(hy)) / (70.0 - MAX_RELIABLE_YAW)) if pose is not None else 1.0
    return FaceSignals(
        ear_left=ear_l, ear_right=ear_r, eye_open_left=open_l, eye_open_right=open_r,
        mar=mar, mouth_open=m_open, mouth_width=m_width, mouth_corner_lift=lift, smile=smile, lip_press=lip,
        brow_height=brow, brow_inner_height=brow_in, head_tilt=tilt,
        eye_yaw=None if eg is None else eg[0], eye_pitch=None if eg is None else eg[1],
        gaze_yaw=gy, gaze_pitch=gp, on_screen=on, iod_px=iod, quality=min(size_q, yaw_q),
    )


def negative_emotion(emotion) -> Optional[float]:
    """Summed probability of angry, disgust, fear and sad from a facial_feedback.types.Emotion (or None)."""
    if emotion is None:
        return None
    return float(sum(emotion.scores.get(k, 0.0) for k in _NEGATIVE))
