"""The head's rotation from the mesh by a rigid fit to MediaPipe's canonical face model.

MediaPipe's face-geometry module does this: a weighted Procrustes fit of the mesh's points to
the canonical face (models/canonical_face_model.json, Apache-2.0). The canonical face defines
"looking straight at the camera", so no hand-tuned zero offset is needed, and the fit uses many
points at once, so no single point pair (forehead -> nose) sets the pitch alone.

We keep MediaPipe's weights but only its basis points on the forehead, temples, eye corners and
nose (HEAD_FRAME_POINTS): its other basis points lie on the cheeks, nostril wings and jaw line,
which a smile moves by 2-6.5 mm in the mesh (docs/signals.md, "Head pitch (issue 19)").
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Dict, Sequence, Tuple

import numpy as np

# The part of MediaPipe's Procrustes basis that expression barely moves (subject's right, left):
HEAD_FRAME_POINTS = (10, 54, 284, 67, 297,  # forehead: top of the midline, and its sides
                     127, 356,              # temples (face edge at eye level)
                     33, 263, 133, 362,     # outer and inner eye corners
                     143, 372,              # below the outer eye corners (cheekbone)
                     6, 4)                  # nose bridge, nose tip

# Canonical model axes (x to the face's left, y up, z out of the face) -> the head frame of
# landmarks.head_rotation (x to the face's left, y down the face, z into the head).
_TO_HEAD = np.diag([1.0, -1.0, -1.0])


@lru_cache(maxsize=1)
def canonical_face() -> Tuple[np.ndarray, Dict[int, float]]:
    """(468, 3) canonical vertices in the head frame, and MediaPipe's {landmark: weight} basis."""
    with resources.files("facial_feedback.models").joinpath("canonical_face_model.json").open("r") as f:
        d = json.load(f)
    v = np.asarray(d["vertices"], dtype=np.float64) @ _TO_HEAD
    v.setflags(write=False)
    return v, {int(i): float(w) for i, w in d["procrustes_landmark_basis"]}


@lru_cache(maxsize=8)
def _basis(points: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, normalised weights, centred canonical points) of these basis points."""
    v, basis = canonical_face()
    idx = np.array(points)
    w = np.array([basis[i] for i in idx])
    w /= w.sum()
    c = v[idx] - w @ v[idx]
    return idx, w, c


def rigid_rotation(landmarks: np.ndarray, points: Sequence[int] = HEAD_FRAME_POINTS) -> np.ndarray:
    """3x3 rotation R (det +1) that best maps the canonical face onto the mesh at `points` (any
    of MediaPipe's basis; weighted Kabsch, scale and translation free): its columns are the
    head's axes in camera coordinates."""
    idx, w, c = _basis(tuple(points))
    p = np.asarray(landmarks, dtype=np.float64)[idx]
    p = p - w @ p
    u, _, vt = np.linalg.svd((c * w[:, None]).T @ p)     # H = sum w c p^T = U S V^T
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T

