"""Blendshapes against today's mesh geometry as measures of smiles, jaw opening and brow lowering.

    .venv/bin/python benchmarks/bench_blendshape_signals.py [--limit N]

On the SFEW Train stills (../shared/datasets/sfew/Train/<Emotion>/*.png, research use only; its
labels are the only ground truth here) every face found gets a mesh; from the SAME mesh we
take a geometric measure (facial_feedback.signals.face_signals) and the blendshape meant for the
same movement, and score how well each separates the frames whose label implies the movement
(ROC AUC, 0.5 = chance):
- smile: `smile` (corner lift + mouth width) vs mean(mouthSmileLeft/Right): Happy vs the rest;
- jaw opening: `mouth_open` (inner-lip gap / IOD) vs jawOpen: Surprise vs Neutral;
- brow lowering: -`brow_height` vs mean(browDownLeft/Right): Angry vs Neutral.
The labels are of the emotion, not of the movement, so AUCs are an indirect measure; the
comparison is between two measures on identical faces. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SFEW = REPO.parent / "shared" / "datasets" / "sfew" / "Train"


def auc(pos, neg) -> float:
    """P(a positive scores above a negative), ties half (Mann-Whitney)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if not len(pos) or not len(neg):
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    for v in np.unique(allv):                 # average ranks of ties
        m = allv == v
        ranks[m] = ranks[m].mean()
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="at most N stills per class (0: all)")
    ns = ap.parse_args()
    if not SFEW.exists():
        sys.exit(f"needs {SFEW}")
    from facial_feedback.pipeline import Analyzer, AnalyzerConfig
    from facial_feedback.signals import face_signals

    a = Analyzer(AnalyzerConfig(signals=False))
    rows = []  # (label, smile_geo, smile_bs, open_geo, open_bs, brow_geo, brow_bs)
    for d in sorted(SFEW.iterdir()):
        files = sorted(d.glob("*.png"))
        if ns.limit:
            files = files[:ns.limit]
        for p in files:
            fr = a.analyze_image(p)
            faces = [f for f in fr.faces if f.landmarks is not None and f.blendshapes]
            if not faces:
                continue
            f = max(faces, key=lambda f: f.box.area)
            g = face_signals(f.landmarks, f.pose)
            b = f.blendshapes
            rows.append((d.name, g.smile, (b["mouthSmileLeft"] + b["mouthSmileRight"]) / 2,
                         g.mouth_open, b["jawOpen"],
                         -g.brow_height, (b["browDownLeft"] + b["browDownRight"]) / 2))
    lab = np.array([r[0] for r in rows])
    V = np.array([r[1:] for r in rows], float)
    tasks = [("smile", "Happy vs all others", lab == "Happy", lab != "Happy", 0, "smile", "mouthSmile (L+R)/2"),
             ("jaw opening", "Surprise vs Neutral", lab == "Surprise", lab == "Neutral", 2, "mouth_open", "jawOpen"),
             ("brow lowering", "Angry vs Neutral", lab == "Angry", lab == "Neutral", 4, "-brow_height", "browDown (L+R)/2")]
    print(f"{len(rows)} SFEW Train stills with a meshed face\n")
    print("| movement | label split (n pos / n neg) | geometry measure | AUC | blendshape | AUC |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, split, pos, neg, col, gname, bname in tasks:
        print(f"| {name} | {split} ({pos.sum()} / {neg.sum()}) | `{gname}` | {auc(V[pos, col], V[neg, col]):.3f} | "
              f"`{bname}` | {auc(V[pos, col + 1], V[neg, col + 1]):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
