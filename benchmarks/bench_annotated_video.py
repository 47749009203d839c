"""The cost of writing the annotated video, by writer, against the same video analysed without one.

    .venv/bin/python benchmarks/bench_annotated_video.py [--video PATH] [--every 2] [--rounds 2]

`video.write_video_outputs` runs over the video with no annotated output (the reference), then
with each writer of `video._AnnotatedWriter`: OpenCV VP8 WebM (what there is without ffmpeg;
picture only), ffmpeg H.264 + AAC MP4 and ffmpeg VP8 + Opus WebM (with the original's sound).
Prints a Markdown table (seconds, analysed frames per second, the time as a multiple of the
reference measured in the same round, output size) and the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    import facial_feedback.video as V
    from facial_feedback.pipeline import Analyzer

    analyzer = Analyzer()
    real = V.annotated_encoder
    out = Path(tempfile.mkdtemp(prefix="ff-bench-annotated-"))
    writers = [("none (reference)", None, False), ("OpenCV VP8 WebM, no sound", "a.webm", True),
               ("ffmpeg H.264 + AAC MP4", "a.mp4", False), ("ffmpeg VP8 + Opus WebM", "b.webm", False)]
    print("load before:", open("/proc/loadavg").read().strip())
    print("| round | writer | seconds | frames/s | x reference | size (KiB) |\n| --- | --- | --- | --- | --- | --- |")
    for rnd in range(1, args.rounds + 1):
        ref = None
        for name, fname, opencv in writers:
            V.annotated_encoder = (lambda ext: "OpenCV forced by the benchmark") if opencv else real
            path = out / fname if fname else None
            t0 = time.perf_counter()
            s = V.write_video_outputs(analyzer, args.video, annotate_path=path, every=args.every)
            dt = time.perf_counter() - t0
            ref = ref or dt
            size = f"{os.path.getsize(path) // 1024}" if path else ""
            print(f"| {rnd} | {name} | {dt:.2f} | {s.frames_analysed / dt:.1f} | {dt / ref:.2f} | {size} |")
    V.annotated_encoder = real
    print("load after:", open("/proc/loadavg").read().strip())
    for p in out.iterdir():
        p.unlink()
    out.rmdir()


if __name__ == "__main__":
    main()
