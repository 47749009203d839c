"""Per-frame cost of the facial signals (facial_feedback.signals), apart from the models.

    .venv/bin/python benchmarks/bench_signals.py [--video PATH] [--repeat N]

Meshes come from the pipeline's own tracking mesh on the video (computed once, not
timed); then, per frame, `face_signals(mesh, pose)` (per-frame geometry) and
`SignalSession.update(frame)` (events, windows, states) are timed over the whole video,
N times with a fresh session each time. Prints a Markdown table (ms per frame, one face).
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"


def meshes(video: Path):
    from facial_feedback.io import iter_frames
    from facial_feedback.landmarks import MeshTracker, head_pose

    tracker = MeshTracker(max_faces=1)
    out = []
    try:
        for i, t, rgb in iter_frames(video):
            found = tracker.process(rgb)
            out.append((t, found[0] if found else None, head_pose(found[0]) if found else None))
    finally:
        tracker.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--repeat", type=int, default=5)
    ns = ap.parse_args()

    from facial_feedback.signals import SignalSession, face_signals
    from facial_feedback.types import Box, Face, FrameResult

    data = meshes(Path(ns.video))
    geo, upd = [], []
    cpu_geo = cpu_upd = 0.0
    for _ in range(ns.repeat):
        session = SignalSession()
        for i, (t, lm, pose) in enumerate(data):
            faces = ()
            a, ca = time.perf_counter(), time.thread_time()
            if lm is not None:
                face = Face(box=Box.from_points(lm), landmarks=lm, pose=pose, track_id=1)
                faces = (replace(face, signals=face_signals(lm, pose)),)
            b, cb = time.perf_counter(), time.thread_time()
            session.update(FrameResult(640, 360, faces, index=i, timestamp=t))
            c, cc = time.perf_counter(), time.thread_time()
            geo.append((b - a) * 1000)
            upd.append((c - b) * 1000)
            cpu_geo += cb - ca
            cpu_upd += cc - cb
    tot = [g + u for g, u in zip(geo, upd)]
    n = len(geo)

    def row(name, v):
        v = np.asarray(v)
        return f"| {name} | {np.median(v):.3f} | {v.mean():.3f} | {np.percentile(v, 95):.3f} | {v.max():.2f} |"

    print(f"{len(data)} frames x {ns.repeat} runs, {Path(ns.video).name}\n")
    print("| stage (ms per frame, 1 face) | median | mean | p95 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("face_signals (geometry)", geo))
    print(row("SignalSession.update (events, states)", upd))
    print(row("signals total", tot))
    print(f"\nCPU time of this thread (unaffected by waiting for a core): face_signals {cpu_geo / n * 1000:.3f} ms, "
          f"update {cpu_upd / n * 1000:.3f} ms, total {(cpu_geo + cpu_upd) / n * 1000:.3f} ms per frame")
    print(f"\nsignals alone would run at {1000 / statistics.mean(tot):.0f} frames per second")


if __name__ == "__main__":
    main()
