"""The one result type that flows through every stage.

Conventions, stated once:
- images are RGB uint8 arrays, shape (H, W, 3), in the upright orientation
  (EXIF rotation already applied);
- boxes are (x, y, w, h) in pixels of that original image;
- landmarks are MediaPipe's 478-point mesh (468 + 10 iris points) as an array
  (478, 3): x and y in pixels of the original image, z in the same pixel scale
  (relative depth, smaller is nearer the camera);
- head pose angles are degrees: yaw > 0 the face turns to the image's right,
  pitch > 0 the face looks up, roll > 0 the head tilts clockwise in the image;
- times are seconds from the start of the video or live session.

`to_dict()` is THE schema: the CLI's JSON, the CSV writer and the web API all
emit it, so a field is added here once and appears everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:  # types.py is the ground floor: no import of the signals at run time
    from facial_feedback.signals import FaceSignals, SessionSnapshot

EMOTIONS: Tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# The 52 expression blendshapes (MediaPipe Face Landmarker, ARKit-style names), in the model's
# output order; Left/Right are the subject's sides. Meanings: facial_feedback.blendshapes.MEANINGS.
BLENDSHAPE_NAMES: Tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)


def _r(v: float, nd: int = 4) -> float:
    return round(float(v), nd)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        if not (self.w >= 0 and self.h >= 0):
            raise ValueError(f"box width and height must be >= 0, got {self.w}x{self.h}")

    @property
    def center(self) -> Tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: "Box") -> float:
        x1, y1 = max(self.x, other.x), max(self.y, other.y)
        x2 = min(self.x + self.w, other.x + other.w)
        y2 = min(self.y + self.h, other.y + other.h)
        inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def to_list(self) -> list:
        return [_r(self.x, 1), _r(self.y, 1), _r(self.w, 1), _r(self.h, 1)]

    @classmethod
    def from_points(cls, pts: np.ndarray) -> "Box":
        x0, y0 = float(pts[:, 0].min()), float(pts[:, 1].min())
        x1, y1 = float(pts[:, 0].max()), float(pts[:, 1].max())
        return cls(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float

    def to_dict(self) -> dict:
        return {"yaw": _r(self.yaw, 1), "pitch": _r(self.pitch, 1), "roll": _r(self.roll, 1)}


@dataclass(frozen=True)
class Emotion:
    """Probabilities over EMOTIONS (sum to 1)."""

    scores: Mapping[str, float]

    def __post_init__(self) -> None:
        if tuple(self.scores) != EMOTIONS:
            raise ValueError(f"emotion scores must be keyed {EMOTIONS} in that order, got {tuple(self.scores)}")

    @classmethod
    def from_probs(cls, probs) -> "Emotion":
        p = np.asarray(probs, dtype=np.float64).reshape(-1)
        if p.shape[0] != len(EMOTIONS):
            raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {p.shape[0]}")
        return cls({k: float(v) for k, v in zip(EMOTIONS, p)})

    @property
    def probs(self) -> np.ndarray:
        return np.array([self.scores[k] for k in EMOTIONS], dtype=np.float64)

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)

    @property
    def confidence(self) -> float:
        return float(self.scores[self.label])

    def to_dict(self) -> dict:
        return {"label": self.label, "confidence": _r(self.confidence),
                "scores": {k: _r(v) for k, v in self.scores.items()}}


@dataclass(frozen=True)
class Face:
    box: Box
    score: Optional[float] = None           # detection confidence, None if no detector ran (face crops)
    landmarks: Optional[np.ndarray] = None  # (478, 3), see module doc
    pose: Optional[HeadPose] = None
    emotion: Optional[Emotion] = None
    track_id: Optional[int] = None          # VIDEO / LIVE modes only
    signals: Optional["FaceSignals"] = None  # per-frame facial signals, when the Analyzer computes them
    # The 52 expression coefficients in [0, 1], keyed by BLENDSHAPE_NAMES in that order (None
    # without a mesh); what each measures: facial_feedback.blendshapes.MEANINGS.
    blendshapes: Optional[Mapping[str, float]] = None

    def __post_init__(self) -> None:
        if self.landmarks is not None:
            lm = np.asarray(self.landmarks)
            if lm.ndim != 2 or lm.shape[1] != 3 or lm.shape[0] not in (468, 478):
                raise ValueError(f"landmarks must be (478, 3), got {lm.shape}")
        if self.blendshapes is not None and tuple(self.blendshapes) != BLENDSHAPE_NAMES:
            raise ValueError(f"blendshapes must be keyed BLENDSHAPE_NAMES in that order, got {len(self.blendshapes)} keys")

    def to_dict(self, landmarks: bool = False) -> dict:
        d: dict = {
            "box": self.box.to_list(),
            "score": None if self.score is None else _r(self.score),
            "track_id": self.track_id,
            "pose": None if self.pose is None else self.pose.to_dict(),
            "emotion": None if self.emotion is None else self.emotion.to_dict(),
        }
        if self.signals is not None:
            d["signals"] = self.signals.to_dict()
        if self.blendshapes is not None:
            d["blendshapes"] = {k: _r(v, 3) for k, v in self.blendshapes.items()}
        if landmarks:
            d["landmarks"] = None if self.landmarks is None else np.round(self.landmarks, 1).tolist()
        return d


@dataclass(frozen=True)
class FrameResult:
    """Everything found in one image or video frame."""

    width: int
    height: int
    faces: Tuple[Face, ...] = ()
    index: Optional[int] = None        # frame number in a video / live session
    timestamp: Optional[float] = None  # seconds
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)  # ms per stage
    # Session-level state over time (events, attention/fatigue/tension states per track), set
    # in VIDEO / LIVE modes when signals are on.
    session: Optional["SessionSnapshot"] = None

    def __post_init__(self) -> None:
        if not isinstance(self.faces, tuple):
            object.__setattr__(self, "faces", tuple(self.faces))

    def primary_face(self) -> Optional[Face]:
        """The person in front of the camera: see primary_face()."""
        return primary_face(self.faces)

    def to_dict(self, landmarks: bool = False) -> dict:
        d: dict = {"width": self.width, "height": self.height}
        if self.index is not None:
            d["frame"] = self.index
        if self.timestamp is not None:
            d["time"] = _r(self.timestamp, 3)
        d["faces"] = [f.to_dict(landmarks=landmarks) for f in self.faces]
        if self.session is not None:
            d["session"] = self.session.to_dict()
        return d


def primary_face(faces: Sequence[Face]) -> Optional[Face]:
    """The person in front of the camera: the biggest face (on a tie, the lowest track id);
    None when there is no face. The reading and wellbeing apps follow this one face."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box.area, -(f.track_id or 0)))


# CSV: one row per face per frame. The columns are derived from to_dict() so the
# two can't drift apart.
CSV_COLUMNS: Tuple[str, ...] = (
    "frame", "time", "track_id", "x", "y", "w", "h", "score", "yaw", "pitch", "roll", "emotion",
    *(f"p_{k}" for k in EMOTIONS),
)
# Optional CSV columns: the 52 blendshapes (csv_rows(..., blendshapes=True)).
CSV_BLENDSHAPE_COLUMNS: Tuple[str, ...] = tuple(f"bs_{k}" for k in BLENDSHAPE_NAMES)


def csv_columns(blendshapes: bool = False) -> Tuple[str, ...]:
    return CSV_COLUMNS + (CSV_BLENDSHAPE_COLUMNS if blendshapes else ())


def csv_rows(frame: FrameResult, blendshapes: bool = False) -> list:
    rows = []
    fd = frame.to_dict()
    for face in fd["faces"]:
        x, y, w, h = face["box"]
        pose = face["pose"] or {}
        emo = face["emotion"] or {}
        scores = emo.get("scores", {})
        rows.append({
            "frame": fd.get("frame"), "time": fd.get("time"), "track_id": face["track_id"],
            "x": x, "y": y, "w": w, "h": h, "score": face["score"],
            "yaw": pose.get("yaw"), "pitch": pose.get("pitch"), "roll": pose.get("roll"),
            "emotion": emo.get("label"),
            **{f"p_{k}": scores.get(k) for k in EMOTIONS},
        })
        if blendshapes:
            bs = face.get("blendshapes") or {}
            rows[-1].update({f"bs_{k}": bs.get(k) for k in BLENDSHAPE_NAMES})
    return rows


# A photo's CSV (the Photos page's download, POST /api/v1/analyze?format=csv): no frame, time or
# track (a photo has none); "face" numbers the faces as the page lists them; a file that could
# not be analysed is one row with its "error" (and nothing else).
PHOTO_CSV_COLUMNS: Tuple[str, ...] = (
    "file", "face", *(c for c in CSV_COLUMNS if c not in ("frame", "time", "track_id")), "error",
)


def photo_csv_rows(file: str, frame: Optional[FrameResult] = None, error: Optional[str] = None) -> list:
    """A photo's rows in PHOTO_CSV_COLUMNS: one per face, or one carrying the error."""
    if frame is None:
        return [{"file": file, "error": error or "not analysed"}]
    rows = []
    for i, row in enumerate(csv_rows(frame), 1):
        for k in ("frame", "time", "track_id"):
            row.pop(k)
        rows.append({"file": file, "face": i, **row})
    return rows
