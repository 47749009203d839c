"""The per-frame copies and conversions around the models: what each way of doing one costs.

    .venv/bin/python benchmarks/bench_frame_ops.py [--calls 300]

Process CPU time (every thread, so an OpenCV or FFmpeg worker thread spinning after the call
counts) and wall time per call, each call followed by a 2 ms pause as in the pipeline (the
other stages run between two frames' conversions), on this checkout's code:
- BGR->RGB of a decoded 640x360 frame: one cv2.cvtColor (OpenCV's thread pool splits it and its
  workers spin-wait afterwards) against facial_feedback.io.bgr_to_rgb (strips under OpenCV's
  parallel grain, each converted on the calling thread);
- decoding WolfgangLanger_Pexels.mp4 (640x360; another with --video): cv2.VideoCapture with FFmpeg's default threads
  against one decoding thread, each frame converted by bgr_to_rgb;
- the landmark model's input: crop.astype(float32) / 255 handed to set_tensor against
  facial_feedback._litert.Model.run_filled's write into the input buffer (the invoke excluded).
Each pair alternates `--rounds` times; medians. Checks that each pair gives the same array.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"


def per_call(fn, calls: int, gap: float = 0.002):
    for _ in range(10):
        fn()
    c, busy = time.process_time(), 0.0
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        busy += time.perf_counter() - t
        time.sleep(gap)
    return (time.process_time() - c) * 1000 / calls, busy * 1000 / calls


def decode_cpu(threads: int, video: Path = VIDEO, gap: float = 0.002) -> float:
    import cv2

    from facial_feedback.io import bgr_to_rgb

    cap = (cv2.VideoCapture(str(video), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads]) if threads
           else cv2.VideoCapture(str(video)))
    c, n = time.process_time(), 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        bgr_to_rgb(bgr)
        n += 1
        time.sleep(gap)
    cap.release()
    return (time.process_time() - c) * 1000 / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--video", type=Path, default=VIDEO, help="the video whose decoding is timed")
    ns = ap.parse_args()
    import cv2

    from facial_feedback._litert import LANDMARK_MODEL, Model
    from facial_feedback.io import bgr_to_rgb

    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (360, 640, 3), np.uint8)
    assert np.array_equal(bgr_to_rgb(bgr), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    m = Model(LANDMARK_MODEL, 1)
    crop = rng.integers(0, 256, (256, 256, 3), np.uint8)
    idx, shape = m._inputs[0], m.input_shapes[0]
    inv = np.float32(1.0 / 255.0)

    def set_tensor():
        m._it.set_tensor(idx, np.ascontiguousarray(crop.astype(np.float32) * (1.0 / 255.0)).reshape(shape))

    def fill():
        buf = m._it.tensor(idx)()
        np.multiply(crop, inv, out=buf[0])
        del buf

    set_tensor()
    a = m._it.get_tensor(idx)
    fill()
    assert np.array_equal(a, m._it.get_tensor(idx))
    rows = {}
    for _ in range(ns.rounds):
        for name, fn in (("BGR->RGB 640x360: cv2.cvtColor", lambda: cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
                         ("BGR->RGB 640x360: io.bgr_to_rgb (strips)", lambda: bgr_to_rgb(bgr)),
                         ("mesh input: astype / 255 + set_tensor", set_tensor),
                         ("mesh input: run_filled's write into the buffer", fill)):
            rows.setdefault(name, []).append(per_call(fn, ns.calls))
        for name, th in (("decode + convert a frame: FFmpeg's default threads", 0),
                         ("decode + convert a frame: one decoding thread", 1)):
            rows.setdefault(name, []).append((decode_cpu(th, ns.video), None))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; medians of {ns.rounds} rounds\n")
    print("| operation | process CPU ms/call | wall ms/call |\n| --- | --- | --- |")
    for name, v in rows.items():
        cpu = statistics.median(x for x, _ in v)
        wall = "-" if v[0][1] is None else f"{statistics.median(w for _, w in v):.3f}"
        print(f"| {name} | {cpu:.3f} | {wall} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
