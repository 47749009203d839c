"""More digits for runs saved by bench_parity.py and bench_mesh_truth.py (`--save DIR`), to tell
mesh variants apart that the reports' two decimals do not (docs/benchmarks.md, mp-first-roi):

    .venv/bin/python benchmarks/mesh_digits.py parity DIR [DIR ...]   # DIR/new.pkl vs the first DIR's today.pkl
    .venv/bin/python benchmarks/mesh_digits.py truth DIR [DIR ...]    # DIR/new.pkl vs the first DIR's today.pkl
    .venv/bin/python benchmarks/mesh_digits.py boxes                  # how square the detector's boxes are

Nothing is run again: the saved meshes are scored with the benchmarks' own functions.
"""
from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def boxes() -> None:
    """Height / width of every detection (and of its look_closer re-detection, which photos are
    meshed from) on the ../shared/media photos: what squaring the first ROI can change."""
    import cv2

    from facial_feedback.detection import FaceDetector
    from facial_feedback.landmarks import look_closer

    det = FaceDetector()
    for p in sorted((Path(__file__).resolve().parents[2] / "shared" / "media").glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
        ds = det.detect(rgb)
        near = [n for n in (look_closer(det, rgb, d.box) for d in ds) if n is not None]
        print(f"{p.name}: detections h/w {' '.join(f'{d.box.h / d.box.w:.5f}' for d in ds)}; "
              f"look_closer {' '.join(f'{n.box.h / n.box.w:.5f}' for n in near)}")


def main(argv) -> int:
    if argv == ["boxes"]:
        boxes()
        return 0
    if len(argv) < 2 or argv[0] not in ("parity", "truth"):
        sys.exit(__doc__)
    kind, dirs = argv[0], [Path(d) for d in argv[1:]]
    today = pickle.load(open(dirs[0] / "today.pkl", "rb"))
    for d in dirs:
        new = pickle.load(open(d / "new.pkl", "rb"))
        if kind == "parity":
            import bench_parity as bp

            acc = bp.compare(today, new)["acc"]
            print(f"{d}: photos {100 * np.mean(acc['images'].lm):.4f}% ({len(acc['images'].lm)} faces), "
                  f"videos {100 * np.mean(acc['videos'].lm):.4f}% ({len(acc['videos'].lm)} face-frames) of the IOD")
        else:
            import bench_mesh_truth as bt

            for mode in ("video", "image"):
                o = bt.score(bt.ROOT, {"today": today, "new": new}, mode)["sides"]["new"]
                e, t = np.array(o["err"]), np.array(o["track"])
                print(f"{d} {mode}: corners {100 * e.mean():.3f}% p95 {100 * np.percentile(e, 95):.3f}% "
                      f"tracking {100 * t.mean():.3f}% opening at full closure {np.mean(o['ratio']):.4f} "
                      f"AUC {bt.auc(o['closed'], o['open']):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
