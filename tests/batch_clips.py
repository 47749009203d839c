"""Tiny real clips for the batch tests, cut from ../shared/media/single_face.mp4 (a real face),
so each test analyses real frames with the real models in a second or two."""
from __future__ import annotations

import shutil
from pathlib import Path

from .conftest import media


def make_clip(dest: Path, frames: int, size=(320, 180)) -> Path:
    """`frames` frames of the shared face video (played forward and back), at `size`, as mp4."""
    import cv2

    cap = cv2.VideoCapture(str(media("single_face.mp4")))
    src = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        src.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
    cap.release()
    loop = src + src[-2:0:-1]
    dest.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for i in range(frames):
        w.write(loop[i % len(loop)])
    w.release()
    return dest


def make_collection(root: Path) -> Path:
    """a/clip.mp4 and b/clip.mp4 (same name, different folders), a photo, a broken video."""
    make_clip(root / "a" / "clip.mp4", 20)
    make_clip(root / "b" / "clip.mp4", 16)
    shutil.copy(media("single_face.jpg"), root / "b" / "photo.jpg")
    (root / "a" / "broken.mp4").write_bytes(b"this is not a video")
    return root
