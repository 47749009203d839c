"""Head pitch of faces looking into the camera (issue 19): three estimators on the same meshes.

- before: the hand-picked axes head_pose used until issue 19 (eye corners + face edges for x,
  forehead midline -> nose tip/subnasale for y) less a fixed 8.5-degree zero, kept here only
  to compare;
- mp33: a weighted Procrustes fit to MediaPipe's canonical face on all 33 points of its basis
  (MediaPipe's face-geometry method as is: cheeks, nostril wings and jaw line included);
- shipped: landmarks.head_pose, the same fit on the basis points expression barely moves
  (face_geometry.HEAD_FRAME_POINTS).

    .venv/bin/python benchmarks/head_pitch.py [--every 2] [--zju-every 5]

Prints Markdown: per photo face; per clip the 10th/50th/90th percentiles of pitch over all
frames, over smiling frames (blendshapes mouthSmileLeft/Right mean > 0.5) and the others, and of
yaw and roll; the 1-s medians of WolfgangLanger_Pexels.mp4; and on the ZJU dev clips (people
looking at a camera; *_UNN: looking upward) the percentiles of the clips' median pitch.
docs/signals.md ("Head pitch (issue 19)") quotes it.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
MEDIA = SHARED / "media"
ZJU = SHARED / "datasets" / "zju_blinks_dev"
CLIPS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov")


def _angles(R: np.ndarray):
    """(yaw, pitch, roll) of a head rotation, as landmarks.head_pose reads them."""
    n = -R[:, 2]
    return (math.degrees(math.atan2(n[0], -n[2])), math.degrees(math.atan2(-n[1], math.hypot(n[0], n[2]))),
            math.degrees(math.atan2(R[1, 0], R[1, 1])))


def before(lm):
    """The estimator replaced in issue 19 (its code, verbatim in effect), for comparison."""
    p = np.asarray(lm, dtype=np.float64)
    x = p[[263, 362, 454]].mean(0) - p[[33, 133, 234]].mean(0)
    x /= np.linalg.norm(x)
    down = p[[1, 2, 4]].mean(0) - p[[10, 151, 9]].mean(0)
    y = down - x * (down @ x)
    y /= np.linalg.norm(y)
    yaw, pitch, roll = _angles(np.stack([x, y, np.cross(x, y)], axis=1))
    return yaw, pitch - 8.5, roll


def mp33(lm):
    from facial_feedback.face_geometry import canonical_face, rigid_rotation
    return _angles(rigid_rotation(lm, sorted(canonical_face()[1])))


def shipped(lm):
    from facial_feedback.landmarks import head_pose
    p = head_pose(lm)
    return p.yaw, p.pitch, p.roll


ESTIMATORS = {"before": before, "mp33": mp33, "shipped": shipped}


def _smile(face) -> float:
    b = face.blendshapes
    return 0.0 if b is None else (b["mouthSmileLeft"] + b["mouthSmileRight"]) / 2


def _pct(a) -> str:
    return "/".join(f"{v:.1f}" for v in np.percentile(a, [10, 50, 90])) if len(a) else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=2, help="every n-th frame of the shared clips")
    ap.add_argument("--zju-every", type=int, default=5, help="every n-th frame of the ZJU clips (0: skip them)")
    args = ap.parse_args(argv)
    from skimage import data

    from facial_feedback import Analyzer
    from facial_feedback.io import load_image

    names = list(ESTIMATORS)
    with Analyzer() as an:
        print("| photo face | smile | " + " | ".join(f"{k} pitch" for k in names) + " |")
        print("| --- | --- |" + " --- |" * len(names))
        for name, img in (("single_face.jpg", load_image(MEDIA / "single_face.jpg")),
                          ("multi_face.jpg", load_image(MEDIA / "multi_face.jpg")), ("skimage astronaut", data.astronaut())):
            for i, f in enumerate(an.analyze_image(img).faces):
                print(f"| {name} face {i + 1} (x {f.box.x:.0f}) | {_smile(f):.2f} | "
                      + " | ".join(f"{ESTIMATORS[k](f.landmarks)[1]:.1f}" for k in names) + " |")
        print()
        print("| clip | frames (smiling) | estimator | pitch p10/p50/p90 all | smiling | not smiling | max abs pitch | yaw p10/p50/p90 | roll p10/p50/p90 |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        wolf = None
        for clip in CLIPS:
            faces = [(fr.timestamp, fr.faces[0]) for fr in an.analyze_video(MEDIA / clip, every=args.every) if fr.faces]
            t = np.array([ts for ts, _ in faces])
            sm = np.array([_smile(f) for _, f in faces]) > 0.5
            A = {k: np.array([e(f.landmarks) for _, f in faces]) for k, e in ESTIMATORS.items()}
            for k in names:
                a = A[k]
                print(f"| {clip} | {len(t)} ({int(sm.sum())}) | {k} | {_pct(a[:, 1])} | {_pct(a[sm, 1])} | {_pct(a[~sm, 1])} | "
                      f"{np.abs(a[:, 1]).max():.1f} | {_pct(a[:, 0])} | {_pct(a[:, 2])} |")
            if clip.startswith("Wolfgang"):
                wolf = (t, sm, A)
        t, sm, A = wolf
        print("\nWolfgangLanger_Pexels.mp4, 1-s medians of pitch (s: smiling share; " + " / ".join(names) + "):")
        print(", ".join(f"{s}: {sm[t.astype(int) == s].mean():.0%}; "
                        + "/".join(f"{np.median(A[k][t.astype(int) == s, 1]):.0f}" for k in names) for s in sorted({int(v) for v in t})))
        if args.zju_every and ZJU.is_dir():
            print("\n| ZJU dev clips | clips | estimator | clip median pitch p10/p50/p90 | min..max | frames with abs pitch > 8 |")
            print("| --- | --- | --- | --- | --- | --- |")
            for kind, suffixes in (("frontal (FNN, FTN, FBN)", ("FNN", "FTN", "FBN")), ("looking upward (UNN)", ("UNN",))):
                clips = sorted(p for p in ZJU.glob("*/*.avi") if p.stem.endswith(suffixes))
                per = [np.array([[ESTIMATORS[k](fr.faces[0].landmarks)[1] for k in names]
                                 for fr in an.analyze_video(p, every=args.zju_every) if fr.faces]) for p in clips]
                per = [a for a in per if len(a)]
                for j, k in enumerate(names):
                    med = np.array([np.median(a[:, j]) for a in per])
                    allp = np.concatenate([a[:, j] for a in per])
                    print(f"| {kind} | {len(per)} | {k} | {_pct(med)} | {med.min():.1f}..{med.max():.1f} | "
                          f"{np.mean(np.abs(allp) > 8):.0%} of {len(allp)} |")
    with open("/proc/loadavg") as f:
        print(f"\nload average: {' '.join(f.read().split()[:3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
