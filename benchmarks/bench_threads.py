"""Does LiteRT's invoke release the GIL, and what does a second XNNPACK thread buy? (issue 15)

    .venv/bin/python benchmarks/bench_threads.py [--seconds 3]

1. The landmark model (face_landmarks_detector.tflite, one XNNPACK thread per interpreter):
   invokes per second from one Python thread, then from two Python threads with an interpreter
   each, run at the same time. If invoke held the GIL the two would take turns (x1.0); released,
   they run on two cores (up to x2.0 on an idle 2-core machine).
2. A Python thread that does nothing but read the clock while the main thread invokes the model:
   how many invokes had that thread run Python *during* them. With the GIL held by invoke, none
   could (the clock thread would wait for the invoke to return); this holds however loaded the
   machine is, where the scaling of 1. needs a free second core to show.
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
    ticks: list = []
    done = threading.Event()

    def clock():
        while not done.is_set():
            ticks.append(time.perf_counter())
    def beside(call):
        """(calls, calls the clock thread ran inside, clock reads inside, clock reads in all)"""
        ticks.clear()
        done.clear()
        spans = []
        th = threading.Thread(target=clock)
        th.start()
        t_end = time.perf_counter() + sec
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            call()
            spans.append((t0, time.perf_counter()))
        done.set()
        th.join()
        tk = np.array(ticks)
        # per call: the longest stretch of it in which the clock thread read no time, as a share
        # of the call (about 1 when the call kept the GIL, small when the clock thread ran meanwhile)
        shares = []
        for t0, t1 in spans[1:]:
            inner = np.concatenate([[t0], tk[(tk > t0) & (tk < t1)], [t1]])
            shares.append(float(np.diff(inner).max() / (t1 - t0)))
        return len(spans), float(np.median(shares)), float(np.mean(np.array(shares) > 0.9))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)   # hand the GIL over often, so a call's span is the call itself
    try:
        inv = beside(a._it.invoke)
        held = beside(lambda: sum(range(300_000)))   # a C call that keeps the GIL: the control
    finally:
        sys.setswitchinterval(old)
    print("| landmark model, 1 XNNPACK thread per interpreter | invokes/s | vs one thread |")
    print("| --- | --- | --- |")
    print(f"| one Python thread | {one[0]:.0f} | x1.00 |")
    print(f"| two Python threads, an interpreter each, at once | {sum(two):.0f} | x{sum(two) / one[0]:.2f} |")
    print(f"\nThe two threads' CPU time over the wall time: {both:.2f} cores (above 1.00 only if they "
          "computed at the same time, i.e. with the GIL released; below it the machine had no second core "
          "free for them).")
    print("\n| beside a Python thread reading the clock | calls | longest stretch without a clock read, share of the call (median) | calls with a stretch over 90% |")
    print("| --- | --- | --- | --- |")
    print(f"| the landmark model's invoke | {inv[0]} | {inv[1]:.2f} | {100 * inv[2]:.0f}% |")
    print(f"| control: sum(range(300000)), which keeps the GIL | {held[0]} | {held[1]:.2f} | {100 * held[2]:.0f}% |")
    print()
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
