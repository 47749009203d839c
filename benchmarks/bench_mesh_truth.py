"""Issue 15: where today's mesh and the new one differ, which one is right? Both against hand
annotations of the ZJU eyeblink clips (../shared/datasets/zju_blinks_dev, 40 clips of 10 people).

    benchmarks/setup_reference_env.sh                       # once: today's code in its own venv
    .venv/bin/python benchmarks/bench_mesh_truth.py [--root DIR] [--markdown]

Each side (today: mediapipe 0.10.21's attention mesh in benchmarks/.reference/venv, as in
bench_parity.py; new: this checkout's LiteRT mesh) runs its own MeshTracker (VIDEO mode, one
face) over every decoded frame of every clip in its own fresh process. The `.tag` files give,
per annotated frame, the four eye corners (clicked by hand) and whether each eye is fully closed;
a tag's frame id is the AVI packet, timed by its presentation time (bench_blinks.load_clip's rule).

- **Eye corners**: each mesh's corners (33, 133, 362, 263) against the hand-clicked ones, in % of
  the annotated inter-ocular distance (between the two eyes' corner midpoints). "mean" is the
  plain error; "tracking" removes each clip's constant offset per corner first (where exactly a
  model puts "the corner" is a convention; how well it follows the corner is not).
- **Lid closure**: each eye's opening (mean gap of the 7 upper/lower lid point pairs over the
  eye's width) at the frames the tags mark fully closed, as a fraction of the same eye's median
  opening over the clip's non-blink frames (0: the lids meet, as they do), and how well the
  opening separates closed frames from non-blink ones (ROC AUC, 1: perfectly).
- Also the two meshes' distance from each other on these clips (bench_parity.py's measure).
Both in VIDEO mode (every frame through MeshTracker) and in IMAGE mode (every 4th frame through
Analyzer.analyze_image as a photo: detector, mesh from the detection, as for photos).
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO.parent / "shared" / "datasets" / "zju_blinks_dev"
REF_PY = REPO / "benchmarks" / ".reference" / "venv" / "bin" / "python"
NEW_PY = REPO / ".venv" / "bin" / "python"
# image-left to image-right as the tags list them: subject's right eye outer, inner, left inner, outer
CORNERS = (33, 133, 362, 263)
RIGHT_LIDS = ((246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155))
STILL_EVERY = 4   # every 4th frame also goes through IMAGE mode (analyze_image) as a photo
LEFT_LIDS = ((466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382))


# ---------------------------------------------------------------- worker side (either venv)
def work(root: str, out_path: str) -> None:
    import cv2

    from facial_feedback.landmarks import MeshTracker
    from facial_feedback.pipeline import Analyzer

    analyzer = Analyzer()
    res = {}
    for video in sorted(Path(root).glob("*/*.avi")) + sorted(Path(root).glob("*/*.mp4")):
        if video.suffix == ".mp4" and video.with_suffix(".avi").exists():
            continue
        tracker = MeshTracker(max_faces=1)
        cap = cv2.VideoCapture(str(video))
        frames, stills = [], {}
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            meshes = tracker.process(rgb)
            frames.append((t, np.asarray(meshes[0], np.float32) if meshes else None))
            if len(frames) % STILL_EVERY == 1:   # IMAGE mode: the frame as a photo
                faces = [f for f in analyzer.analyze_image(rgb).faces if f.landmarks is not None]
                big = max(faces, key=lambda f: f.box.w * f.box.h, default=None)
                stills[len(frames) - 1] = None if big is None else np.asarray(big.landmarks, np.float32)
        cap.release()
        tracker.close()
        res[video.stem] = {"video": frames, "image": stills}
    with open(out_path, "wb") as f:
        pickle.dump(res, f)


# ---------------------------------------------------------------- comparison side
def load_tags(video: Path):
    """Per annotated frame: (time, 4x2 corners or None, LE closed, RE closed, in a blink)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_blinks import frame_times, packet_times, tag_fields

    stem = video.with_suffix("")
    times = frame_times(stem.with_suffix(".txt"))
    rows = []
    for f in tag_fields(stem.with_suffix(".tag")):
        if len(f) < 19:
            continue
        try:
            c = np.array([float(x) for x in f[11:19]]).reshape(4, 2)
        except ValueError:
            c = None
        if c is not None and (c <= 0).any():
            c = None
        rows.append((int(f[0]), c, f[3].strip() == "C", f[5].strip() == "C", int(f[1]) >= 0))
    pts = packet_times(video)
    t_of = (lambda i: pts[i]) if pts is not None and rows and len(pts) > max(r[0] for r in rows) \
        else (lambda i: times.get(i, (i + 1) / 30.0))
    return [(t_of(i), c, le, re_, blink) for i, c, le, re_, blink in rows]


def openness(lm, lids, outer, inner) -> float:
    gap = np.mean([np.linalg.norm(lm[u, :2] - lm[d, :2]) for u, d in lids])
    return float(gap / max(1e-6, np.linalg.norm(lm[outer, :2] - lm[inner, :2])))


def auc(pos, neg) -> float:
    """P(a closed frame's opening < an open frame's); ties count half."""
    pos, neg = np.asarray(pos), np.asarray(neg)
    if not len(pos) or not len(neg):
        return float("nan")
    less = (pos[:, None] < neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return float(less + 0.5 * eq)


def score(root: Path, sides: dict, mode: str = "video") -> dict:
    out = {s: {"err": [], "track": [], "ratio": [], "closed": [], "open": [], "frames": 0, "missing": 0}
           for s in sides}
    pair = []
    clips = 0
    for video in sorted(root.glob("*/*.avi")) + sorted(root.glob("*/*.mp4")):
        if video.stem not in next(iter(sides.values())) or (video.suffix == ".mp4" and video.with_suffix(".avi").exists()):
            continue
        clips += 1
        tags = load_tags(video)
        per = {}
        for s, res in sides.items():
            frames = res[video.stem]["video"]
            stills = res[video.stem]["image"]
            ts = np.array([t for t, _ in frames])
            rows = []
            for t, c, le, re_, blink in tags:
                k = int(np.searchsorted(ts, t + 1e-3)) - 1
                if mode == "image" and k not in stills:
                    continue
                lm = (stills[k] if mode == "image" else frames[k][1]) if k >= 0 else None
                rows.append((lm, c, le, re_, blink))
            per[s] = rows
        for s, rows in per.items():
            o = out[s]
            errs = []
            op_r, op_l = [], []
            for lm, c, le, re_, blink in rows:
                if c is None:
                    continue
                o["frames"] += 1
                if lm is None:
                    o["missing"] += 1
                    continue
                iod = np.linalg.norm(c[:2].mean(0) - c[2:].mean(0))
                errs.append((lm[list(CORNERS), :2] - c) / iod)
                op_r.append((openness(lm, RIGHT_LIDS, 33, 133), re_, blink))
                op_l.append((openness(lm, LEFT_LIDS, 263, 362), le, blink))
            if errs:
                E = np.stack(errs)                                   # frames x 4 x 2
                o["err"] += list(np.linalg.norm(E, axis=2).mean(1))
                o["track"] += list(np.linalg.norm(E - E.mean(0), axis=2).mean(1))
            for ops in (op_r, op_l):
                ref = [v for v, closed, blink in ops if not blink]
                if not ref:
                    continue
                med = float(np.median(ref))
                closed = [v / med for v, cl, _ in ops if cl]
                o["ratio"] += closed
                o["closed"] += closed
                o["open"] += [v / med for v in ref]
        a, b = per["today"], per["new"]
        for (la, c, *_), (lb, *_) in zip(a, b):
            if la is not None and lb is not None:
                iod = np.linalg.norm(la[468, :2] - la[473, :2])
                pair.append(float(np.linalg.norm(la[:, :2] - lb[:, :2], axis=1).mean() / iod))
    return {"sides": out, "pair": pair, "clips": clips}


def report(r: dict, mode: str = "video") -> str:
    L = [f"**{'VIDEO mode (MeshTracker, every frame)' if mode == 'video' else f'IMAGE mode (analyze_image on every {STILL_EVERY}th frame as a photo)'}**: "
         f"{r['clips']} clips; annotated frames with corners: "
         + ", ".join(f"{s} {o['frames']} ({o['missing']} without a mesh)" for s, o in r["sides"].items()), "",
         "| mesh | eye corners: error / IOD, mean | p95 | tracking error (clip offset removed) | "
         "opening at fully-closed frames / open (mean) | closed vs open AUC |",
         "| --- | --- | --- | --- | --- | --- |"]
    for s, o in r["sides"].items():
        e, t = np.array(o["err"]), np.array(o["track"])
        L.append(f"| {s} | {100 * e.mean():.2f}% | {100 * np.percentile(e, 95):.2f}% | {100 * t.mean():.2f}% | "
                 f"{np.mean(o['ratio']):.3f} ({len(o['ratio'])} eye-frames) | {auc(o['closed'], o['open']):.4f} |")
    p = np.array(r["pair"])
    L += ["", f"today vs new on these frames (bench_parity.py's measure): {100 * p.mean():.2f}% of the IOD "
          f"(p95 {100 * np.percentile(p, 95):.2f}%, {len(p)} frames)."]
    return "\n".join(L)


def run_worker(py: Path, root: Path, out: str, variant: str = "") -> None:
    env = dict(os.environ, PYTHONPATH="")
    cwd = REPO / "benchmarks" / ".reference" / "src" if py == REF_PY else REPO
    cmd = [str(py), str(Path(__file__).resolve()), "--worker", str(root), out] + ([f"--variant={variant}"] if variant else [])
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{py} worker failed:\n{r.stderr[-3000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=ROOT, help="folder of clips in the Eyeblink8 .tag format")
    ap.add_argument("--save", metavar="DIR", help="keep the raw meshes (pickles) here")
    ap.add_argument("--variant", default="", help="the new side with MediaPipe's convention(s) where ours "
                    "differ: mp-roi, mp-border, mp-smooth, mp-first-roi, joined by + (benchmarks/mesh_variants.py)")
    ap.add_argument("--today", metavar="PKL", help="today's meshes from an earlier --save (today's side not run again)")
    ap.add_argument("--load", metavar="DIR", help="score meshes saved by an earlier --save (no runs)")
    ns = ap.parse_args()
    if ns.worker:
        if ns.variant:
            sys.path.insert(0, str(REPO / "benchmarks"))
            import mesh_variants
            mesh_variants.apply(ns.variant)
        work(*ns.worker)
        return 0
    if not ns.root.is_dir():
        sys.exit(f"no clips at {ns.root}")
    tmp = Path(ns.load or ns.save or tempfile.mkdtemp(prefix="ff-meshtruth-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    if not ns.load:
        if not REF_PY.exists():
            sys.exit(f"no reference environment at {REF_PY}: run benchmarks/setup_reference_env.sh first")
        for side, py in (("today", REF_PY), ("new", NEW_PY)):
            if side == "today" and ns.today:
                import shutil
                shutil.copy(ns.today, tmp / "today.pkl")
                continue
            t = time.perf_counter()
            run_worker(py, ns.root, str(tmp / f"{side}.pkl"), ns.variant if side == "new" else "")
            print(f"{side}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    sides = {s: pickle.load(open(tmp / f"{s}.pkl", "rb")) for s in ("today", "new")}
    print(report(score(ns.root, sides, "video"), "video"))
    print()
    print(report(score(ns.root, sides, "image"), "image"))
    print(f"load average at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
