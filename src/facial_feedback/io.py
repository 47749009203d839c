"""Reading images and videos safely.

Every failure becomes an ImageError / VideoError whose message names the
reason in words a user understands; callers add the file name.
"""
from __future__ import annotations

import io
import os
import queue
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Refuse images above this many pixels before decoding them (decompression bombs):
# 80 MP is larger than any phone photo (a 200 MP sensor bins to 50 MP output).
MAX_PIXELS = 80_000_000

# The one list of file name extensions (the CLI's folder scan, batch, the web API's type check
# and the extensions it lists in /api/v1/meta, sorted).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".jfif", ".pgm",
                              ".ppm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                              ".3gp", ".ogv"})

ImageSource = Union[str, os.PathLike, bytes, bytearray, np.ndarray, Image.Image]


class ImageError(ValueError):
    """An input that cannot be analysed as an image; str() is the reason."""


class VideoError(ValueError):
    """An input that cannot be analysed as a video; str() is the reason."""


def _to_rgb_array(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grey: scale the used range to 8 bits rather than clipping at 255.
        a = np.asarray(img, dtype=np.float64)
        hi = a.max()
        a = a * (255.0 / (65535.0 if hi > 255 else 255.0)) if hi > 0 else a
        g = np.clip(a, 0, 255).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        g = ((a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # Composite transparent pixels over white, as a viewer would show them.
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")  # P, L, 1, CMYK, YCbCr, RGBA-composited ...
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def load_image(src: ImageSource, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Return an upright RGB uint8 array (H, W, 3) from a path, bytes or array.

    EXIF orientation is applied, so boxes refer to the image as a viewer shows it.
    Raises ImageError with a readable reason for anything that is not a usable image.
    """
    if isinstance(src, np.ndarray):
        return _array_to_rgb(src)
    if isinstance(src, Image.Image):
        return _to_rgb_array(ImageOps.exif_transpose(src))
    if isinstance(src, (bytes, bytearray)):
        if len(src) == 0:
            raise ImageError("empty file (0 bytes)")
        fp = io.BytesIO(bytes(src))
    else:
        path = Path(src)
        if not path.exists():
            raise ImageError("no such file")
        if path.is_dir():
            raise ImageError("is a folder, not an image")
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        fp = open(path, "rb")
    try:
        try:
            with warnings.catch_warnings():
                # Pillow warns above ~89 MP; our own limit below is checked right after.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(fp)
        except UnidentifiedImageError:
            raise ImageError("not an image (unrecognised format)") from None
        except Image.DecompressionBombError as e:
            raise ImageError(f"refused: too many pixels ({e})") from None
        w, h = img.size
        # Checked from the header, before any pixel is decoded.
        if w * h > max_pixels:
            raise ImageError(f"refused: {w}x{h} = {w * h / 1e6:.0f} MP is over the {max_pixels / 1e6:.0f} MP limit")
        if w == 0 or h == 0:
            raise ImageError("image has no pixels")
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb_array(img)
        except OSError as e:
            msg = str(e)
            if "truncated" in msg or "broken data stream" in msg or "end of file" in msg.lower():
                raise ImageError(f"truncated or corrupt image data ({msg})") from None
            raise ImageError(f"cannot decode image ({msg})") from None
        except (ValueError, SyntaxError) as e:
            raise ImageError(f"cannot decode image ({e})") from None
    finally:
        fp.close()


def _array_to_rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ImageError(f"array must be HxW, HxWx3 or HxWx4, got shape {a.shape}")
    if a.shape[2] == 4:
        a = a[..., :3]
    if a.dtype != np.uint8:
        if a.dtype == np.uint16:
            a = (a / 257.0).astype(np.uint8)
        elif np.issubdtype(a.dtype, np.floating) and a.max() <= 1.0:
            a = np.clip(a * 255.0, 0, 255).astype(np.uint8)
        else:
            a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    frame_count: int  # as the container says; may be 0 or approximate

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def probe_video(path: Union[str, os.PathLike]) -> VideoInfo:
    import cv2

    p = Path(path)
    if not p.exists():
        raise VideoError("no such file")
    if p.stat().st_size == 0:
        raise VideoError("empty file (0 bytes)")
    cap = cv2.VideoCapture(str(p))
    try:
        if not cap.isOpened():
            raise VideoError("cannot open as a video (unknown or corrupt container)")
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if w <= 0 or h <= 0:
            raise VideoError("video has no decodable picture stream")
    finally:
        cap.release()
    if not (0 < fps < 1000):
        fps = 30.0  # containers without a rate: assume 30 and say so in the result metadata
    return VideoInfo(str(p), w, h, fps, max(n, 0))


def iter_frames(path: Union[str, os.PathLike], every: int = 1, prefetch: int = 4,
                info: Optional[VideoInfo] = None) -> Iterator[tuple]:
    """Yield (index, timestamp_s, rgb) for every `every`-th frame.

    Decoding runs in a background thread a few frames ahead (it releases the GIL,
    so it overlaps with inference on the other core); memory stays at `prefetch` frames.
    prefetch=0 decodes in the calling thread instead, each frame when it is asked for, and
    tells FFmpeg to decode on that thread too (no thread runs beside the caller).
    Raises VideoError if the file cannot be opened or holds no frame at all. `info`: the
    video's probe_video() when the caller has it already (it is then not probed again).
    """
    import cv2

    if every < 1:
        raise ValueError("every must be >= 1")
    if info is None:
        info = probe_video(path)
    if prefetch <= 0:
        yield from _decode_here(path, every, info)
        return
    q: "queue.Queue" = queue.Queue(maxsize=prefetch)
    stop = threading.Event()
    _END = object()

    def reader() -> None:
        cap = _open_capture(path, 1 if info.width * info.height <= SMALL_VIDEO_PIXELS else 0)
        i = 0
        try:
            while not stop.is_set():
                if i % every == 0:
                    ok, bgr = cap.read()
                else:
                    ok = cap.grab()
                    bgr = None
                if not ok:
                    break
                if bgr is not None:
                    pos = cap.get(cv2.CAP_PROP_POS_MSEC)
                    t = pos / 1000.0 if pos and pos > 0 else i / info.fps
                    rgb = bgr_to_rgb(bgr)
                    while not stop.is_set():
                        try:
                            q.put((i, t, rgb), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                i += 1
        except Exception as e:  # surfaced in the consumer
            q.put(e)
        finally:
            cap.release()
            while not stop.is_set():
                try:
                    q.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    th = threading.Thread(target=reader, name="ff-video-decode", daemon=True)
    th.start()
    n = 0
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            if isinstance(item, Exception):
                raise VideoError(f"decoding failed: {item}")
            n += 1
            yield item
        if n == 0:
            raise VideoError("no decodable frames (zero-frame or corrupt video)")
    finally:
        stop.set()
        th.join(timeout=2)


# Up to this size (640x480) a video is decoded on its decoding thread alone, without FFmpeg's frame
# threads: 1.0 against 1.4 ms of CPU a 640x360 frame (their hand-offs cost more than they save at
# that size); a 1080p frame costs the same CPU either way (6.7-7.2 ms), and there the frame
# threads keep decoding from becoming the pipeline's slowest stage.
SMALL_VIDEO_PIXELS = 640 * 480


def _open_capture(path, threads: int = 0):
    """cv2.VideoCapture of a file; threads > 0: FFmpeg decodes on that many threads (0: its default)."""
    import cv2

    prop = getattr(cv2, "CAP_PROP_N_THREADS", None)
    if threads > 0 and prop is not None:
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [prop, threads])
        if cap.isOpened():
            return cap
        cap.release()
    return cv2.VideoCapture(str(path))


def _decode_here(path, every: int, info: VideoInfo) -> Iterator[tuple]:
    """iter_frames without the decoding thread (and without FFmpeg's frame threads)."""
    import cv2

    cap = _open_capture(path, 1)
    i = n = 0
    try:
        while True:
            try:
                if i % every == 0:
                    ok, bgr = cap.read()
                else:
                    ok, bgr = cap.grab(), None
            except Exception as e:
                raise VideoError(f"decoding failed: {e}") from e
            if not ok:
                break
            if bgr is not None:
                pos = cap.get(cv2.CAP_PROP_POS_MSEC)
                t = pos / 1000.0 if pos and pos > 0 else i / info.fps
                n += 1
                yield i, t, bgr_to_rgb(bgr)
            i += 1
        if n == 0:
            raise VideoError("no decodable frames (zero-frame or corrupt video)")
    finally:
        cap.release()


# OpenCV splits a conversion of more than this many pixels across its thread pool, whose workers
# then spin-wait for more work after each call: a whole 640x360 frame's BGR->RGB cost 0.3-0.5 ms
# of CPU that way against 0.15 ms converted in strips under it, each strip on the calling thread
# alone (the same pixels; benchmarks/bench_frame_ops.py, docs/benchmarks.md).
_CV_GRAIN = 1 << 16


def bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    """cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), the same array, converted in strips of rows under
    OpenCV's parallel grain so that no OpenCV worker thread is woken to spin (a decoded frame is
    converted on the decoding thread, beside the pipeline's own threads)."""
    import cv2

    h, w = bgr.shape[:2]
    if h * w < _CV_GRAIN or bgr.ndim != 3 or bgr.shape[2] != 3:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    bgr = np.ascontiguousarray(bgr)
    out = np.empty_like(bgr)
    step = max(1, (_CV_GRAIN - 1) // w)
    for y in range(0, h, step):
        cv2.cvtColor(bgr[y:y + step], cv2.COLOR_BGR2RGB, dst=out[y:y + step])
    return out


def is_image_path(p: Union[str, os.PathLike]) -> bool:
    return Path(p).suffix.lower() in IMAGE_EXTENSIONS


def is_video_path(p: Union[str, os.PathLike]) -> bool:
    return Path(p).suffix.lower() in VIDEO_EXTENSIONS
