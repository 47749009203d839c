"""The face models on LiteRT (Google's TFLite runtime, `ai-edge-litert`), loaded from this package.

One `Model` is one interpreter: not re-entrant, so calls are serialised by its own lock, and
each video/live session makes its own (see pipeline.Session). `invoke` releases Python's GIL,
so models in different threads run in parallel. The model files and where they
come from: models/face_models.json (scripts/vendor_face_models.py re-creates and checks them).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, List

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
DETECTOR_MODEL = "face_detection_full_range_sparse.tflite"
LANDMARK_MODEL = "face_landmarks_detector.tflite"
BLENDSHAPE_MODEL = "face_blendshapes.tflite"


def default_threads() -> int:
    """CPU threads per interpreter for photos and live frames: FACIAL_FEEDBACK_THREADS, else 2
    (1 on a one-core machine). On the 2 shared cores (load average 10, bench_parity.py's speed
    worker) a live frame took 12.6 / 20.7 ms (median) with two threads against 30.8 / 43.4 ms
    with one. LiteRT's invoke releases the GIL (docs/benchmarks.md, "Where the time goes"), so a
    second XNNPACK thread only shortens one call (the mesh model: median 3.6 vs 6.5 ms) for more
    CPU (6.8 vs 6.5 ms a call on a quiet machine, 7.7 vs 6.0 at load 6: bench_threads.py), so
    video files, whose stages already keep 2 cores busy, run each model on one there
    (stage_threads)."""
    try:
        return max(1, int(os.environ["FACIAL_FEEDBACK_THREADS"]))
    except (KeyError, ValueError):
        return max(1, min(2, os.cpu_count() or 1))


def stage_threads(requested: int = 0, video: bool = False, overlap: bool = True) -> int:
    """The threads an interpreter gets: `requested` (AnalyzerConfig.threads) when set, else 1 with
    overlap off (everything in the caller's thread), else FACIAL_FEEDBACK_THREADS when set, else for a video file's stages 1 on a machine of 2 cores
    or fewer (decoding, mesh and detector, emotion already run in parallel there and fill them; a
    second XNNPACK thread would only spin against them, docs/benchmarks.md) and
    default_threads() otherwise and for photos and live frames."""
    if requested:
        return max(1, int(requested))
    if not overlap:
        return 1
    if video and "FACIAL_FEEDBACK_THREADS" not in os.environ and (os.cpu_count() or 1) <= 2:
        return 1
    return default_threads()


class Model:
    """A .tflite file from models/ with a float32 input or two; run() returns every output."""

    def __init__(self, name: str, threads: int = 0):
        path = MODELS_DIR / name
        if not path.exists():
            raise FileNotFoundError(f"face model {path} is missing from the package (see models/face_models.json)")
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self.threads = threads or default_threads()
        self._it = Interpreter(model_path=str(path), num_threads=self.threads)
        self._it.allocate_tensors()
        self._inputs = [d["index"] for d in self._it.get_input_details()]
        self.input_shapes = [tuple(int(s) for s in d["shape"]) for d in self._it.get_input_details()]
        self._outputs = [d["index"] for d in self._it.get_output_details()]
        self._lock = threading.Lock()

    def run(self, *inputs: np.ndarray) -> List[np.ndarray]:
        with self._lock:
            for idx, shape, x in zip(self._inputs, self.input_shapes, inputs):
                self._it.set_tensor(idx, np.ascontiguousarray(x, dtype=np.float32).reshape(shape))
            self._it.invoke()
            return self._outputs_now()

    def run_filled(self, *fills: Callable[[np.ndarray], None]) -> List[np.ndarray]:
        """run(), each input written by fill(buffer) straight into the interpreter's own input
        tensor (float32, input_shapes[i]) instead of handed over as an array to be copied in: the
        per-frame callers convert their uint8 crop there in one pass (no float copy of it made
        first, none copied again). The buffer is only valid during fill."""
        with self._lock:
            for idx, fill in zip(self._inputs, fills):
                buf = self._it.tensor(idx)()
                try:
                    fill(buf)
                finally:
                    del buf  # invoke refuses to run while a view of its buffers is alive
            self._it.invoke()
            return self._outputs_now()

    def _outputs_now(self) -> List[np.ndarray]:
        # get_tensor returns a copy the caller owns (ai-edge-litert 2.3), so none is made again
        return [self._it.get_tensor(i) for i in self._outputs]
