"""The 478-point face mesh (MediaPipe Face Landmarker's model on LiteRT) and head pose.

Two ways in, matching the running modes:
- `FaceMesher.mesh_faces(image, boxes)`: IMAGE mode. Each detected face is cut out along a
  region of interest (ROI) and meshed on its own, so small faces in big photos get a mesh too;
  the mesh then gives a tighter, upright ROI and the face is meshed once more from it.
- `MeshTracker`: VIDEO / LIVE mode. Each face's ROI for the next frame comes from this frame's
  mesh, whatever the face's size, so each face costs one landmark run a frame; the detector only
  brings in new faces (and lost ones back). One tracker per video or client (it holds state).
The ROI arithmetic (roi_from_detection, roi_from_landmarks, roi_transform, project_landmarks)
is pure and unit-tested. Landmark index constants live in facial_feedback.topology.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import topology as T
from .face_geometry import rigid_rotation
from .types import Box, HeadPose

MESH_INPUT = 256          # the landmark model's input side
ROI_SCALE = 1.5           # ROI side = ROI_SCALE x the face's box (MediaPipe's value, both paths)
# The first ROI of a face, from a detector box: squared (ROI_SCALE x the box's long side, as
# mediapipe 0.10.21's face mesh does) or, when False, ROI_SCALE x the box's width and height
# unsquared, stretched into the model's square input (as MediaPipe's Face Landmarker graph does).
# Measured both ways in docs/benchmarks.md (mesh section); the mesh's own ROI is always square.
SQUARE_DETECTION_ROI = True
MIN_PRESENCE = 0.5        # the model's face-presence score below which a mesh is no face
_INV255 = np.float32(1.0 / 255.0)
MIN_BOX_IOU = 0.2         # a crop's mesh must overlap the box it was asked for at least this much


def head_rotation(landmarks: np.ndarray) -> np.ndarray:
    """3x3 rotation whose columns are the head's axes in camera coordinates
    (x: towards the subject's left, y: down the face, z: into the head): the rigid fit of
    MediaPipe's canonical face to the mesh's forehead, temples, eye corners and nose
    (facial_feedback.face_geometry). The canonical face looking straight at the camera is 0."""
    return rigid_rotation(landmarks)


def head_pose(landmarks: np.ndarray) -> HeadPose:
    """Yaw/pitch/roll in degrees from the mesh's own 3-D points (no camera model needed:
    MediaPipe's z is in the same scale as x and y). Conventions in facial_feedback.types."""
    R = head_rotation(landmarks)
    nose = -R[:, 2]  # the direction the face points, towards the camera when frontal
    yaw = math.degrees(math.atan2(nose[0], -nose[2]))
    pitch = math.degrees(math.atan2(-nose[1], math.hypot(nose[0], nose[2])))
    # Euler order: R = Ry(yaw) Rx(pitch) Rz(roll), roll about the face's own axis, so the
    # nose direction gives yaw and pitch exactly and row 1 of R gives roll.
    roll = math.degrees(math.atan2(R[1, 0], R[1, 1]))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


@dataclass(frozen=True)
class Roi:
    """A region of the image, rotated by `angle` radians (clockwise in the image, whose y axis
    points down) about its centre; `size` is its width in pixels and `height` its height (None:
    a square of side `size`). The crop stretches it to the model's square input."""
    cx: float
    cy: float
    size: float
    angle: float = 0.0
    height: Optional[float] = None

    @property
    def h(self) -> float:
        return self.size if self.height is None else self.height


def _angle(p0: Sequence[float], p1: Sequence[float]) -> float:
    """MediaPipe's ROI rotation from a line that is horizontal on an upright face: 0 when p1 is
    straight right of p0, positive when the line runs down to the right. In [-pi, pi)."""
    a = -math.atan2(-(p1[1] - p0[1]), p1[0] - p0[0])
    return (a + math.pi) % (2 * math.pi) - math.pi


def roi_from_detection(box: Box, keypoints=None, scale: float = ROI_SCALE) -> Roi:
    """The ROI of a detector box: its centre, its long side x scale (square; with
    SQUARE_DETECTION_ROI off, its width and height x scale), upright by the line between the eyes
    when BlazeFace's keypoints are given (0: subject's right eye, 1: left eye)."""
    cx, cy = box.center
    angle = _angle(keypoints[0], keypoints[1]) if keypoints is not None else 0.0
    if SQUARE_DETECTION_ROI:
        return Roi(float(cx), float(cy), float(scale * max(box.w, box.h)), float(angle))
    return Roi(float(cx), float(cy), float(scale * box.w), float(angle), float(scale * box.h))


def roi_from_landmarks(lm: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """The ROI for the next mesh of a face from this mesh (how tracking carries a face from one
    frame to the next): rotated by the eye-corner line (33 -> 263), the mesh's extent measured
    in that rotated frame, its long side x scale."""
    p = np.asarray(lm, dtype=np.float64)[:, :2]
    angle = _angle(p[T.RIGHT_EYE_OUTER], p[T.LEFT_EYE_OUTER])
    c, s = math.cos(angle), math.sin(angle)
    # extent along the face's own axes: rotate points by -angle about the origin
    u = p[:, 0] * c + p[:, 1] * s
    v = -p[:, 0] * s + p[:, 1] * c
    mu, mv = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    side = max(u.max() - u.min(), v.max() - v.min())
    return Roi(float(mu * c - mv * s), float(mu * s + mv * c), float(scale * side), float(angle))


def roi_transform(roi: Roi, out_size: int = MESH_INPUT) -> np.ndarray:
    """2x3 affine matrix from crop pixels (u, v) of an out_size square to image pixels."""
    kx, ky = roi.size / out_size, roi.h / out_size
    c, s = math.cos(roi.angle), math.sin(roi.angle)
    A = np.array([[kx * c, -ky * s], [kx * s, ky * c]])
    t = np.array([roi.cx, roi.cy]) - A @ np.array([out_size / 2, out_size / 2])
    return np.hstack([A, t[:, None]])


def crop_roi(rgb: np.ndarray, roi: Roi, out_size: int = MESH_INPUT) -> np.ndarray:
    """The ROI cut out and resampled to out_size x out_size (outside the image: black)."""
    import cv2

    M = roi_transform(roi, out_size)
    k = max(roi.size, roi.h) / out_size
    src = rgb
    if k > 2.0:  # shrink first so the resampling does not alias (warpAffine has no area filter)
        f = int(k // 1.5)
        src = cv2.resize(rgb, (max(1, rgb.shape[1] // f), max(1, rgb.shape[0] // f)), interpolation=cv2.INTER_AREA)
        M = M.copy()
        M[:, :2] *= np.array([src.shape[1] / rgb.shape[1], src.shape[0] / rgb.shape[0]])[:, None]
        M[:, 2] *= np.array([src.shape[1] / rgb.shape[1], src.shape[0] / rgb.shape[0]])
    return cv2.warpAffine(src, M, (out_size, out_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT)


def project_landmarks(raw: np.ndarray, roi: Roi, in_size: int = MESH_INPUT) -> np.ndarray:
    """The model's (N, 3) points in crop pixels -> image pixels (z scaled like x, by the ROI's
    width, as MediaPipe's LandmarkProjectionCalculator does)."""
    raw = np.asarray(raw, dtype=np.float64).reshape(-1, 3)
    M = roi_transform(roi, in_size)
    out = np.empty_like(raw)
    out[:, :2] = raw[:, :2] @ M[:, :2].T + M[:, 2]
    out[:, 2] = raw[:, 2] * (roi.size / in_size)
    return out.astype(np.float32)


class _MeshModel:
    """face_landmarks_detector.tflite: 256x256 RGB in [0, 1] -> 478 x 3 points, presence logit."""

    def __init__(self, threads: int = 0):
        from ._litert import LANDMARK_MODEL, Model

        self._model = Model(LANDMARK_MODEL, threads)

    def run(self, rgb: np.ndarray, roi: Roi) -> Tuple[np.ndarray, float]:
        crop = crop_roi(rgb, roi)
        # uint8 -> [0, 1] floats written straight into the model's input (what
        # crop.astype(np.float32) * (1 / 255) gives, bit for bit, without its two copies)
        outs = self._model.run_filled(lambda buf: np.multiply(crop, _INV255, out=buf[0]))
        pts = next(o for o in outs if o.size == 478 * 3)
        logit = float(next(o for o in outs if o.size == 1 and o.ndim == 4).reshape(-1)[0])
        presence = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
        return project_landmarks(pts, roi), presence


ROUGH_PRESENCE = 0.1      # a first mesh this plausible is worth refining from its own ROI


def _mesh_roi(model: "_MeshModel", rgb: np.ndarray, box: Box, keypoints, refine: int) -> Tuple[np.ndarray, float]:
    roi = roi_from_detection(box, keypoints)
    lm, presence = model.run(rgb, roi)
    if presence < MIN_PRESENCE and roi.angle != 0.0:
        lm2, p2 = model.run(rgb, replace(roi, angle=0.0))
        if p2 > presence:
            lm, presence = lm2, p2
    for _ in range(refine):
        if presence < ROUGH_PRESENCE:
            break
        lm, presence = model.run(rgb, roi_from_landmarks(lm))
    return lm, presence


def look_closer(detector, rgb: np.ndarray, box: Box):
    """The detector run again on a crop twice the box's size around it (the face then fills a
    good part of the detector's 192 px input): the best detection there, in image pixels, or
    None. A face seen small and blurry in a whole frame or tile is confirmed this way, and
    a face-like speck (the dot of an "i" in a title) is not."""
    from .detection import Detection

    H, W = rgb.shape[:2]
    cx, cy = box.center
    half = max(box.w, box.h)
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(W, cx + half)), int(min(H, cy + half))
    if x1 - x0 <= 8 or y1 - y0 <= 8:
        return None
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    near = detector.detect_pass(crop, None)
    for which in detector.passes(*crop.shape[:2], tiles=False)[1:]:   # a face bigger than the image
        if near:
            break
        near = detector.detect_pass(crop, which)
    if not near:
        return None
    d = max(near, key=lambda d: d.score)
    kps = tuple((u + x0, v + y0) for u, v in d.keypoints) if d.keypoints else None
    return Detection(Box(d.box.x + x0, d.box.y + y0, d.box.w, d.box.h), d.score, kps)


def mesh_from_box(model: "_MeshModel", rgb: np.ndarray, box: Box, keypoints=None, refine: int = 1,
                  detector=None) -> Tuple[Optional[np.ndarray], float]:
    """A face's mesh from a detector box: the ROI of the box (rotated by the eye keypoints;
    upright when they give no face, as they can on a small blurry one), then `refine` passes
    from the mesh's own ROI. With a detector, the face is confirmed first by look_closer (as
    MediaPipe's FaceMesh confirmed it with its own detector in a crop twice the box), and
    meshed from that closer detection when it fits better (a coarse box from a whole-frame
    pass can miss the well-centred ROI the landmark model wants). (None, 0) when there is no
    face or the mesh found is not this box's face."""
    if detector is not None:
        near = look_closer(detector, rgb, box)
        if near is None:
            return None, 0.0
        lm, presence = _mesh_roi(model, rgb, near.box, near.keypoints, refine)
    else:
        lm, presence = _mesh_roi(model, rgb, box, keypoints, refine)
    if presence < ROUGH_PRESENCE or Box.from_points(lm[:, :2]).iou(box) < MIN_BOX_IOU:
        return None, 0.0
    return lm, presence


class FaceMesher:
    """IMAGE mode: mesh each detected face from its own crop. Thread-safe."""

    def __init__(self, min_score: float = MIN_PRESENCE, refine: int = 1, threads: int = 0, *,
                 mesh_model=None, detector=None):
        # mesh_model / detector: stateless models to use instead of its own (shared between
        # live sessions by the web app); its own are made otherwise.
        self._mesh = mesh_model if mesh_model is not None else _MeshModel(threads)
        self._threads = threads
        self.min_score = min_score
        self.refine = refine   # extra passes from the mesh's own ROI (0: the detector's ROI only)
        self._det = detector
        self._det_lock = threading.Lock()

    def _detector(self):
        """Its own detector for a second look around a coarse box (made on first use)."""
        with self._det_lock:
            if self._det is None:
                from .detection import FaceDetector

                self._det = FaceDetector(threads=self._threads)
            return self._det

    def close(self) -> None:
        pass

    def mesh_face(self, rgb: np.ndarray, box: Box, keypoints=None) -> Optional[np.ndarray]:
        """The face's mesh (478, 3) in image pixels, or None if the crop holds no face (or
        the mesh found is another face than the box)."""
        lm, presence = mesh_from_box(self._mesh, rgb, box, keypoints, self.refine, self._detector())
        if lm is None or presence < self.min_score:
            return None
        return lm

    def mesh_faces(self, rgb: np.ndarray, boxes: Sequence[Box], keypoints=None) -> List[Optional[np.ndarray]]:
        kps = keypoints if keypoints is not None else [None] * len(boxes)
        return [self.mesh_face(rgb, b, k) for b, k in zip(boxes, kps)]


def _duplicate(box: Box, kept: Sequence[Box], iou: float = 0.5) -> bool:
    return any(box.iou(k) > iou for k in kept)


class MeshTracker:
    """VIDEO / LIVE mode: faces followed from frame to frame by their meshes. Not shared.

    Each followed face, whatever its size, is meshed once a frame from the ROI its previous mesh
    gives (`follow`); a face whose presence score drops below min_tracking is lost. New faces
    come in as detector boxes (`seed`: confirmed by look_closer and meshed from the box, once),
    then are followed like the rest. Who runs the detector, and when, is the caller's choice:
    a Session runs it on its own schedule (facial_feedback.pipeline); `process` alone runs the
    whole-frame pass while fewer than max_faces are followed, as MediaPipe's tracking graph does.
    """

    def __init__(self, max_faces: int = 4, min_score: float = 0.5, min_tracking: float = MIN_PRESENCE,
                 threads: int = 0, *, mesh_model=None, detector=None):
        from .detection import DetectorConfig, FaceDetector

        self.max_faces = max_faces
        self.min_tracking = min_tracking
        # Both models are stateless (the faces' ROIs live here), so they may be shared: pass
        # mesh_model / detector to use those instead of making its own.
        self._mesh = mesh_model if mesh_model is not None else _MeshModel(threads)
        self._detector = (detector if detector is not None
                          else FaceDetector(DetectorConfig(min_score=min_score), threads))
        self._rois: List[Roi] = []
        self._boxes: List[Box] = []   # the followed faces' boxes (as of their last mesh)
        self._lock = threading.Lock()

    @property
    def followed(self) -> int:
        """How many faces are followed now."""
        return len(self._rois)

    def _keep(self, lm: np.ndarray) -> bool:
        """Follow this mesh's face from the next frame, unless it is a face already followed
        (two ROIs that slid onto one face: the first one keeps it)."""
        b = Box.from_points(lm[:, :2])
        if _duplicate(b, self._boxes):
            return False
        self._boxes.append(b)
        self._rois.append(roi_from_landmarks(lm))
        return True

    def follow(self, rgb: np.ndarray) -> List[np.ndarray]:
        """This frame's mesh of each followed face (one landmark run each); lost faces dropped."""
        with self._lock:
            rois, self._rois, self._boxes = self._rois, [], []
            out = []
            for roi in rois:
                lm, presence = self._mesh.run(rgb, roi)
                if presence >= self.min_tracking and self._keep(lm):
                    out.append(lm)
            return out

    def seed(self, rgb: np.ndarray, detections: Sequence) -> List[np.ndarray]:
        """Meshes of the detections (best first) that are not followed yet, up to max_faces in
        all; each is followed from the next frame on."""
        with self._lock:
            out = []
            for d in sorted(detections, key=lambda d: -d.score):
                if len(self._rois) >= self.max_faces:
                    break
                if any(d.box.iou(b) > 0.2 for b in self._boxes):
                    continue
                lm, presence = mesh_from_box(self._mesh, rgb, d.box, d.keypoints, 1, self._detector)
                if lm is not None and presence >= self.min_tracking and self._keep(lm):
                    out.append(lm)
            return out

    def process(self, rgb: np.ndarray) -> List[np.ndarray]:
        """follow, then, while fewer than max_faces are followed, the detector's whole-frame
        pass and seed."""
        out = self.follow(rgb)
        if self.followed < self.max_faces:
            out += self.seed(rgb, self._detector.detect_pass(rgb, None))
        return out

    def close(self) -> None:
        self._rois, self._boxes = [], []
