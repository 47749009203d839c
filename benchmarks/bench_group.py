"""Group videos: speed and track-id stability with 1, 2, 5 and 10 faces, ours against `fer` and
against another checkout of facial-feedback (today's main) in the same run.

    .venv/bin/python benchmarks/bench_group.py [--ref-src /tmp/main-ref/src] [--rounds 2]
        [--fer-python benchmarks/.venv-fer/bin/python] [--only faces5,real2]
    .venv/bin/python benchmarks/bench_group.py --tracks OUT.json [--src PATH]   # ids + boxes, every frame
    .venv/bin/python benchmarks/bench_group.py --compare BEFORE.json AFTER.json
    .venv/bin/python benchmarks/bench_group.py --build DIR   # only write the videos (for `batch`)
    .venv/bin/python benchmarks/bench_group.py --profile [--src PATH]   # model calls on faces5

The videos are built at run time into a temporary folder from ../shared/media (nothing is
committed): faces5 is the issue's 10 s, 1000x666 slow zoom over multi_face.jpg; faces1, faces2 and
faces10 put 1, 2 and 10 of that photo's faces (an ellipse around each face and its hair cut out,
100 px faces, the second five mirrored) on a grey 1000x666 frame under the same zoom; real2 is two real clips
side by side (WolfgangLanger_Pexels.mp4 | single_face.mp4 looped), 10 s at 30 fps.

Each run is a fresh process running `Analyzer.analyze_video` as `facial-feedback video` does
(overlap on; max_faces 12 on both facial-feedback sides, so the 10 faces all count); the
Pexels clip (one face, 640x360) runs too, as the issue's single-face reference; sides alternate round by round (ours, reference, fer, ours, ...), the median run
is reported. CPU ms per face-frame: the process's user+sys CPU time over the loop divided by the
faces reported over all frames (both cores count). Id switches per minute: track ids beyond the
video's faces (every face's first id is free), per minute of video; fer has no tracking, so its
boxes get ids from facial_feedback.pipeline.Tracker (the same IoU tracker ours uses).
--tracks writes what `--src`'s code reports on every frame of these videos and the shared clips
(track id and box per face) for comparing two checkouts with --compare BEFORE AFTER.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
W, H = 1000, 666
ZOOM = "zoompan=z='1+0.0005*on':d=1:s=1000x666:fps=30"
SHARED_CLIPS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4")


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def _still_video(image: Path, out: Path) -> None:
    _ffmpeg("-loop", "1", "-i", str(image), "-t", "10", "-r", "30", "-vf", f"scale={W}:{H},{ZOOM}",
            "-pix_fmt", "yuv420p", str(out))


def build_videos(folder: Path) -> dict:
    """{name: (path, faces)}: the group videos, written into folder."""
    import cv2
    import numpy as np

    from facial_feedback.detection import FaceDetector
    from facial_feedback.io import load_image

    photo = load_image(MEDIA / "multi_face.jpg")
    dets = sorted(FaceDetector().detect(photo), key=lambda d: d.box.x)
    tiles = []
    for d in dets:  # each face cut out 2x its box, scaled so the face is 100 px wide
        cx, cy = d.box.center
        half = d.box.w
        crop = photo[int(max(0, cy - half)):int(cy + half), int(max(0, cx - half)):int(cx + half)]
        k = 100.0 / d.box.w
        t = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        # the face and hair only: the neighbours' cut-off faces at the crop's edges greyed out
        mask = np.zeros(t.shape[:2], np.uint8)
        cv2.ellipse(mask, (t.shape[1] // 2, t.shape[0] // 2), (72, 92), 0, 0, 360, 255, -1)
        t[mask == 0] = 120
        tiles.append(t)
    out = {}
    for n in (1, 2, 10):
        canvas = np.full((H, W, 3), 120, np.uint8)
        cols = min(n, 5)
        rows = math.ceil(n / cols)
        for i in range(n):
            t = tiles[i % len(tiles)]
            if i >= len(tiles):
                t = t[:, ::-1]
            cw, ch = W // cols, H // rows
            x0 = (i % cols) * cw + (cw - t.shape[1]) // 2
            y0 = (i // cols) * ch + (ch - t.shape[0]) // 2
            canvas[y0:y0 + t.shape[0], x0:x0 + t.shape[1]] = t
        img = folder / f"faces{n}.png"
        cv2.imwrite(str(img), canvas[:, :, ::-1])
        _still_video(img, folder / f"faces{n}.mp4")
        out[f"faces{n}"] = (folder / f"faces{n}.mp4", n)
    _still_video(MEDIA / "multi_face.jpg", folder / "faces5.mp4")
    out["faces5"] = (folder / "faces5.mp4", 5)
    _ffmpeg("-i", str(MEDIA / "WolfgangLanger_Pexels.mp4"), "-stream_loop", "-1", "-i", str(MEDIA / "single_face.mp4"),
            "-t", "10", "-filter_complex", "[0:v]fps=30,scale=640:360[a];[1:v]fps=30,scale=640:360[b];[a][b]hstack",
            "-pix_fmt", "yuv420p", str(folder / "real2.mp4"))
    out["real2"] = (folder / "real2.mp4", 2)
    return {k: out[k] for k in ("faces1", "faces2", "faces5", "faces10", "real2")}


OURS = r"""
import json, os, sys, time
from facial_feedback.pipeline import Analyzer, AnalyzerConfig
a = Analyzer(AnalyzerConfig(max_faces=12))
frames, lms = [], []
c0, t0 = os.times(), time.perf_counter()
for fr in a.analyze_video(sys.argv[1]):
    frames.append([[f.track_id, round(f.box.x, 1), round(f.box.y, 1), round(f.box.w, 1), round(f.box.h, 1)]
                   for f in fr.faces])
    if len(sys.argv) > 2:
        lms += [f.landmarks for f in fr.faces]
c1, wall = os.times(), time.perf_counter() - t0
if len(sys.argv) > 2:  # every face's mesh, in the order of "frames"
    import numpy as np
    np.save(sys.argv[2], np.array(lms, np.float32).reshape(-1, 478, 3))
print(json.dumps({"wall": wall, "cpu": (c1.user + c1.system) - (c0.user + c0.system), "frames": frames}))
"""

FER = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import cv2
from fer.fer import FER
det = FER()
cap = cv2.VideoCapture(sys.argv[1])
frames = []
c0, t0 = os.times(), time.perf_counter()
while True:
    ok, frame = cap.read()
    if not ok:
        break
    frames.append([[None, *map(float, r["box"])] for r in det.detect_emotions(frame)])
c1, wall = os.times(), time.perf_counter() - t0
print(json.dumps({"wall": wall, "cpu": (c1.user + c1.system) - (c0.user + c0.system), "frames": frames}))
"""


def _child(python: str, code: str, video: Path, src=None, *extra: str) -> dict:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(["nice", "-n", "5", python, "-c", code, str(video), *extra], capture_output=True, text=True,
                         cwd="/tmp", env=env)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def id_switches(frames: list, faces: int, fps: float = 30.0) -> float:
    """Track ids beyond the video's faces, per minute of video; frames without ids (fer) get them
    from the pipeline's IoU Tracker first."""
    from facial_feedback.pipeline import Tracker
    from facial_feedback.types import Box

    if any(f[0] is None for fr in frames for f in fr):
        tr = Tracker()
        frames = [[[t.id, *f[1:]] for t, f in zip(tr.assign([Box(*f[1:]) for f in fr], i / fps), fr)]
                  for i, fr in enumerate(frames)]
    ids = {f[0] for fr in frames for f in fr}
    return max(0, len(ids) - faces) / (len(frames) / fps / 60.0)


def _summary(r: dict, faces: int, rate: float) -> dict:
    n = len(r["frames"])
    face_frames = sum(len(fr) for fr in r["frames"])
    return {"fps": n / r["wall"], "cpu_ms_face": 1000.0 * r["cpu"] / max(1, face_frames),
            "faces": face_frames / n, "switches": id_switches(r["frames"], faces, rate)}


def dump_tracks(out: Path, src=None) -> None:
    """Every frame's (track id, box) per face, for this checkout or `src`, on the group videos
    and the shared clips: {clip: [[[id, x, y, w, h], ...] per frame]}; and the faces' meshes,
    in the same order, in OUT's folder as OUT's stem + _<clip>.npy."""
    with tempfile.TemporaryDirectory() as d:
        videos = {k: p for k, (p, _) in build_videos(Path(d)).items()}
        videos.update({c: MEDIA / c for c in SHARED_CLIPS})
        res = {k: _child(sys.executable, OURS, p, src, str(out.with_name(f"{out.stem}_{k}.npy")))["frames"]
               for k, p in videos.items()}
    out.write_text(json.dumps(res))


PROFILE = r"""
import cProfile, pstats, sys
from facial_feedback.pipeline import Analyzer, AnalyzerConfig
a = Analyzer(AnalyzerConfig(overlap=False))
pr = cProfile.Profile()
pr.enable()
n = sum(1 for _ in a.analyze_video(sys.argv[1]))
pr.disable()
st = pstats.Stats(pr).stats
count = lambda fn, mod: sum(v[1] for k, v in st.items() if k[2] == fn and k[0].endswith(mod))
print(f"{n} frames: landmark runs {count('run', 'landmarks.py')}, mesh_from_box {count('mesh_from_box', 'landmarks.py')}, "
      f"look_closer {count('look_closer', 'landmarks.py')}, detector passes {count('detect_pass', 'detection.py')}")
"""


def profile(src=None) -> None:
    """cProfile's call counts over Analyzer.analyze_video on faces5 (overlap off)."""
    env = dict(os.environ, **({"PYTHONPATH": str(src)} if src else {}))
    with tempfile.TemporaryDirectory() as d:
        _still_video(MEDIA / "multi_face.jpg", Path(d) / "faces5.mp4")
        out = subprocess.run([sys.executable, "-c", PROFILE, str(Path(d) / "faces5.mp4")], capture_output=True,
                             text=True, cwd="/tmp", env=env)
    print(out.stdout.strip() or out.stderr[-2000:])


def compare_tracks(before: Path, after: Path) -> None:
    """Per clip: frames where the faces found differ (count, or a face with no box of IoU > 0.5
    in the other), distinct track ids, ids that do not map one to one, and the largest box
    change among matched faces (share of the face's width)."""
    from facial_feedback.types import Box

    import numpy as np

    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    print("| clip | frames | face-frames before / after | frames with other faces | ids before / after | "
          "ids not one to one | largest box shift (x face width) | mesh distance, % of inter-ocular (mean / p95) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for clip in a:
        fa, fb = a[clip], b[clip]
        la = np.load(before.with_name(f"{before.stem}_{clip}.npy"))
        lb = np.load(after.with_name(f"{after.stem}_{clip}.npy"))
        ka, kb = np.cumsum([0] + [len(x) for x in fa]), np.cumsum([0] + [len(y) for y in fb])
        differ, pairs, shift, dist = 0, set(), 0.0, []
        for fi, (x, y) in enumerate(zip(fa, fb)):
            bx, by = [Box(*f[1:]) for f in x], [Box(*f[1:]) for f in y]
            match = [max(range(len(by)), key=lambda j: u.iou(by[j]), default=None) for u in bx]
            ok = len(x) == len(y) and all(j is not None and u.iou(by[j]) > 0.5 for u, j in zip(bx, match))
            differ += not ok
            for i, (u, j, f) in enumerate(zip(bx, match, x)):
                if j is not None and u.iou(by[j]) > 0.5:
                    pairs.add((f[0], y[j][0]))
                    p, q = la[ka[fi] + i], lb[kb[fi] + j]
                    iod = np.linalg.norm(p[468, :2] - p[473, :2])   # the iris centres
                    dist.append(100.0 * np.linalg.norm(p[:, :2] - q[:, :2], axis=1).mean() / iod)
                    shift = max(shift, max(abs(u.center[0] - by[j].center[0]),
                                           abs(u.center[1] - by[j].center[1])) / max(u.w, 1.0))
        ids_a = {f[0] for fr in fa for f in fr}
        ids_b = {f[0] for fr in fb for f in fr}
        one_to_one = len({p[0] for p in pairs}) == len(pairs) == len({p[1] for p in pairs})
        print(f"| {clip} | {len(fa)} / {len(fb)} | {sum(map(len, fa))} / {sum(map(len, fb))} | {differ} | "
              f"{len(ids_a)} / {len(ids_b)} | {'none' if one_to_one else sorted(pairs)} | {shift:.3f} | " +
              (f"{np.mean(dist):.2f} / {np.percentile(dist, 95):.2f} |" if dist else "- |"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-src", help="src/ of another checkout (e.g. a worktree of main) to run as the reference")
    ap.add_argument("--fer-python", default=str(REPO / "benchmarks" / ".venv-fer" / "bin" / "python"))
    ap.add_argument("--rounds", type=int, default=2, help="runs of each side per video; the median is reported")
    ap.add_argument("--only", help="comma-separated videos (faces1,faces2,faces5,faces10,real2)")
    ap.add_argument("--tracks", type=Path, help="write the ids and boxes of every frame to this JSON and stop")
    ap.add_argument("--src", help="with --tracks or --profile: src/ of the checkout to run (default: this one)")
    ap.add_argument("--profile", action="store_true", help="the model calls on faces5 (cProfile) and stop")
    ap.add_argument("--build", type=Path, help="write the videos into this folder and stop")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"),
                    help="compare two --tracks files (a table) and stop")
    ns = ap.parse_args()
    if ns.profile:
        profile(ns.src)
        return
    if ns.build:
        ns.build.mkdir(parents=True, exist_ok=True)
        print(build_videos(ns.build))
        return
    if ns.compare:
        compare_tracks(*ns.compare)
        return
    if ns.tracks:
        dump_tracks(ns.tracks, ns.src)
        return
    sides = [("ours", sys.executable, OURS, str(REPO / "src"))]
    if ns.ref_src:
        sides.append(("reference", sys.executable, OURS, ns.ref_src))
    if Path(ns.fer_python).exists():
        sides.append(("fer", ns.fer_python, FER, None))
    else:
        print(f"(no fer: {ns.fer_python} missing; run benchmarks/setup_fer_env.sh)", file=sys.stderr)
    from facial_feedback.io import probe_video

    load0 = open("/proc/loadavg").read().split()[:3]
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        videos = build_videos(Path(d))
        videos["pexels"] = (MEDIA / "WolfgangLanger_Pexels.mp4", 1)
        if ns.only:
            videos = {k: v for k, v in videos.items() if k in ns.only.split(",")}
        for name, (path, faces) in videos.items():
            rate = probe_video(path).fps
            runs = {s[0]: [] for s in sides}
            for _ in range(ns.rounds):
                for label, py, code, src in sides:
                    runs[label].append(_summary(_child(py, code, path, src), faces, rate))
                    print(f"{name} {label}: {runs[label][-1]}", file=sys.stderr)
            rows[name] = (faces, {k: sorted(v, key=lambda r: r["fps"])[len(v) // 2] for k, v in runs.items()},
                          {k: [round(r["fps"], 1) for r in v] for k, v in runs.items()})
    load1 = open("/proc/loadavg").read().split()[:3]
    print(f"load average before {' '.join(load0)}, after {' '.join(load1)} ({os.cpu_count()} CPUs)\n")
    cols = [s[0] for s in sides]
    print("| video | faces | " + " | ".join(f"{c} fps (runs)" for c in cols) +
          " | " + " | ".join(f"{c} CPU ms/face-frame" for c in cols) +
          " | " + " | ".join(f"{c} faces/frame" for c in cols) +
          " | " + " | ".join(f"{c} id switches/min" for c in cols) + " | ours/fer fps | ours/reference fps |")
    print("| --- " * (2 + 4 * len(cols) + 2) + "|")
    base = rows.get("faces1", (None, {}))[1].get("ours", {}).get("cpu_ms_face")
    for name, (faces, med, all_fps) in rows.items():
        ratio = lambda a, b: f"{med[a]['fps'] / med[b]['fps']:.2f}x" if a in med and b in med else "-"  # noqa: E731
        print(f"| {name} | {faces} | " + " | ".join(f"{med[c]['fps']:.1f} {all_fps[c]}" for c in cols) +
              " | " + " | ".join(f"{med[c]['cpu_ms_face']:.2f}" for c in cols) +
              " | " + " | ".join(f"{med[c]['faces']:.2f}" for c in cols) +
              " | " + " | ".join(f"{med[c]['switches']:.1f}" for c in cols) +
              f" | {ratio('ours', 'fer')} | {ratio('ours', 'reference')} |")
    if base:
        print("\nours, CPU ms per face-frame against faces1's: " +
              ", ".join(f"{n} {m['ours']['cpu_ms_face'] / base:.2f}x" for n, (_, m, _) in rows.items()))


if __name__ == "__main__":
    if shutil.which("ffmpeg") is None:
        raise SystemExit("needs ffmpeg")
    main()
