"""The face models on LiteRT (Google's TFLite runtime, `ai-edge-litert`), loaded from this package.

One `Model` is one interpreter: not re-entrant, so calls are serialised by its own lock, and
each video/live session makes its own (see pipeline.Session). The model files and where they
come from: models/face_models.json (scripts/vendor_face_models.py re-creates and checks them).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import List

import numpy as np

MODELS_DIR = Path(__file__).resolve().parent / "models"
DETECTOR_MODEL = "face_detection_full_range_sparse.tflite"
LANDMARK_MODEL = "face_landmarks_detector.tflite"
BLENDSHAPE_MODEL = "face_blendshapes.tflite"


def default_threads() -> int:
    """CPU threads per interpreter: FACIAL_FEEDBACK_THREADS, else 1 (as MediaPipe ran its models
    on Linux). Measured on the 2 shared cores: the tracking mesh took 5.4 ms a frame (min) on one
    thread and 6.8 on two (median 5.9 vs 12.9: XNNPACK's second thread waits for a core that the
    video pipeline's other stage is using); see docs/face_models.md."""
    try:
        return max(1, int(os.environ["FACIAL_FEEDBACK_THREADS"]))
    except (KeyError, ValueError):
        return 1


class Model:
    """A .tflite file from models/ with a float32 input or two; run() returns every output."""

    def __init__(self, name: str, threads: int = 0):
        path = MODELS_DIR / name
        if not path.exists():
            raise FileNotFoundError(f"face model {path} is missing from the package (see models/face_models.json)")
        from ai_edge_litert.interpreter import Interpreter

        self.name = name
        self._it = Interpreter(model_path=str(path), num_threads=threads or default_threads())
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
            return [self._it.get_tensor(i).copy() for i in self._outputs]
