"""Batch throughput: 1 worker vs 2, local pool vs Ray, on a collection built here from ../shared/media.

    .venv/bin/python benchmarks/bench_batch.py            # 24 short videos + two 30 s ones
    .venv/bin/python benchmarks/bench_batch.py --repeat 2 # two interleaved rounds, medians
    .venv/bin/python benchmarks/bench_batch.py --quick    # 8 short + two 10 s ones

The collection is written to a temporary folder and removed afterwards: the short videos are the
shared clips (single_face.mp4, no_face.mp4, face_noface.mov, noface_face.mov) copied over and over;
the two long ones are WolfgangLanger_Pexels.mp4 and single_face.mp4 played forward and back until
they last LONG_S seconds. Every configuration analyses the same collection into its own output
folder (nothing is resumed). Reported per configuration: videos per minute and aggregate frames per
second over the whole run (worker start-up included), the start-up alone (until the first frame is
analysed), the driver's per-video overhead (dispatch + result transfer + writing, i.e. the time
from handing a video to a worker until its outputs are in place, minus the worker's own time on
it), and each worker's peak resident memory. Speed is reported as ratios to the 1-worker local
pool measured in the same run, with the load average before and after each configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
SHORT = ["single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov"]


def build(root: Path, n_short: int, long_s: float) -> None:
    import cv2

    for i in range(n_short):
        name = SHORT[i % len(SHORT)]
        dest = root / "a_short" / f"{i:02d}_{name}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(MEDIA / name, dest)
    for j, name in enumerate(["WolfgangLanger_Pexels.mp4", "single_face.mp4"]):
        cap = cv2.VideoCapture(str(MEDIA / name))
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(bgr)
        cap.release()
        loop = frames + frames[-2:0:-1]
        h, w = frames[0].shape[:2]
        dest = root / "b_long" / f"long{j}_{Path(name).stem}.mp4"
        dest.parent.mkdir(parents=True, exist_ok=True)
        wr = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for k in range(int(long_s * fps)):
            wr.write(loop[k % len(loop)])
        wr.release()


def run(config: dict, inputs: Path, out: Path) -> dict:
    from facial_feedback.batch import analyze_many

    starts, dones = {}, {}
    first_frame = [None]
    t0 = time.perf_counter()

    def on_event(ev):
        now = time.perf_counter()
        if ev["event"] == "start":
            starts[ev["key"]] = now
        elif ev["event"] == "progress" and first_frame[0] is None and ev.get("frames"):
            first_frame[0] = now - t0
        elif ev["event"] == "done":
            dones[ev["key"]] = now

    load0 = os.getloadavg()[0]
    rows = analyze_many([inputs], out=out, on_event=on_event, as_frame=False, **config)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    ok = [r for r in rows if r["status"] == "ok"]
    frames = sum(r["frames"] for r in ok)
    # Each worker's first input is left out: a Ray actor takes its first input while it is still
    # loading the models (the local pool hands one over only once the worker is ready); start-up
    # is reported on its own.
    firsts = {}
    for r in sorted(ok, key=lambda r: starts.get(r["output"], 0.0)):
        firsts.setdefault(r["worker"], r["output"])
    overhead = [dones[r["output"]] - starts[r["output"]] - r["wall_s"] for r in ok
                if r["output"] in dones and r["output"] in starts and firsts[r["worker"]] != r["output"]]
    peaks = {}
    for r in ok:
        peaks[r["worker"]] = max(peaks.get(r["worker"], 0.0), r["peak_rss_mb"] or 0.0)
    short_peak = max((r["peak_rss_mb"] for r in ok if r["output"].startswith("a_short")), default=None)
    cpu = sum(r["cpu_s"] or 0.0 for r in ok)
    busy = sum(r["wall_s"] or 0.0 for r in ok)
    return {"config": config, "inputs": len(rows), "ok": len(ok), "frames": frames, "wall_s": wall,
            "cpu_ms_per_frame": cpu / frames * 1000 if frames else None,
            "cores_per_worker": cpu / busy if busy else None,
            "videos_per_min": len(ok) / wall * 60.0, "fps": frames / wall, "startup_s": first_frame[0],
            "overhead_ms_median": statistics.median(overhead) * 1000 if overhead else None,
            "overhead_ms_max": max(overhead) * 1000 if overhead else None,
            "peak_rss_mb": peaks, "peak_rss_mb_after_short": short_peak,
            "worker_fps_median": statistics.median(r["fps"] for r in ok if r["fps"]),
            "load": (round(load0, 2), round(load1, 2))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 short videos and two 10 s ones")
    ap.add_argument("--short", type=int, default=None, help="number of short videos (default 24)")
    ap.add_argument("--long-s", type=float, default=None, help="length of each long video in seconds (default 30)")
    ap.add_argument("--no-ray", action="store_true", help="local pool only")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every configuration (default 1)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    a = ap.parse_args(argv)
    n_short = a.short or (8 if a.quick else 24)
    long_s = a.long_s or (10.0 if a.quick else 30.0)
    configs = [("local, 1 worker", {"workers": 1}), ("local, 2 workers", {"workers": 2})]
    if not a.no_ray:
        configs += [("Ray (local instance), 1 actor", {"workers": 1, "ray": True}),
                    ("Ray (local instance), 2 actors", {"workers": 2, "ray": True})]
    tmp = Path(tempfile.mkdtemp(prefix="ff-bench-batch-"))
    runs = {name: [] for name, _ in configs}
    try:
        build(tmp / "in", n_short, long_s)
        for rep in range(a.repeat):  # round-robin, so drifting load hits every configuration alike
            for name, cfg in configs:
                out = tmp / "out"
                r = run(cfg, tmp / "in", out)
                r["name"] = name
                runs[name].append(r)
                print(f"round {rep + 1}, {name}: {r['ok']}/{r['inputs']} ok, {r['frames']} frames in "
                      f"{r['wall_s']:.1f} s (load {r['load'][0]} -> {r['load'][1]})", file=sys.stderr, flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref_name = configs[0][0]

    def med(name, key):
        vals = [r[key] for r in runs[name] if r[key] is not None]
        return statistics.median(vals) if vals else float("nan")

    frames = runs[ref_name][0]["frames"]
    print(f"\n{n_short} short videos + 2 long ones ({long_s:.0f} s each), {frames} frames; {os.cpu_count()} CPUs; "
          f"median of {a.repeat} round(s), configurations interleaved\n")
    print("| configuration | videos/min | aggregate fps | vs 1 local worker (same round) | start-up s | "
          "per-video overhead ms (median / max) | CPU ms per frame | cores busy per worker | "
          "peak RSS per worker MiB | load avg before -> after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, _ in configs:
        rs = runs[name]
        ratio = statistics.median(r["fps"] / runs[ref_name][i]["fps"] for i, r in enumerate(rs))
        peaks = ", ".join(f"{v:.0f}" for v in sorted(max(r["peak_rss_mb"].values()) for r in rs))
        loads = "; ".join(f"{r['load'][0]} -> {r['load'][1]}" for r in rs)
        print(f"| {name} | {med(name, 'videos_per_min'):.1f} | {med(name, 'fps'):.0f} | {ratio:.2f}x | "
              f"{med(name, 'startup_s'):.1f} | {med(name, 'overhead_ms_median'):.0f} / "
              f"{max(r['overhead_ms_max'] for r in rs):.0f} | {med(name, 'cpu_ms_per_frame'):.1f} | "
              f"{med(name, 'cores_per_worker'):.2f} | {peaks} | {loads} |")
    one = runs[ref_name][0]
    print(f"\nMemory vs length (1 local worker): peak RSS after the short videos "
          f"{one['peak_rss_mb_after_short']:.0f} MiB, after the two long ones "
          f"{max(one['peak_rss_mb'].values()):.0f} MiB. Median per-video worker speed {one['worker_fps_median']:.0f} fps.")
    results = [r for rs in runs.values() for r in rs]
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
