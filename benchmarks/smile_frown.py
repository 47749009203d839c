"""Smiles and frowns on the shared clips (issue 19): per second, the brow height above the eyes
(FaceSignals.brow_height / IOD), the blendshapes browDown and mouthSmile (means of both sides),
the emotion model's "happy", and what the signals read: the share of frames frowning (brows
lowered outside a smile) and smiling, and the frown events.

    .venv/bin/python benchmarks/smile_frown.py [--every 2]

Prints a Markdown table per clip. docs/signals.md and docs/web.md (issue 19, part A) quote it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=2)
    args = ap.parse_args(argv)
    from facial_feedback import Analyzer
    from facial_feedback.signals import SignalSession

    with Analyzer() as an:
        for clip in ("single_face.mp4", "WolfgangLanger_Pexels.mp4"):
            sig = SignalSession()
            per = {}
            frowns = []
            for fr in an.analyze_video(MEDIA / clip, every=args.every, blendshapes=True):
                snap = sig.update(fr)
                frowns += [e for e in snap.started if e.type == "frown"]
                f = fr.primary_face()
                if f is None or f.blendshapes is None or f.signals is None:
                    continue
                tr = replace(fr, session=snap).session.track(f.track_id)
                bs = f.blendshapes
                per.setdefault(int(fr.timestamp), []).append((
                    f.signals.brow_height, (bs["browDownLeft"] + bs["browDownRight"]) / 2,
                    (bs["mouthSmileLeft"] + bs["mouthSmileRight"]) / 2, f.emotion.scores["happy"],
                    bool(tr and tr.frowning), bool(tr and tr.smiling)))
            print(f"\n{clip} (baseline brow height {sig.baseline().brow_height:.3f}, "
                  f"{sig.baseline().source}); frown events: "
                  + (", ".join(f"{e.onset:.1f} s" for e in frowns) or "none"))
            print("| s | brow height | browDown | mouthSmile | happy | frowning | smiling |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for s, rows in sorted(per.items()):
                med = [statistics.median(r[i] for r in rows) for i in range(4)]
                share = [sum(r[i] for r in rows) / len(rows) for i in (4, 5)]
                print(f"| {s} | {med[0]:.3f} | {med[1]:.2f} | {med[2]:.2f} | {med[3]:.2f} | "
                      f"{100 * share[0]:.0f}% | {100 * share[1]:.0f}% |")
    with open("/proc/loadavg") as f:
        print(f"\nload average: {f.read().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
