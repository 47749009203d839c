"""What an emotion model costs the video path: end-to-end fps of `facial-feedback video`'s loop with one
manifest against another, in one run (fresh process each, sides alternating), plus ms per face.

    .venv/bin/python benchmarks/bench_emotion_cost.py --before runs/emotion_before/emotion.json [--rounds 3]
    # the model before issue 18: mkdir -p runs/emotion_before && for f in emotion.onnx emotion.json; do
    #   git show 1df387e:src/facial_feedback/models/$f > runs/emotion_before/$f; done

Prints a Markdown table: fps per round and side, the median ratio new / before, and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"
NEW = REPO / "src" / "facial_feedback" / "models" / "emotion.json"

RUN = r"""
import json, sys, time
from facial_feedback.pipeline import Analyzer, AnalyzerConfig
video, manifest = sys.argv[1], sys.argv[2]  # sys.argv[3]: emotion_interval
a = Analyzer(AnalyzerConfig(signals=True, emotion_interval=float(sys.argv[3])), emotion_manifest=manifest)
n, faces, emo = 0, 0, []
t0 = time.perf_counter()
for fr in a.analyze_video(video):
    n += 1
    faces += len(fr.faces)
    emo.append(fr.timings.get("emotion", 0.0))
wall = time.perf_counter() - t0
print(json.dumps({"frames": n, "faces": faces, "fps": n / wall, "emotion_ms": sum(emo) / max(len(emo), 1)}))
"""


def one(video: str, manifest: str, interval: float) -> dict:
    out = subprocess.run([sys.executable, "-c", RUN, video, manifest, str(interval)], check=True, capture_output=True, text=True,
                         cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the reference manifest")
    ap.add_argument("--after", default=str(NEW))
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--interval", type=float, default=0.1, help="the new side's emotion_interval")
    ap.add_argument("--before-interval", type=float, default=0.0,
                    help="the reference's emotion_interval (0: every frame, as before issue 18)")
    a = ap.parse_args(argv)
    rows, ratios = [], []
    for r in range(a.rounds):
        load = os.getloadavg()[0]
        b = one(a.video, a.before, a.before_interval)
        n = one(a.video, a.after, a.interval)
        ratios.append(n["fps"] / b["fps"])
        rows.append(f"| {r + 1} | {load:.1f} | {b['fps']:.1f} | {n['fps']:.1f} | x{ratios[-1]:.2f} | "
                    f"{b['emotion_ms']:.2f} | {n['emotion_ms']:.2f} |")
    print("| round | load (1 min) | fps, before | fps, new | new / before | emotion ms a frame, before | new |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\nmedian new / before: x{statistics.median(ratios):.2f} ({Path(a.video).name}, {a.rounds} rounds; "
          f"emotion_interval before {a.before_interval} s, new {a.interval} s)")


if __name__ == "__main__":
    main()
