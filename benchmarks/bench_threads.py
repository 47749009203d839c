"""Does LiteRT's invoke release the GIL, and what does a second XNNPACK thread buy? (issue 15)

    .venv/bin/python benchmarks/bench_threads.py [--seconds 3]

1. The landmark model (face_landmarks_detector.tflite, one XNNPACK thread per interpreter):
   invokes per second from one Python thread, then from two Python threads with an interpreter
   each, run at the same time. If invoke held the GIL the two would take turns (x1.0); released,
   they run on two cores (up to x2.0 on an idle 2-core machine).
2. A pure-Python loop's speed while another thread invokes the model, against alone (about 100%
   when invoke releases the GIL and a core is free; at most about 50% when it holds it).
3. Each face model on 1 and 2 XNNPACK threads: wall and process CPU time per call.
Prints Markdown; the load average is printed with it (this machine is shared).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from facial_feedback._litert import BLENDSHAPE_MODEL, DETECTOR_MODEL, LANDMARK_MODEL, Model  # noqa: E402


def inputs(m: Model):
    rng = np.random.default_rng(0)
    return [rng.random(s).astype(np.float32) for s in m.input_shapes]


def loop(m: Model, x, seconds: float, out: list, cpu: list = None) -> None:
    n, t0, c0 = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - t0 < seconds:
        m.run(*x)
        n += 1
    out.append(n / (time.perf_counter() - t0))
    if cpu is not None:
        cpu.append(time.thread_time() - c0)


def spin(seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1000):
            n += 1
    return n / (time.perf_counter() - t0)


def per_call(name: str, threads: int, n: int = 100):
    m = Model(name, threads)
    x = inputs(m)
    for _ in range(10):
        m.run(*x)
    walls, c0 = [], time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        m.run(*x)
        walls.append(time.perf_counter() - t)
    cpu = (time.process_time() - c0) / n
    return 1000 * float(np.min(walls)), 1000 * float(np.median(walls)), 1000 * cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ns = ap.parse_args()
    sec = ns.seconds
    print(f"Load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    a, b = Model(LANDMARK_MODEL, 1), Model(LANDMARK_MODEL, 1)
    x = inputs(a)
    for _ in range(10):
        a.run(*x), b.run(*x)
    one: list = []
    loop(a, x, sec, one)
    two: list = []
    cpu: list = []
    t0 = time.perf_counter()
    ths = [threading.Thread(target=loop, args=(m, x, sec, two, cpu)) for m in (a, b)]
    [t.start() for t in ths]
    [t.join() for t in ths]
    both = sum(cpu) / (time.perf_counter() - t0)
    alone = spin(sec)
    stop: list = []
    bg = threading.Thread(target=loop, args=(a, x, sec + 0.5, stop))
    bg.start()
    time.sleep(0.2)
    beside = spin(sec)
    bg.join()
    print("| landmark model, 1 XNNPACK thread per interpreter | invokes/s | vs one thread |")
    print("| --- | --- | --- |")
    print(f"| one Python thread | {one[0]:.0f} | x1.00 |")
    print(f"| two Python threads, an interpreter each, at once | {sum(two):.0f} | x{sum(two) / one[0]:.2f} |")
    print(f"\nThe two threads' CPU time over the wall time: {both:.2f} cores (above 1.00 only if they "
          "computed at the same time, i.e. with the GIL released; below it the machine had no second core "
          "free for them).")
    print(f"\nA pure-Python loop while another thread invokes the model: {100 * beside / alone:.0f}% of its "
          f"speed alone.\n")
    print("| model | XNNPACK threads | min ms/call | median ms/call | process CPU ms/call |")
    print("| --- | --- | --- | --- | --- |")
    for name in (LANDMARK_MODEL, DETECTOR_MODEL, BLENDSHAPE_MODEL):
        for th in (1, 2):
            mn, md, cpu = per_call(name, th)
            print(f"| {name} | {th} | {mn:.2f} | {md:.2f} | {cpu:.2f} |")
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
