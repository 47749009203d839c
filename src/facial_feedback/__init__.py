"""facial-feedback: offline face analysis for photos, videos and a live webcam.

    >>> import facial_feedback as ff
    >>> result = ff.analyze_image("photo.jpg")
    >>> [(f.box, f.emotion.label) for f in result.faces]

Conventions (RGB images, boxes in pixels of the original image, angles in degrees)
are stated once in facial_feedback.types. Models load on first use, not at import.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator

# Only the drawing function is bound here (its module imports cv2/numpy on first use); every
# other name loads its module on first touch (__getattr__ below), so `import facial_feedback`
# and the CLI's start-up import no numpy, OpenCV, ONNX Runtime or face runtime.
from .annotate import annotate

if TYPE_CHECKING:
    from .io import ImageError, VideoError, iter_frames, load_image
    from .pipeline import Analyzer, AnalyzerConfig, Session
    from .types import EMOTIONS, Box, Emotion, Face, FrameResult, HeadPose

_LAZY = {
    "load_image": "io", "iter_frames": "io", "ImageError": "io", "VideoError": "io",
    "EMOTIONS": "types", "Box": "types", "Emotion": "types", "Face": "types", "FrameResult": "types",
    "HeadPose": "types",
    "Analyzer": "pipeline", "AnalyzerConfig": "config", "Session": "pipeline",
}

__version__ = "0.1.0"

_default = None
_default_lock = threading.Lock()


def _analyzer():
    global _default
    with _default_lock:
        if _default is None:
            from .pipeline import Analyzer
            _default = Analyzer()
        return _default


def analyze_image(src) -> FrameResult:
    """Every face in an image (path, bytes or RGB array): box, score, mesh, head pose, emotion."""
    return _analyzer().analyze_image(src)


def analyze_video(path, every: int = 1) -> Iterator[FrameResult]:
    """One FrameResult per analysed frame with timestamps and stable track ids (streamed). The
    iterator is a pipeline.VideoStream: once it is done, its `final_events` hold the signal
    episodes still open at the last frame (ended there) and `summary` the signals' totals."""
    return _analyzer().analyze_video(path, every=every)


def analyze_many(inputs, out, workers=None, ray=None, **options):
    """Photos and videos (files, folders, globs) into `out` on a local process pool, or on Ray
    (ray=True: local instance or RAY_ADDRESS; ray="host:port": that cluster). Returns the summary
    rows (a pandas DataFrame when pandas is installed). Options: facial_feedback.batch.analyze_many."""
    from .batch import analyze_many as _analyze_many

    return _analyze_many(inputs, out, workers=workers, ray=ray, **options)


def __getattr__(name: str):
    # Names import their module on first touch, so `import facial_feedback` stays cheap.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'facial_feedback' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["analyze_image", "analyze_video", "analyze_many", "annotate", "load_image", "iter_frames", "Analyzer",
           "AnalyzerConfig", "Session", "ImageError", "VideoError", "EMOTIONS", "Box", "Emotion", "Face",
           "FrameResult", "HeadPose"]
