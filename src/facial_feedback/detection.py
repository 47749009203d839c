"""Faces in a frame: MediaPipe's full-range BlazeFace on LiteRT, run over a small pyramid.

BlazeFace sees a 192x192 letterboxed downscale of its input, so on its own it misses faces
under about 1/15 of the image and faces that fill the frame edge to edge. We run it (1) on the
whole image with a border added (tight portraits), and (2) on overlapping tiles when the image
is large enough to hide small faces (a 30 px face in a 1920x1080 group photo), then merge the
boxes. The model runs directly (facial_feedback._litert); its pre- and post-processing are the
small pure functions below: letterbox, ssd_anchors, decode_detections, weighted_nms.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .types import Box

Keypoints = Tuple[Tuple[float, float], ...]


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float
    # BlazeFace's 6 points in the image's pixels: subject's right eye, left eye, nose tip,
    # mouth centre, right ear tragion, left ear tragion (right = image left on a frontal face).
    keypoints: Optional[Keypoints] = field(default=None, compare=False)


@dataclass(frozen=True)
class DetectorConfig:
    min_score: float = 0.5
    pad: float = 0.25            # border added on each side for the whole-image pass
    # More whole-image passes with wide borders, for a face bigger than the frame (a tight crop
    # cutting forehead and chin, as in SFEW's stills): the detector wants to see the whole head.
    # () turns them off. Of the 171 SFEW Train stills the 0.25 pass missed, a 1.0 border found
    # 144 and a 0.5 border 8 of the remaining 27 (docs/face_models.md).
    wide_pads: Tuple[float, ...] = (1.0, 0.5)
    tile: int = 384              # tile side in pixels of the original image
    tile_overlap: float = 0.35   # overlap between neighbouring tiles
    tile_above: int = 560        # tile only images whose long side exceeds this
    nms_iou: float = 0.3


# ---- BlazeFace full range: model constants (MediaPipe's face_detection_full_range graph) ----
INPUT_SIZE = 192
STRIDES = (4,)               # one 48x48 feature map, one anchor per cell: 2304 anchors
# Boxes kept before non-maximum suppression. MediaPipe 0.10.21's full-range graph never
# reported a box under 0.6 whatever min_detection_confidence asked (measured on the same
# inputs: 0.609 kept, 0.566 and below dropped); the same floor keeps today's results (a 0.53
# "face" on skimage's rocket stays out).
RAW_SCORE_MIN = 0.6
WEIGHTED_NMS_IOU = 0.3       # MediaPipe's min_suppression_threshold


def letterbox(rgb: np.ndarray, size: int, border: int = 0,
              out: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float, float, float]:
    """Fit an image, with a black border of `border` pixels added on each side, into size x size
    keeping its aspect ratio (black bars), as the detector wants it: float32 in [-1, 1]. Returns
    (tensor, scale, pad_x, pad_y), where a point of the tensor at (u, v) pixels is the image's
    ((u - pad_x) / scale, (v - pad_y) / scale) (the border is inside pad_x, pad_y: no padded copy
    of the image is made).

    Resampled as MediaPipe does (an affine warp mapping the image's corners onto the box's,
    bilinear, no area filter): the detector's scores match MediaPipe's that way (an
    anti-aliased resize raised a false face on skimage's rocket from 0.36 to 0.52).
    out: a float32 (size, size, 3) array to write the tensor into (the model's own input buffer),
    returned as the tensor; the same values as without it."""
    import cv2

    h, w = rgb.shape[:2]
    scale = size / (max(h, w) + 2 * border)
    px, py = (size - w * scale) / 2.0, (size - h * scale) / 2.0
    M = np.array([[scale, 0.0, px], [0.0, scale, py]])
    img = cv2.warpAffine(rgb, M, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # img.astype(np.float32) * (2 / 255) - 1, in float32 as that gives it, without its copies
    t = np.multiply(img, _TWO_255, out=out, dtype=np.float32)
    np.subtract(t, _ONE, out=t)
    return t, scale, px, py


_TWO_255, _ONE = np.float32(2.0 / 255.0), np.float32(1.0)


def ssd_anchors(input_size: int = INPUT_SIZE, strides: Sequence[int] = STRIDES,
                per_cell: Sequence[int] = (1,)) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] of an SSD head, row by row, `per_cell[i]` anchors per
    cell of the feature map with stride `strides[i]` (BlazeFace uses fixed unit-size anchors,
    so a centre is all an anchor is)."""
    out = []
    for stride, k in zip(strides, per_cell):
        n = int(np.ceil(input_size / stride))
        ys, xs = np.mgrid[0:n, 0:n]
        c = np.stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n], axis=1)
        out.append(np.repeat(c, k, axis=0))
    return np.concatenate(out).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      input_size: int = INPUT_SIZE, min_score: float = RAW_SCORE_MIN):
    """BlazeFace's raw outputs -> (boxes (K, 4) as x0, y0, x1, y1, keypoints (K, 6, 2),
    scores (K,)), all in [0, 1] of the model's input, for anchors scoring at least min_score.
    raw_boxes (N, 16): centre offset, size, 6 keypoint offsets, in input pixels."""
    raw_boxes = np.asarray(raw_boxes, np.float32).reshape(len(anchors), -1)
    logits = np.clip(np.asarray(raw_scores, np.float64).reshape(-1), -100.0, 100.0)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.nonzero(scores >= min_score)[0]
    r, a = raw_boxes[keep] / input_size, anchors[keep]
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]
    return boxes, kps, scores[keep]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one x0, y0, x1, y1 box with each of (K, 4)."""
    x0, y0 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x1, y1 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda z: np.clip(z[..., 2] - z[..., 0], 0, None) * np.clip(z[..., 3] - z[..., 1], 0, None)  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float = WEIGHTED_NMS_IOU):
    """MediaPipe's WEIGHTED non-maximum suppression: the best remaining box and every box
    overlapping it by more than `iou` merge into their score-weighted mean (box and keypoints),
    scored as the best one. Returns (boxes, keypoints, scores), best first."""
    order = np.argsort(-scores, kind="stable")
    boxes, kps, scores = boxes[order], kps[order], scores[order]
    out_b, out_k, out_s = [], [], []
    left = np.arange(len(scores))
    while len(left):
        ov = box_iou(boxes[left[0]], boxes[left])
        grp = left[ov > iou] if (ov > iou).any() else left[:1]
        grp = np.union1d(grp, left[:1])
        wts = scores[grp][:, None]
        out_b.append((boxes[grp] * wts).sum(0) / wts.sum())
        out_k.append((kps[grp] * wts[:, :, None]).sum(0) / wts.sum())
        out_s.append(scores[left[0]])
        left = left[~np.isin(left, grp)]
    if not out_s:
        return np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32)
    return np.array(out_b), np.array(out_k), np.array(out_s)


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


NEAR_TILE = 0.05   # a last tile this close (share of the tile) to the one before replaces it


def tile_origins(length: int, tile: int, overlap: float) -> List[int]:
    """Tile starts along one side: every `tile * (1 - overlap)` px, and a last tile flush with
    the edge. Where that last one all but repeats the one before (a 640 px side: 0, 249, 256),
    it replaces it: the tile at 249 covers nothing 0 and 256 do not, and would cost a run."""
    if length <= tile:
        return [0]
    step = max(1, int(tile * (1.0 - overlap)))
    xs = list(range(0, length - tile + 1, step))
    last = length - tile
    if xs[-1] != last:
        if len(xs) > 1 and last - xs[-1] <= NEAR_TILE * tile:
            xs[-1] = last
        else:
            xs.append(last)
    return xs


class FaceDetector:
    """Thread-safe: calls into the one interpreter are serialised."""

    def __init__(self, config: DetectorConfig = DetectorConfig(), threads: int = 0):
        from ._litert import DETECTOR_MODEL, Model

        self.config = config
        self._model = Model(DETECTOR_MODEL, threads)
        self._anchors = ssd_anchors()
        self._raw_min = max(config.min_score, RAW_SCORE_MIN)

    def close(self) -> None:
        pass  # the interpreter is freed with the object

    def _run(self, rgb: np.ndarray, border: int = 0) -> List[Tuple[float, float, float, float, float, np.ndarray]]:
        """Raw detections on one array (seen with a black border of `border` px around it):
        (x, y, w, h) in its pixels, score, keypoints (6, 2)."""
        fit = {}

        def fill(buf):  # the letterboxed image straight into the model's input
            fit["v"] = letterbox(rgb, INPUT_SIZE, border, out=buf[0])[1:]

        raw_boxes, raw_scores = self._model.run_filled(fill)
        scale, px, py = fit["v"]
        boxes, kps, scores = weighted_nms(*decode_detections(raw_boxes, raw_scores, self._anchors,
                                                             min_score=self._raw_min))
        boxes = (boxes * INPUT_SIZE - [px, py, px, py]) / scale
        kps = (kps * INPUT_SIZE - [px, py]) / scale
        return [(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]), float(s), k)
                for b, k, s in zip(boxes.tolist(), kps.tolist(), scores.tolist())]

    def passes(self, height: int, width: int, tiles: bool = True) -> List[Optional[Tuple[int, int]]]:
        """The detector runs that make up one full search of an image this size:
        None = the whole image on a border, "wide:P" = the whole image on a border of P x its
        long side (faces filling the frame), (x, y) = the tile with that corner."""
        out: List = [None]
        out += [f"wide:{p:g}" for p in self.config.wide_pads]
        if tiles and max(height, width) > self.config.tile_above:
            t, ov = self.config.tile, self.config.tile_overlap
            out += [(tx, ty) for ty in tile_origins(height, t, ov) for tx in tile_origins(width, t, ov)]
        return out

    def detect_pass(self, rgb: np.ndarray, which: Optional[Tuple[int, int]]) -> List[Detection]:
        """One run of passes(): boxes in the image's pixels, before merging."""
        cfg = self.config
        H, W = rgb.shape[:2]
        dets: List[Detection] = []

        def add(x, y, bw, bh, s, kp, ox=0.0, oy=0.0):
            x0, y0 = max(0.0, x + ox), max(0.0, y + oy)
            x1, y1 = min(float(W), x + ox + bw), min(float(H), y + oy + bh)
            if s >= cfg.min_score and x1 - x0 > 2 and y1 - y0 > 2:
                pts = tuple((float(u + ox), float(v + oy)) for u, v in kp)
                dets.append(Detection(Box(x0, y0, x1 - x0, y1 - y0), s, pts))

        if which is None or isinstance(which, str):
            # the whole image on a border, so a face touching the edges still looks like a face
            pad = cfg.pad if which is None else float(which.split(":", 1)[1])
            p = int(round(pad * max(H, W)))
            for x, y, bw, bh, s, kp in self._run(rgb, border=p):
                add(x, y, bw, bh, s, kp)
            return dets
        # a tile, for faces too small to see in the whole image
        tx, ty = which
        t = cfg.tile
        crop = rgb[ty:ty + t, tx:tx + t]
        for x, y, bw, bh, s, kp in self._run(crop):
            # a box cut by the tile edge is a partial face: another tile has it whole
            cut = (x < 1 and tx > 0) or (y < 1 and ty > 0) or \
                  (x + bw > crop.shape[1] - 1 and tx + t < W) or \
                  (y + bh > crop.shape[0] - 1 and ty + t < H)
            if not cut:
                add(x, y, bw, bh, s, kp, tx, ty)
        return dets

    def detect(self, rgb: np.ndarray, tiles: bool = True) -> List[Detection]:
        """Every face in an RGB image; tiles=False skips the small-face passes."""
        H, W = rgb.shape[:2]
        dets = [d for which in self.passes(H, W, tiles) for d in self.detect_pass(rgb, which)]
        return nms(dets, self.config.nms_iou)
