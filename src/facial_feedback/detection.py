"""Faces in a frame: MediaPipe's full-range BlazeFace, run over a small pyramid.

BlazeFace sees a 192x192 downscale of its input, so on its own it misses faces
under about 1/15 of the image and faces that fill the frame edge to edge. We run
it (1) on the whole image with a border added (tight portraits), and (2) on
overlapping tiles when the image is large enough to hide small faces (a 30 px
face in a 1920x1080 group photo), then merge the boxes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .types import Box


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


@dataclass(frozen=True)
class DetectorConfig:
    min_score: float = 0.5
    pad: float = 0.25            # border added on each side for the whole-image pass
    tile: int = 384              # tile side in pixels of the original image
    tile_overlap: float = 0.35   # overlap between neighbouring tiles
    tile_above: int = 560        # tile only images whose long side exceeds this
    nms_iou: float = 0.3


def nms(dets: Sequence[Detection], iou: float = 0.3) -> List[Detection]:
    """Greedy non-maximum suppression; also drops a box mostly inside a kept one."""
    keep: List[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        ok = True
        for k in keep:
            if d.box.iou(k.box) > iou:
                ok = False
                break
            x1, y1 = max(d.box.x, k.box.x), max(d.box.y, k.box.y)
            x2 = min(d.box.x + d.box.w, k.box.x + k.box.w)
            y2 = min(d.box.y + d.box.h, k.box.y + k.box.h)
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            if inter > 0.6 * min(d.box.area, k.box.area):
                ok = False
                break
        if ok:
            keep.append(d)
    return keep


def tile_origins(length: int, tile: int, overlap: float) -> List[int]:
    if length <= tile:
        return [0]
    step = max(1, int(tile * (1.0 - overlap)))
    xs = list(range(0, length - tile + 1, step))
    if xs[-1] != length - tile:
        xs.append(length - tile)
    return xs


class FaceDetector:
    """Thread-safe: calls into the one MediaPipe graph are serialised."""

    def __init__(self, config: DetectorConfig = DetectorConfig()):
        import mediapipe as mp

        self.config = config
        # model_selection=1: the full-range model (faces up to ~5 m), shipped in the wheel.
        self._fd = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min(config.min_score, 0.3))
        self._lock = threading.Lock()

    def close(self) -> None:
        self._fd.close()

    def _run(self, rgb: np.ndarray) -> List[Tuple[float, float, float, float, float]]:
        """Raw detections on one array: (x, y, w, h) in its pixels, score."""
        h, w = rgb.shape[:2]
        with self._lock:
            res = self._fd.process(np.ascontiguousarray(rgb))
        out = []
        for d in res.detections or ():
            bb = d.location_data.relative_bounding_box
            out.append((bb.xmin * w, bb.ymin * h, bb.width * w, bb.height * h, float(d.score[0])))
        return out

    def passes(self, height: int, width: int, tiles: bool = True) -> List[Optional[Tuple[int, int]]]:
        """The detector runs that make up one full search of an image this size:
        None = the whole image on a border, (x, y) = the tile with that corner."""
        out: List[Optional[Tuple[int, int]]] = [None]
        if tiles and max(height, width) > self.config.tile_above:
            t, ov = self.config.tile, self.config.tile_overlap
            out += [(tx, ty) for ty in tile_origins(height, t, ov) for tx in tile_origins(width, t, ov)]
        return out

    def detect_pass(self, rgb: np.ndarray, which: Optional[Tuple[int, int]]) -> List[Detection]:
        """One run of passes(): boxes in the image's pixels, before merging."""
        cfg = self.config
        H, W = rgb.shape[:2]
        dets: List[Detection] = []

        def add(x, y, bw, bh, s, ox=0.0, oy=0.0):
            x0, y0 = max(0.0, x + ox), max(0.0, y + oy)
            x1, y1 = min(float(W), x + ox + bw), min(float(H), y + oy + bh)
            if s >= cfg.min_score and x1 - x0 > 2 and y1 - y0 > 2:
                dets.append(Detection(Box(x0, y0, x1 - x0, y1 - y0), s))

        if which is None:
            # the whole image on a border, so a face touching the edges still looks like a face
            p = int(round(cfg.pad * max(H, W)))
            padded = np.zeros((H + 2 * p, W + 2 * p, 3), np.uint8)
            padded[p:p + H, p:p + W] = rgb
            for x, y, bw, bh, s in self._run(padded):
                add(x, y, bw, bh, s, -p, -p)
            return dets
        # a tile, for faces too small to see in the whole image
        tx, ty = which
        t = cfg.tile
        crop = rgb[ty:ty + t, tx:tx + t]
        for x, y, bw, bh, s in self._run(crop):
            # a box cut by the tile edge is a partial face: another tile has it whole
            cut = (x < 1 and tx > 0) or (y < 1 and ty > 0) or \
                  (x + bw > crop.shape[1] - 1 and tx + t < W) or \
                  (y + bh > crop.shape[0] - 1 and ty + t < H)
            if not cut:
                add(x, y, bw, bh, s, tx, ty)
        return dets

    def detect(self, rgb: np.ndarray, tiles: bool = True) -> List[Detection]:
        """Every face in an RGB image; tiles=False skips the small-face passes."""
        H, W = rgb.shape[:2]
        dets = [d for which in self.passes(H, W, tiles) for d in self.detect_pass(rgb, which)]
        return nms(dets, self.config.nms_iou)
