"""The emotion classifier: a shipped ONNX model applied as its manifest says.

The manifest (models/emotion.json) travels with the weights and holds everything
the pipeline needs to feed the model what it was trained on: input size and
normalisation, how a face is cut out of a photo so it looks like a FER crop,
label order, temperature and test-time augmentation. Nothing here is specific
to one model file; training/ writes both.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import cv2
import numpy as np

from . import topology as T
from .config import EMOTION_LABEL_SETS as LABEL_SETS  # noqa: F401  (re-exported)
from .types import EMOTIONS, Emotion

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MANIFEST = MODELS_DIR / "emotion.json"

# Eye centres from corners and mid-lids (subject's right eye is on the image left).
_RIGHT_EYE = (T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER, T.RIGHT_EYE_UPPER_MID, T.RIGHT_EYE_LOWER_MID)
_LEFT_EYE = (T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER, T.LEFT_EYE_UPPER_MID, T.LEFT_EYE_LOWER_MID)


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class CropSpec:
    """How to cut a FER-like face from a photo (see face_crop)."""

    scale: float = 1.2
    offset_y: float = 0.0
    align: str = "eyes"


@dataclass(frozen=True)
class Manifest:
    path: Path
    file: str
    sha256: str
    labels: tuple
    input_name: str
    size: int
    channels: int
    scale: float
    mean: float
    std: float
    output_name: str
    output_kind: str
    temperature: float
    tta: tuple
    crop: CropSpec
    raw: dict
    # the face is cut at crop_size x crop_size (what the model's training crops were, e.g. FER's 48)
    # and then resized to size, the network's input; equal to size unless the manifest says otherwise
    crop_size: int = 0

    def label_set(self, name: str = "mixed") -> tuple:
        """(graph output, temperature) of a label convention (LABEL_SETS)."""
        sets = self.raw.get("label_sets") or {}
        if name == "mixed" and "mixed" not in sets:
            return self.output_name, self.temperature
        if name not in sets:
            offered = ", ".join(["mixed"] + [k for k in sets if k != "mixed"])
            raise ModelError(f"emotion labels {name!r} are not offered by {self.path.name} (offered: {offered})")
        try:
            return str(sets[name]["output"]), float(sets[name]["temperature"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"label set {name!r} in {self.path.name} is missing or has a bad field: {e}") from None

    @classmethod
    def load(cls, path: Union[str, Path] = DEFAULT_MANIFEST) -> "Manifest":
        path = Path(path)
        try:
            m = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelError(f"emotion model manifest not found: {path}") from None
        except json.JSONDecodeError as e:
            raise ModelError(f"emotion model manifest {path} is not valid JSON: {e}") from None
        try:
            inp, out, crop = m["input"], m["output"], m.get("crop", {})
            man = cls(
                path=path, file=m["file"], sha256=m["sha256"], labels=tuple(m["labels"]),
                input_name=inp.get("name", "input"), size=int(inp["size"]), channels=int(inp.get("channels", 1)),
                scale=float(inp.get("scale", 1 / 255)), mean=float(inp.get("mean", 0.0)), std=float(inp.get("std", 1.0)),
                output_name=out.get("name", "logits"), output_kind=out.get("kind", "logits"),
                temperature=float(m.get("temperature", 1.0)), tta=tuple(m.get("tta", ["none"])),
                crop=CropSpec(float(crop.get("scale", 1.2)), float(crop.get("offset_y", 0.0)), crop.get("align", "eyes")),
                raw=m, crop_size=int(inp.get("crop_size", inp["size"])),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"emotion model manifest {path} is missing or has a bad field: {e}") from None
        if set(man.labels) != set(EMOTIONS):
            raise ModelError(f"model labels {man.labels} are not the 7 basic emotions {EMOTIONS}")
        if man.channels not in (1, 3):
            raise ModelError(f"model input must have 1 or 3 channels, manifest says {man.channels}")
        return man


def eye_roll(landmarks: np.ndarray) -> float:
    """Angle (radians) of the line from the subject's right eye to the left eye."""
    r = landmarks[list(_RIGHT_EYE), :2].mean(0)
    l = landmarks[list(_LEFT_EYE), :2].mean(0)
    return math.atan2(l[1] - r[1], l[0] - r[0])


def crop_matrix(landmarks: Optional[np.ndarray], box, spec: CropSpec, out_size: int) -> np.ndarray:
    """2x3 affine matrix taking image pixels to an out_size square FER-like crop.

    With a mesh: rotate about the mesh centre so the eyes are level, then take a square
    of side spec.scale * max(mesh width, height), moved down by spec.offset_y * side.
    Without one (detector box only, or a pre-cropped face): the same rule on the box.
    """
    if landmarks is not None and spec.align == "eyes":
        ang = eye_roll(landmarks)
        c, s = math.cos(-ang), math.sin(-ang)
        pts = landmarks[:, :2].astype(np.float64)
        ctr = (pts.min(0) + pts.max(0)) / 2
        rot = (pts - ctr) @ np.array([[c, s], [-s, c]])  # level the eyes
        lo, hi = rot.min(0), rot.max(0)
        mid = (lo + hi) / 2
        side = spec.scale * float(max(hi - lo))
        mid = mid + np.array([0.0, spec.offset_y * side])
    else:
        c, s = 1.0, 0.0
        if landmarks is not None:
            pts = landmarks[:, :2].astype(np.float64)
            ctr = (pts.min(0) + pts.max(0)) / 2
            wh = pts.max(0) - pts.min(0)
        else:
            ctr = np.array(box.center, dtype=np.float64)
            wh = np.array([box.w, box.h], dtype=np.float64)
        side = spec.scale * float(max(wh))
        mid = np.array([0.0, spec.offset_y * side])
    k = out_size / max(side, 1e-6)
    # out = k * (Rot(-ang) @ (p - ctr) - mid) + out_size/2   (c, s are cos/sin of -ang; identity if not aligned)
    A = k * np.array([[c, -s], [s, c]])
    b = -A @ ctr - k * mid + out_size / 2.0
    return np.hstack([A, b[:, None]])


def face_crop(image: np.ndarray, landmarks: Optional[np.ndarray], box, spec: CropSpec,
              size: int, grey: bool = True) -> np.ndarray:
    """A size x size crop (uint8, grey or RGB) of one face, as the model was trained on."""
    # Warp at about the face's own resolution (at most 4x the output), then area-downsample:
    # warpAffine has no area filter and would alias. Grey conversion after the warp, on the
    # small crop rather than the whole frame.
    M = crop_matrix(landmarks, box, spec, size)
    src_side = size / math.sqrt(abs(np.linalg.det(M[:, :2])))
    inter = int(min(4 * size, max(size, src_side)))
    M = M * (inter / size)
    big = cv2.warpAffine(image, M, (inter, inter), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if grey and small.ndim == 3 else small


def resize_crops(crops: np.ndarray, crop_size: int, size: int) -> np.ndarray:
    """Bring uint8 face crops to the network's input size the way training did: any other size is
    first area-resized to crop_size, then (if the network is larger) linearly upsampled to size."""
    def one(c):
        if c.shape[:2] != (crop_size, crop_size):
            c = cv2.resize(c, (crop_size, crop_size), interpolation=cv2.INTER_AREA)
        if crop_size != size:
            c = cv2.resize(c, (size, size), interpolation=cv2.INTER_LINEAR if size > crop_size else cv2.INTER_AREA)
        return c
    if crops.shape[1:3] == (size, size):
        return crops
    return np.stack([one(c) for c in crops])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class EmotionModel:
    """ONNX Runtime session + manifest. run() is thread-safe (ORT sessions are)."""

    def __init__(self, manifest: Union[str, Path] = DEFAULT_MANIFEST, threads: int = 1, verify: bool = True,
                 labels: str = "mixed"):
        import onnxruntime as ort

        self.manifest = Manifest.load(manifest)
        # the graph output and temperature behind the label convention asked for (LABEL_SETS)
        self.labels = labels
        self._output, self._temperature = self.manifest.label_set(labels)
        onnx_path = self.manifest.path.parent / self.manifest.file
        if not onnx_path.exists():
            raise ModelError(f"emotion model file not found: {onnx_path}")
        data = onnx_path.read_bytes()
        if verify and hashlib.sha256(data).hexdigest() != self.manifest.sha256:
            raise ModelError(f"{onnx_path.name} does not match the sha256 in {self.manifest.path.name}: "
                             "the model file is corrupt or was replaced")
        so = ort.SessionOptions()
        # One thread per call: the pipeline already keeps both cores busy (decode + mesh).
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self._sess = ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])
        if self._output not in {o.name for o in self._sess.get_outputs()}:
            raise ModelError(f"{onnx_path.name} has no output {self._output!r} (label set {labels!r})")
        # map model label order -> EMOTIONS order
        self._order = [self.manifest.labels.index(k) for k in EMOTIONS]

    @property
    def crop_spec(self) -> CropSpec:
        return self.manifest.crop

    def crops(self, image: np.ndarray, faces: Sequence[tuple]) -> np.ndarray:
        """faces: (landmarks or None, box) pairs -> uint8 (N, crop_size, crop_size[, 3])."""
        m = self.manifest
        return np.stack([face_crop(image, lm, box, m.crop, m.crop_size, grey=m.channels == 1) for lm, box in faces]) \
            if faces else np.zeros((0, m.crop_size, m.crop_size), np.uint8)

    def prepare(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops ((N,S,S) grey or (N,S,S,3) RGB, any S) -> the network's float input (N,C,size,size)."""
        m = self.manifest
        x = resize_crops(np.asarray(crops), m.crop_size, m.size)
        if m.channels == 1 and x.ndim == 4:
            x = np.stack([cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) for c in x])
        if m.channels == 3 and x.ndim == 3:
            x = np.repeat(x[..., None], 3, axis=3)
        x = x.astype(np.float32) * m.scale
        x = (x - m.mean) / m.std
        return x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)

    def view_logits(self, crops: np.ndarray, output: Optional[str] = None) -> np.ndarray:
        """Raw model outputs (V, N, 7) for the manifest's TTA views, columns in EMOTIONS order.
        `output` picks another graph output (evaluation of extra heads); default the one behind this
        model's label set (`labels`: the shipped mix unless asked otherwise)."""
        m = self.manifest
        x = self.prepare(crops)
        views = [x]
        if "hflip" in m.tta:
            views.append(x[..., ::-1])
        batch = np.ascontiguousarray(np.concatenate(views, axis=0))
        out = self._sess.run([output or self._output], {m.input_name: batch})[0]
        return out.reshape(len(views), len(x), -1)[..., self._order]

    def probs(self, crops: np.ndarray, temperature: Optional[float] = None, output: Optional[str] = None) -> np.ndarray:
        """(N, 7) probabilities in EMOTIONS order: softmax(logits / T) averaged over the TTA views,
        exactly what predict_crops returns (T: the label set's, from the manifest, unless given)."""
        m = self.manifest
        if len(crops) == 0:
            return np.zeros((0, len(EMOTIONS)))
        return self.combine_views(self.view_logits(crops, output), temperature)

    def combine_views(self, view_logits: np.ndarray, temperature: Optional[float] = None) -> np.ndarray:
        """(V, N, 7) outputs of view_logits -> (N, 7) probabilities: softmax(logits / T), mean over views."""
        m = self.manifest
        t = self._temperature if temperature is None else temperature
        probs = _softmax(view_logits / t) if m.output_kind == "logits" else view_logits
        return probs.mean(axis=0)

    def predict_crops(self, crops: np.ndarray) -> List[Emotion]:
        """Classify already-cut faces (uint8, (N,S,S) grey or (N,S,S,3) RGB, resized if needed)."""
        return [Emotion.from_probs(row) for row in self.probs(crops)]

    def predict(self, image: np.ndarray, faces: Sequence[tuple]) -> List[Emotion]:
        return self.predict_crops(self.crops(image, faces))
