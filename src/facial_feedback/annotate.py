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
            bh = max(3, int(h / 14))
            bx = x + w + 4 if x + w + 4 + w // 2 < W else max(0, x - w // 2 - 4)
            for i, k in enumerate(EMOTIONS):
                by = y + i * (bh + 2)
                cv2.rectangle(out, (bx, by), (bx + int(w / 2 * face.emotion.scores[k]), by + bh), COLORS[k], -1)
    return out
