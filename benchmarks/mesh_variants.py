"""MediaPipe's own conventions for the Face Landmarker mesh where ours differ, as switches for the
parity and ground-truth benchmarks (`--variant NAME[+NAME]` of bench_parity.py and
bench_mesh_truth.py); the package itself is not changed. Each one is what MediaPipe's graph does
for this model (mediapipe/tasks/cc/vision/face_landmarker/face_landmarks_detector_graph.cc,
face_landmarker_graph.cc, calculators/tensor/image_to_tensor_*):

- `mp-roi`: the next frame's ROI from the mesh's AXIS-ALIGNED box in the image
  (LandmarksToDetectionCalculator -> DetectionsToRectsCalculator rotated by 33 -> 263 ->
  RectTransformationCalculator 1.5, square_long): centre and side of the upright box, where ours
  measures the mesh's extent along the face's own (rotated) axes.
- `mp-border`: the crop's outside-the-image pixels replicate the edge (ImageToTensorCalculator's
  default border for the landmark model), where ours fills them black.
- `mp-smooth`: the landmark smoothing the Face Landmarker applies in VIDEO mode to a single face
  (LandmarksSmoothingCalculator, one-euro filter, min_cutoff 0.05, beta 80, derivate_cutoff 1.0,
  the value scaled by 1 / the mesh box's mean side), at 30 fps.
- `mp-first-roi`: a face's first ROI, from a detector box, is 1.5x the box's width and height
  UNSQUARED, stretched into the model's square input (MediaPipe's Face Landmarker graph's ROI
  from a detection), where ours squares it
  (landmarks.SQUARE_DETECTION_ROI = False; the mesh's own next ROI stays square in both).
"""
from __future__ import annotations

import math

import numpy as np

VARIANTS = ("mp-roi", "mp-border", "mp-smooth", "mp-first-roi")


class OneEuro:
    """MediaPipe's OneEuroFilter on an array of values (one filter per value)."""

    def __init__(self, fps: float = 30.0, min_cutoff: float = 0.05, beta: float = 80.0, d_cutoff: float = 1.0):
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = fps, min_cutoff, beta, d_cutoff
        self.x = self.dx = self.raw = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self.fps)

    def __call__(self, v: np.ndarray, scale: float) -> np.ndarray:
        v = np.asarray(v, np.float64)
        if self.x is None:
            self.x, self.dx, self.raw = v.copy(), np.zeros_like(v), v.copy()
            return v
        dv = (v - self.raw) / scale * self.fps
        a = self._alpha(self.d_cutoff)
        self.dx = a * dv + (1 - a) * self.dx
        al = self._alpha(self.min_cutoff + self.beta * np.abs(self.dx))
        self.x = al * v + (1 - al) * self.x
        self.raw = v.copy()
        return self.x


def apply(spec: str) -> None:
    """Patch facial_feedback.landmarks with the named variants ('' or 'none': nothing)."""
    names = [n for n in (spec or "").split("+") if n and n != "none"]
    bad = [n for n in names if n not in VARIANTS]
    if bad:
        raise SystemExit(f"unknown mesh variant(s) {bad}; known: {', '.join(VARIANTS)}")
    import facial_feedback.landmarks as L

    if "mp-first-roi" in names:
        L.SQUARE_DETECTION_ROI = False
    if "mp-roi" in names:
        def roi_from_landmarks(lm, scale=L.ROI_SCALE):
            p = np.asarray(lm, dtype=np.float64)[:, :2]
            angle = L._angle(p[33], p[263])
            (x0, y0), (x1, y1) = p.min(0), p.max(0)
            return L.Roi(float((x0 + x1) / 2), float((y0 + y1) / 2), float(scale * max(x1 - x0, y1 - y0)), float(angle))
        L.roi_from_landmarks = roi_from_landmarks
    if "mp-border" in names:
        import cv2

        def crop_roi(rgb, roi, out_size=L.MESH_INPUT):   # landmarks.crop_roi with the edge replicated
            M = L.roi_transform(roi, out_size)
            k = max(roi.size, roi.h) / out_size
            src = rgb
            if k > 2.0:
                f = int(k // 1.5)
                src = cv2.resize(rgb, (max(1, rgb.shape[1] // f), max(1, rgb.shape[0] // f)), interpolation=cv2.INTER_AREA)
                sx, sy = src.shape[1] / rgb.shape[1], src.shape[0] / rgb.shape[0]
                M = M * np.array([[sx], [sy]])
            return cv2.warpAffine(src, M, (out_size, out_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
        L.crop_roi = crop_roi
    if "mp-smooth" in names:
        orig_process = L.MeshTracker.follow   # what a Session runs on every frame

        def process(self, rgb):
            out = orig_process(self, rgb)
            if len(out) != 1:        # MediaPipe smooths only a single face
                self._smooth = None
                return out
            lm = np.asarray(out[0], np.float64)
            if getattr(self, "_smooth", None) is None:
                self._smooth = OneEuro()
            w, h = lm[:, :2].max(0) - lm[:, :2].min(0)
            return [self._smooth(lm, max(1e-6, (w + h) / 2)).astype(np.float32)]
        L.MeshTracker.follow = process
