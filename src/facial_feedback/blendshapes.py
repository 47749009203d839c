"""The 52 expression blendshapes of MediaPipe's Face Landmarker (ARKit-style names).

`face_blendshapes.tflite` reads 146 of the mesh's 478 points (x, y in image pixels; the model
normalises position and scale itself) and gives 52 coefficients in [0, 1]: how far each part of
the face has moved from rest. Left/Right are the SUBJECT's sides (eyeBlinkLeft is the eye on
the image's right in a non-mirrored photo). What each one measures: MEANINGS below and
docs/blendshapes.md.
"""
from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from .types import BLENDSHAPE_NAMES

# The 146 mesh points the model reads, in its input order (MediaPipe's face_blendshapes_graph.cc).
SUBSET = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168,
    172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276,
    282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318,
    321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380,
    381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466,
    468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)

_SUBSET_IDX = np.array(SUBSET)

_SIDE = {"Left": "subject's left", "Right": "subject's right"}
_BASE = {
    "_neutral": "the model's rest-face score (high when nothing else moves)",
    "browDown": "brow lowered and drawn in (frown, concentration, anger)",
    "browInnerUp": "inner ends of both brows raised (worry, sadness, surprise)",
    "browOuterUp": "outer end of the brow raised",
    "cheekPuff": "both cheeks puffed out with air",
    "cheekSquint": "cheek raised towards the eye (Duchenne smile)",
    "eyeBlink": "eyelid closed (1 = shut)",
    "eyeLookDown": "eye looking down",
    "eyeLookIn": "eye looking towards the nose",
    "eyeLookOut": "eye looking away from the nose",
    "eyeLookUp": "eye looking up",
    "eyeSquint": "lower lid raised, eye narrowed",
    "eyeWide": "eyelids opened wider than at rest (surprise, fear)",
    "jawForward": "jaw pushed forward",
    "jawLeft": "jaw moved to the subject's left",
    "jawOpen": "jaw dropped, mouth opened (speech, yawn, surprise)",
    "jawRight": "jaw moved to the subject's right",
    "mouthClose": "lips held closed while the jaw is open",
    "mouthDimple": "mouth corner pulled back (dimple)",
    "mouthFrown": "mouth corner pulled down",
    "mouthFunnel": "lips funnelled outwards (an 'oo' shape)",
    "mouthLeft": "closed lips moved to the subject's left",
    "mouthLowerDown": "lower lip pulled down",
    "mouthPress": "lips pressed together",
    "mouthPucker": "lips puckered (a kiss)",
    "mouthRight": "closed lips moved to the subject's right",
    "mouthRollLower": "lower lip rolled in over the teeth",
    "mouthRollUpper": "upper lip rolled in over the teeth",
    "mouthShrugLower": "lower lip pushed up (pout)",
    "mouthShrugUpper": "upper lip pushed up",
    "mouthSmile": "mouth corner raised and pulled back (smile)",
    "mouthStretch": "mouth corner stretched sideways and down (fear, grimace)",
    "mouthUpperUp": "upper lip raised (disgust, sneer)",
    "noseSneer": "nose wrinkled, nostril raised (disgust)",
}


def meaning(name: str) -> str:
    """What one blendshape measures, in words."""
    for side, words in _SIDE.items():
        if name.endswith(side) and name[:-len(side)] in _BASE:
            return f"{_BASE[name[:-len(side)]]}, {words}"
    return _BASE[name]


MEANINGS: Dict[str, str] = {n: meaning(n) for n in BLENDSHAPE_NAMES}


def model_input(landmarks: np.ndarray) -> np.ndarray:
    """The model's input (1, 146, 2) from a (478, 3) mesh in image pixels."""
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.ndim != 2 or lm.shape[0] != 478:
        raise ValueError(f"blendshapes need the 478-point mesh, got {lm.shape}")
    return lm[_SUBSET_IDX, :2][None]


def strongest(scores: Mapping[str, float], k: int = 5, skip: Sequence[str] = ("_neutral",)) -> List[tuple]:
    """The k largest (name, value) pairs, largest first."""
    items = [(n, float(v)) for n, v in scores.items() if n not in skip]
    return sorted(items, key=lambda nv: -nv[1])[:k]


class BlendshapeModel:
    """face_blendshapes.tflite on LiteRT. Thread-safe (calls are serialised)."""

    def __init__(self, threads: int = 1):
        from ._litert import BLENDSHAPE_MODEL, Model

        self._model = Model(BLENDSHAPE_MODEL, threads)  # a small MLP: one thread is fastest

    def predict(self, landmarks: Optional[np.ndarray]) -> Optional[Dict[str, float]]:
        """The 52 coefficients of one face's mesh, keyed by BLENDSHAPE_NAMES in order (None for None)."""
        if landmarks is None or np.asarray(landmarks).shape[0] != 478:
            return None
        out = self._model.run(model_input(landmarks))[0].reshape(-1)
        return {n: float(min(1.0, max(0.0, v))) for n, v in zip(BLENDSHAPE_NAMES, out)}
