"""Head pitch on the shared media (issue 19): landmarks.head_pose's pitch per photo face and per
clip, and beside it a second estimate from the same mesh (the normal of the plane through all 468
points, which leans on the whole face rather than the forehead-to-nose line), to tell a real head
tilt (both move) from an offset of one estimator.

    .venv/bin/python benchmarks/head_pitch.py [--every 3]

Prints a Markdown table: per photo face, and per clip the 10th/50th/90th percentile and 1-s
medians of both estimates. docs/web.md (issue 19, part A) quotes it.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent.parent / "shared" / "media"


def plane_pitch(lm) -> float:
    """Pitch (degrees, > 0 up) of the normal of the least-squares plane through the 468 points."""
    p = np.asarray(lm, dtype=np.float64)[:468]
    _, _, vt = np.linalg.svd(p - p.mean(0), full_matrices=False)
    n = vt[2] if vt[2][2] < 0 else -vt[2]          # towards the camera
    return math.degrees(math.atan2(-n[1], math.hypot(n[0], n[2])))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=3)
    args = ap.parse_args(argv)
    from skimage import data

    from facial_feedback import Analyzer
    from facial_feedback.io import load_image

    rows = []
    with Analyzer() as an:
        for name, img in (("single_face.jpg", load_image(MEDIA / "single_face.jpg")),
                          ("multi_face.jpg", load_image(MEDIA / "multi_face.jpg")), ("skimage astronaut", data.astronaut())):
            for i, f in enumerate(an.analyze_image(img).faces):
                rows.append((f"{name} face {i + 1}", f"{f.pose.pitch:.1f}", f"{plane_pitch(f.landmarks):.1f}"))
        print("| photo face | head_pose pitch | plane pitch |\n| --- | --- | --- |")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        print()
        for clip in ("single_face.mp4", "WolfgangLanger_Pexels.mp4"):
            per = [(fr.timestamp, fr.faces[0].pose.pitch, plane_pitch(fr.faces[0].landmarks))
                   for fr in an.analyze_video(MEDIA / clip, every=args.every) if fr.faces]
            a = np.array(per)
            pct = lambda c: "/".join(f"{v:.1f}" for v in np.percentile(a[:, c], [10, 50, 90]))  # noqa: E731
            print(f"{clip}: {len(a)} frames; head_pose pitch p10/p50/p90 {pct(1)}; plane pitch {pct(2)}")
            secs = sorted({int(t) for t in a[:, 0]})
            print("  1-s medians (s: head_pose / plane): " + ", ".join(
                f"{s}: {statistics.median(a[a[:, 0].astype(int) == s][:, 1]):.0f}/"
                f"{statistics.median(a[a[:, 0].astype(int) == s][:, 2]):.0f}" for s in secs))
    with open("/proc/loadavg") as f:
        print(f"\nload average: {f.read().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
