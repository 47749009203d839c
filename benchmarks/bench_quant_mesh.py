"""Quantized landmark models against the shipped one: mesh distance, speed (blink F1: bench_blinks).

    # 1. make them, with a python that has ai-edge-quantizer (PyPI; a benchmark-time tool only,
    #    not a dependency of facial-feedback), e.g. python3 -m venv /tmp/q && /tmp/q/bin/pip install ai-edge-quantizer
    /tmp/q/bin/python benchmarks/bench_quant_mesh.py --make DIR
    # 2. measure them against the shipped model
    .venv/bin/python benchmarks/bench_quant_mesh.py DIR/*.tflite
    # 3. blinks on ZJU dev with one of them
    .venv/bin/python benchmarks/bench_blinks.py --landmark-model DIR/landmarks_dynamic_wi8_afp32.tflite

The shipped face_landmarks_detector.tflite keeps its weights in float16, each behind a DEQUANTIZE
op, which ai-edge-quantizer's recipes do not touch (they quantize constant float32 weights): --make
first rewrites them as float32 constants, then writes the dynamic-range (int8 weights, int8
activations computed at run time) and weight-only int8 models.

Measured per model: the landmark model's own time a call (one thread, a real face's crop, median
of 300 calls, the models' calls interleaved in one process); and, in a fresh process each, through the real VIDEO pipeline (Analyzer.analyze_video),
every frame's mesh of the largest face on the shared clips and the ZJU dev clips, compared with
the shipped model's: mean distance over the 478 points in % of the inter-ocular distance (iris
centres), per clip set, mean and 95th percentile over frames.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHIPPED = REPO / "src" / "facial_feedback" / "models" / "face_landmarks_detector.tflite"
RECIPES = ("dynamic_wi8_afp32", "weight_only_wi8_afp32")


def make(folder: Path) -> None:
    import numpy as np
    from ai_edge_litert import schema_py_generated as S
    from ai_edge_quantizer import quantizer, recipe
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as U

    folder.mkdir(parents=True, exist_ok=True)
    m = U.read_model(SHIPPED)
    sg = m.subgraphs[0]
    deq = {i for i, c in enumerate(m.operatorCodes)
           if max(c.builtinCode, c.deprecatedBuiltinCode) == S.BuiltinOperator.DEQUANTIZE}
    ops = []
    for op in sg.operators:
        if op.opcodeIndex in deq:
            tin, tout = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
            data = m.buffers[tin.buffer].data
            if tin.type == S.TensorType.FLOAT16 and data is not None and len(data):
                b = S.BufferT()   # the op's output becomes a float32 constant
                b.data = np.frombuffer(bytes(bytearray(data)), np.float16).astype(np.float32).view(np.uint8)
                m.buffers.append(b)
                tout.buffer = len(m.buffers) - 1
                m.buffers[tin.buffer].data = None
                continue
        ops.append(op)
    sg.operators = ops
    f32 = folder / "landmarks_float32.tflite"
    U.write_model(m, str(f32))
    for name in RECIPES:
        qt = quantizer.Quantizer(str(f32))
        qt.load_quantization_recipe(getattr(recipe, name)())
        qt.quantize().export_model(str(folder / f"landmarks_{name}.tflite"), overwrite=True)
    print("\n".join(str(p) for p in sorted(folder.glob("landmarks_*.tflite"))))


def clips() -> dict:
    media = [SHARED / "media" / n for n in ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov",
                                            "noface_face.mov")]
    zju = sorted(p for p in (SHARED / "datasets" / "zju_blinks_dev").glob("*/*") if p.suffix in (".avi", ".mp4"))
    return {"shared clips": media, "ZJU dev": zju}


CHILD = r"""
import sys
import numpy as np
from facial_feedback import _litert
_litert.LANDMARK_MODEL = sys.argv[1]
from facial_feedback.io import load_image
from facial_feedback.landmarks import _MeshModel, roi_from_detection
from facial_feedback.pipeline import Analyzer, AnalyzerConfig
a = Analyzer(AnalyzerConfig(signals=False, blendshapes=False))
out = {}
for video in sys.argv[3:]:
    lms = []
    for fr in a.analyze_video(video):
        f = max(fr.faces, key=lambda f: f.box.w * f.box.h, default=None)
        lms.append(f.landmarks if f is not None else np.full((478, 3), np.nan, np.float32))
    out[video] = np.asarray(lms, np.float32).reshape(-1, 478, 3)
np.savez(sys.argv[2], **{str(i): v for i, v in enumerate(out.values())})
"""


def call_ms(models: list, calls: int = 300) -> list:
    """Each model's median time a call (one thread, single_face.jpg's face), the models' calls
    interleaved (A B C A B C ...) so that a change in the machine's load hits them alike."""
    import time

    import numpy as np

    from facial_feedback import _litert
    from facial_feedback.detection import FaceDetector
    from facial_feedback.io import load_image
    from facial_feedback.landmarks import _MeshModel, roi_from_detection

    rgb = load_image(SHARED / "media" / "single_face.jpg")
    roi = roi_from_detection(FaceDetector().detect(rgb)[0].box)
    runners = []
    for m in models:
        _litert.LANDMARK_MODEL = str(Path(m).resolve())
        runners.append(_MeshModel(threads=1))
    _litert.LANDMARK_MODEL = SHIPPED.name
    ts = [[] for _ in runners]
    for k in range(calls + 20):
        for r, t in zip(runners, ts):
            t0 = time.perf_counter()
            r.run(rgb, roi)
            if k >= 20:
                t.append(time.perf_counter() - t0)
    return [float(np.median(t)) * 1000 for t in ts]


def measure(models: list) -> None:
    import tempfile

    import numpy as np

    sets = clips()
    videos = [str(v) for vs in sets.values() for v in vs]
    res = {}
    with tempfile.TemporaryDirectory() as d:
        all_models = [SHIPPED] + [Path(m) for m in models]
        for k, model in enumerate(all_models):
            npz = Path(d) / f"{k}.npz"
            out = subprocess.run([sys.executable, "-c", CHILD, str(model.resolve()), str(npz), *videos],
                                 capture_output=True, text=True, cwd=REPO,
                                 env={**os.environ, "PYTHONPATH": str(REPO / "src")})
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            with np.load(npz) as z:
                res[model.name] = [[z[str(i)] for i in range(len(videos))], model.stat().st_size]
            print(f"{model.name}: meshes done", file=sys.stderr)
        for model, ms in zip(all_models, call_ms(all_models)):
            res[model.name].insert(0, ms)
    base = res[SHIPPED.name][1]
    print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}\n")
    print("| landmark model | size KB | ms a call (1 thread) | vs shipped | " +
          " | ".join(f"{s}: distance % IOD mean / p95 (frames)" for s in sets) + " |")
    print("| --- " * (4 + len(sets)) + "|")
    for name, (ms, lms, size) in res.items():
        cells, i = [], 0
        for s, vs in sets.items():
            dist = []
            for _ in vs:
                a, b = base[i], lms[i]
                n = min(len(a), len(b))
                ok = np.isfinite(a[:n, 0, 0]) & np.isfinite(b[:n, 0, 0])
                iod = np.linalg.norm(a[:n, 468, :2] - a[:n, 473, :2], axis=1)
                d = np.linalg.norm(a[:n, :, :2] - b[:n, :, :2], axis=2).mean(1) / iod * 100
                dist += list(d[ok])
                i += 1
            cells.append(f"{np.mean(dist):.2f} / {np.percentile(dist, 95):.2f} ({len(dist)})")
        print(f"| {name} | {size // 1024} | {ms:.2f} | {res[SHIPPED.name][0] / ms:.2f}x | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path, help="quantized .tflite landmark models to measure")
    ap.add_argument("--speed-only", action="store_true", help="only the time a call")
    ap.add_argument("--make", type=Path, metavar="DIR", help="write the quantized models into DIR (needs ai-edge-quantizer)")
    ns = ap.parse_args()
    if ns.make:
        make(ns.make)
    elif ns.speed_only:
        models = [SHIPPED] + ns.models
        for m, ms in zip(models, call_ms(models)):
            print(f"| {m.name} | {ms:.2f} ms a call |")
    else:
        measure(ns.models)


if __name__ == "__main__":
    main()
