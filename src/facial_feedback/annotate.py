"""Drawing only: annotate(image, result) -> image. Never runs a model."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cv2 and numpy load on the first drawing: `import facial_feedback` stays cheap
    import numpy as np

    from .types import FrameResult

# One colour per emotion (RGB), shared with the web page's palette.
COLORS = {
    "angry": (220, 50, 47), "disgust": (133, 153, 0), "fear": (108, 113, 196), "happy": (255, 193, 7),
    "sad": (38, 139, 210), "surprise": (211, 54, 130), "neutral": (147, 161, 161),
}


def annotate(image: np.ndarray, result: FrameResult, landmarks: bool = False, bars: bool = True) -> np.ndarray:
    """Return a copy of the RGB image with each face's box, track id, emotion and bars drawn."""
    import cv2
    import numpy as np

    from .types import EMOTIONS

    out = np.ascontiguousarray(image.copy())
    H, W = out.shape[:2]
    th = max(1, int(round(max(H, W) / 640)))
    fs = 0.45 * th
    for face in result.faces:
        x, y, w, h = (int(round(v)) for v in (face.box.x, face.box.y, face.box.w, face.box.h))
        label = face.emotion.label if face.emotion else "face"
        col = COLORS.get(label, (0, 255, 0))
        cv2.rectangle(out, (x, y), (x + w, y + h), col, th, cv2.LINE_AA)
        if landmarks and face.landmarks is not None:
            for px, py in face.landmarks[:, :2].astype(int):
                cv2.circle(out, (int(px), int(py)), 0, (255, 255, 255), -1)
        text = label if face.emotion is None else f"{label} {face.emotion.confidence:.0%}"
        if face.track_id is not None:
            text = f"#{face.track_id} {text}"
        (tw, tht), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, fs, th)
        ty = y - 4 if y - tht - 6 > 0 else y + h + tht + 4
        cv2.rectangle(out, (x, ty - tht - 3), (x + tw + 4, ty + base - 1), col, -1)
        cv2.putText(out, text, (x + 2, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, fs, (0, 0, 0), th, cv2.LINE_AA)
        if bars and face.emotion is not None and w >= 60:
            _draw_bars(out, face, x, y, w, h)
    return out


def bar_rows(box, size, scores):
    """Where the emotion bars of a face at `box` (x, y, w, h, in pixels) go in an image of
    `size` (W, H): one (label, text origin, bar rectangle, font scale) per emotion, in a panel
    beside the face (right if it fits, else left), each bar labelled with its emotion."""
    import cv2

    from .types import EMOTIONS

    x, y, w, h = box
    W, H = size
    th = max(1, int(round(max(W, H) / 640)))        # the line thickness annotate() scales with
    row = max(10, min(int(h / 10), 12 + 4 * th))    # legible, and no larger than the face's own label
    fs = row / 26.0                                 # HERSHEY_SIMPLEX at 1.0 is about 22 px tall
    tw = max(cv2.getTextSize(k, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)[0][0] for k in EMOTIONS)
    bar_w = max(20, w // 2)
    panel_w = tw + 6 + bar_w + 4
    panel_h = len(EMOTIONS) * row
    if x + w + 4 + panel_w <= W:            # right of the face, else left, else below it
        px, py = x + w + 4, y
    elif x - panel_w - 4 >= 0:
        px, py = x - panel_w - 4, y
    else:
        px, py = x, y + h + 4 if y + h + 4 + panel_h <= H else y - panel_h - 4
    px = min(max(0, px), max(0, W - panel_w))
    py = min(max(0, py), max(0, H - panel_h))
    rows = []
    for i, k in enumerate(EMOTIONS):
        ry = py + i * row
        bx = px + tw + 6
        length = int(round(bar_w * float(scores.get(k, 0.0))))
        rows.append((k, (px + 2, ry + row - max(2, row // 5)), (bx, ry + 2, bx + length, ry + row - 2), fs))
    return rows, (px, py, min(W, px + panel_w), min(H, py + panel_h))


def _draw_bars(out, face, x, y, w, h) -> None:
    import cv2

    H, W = out.shape[:2]
    rows, (x0, y0, x1, y1) = bar_rows((x, y, w, h), (W, H), face.emotion.scores)
    # a dark panel under the labels so they read on any background
    roi = out[y0:y1, x0:x1]
    roi[:] = (roi * 0.45).astype(roi.dtype)
    for k, org, (bx0, by0, bx1, by1), fs in rows:
        cv2.putText(out, k, org, cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), 1, cv2.LINE_AA)
        if bx1 > bx0:
            cv2.rectangle(out, (bx0, by0), (bx1, by1), COLORS[k], -1)
