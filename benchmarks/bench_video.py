"""Video speed benchmark: facial-feedback end to end vs the `fer` package's own pipeline.

    .venv/bin/python benchmarks/bench_video.py [--video PATH] [--fer-python PATH] [--repeat N]

Ours: decoding (background thread) + mesh tracking + detection refresh + emotion + pose
(+ signals when on), exactly what `facial-feedback video` runs, minus writing CSV.
Each run is a fresh process so peak memory (ru_maxrss) is that run's alone.
The `fer` reference runs `fer.FER().detect_emotions` (Haar cascade + mini-Xception on
TensorFlow) on the same decoded frames, in its own virtual environment because fer
needs TensorFlow; make one with benchmarks/setup_fer_env.sh. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"

OURS = r"""
import json, resource, sys, time
from facial_feedback.pipeline import Analyzer, AnalyzerConfig
video, signals = sys.argv[1], sys.argv[2] == "1"
t0 = time.perf_counter()
a = Analyzer(AnalyzerConfig(signals=signals))
load = time.perf_counter() - t0
stages = {}
n = faces = 0
t0 = time.perf_counter()
for fr in a.analyze_video(video):
    n += 1
    faces += len(fr.faces)
    for k, v in fr.timings.items():
        stages.setdefault(k, []).append(v)
wall = time.perf_counter() - t0
print(json.dumps({"frames": n, "faces": faces, "wall": wall, "load": load,
                  "stages": {k: sum(v) / len(v) for k, v in stages.items()},
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FER = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import cv2
from fer.fer import FER
video = sys.argv[1]
t0 = time.perf_counter()
det = FER()
load = time.perf_counter() - t0
cap = cv2.VideoCapture(video)
n = faces = 0
t_dec = t_an = 0.0
t0 = time.perf_counter()
while True:
    a = time.perf_counter()
    ok, frame = cap.read()
    b = time.perf_counter()
    if not ok:
        break
    res = det.detect_emotions(frame)
    c = time.perf_counter()
    t_dec += b - a
    t_an += c - b
    n += 1
    faces += len(res)
wall = time.perf_counter() - t0
print(json.dumps({"frames": n, "faces": faces, "wall": wall, "load": load,
                  "stages": {"decode": t_dec / n * 1000, "haar+mini-Xception": t_an / n * 1000},
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(python: str, code: str, *args: str) -> dict:
    out = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--fer-python", default=str(REPO / "benchmarks" / ".venv-fer" / "bin" / "python"),
                    help="python of a venv with fer + tensorflow (benchmarks/setup_fer_env.sh)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the median run is reported")
    ns = ap.parse_args()
    if not Path(ns.video).exists():
        raise SystemExit(f"no video at {ns.video}")

    rows = []
    for label, py, code, args in (
        ("facial-feedback (signals on)", sys.executable, OURS, (ns.video, "1")),
        ("facial-feedback (signals off)", sys.executable, OURS, (ns.video, "0")),
        ("fer 25.10.3 (Haar + mini-Xception, TensorFlow)", ns.fer_python, FER, (ns.video,)),
    ):
        if not Path(py).exists():
            print(f"(skipping {label}: no {py}; run benchmarks/setup_fer_env.sh)", file=sys.stderr)
            continue
        runs = sorted((run(py, code, *args) for _ in range(ns.repeat)), key=lambda r: r["wall"])
        r = runs[len(runs) // 2]
        r["fps"] = r["frames"] / r["wall"]
        r["all_fps"] = [round(x["frames"] / x["wall"], 1) for x in runs]
        rows.append((label, r))
        print(f"{label}: {r['fps']:.1f} fps (runs {r['all_fps']})", file=sys.stderr)

    name = Path(ns.video).name
    print(f"| pipeline on {name} | frames | fps (median of {ns.repeat}) | all runs | ms/frame by stage | peak RSS MB | model load s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in rows:
        st = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
        print(f"| {label} | {r['frames']} ({r['faces']} faces) | {r['fps']:.1f} | {r['all_fps']} | {st} | "
              f"{r['maxrss_mb']:.0f} | {r['load']:.2f} |")


if __name__ == "__main__":
    main()
