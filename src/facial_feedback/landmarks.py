"""The 478-point face mesh (MediaPipe FaceMesh with iris refinement) and head pose.

Two ways in, matching the running modes:
- `FaceMesher.mesh_faces(image, boxes)`: IMAGE mode. Each detected face is cut out
  with a margin and meshed on its own, so small faces in big photos get a mesh too.
- `MeshTracker.process(frame)`: VIDEO / LIVE mode. MediaPipe's own tracking graph
  follows faces from frame to frame and only re-detects when it loses one, which is
  what makes video fast. One tracker per video or client (it holds state).
Landmark index constants live in facial_feedback.topology.
"""
from __future__ import annotations

import math
import threading
from typing import List, Optional, Sequence

import cv2
import numpy as np

from . import topology as T
from .types import Box, HeadPose

MESH_INPUT = 256          # a face crop is resized to this before meshing
CROP_MARGIN = 2.0         # crop side = CROP_MARGIN x the detector's box side

# Points that expression barely moves, used for the head's frame of reference.
_LEFT = (T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER, T.LEFT_CHEEK)      # subject's left (image right)
_RIGHT = (T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER, T.RIGHT_CHEEK)  # subject's right
_TOP = (T.FOREHEAD, T.FOREHEAD_MID, T.GLABELLA)                  # forehead midline
_BOTTOM = (T.NOSE_TIP, T.NOSE_BOTTOM, 4)                         # nose tip, subnasale, tip-base
# The forehead->nose line leans back about 8.5 degrees on a face that looks straight
# at the camera (skimage's astronaut: 7.3, media/single_face.jpg: 10.4); subtracted so
# frontal reads 0. tests/test_landmarks.py pins this on those photos.
PITCH_ZERO = 8.5


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def head_rotation(landmarks: np.ndarray) -> np.ndarray:
    """3x3 rotation whose columns are the head's axes in camera coordinates
    (x: towards the subject's left, y: down the face, z: into the head)."""
    p = np.asarray(landmarks, dtype=np.float64)
    x = _normalise(p[list(_LEFT)].mean(0) - p[list(_RIGHT)].mean(0))
    down = p[list(_BOTTOM)].mean(0) - p[list(_TOP)].mean(0)
    y = _normalise(down - x * np.dot(down, x))
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=1)


def head_pose(landmarks: np.ndarray) -> HeadPose:
    """Yaw/pitch/roll in degrees from the mesh's own 3-D points (no camera model needed:
    MediaPipe's z is in the same scale as x and y). Conventions in facial_feedback.types."""
    R = head_rotation(landmarks)
    nose = -R[:, 2]  # the direction the face points, towards the camera when frontal
    yaw = math.degrees(math.atan2(nose[0], -nose[2]))
    pitch = math.degrees(math.atan2(-nose[1], math.hypot(nose[0], nose[2]))) - PITCH_ZERO
    # Euler order: R = Ry(yaw) Rx(pitch) Rz(roll), roll about the face's own axis, so the
    # nose direction gives yaw and pitch exactly and row 1 of R gives roll.
    roll = math.degrees(math.atan2(R[1, 0], R[1, 1]))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


def _result_to_arrays(res, scale_x: float, scale_y: float, ox: float = 0.0, oy: float = 0.0) -> List[np.ndarray]:
    out = []
    for fl in res.multi_face_landmarks or ():
        a = np.array([(p.x, p.y, p.z) for p in fl.landmark], dtype=np.float32)
        a[:, 0] = a[:, 0] * scale_x + ox
        a[:, 1] = a[:, 1] * scale_y + oy
        a[:, 2] = a[:, 2] * scale_x
        out.append(a)
    return out


class FaceMesher:
    """IMAGE mode: mesh each detected face from its own crop. Thread-safe."""

    def __init__(self, min_score: float = 0.5):
        import mediapipe as mp

        self._fm = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=min_score)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._fm.close()

    def mesh_face(self, rgb: np.ndarray, box: Box) -> Optional[np.ndarray]:
        H, W = rgb.shape[:2]
        cx, cy = box.center
        side = CROP_MARGIN * max(box.w, box.h)
        x0, y0 = cx - side / 2, cy - side / 2
        # Affine crop+resize in one step; pixels outside the image become black.
        s = MESH_INPUT / side
        M = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]], dtype=np.float64)
        crop = cv2.warpAffine(rgb, M, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        with self._lock:
            res = self._fm.process(crop)
        meshes = _result_to_arrays(res, side, side, x0, y0)
        if not meshes:
            return None
        lm = meshes[0]
        # The crop's own detector may latch onto a neighbour: keep it only if it is this face.
        if Box.from_points(lm[:, :2]).iou(box) < 0.2:
            return None
        return lm

    def mesh_faces(self, rgb: np.ndarray, boxes: Sequence[Box]) -> List[Optional[np.ndarray]]:
        return [self.mesh_face(rgb, b) for b in boxes]


class MeshTracker:
    """VIDEO / LIVE mode: MediaPipe's tracking graph over whole frames. Not shared."""

    def __init__(self, max_faces: int = 4, min_score: float = 0.5):
        import mediapipe as mp

        self._fm = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_score, min_tracking_confidence=0.5)

    def process(self, rgb: np.ndarray) -> List[np.ndarray]:
        H, W = rgb.shape[:2]
        res = self._fm.process(rgb)
        return _result_to_arrays(res, W, H)

    def close(self) -> None:
        self._fm.close()
