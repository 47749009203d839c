"""Issue 15: today's pipeline (MediaPipe 0.10.21, commit d236545) against the new one (LiteRT).

    benchmarks/setup_reference_env.sh                     # once: today's code in its own venv
    .venv/bin/python benchmarks/bench_parity.py [--repeat 3] [--sfew] [--markdown]
    .venv/bin/python benchmarks/bench_parity.py --no-parity --before REV   # speed: also this repo at REV

Each side runs in its own fresh process with its own interpreter and package (the reference in
benchmarks/.reference/venv, which imports the code of d236545; ours in this checkout's .venv),
on the same inputs:
- every test image (../shared/media photos, scikit-image's astronaut and no-face samples, a
  1920x1080 canvas with the astronaut's head pasted at 30-200 px): faces, boxes, meshes, pose,
  emotion labels (IMAGE mode);
- every test video (../shared/media *.mp4 / *.mov) through analyze_video (VIDEO mode, signals
  on): per frame the faces, meshes, pose, emotion labels, and the blink events;
- with --mediapipe-landmarker, a third side: MediaPipe's own Face Landmarker graph (the Tasks
  API of the reference's mediapipe 0.10.21) running the very face_landmarker.task models the new
  pipeline vendors (IMAGE mode on the photos, VIDEO mode with one face on the videos, as
  MediaPipe sets it up: its ROI conventions, its border, its landmark smoothing): how far MediaPipe's
  own conventions for this model land from today's mesh and from ours;
- with --sfew, the 859 SFEW Train stills: how many have a face (IMAGE mode);
- speed, `--repeat` times, alternating the two sides: end-to-end fps on WolfgangLanger_Pexels.mp4
  (analyze_video, signals on, decoding included), live per-frame time (Session.process frame by
  frame on the same frames padded to 640x480, as the live page sends them), peak RSS.
Landmark distances are in x, y only (pixels), divided by the reference face's inter-ocular
distance (between the iris centres). Prints a Markdown report.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MEDIA = SHARED / "media"
REF_PY = REPO / "benchmarks" / ".reference" / "venv" / "bin" / "python"
NEW_PY = REPO / ".venv" / "bin" / "python"
SPEED_VIDEO = MEDIA / "WolfgangLanger_Pexels.mp4"
HAND_BLINKS = {"WolfgangLanger_Pexels.mp4": [153, 201, 248, 288, 385], "single_face.mp4": [25]}
HAND = (96, 141)  # WolfgangLanger: a hand over the eyes (see tests/test_signals_video.py)
SMALL_SIZES = (30, 40, 60, 100, 200)
MP_TASK = REPO / "benchmarks" / ".reference" / "face_landmarker.task"
# WolfgangLanger frames where a hand covers part of her face (eyes, then mouth), looked at
OCCLUDED = ("WolfgangLanger_Pexels.mp4", 60, 219)


# ---------------------------------------------------------------- worker side (either venv)
def group_canvas():
    """1920x1080 grey canvas with the astronaut's head at 30-200 px (fixed crop, no detector)."""
    import cv2
    import skimage.data

    a = skimage.data.astronaut()
    head = a[20:250, 150:320]          # her head with hair and chin; face about 110 px wide
    canvas = np.full((1080, 1920, 3), 120, np.uint8)
    placed = []
    for i, size in enumerate(SMALL_SIZES):
        f = cv2.resize(head, None, fx=size / 110, fy=size / 110, interpolation=cv2.INTER_AREA)
        y, x = 80 + i * 120, 100 + i * 300
        canvas[y:y + f.shape[0], x:x + f.shape[1]] = f
        k = size / 110  # her face is about (172, 68) to (276, 172) in the photo
        placed.append((x + (172 - 150) * k, y + (68 - 20) * k, 104 * k, 104 * k))
    return canvas, placed


def test_images():
    import skimage.data

    from facial_feedback.io import load_image

    out = {}
    for p in sorted(MEDIA.glob("*.jpg")):
        out[p.name] = load_image(p)
    for n in ("astronaut", "coffee", "rocket", "chelsea"):
        out["skimage." + n] = getattr(skimage.data, n)()
    out["group_1080p"] = group_canvas()[0]
    return out


def _face(f):
    return {"box": f.box.to_list(), "score": f.score,
            "lm": None if f.landmarks is None else np.asarray(f.landmarks, np.float32),
            "pose": None if f.pose is None else (f.pose.yaw, f.pose.pitch, f.pose.roll),
            "emotion": None if f.emotion is None else f.emotion.label, "track": f.track_id,
            "bs": getattr(f, "blendshapes", None)}


def work_parity(out_path: str, sfew: bool) -> None:
    from facial_feedback.pipeline import Analyzer

    res = {"images": {}, "videos": {}, "sfew": None}
    a = Analyzer()
    for name, rgb in test_images().items():
        res["images"][name] = [_face(f) for f in a.analyze_image(rgb).faces]
    for p in sorted(list(MEDIA.glob("*.mp4")) + list(MEDIA.glob("*.mov"))):
        frames, blinks = [], []
        for fr in a.analyze_video(p):
            frames.append([_face(f) for f in fr.faces])
            if fr.session is not None:
                blinks += [(e.type, e.onset, e.duration, getattr(e, "track", None)) for e in fr.session.ended
                           if e.type in ("blink", "slow_blink")]
        res["videos"][p.name] = {"frames": frames, "blinks": blinks}
    if sfew:
        found, files = 0, sorted((SHARED / "datasets" / "sfew" / "Train").glob("*/*.png"))
        missed = []
        for p in files:
            n = len(a.analyze_image(p).faces)
            found += n > 0
            if n == 0:
                missed.append(str(p.relative_to(SHARED)))
        res["sfew"] = {"files": len(files), "found": found, "missed": missed}
    with open(out_path, "wb") as f:
        pickle.dump(res, f)


def work_mpfl(out_path: str) -> None:
    """MediaPipe's Face Landmarker (Tasks API) with face_landmarker.task on the same inputs, in the
    reference venv. Faces as work_parity writes them (box from the mesh, no pose/emotion)."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    def faces(res, W, H):
        out = []
        for fl in res.face_landmarks:
            lm = np.array([(p.x * W, p.y * H, p.z * W) for p in fl], np.float32)
            x0, y0 = lm[:, :2].min(0)
            x1, y1 = lm[:, :2].max(0)
            out.append({"box": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], "lm": lm,
                        "pose": None, "emotion": None})
        return out

    def image(rgb):
        return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))

    res = {"images": {}, "videos": {}}
    base = BaseOptions(model_asset_path=str(MP_TASK))
    opts = vision.FaceLandmarkerOptions(base_options=base, running_mode=vision.RunningMode.IMAGE, num_faces=10)
    with vision.FaceLandmarker.create_from_options(opts) as fl:
        for name, rgb in test_images().items():
            res["images"][name] = faces(fl.detect(image(rgb)), rgb.shape[1], rgb.shape[0])
    for p in sorted(list(MEDIA.glob("*.mp4")) + list(MEDIA.glob("*.mov"))):
        opts = vision.FaceLandmarkerOptions(base_options=base, running_mode=vision.RunningMode.VIDEO, num_faces=1)
        frames = []
        with vision.FaceLandmarker.create_from_options(opts) as fl:
            cap = cv2.VideoCapture(str(p))
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                frames.append(faces(fl.detect_for_video(image(rgb), int(len(frames) * 1000 / fps)), rgb.shape[1], rgb.shape[0]))
            cap.release()
        res["videos"][p.name] = {"frames": frames, "blinks": []}
    with open(out_path, "wb") as f:
        pickle.dump(res, f)


def work_emotion_xcheck(ref_path: str, new_path: str, out_path: str) -> None:
    """The emotion labels of ONE emotion model (this checkout's) on each side's mesh of the same
    face in the same frame, unsmoothed: what the mesh alone changes in the labels (the two sides'
    own labels also differ by their emotion models, which changed after d236545)."""
    from facial_feedback.emotion import EmotionModel
    from facial_feedback.io import iter_frames
    from facial_feedback.types import Box

    ref, new = (pickle.load(open(p, "rb")) for p in (ref_path, new_path))
    emo = EmotionModel()

    def labels(rgb, faces_ref, faces_new):
        pairs = [(r, n) for r, n in _pairs(faces_ref, faces_new) if r["lm"] is not None and n["lm"] is not None]
        if not pairs:
            return []
        faces = [(f["lm"], Box(*f["box"])) for pair in pairs for f in pair]
        got = [e.label for e in emo.predict(rgb, faces)]
        return list(zip(got[0::2], got[1::2]))

    out = {"images": [], "videos": []}
    for name, rgb in test_images().items():
        out["images"] += labels(rgb, ref["images"][name], new["images"][name])
    for name in ref["videos"]:
        fr_ref, fr_new = ref["videos"][name]["frames"], new["videos"][name]["frames"]
        for i, _, rgb in iter_frames(MEDIA / name):
            if i < len(fr_ref) and i < len(fr_new):
                out["videos"] += labels(rgb, fr_ref[i], fr_new[i])
    with open(out_path, "wb") as f:
        pickle.dump(out, f)


def work_speed(out_path: str, blendshapes: bool = True) -> None:
    import resource

    import cv2

    from facial_feedback.io import iter_frames
    from facial_feedback.pipeline import Analyzer, AnalyzerConfig

    t0 = time.perf_counter()
    a = Analyzer() if blendshapes else Analyzer(AnalyzerConfig(blendshapes=False))
    load = time.perf_counter() - t0
    stages, n = {}, 0
    t0 = time.perf_counter()
    for fr in a.analyze_video(SPEED_VIDEO):
        n += 1
        for k, v in fr.timings.items():
            stages.setdefault(k, []).append(v)
    wall = time.perf_counter() - t0
    video_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # live: one frame at a time (no pipelining), 640x480 as the page sends it; CPU time is the
    # process's during the calls only
    live, live_stages, cpu = [], {}, 0.0
    with a.live_session() as s:
        for i, _, rgb in iter_frames(SPEED_VIDEO):
            h = rgb.shape[0]
            pad = (480 - h) // 2
            if h < 480:
                rgb = cv2.copyMakeBorder(rgb, pad, 480 - h - pad, 0, 0, cv2.BORDER_CONSTANT)
            c, t = time.process_time(), time.perf_counter()
            fr = s.process(rgb, i / 23.976)
            live.append((time.perf_counter() - t) * 1000)
            cpu += time.process_time() - c
            for k, v in fr.timings.items():
                live_stages.setdefault(k, []).append(v)
    live_cpu = cpu * 1000 / len(live)
    with open(out_path, "w") as f:
        json.dump({"frames": n, "fps": n / wall, "load_s": load,
                   "stages": {k: statistics.mean(v) for k, v in stages.items()},
                   "live_median_ms": statistics.median(live), "live_mean_ms": statistics.mean(live),
                   "live_p90_ms": sorted(live)[int(0.9 * len(live))], "live_cpu_ms": live_cpu,
                   "live_stages": {k: statistics.median(v) for k, v in live_stages.items()},
                   "maxrss_mb": video_rss, "maxrss_live_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "loadavg": os.getloadavg()[0]}, f)


# Stages timed by work_stages: (module, attribute path, name); those a side lacks are skipped.
STAGES = (
    ("facial_feedback.landmarks", "MeshTracker.process", "tracking mesh (crop, model, ROI)"),  # before issue 20
    ("facial_feedback.landmarks", "MeshTracker.follow", "tracking mesh (crop, model, ROI)"),   # since
    ("facial_feedback.landmarks", "crop_roi", "  of which: ROI crop"),
    ("facial_feedback._litert", "Model.run", None),   # split by model file below
    ("facial_feedback._litert", "Model.run_filled", None),   # the same, input written in place
    ("facial_feedback.detection", "FaceDetector.detect_pass", "detector passes"),
    ("facial_feedback.emotion", "EmotionModel.predict", "emotion (crop + ONNX, 2 views)"),
    ("facial_feedback.blendshapes", "BlendshapeModel.predict", "blendshapes (52)"),
    ("facial_feedback.pipeline", "head_pose", "head pose"),
    ("facial_feedback.signals", "face_signals", "signals: per-face geometry"),
    ("facial_feedback.signals", "SignalSession.update", "signals: events and states"),
)


def work_stages(out_path: str) -> None:
    """CPU per frame of each stage: Session.process frame by frame on the decoded frames of
    SPEED_VIDEO (VIDEO mode, one thread of ours: overlap off), each stage's process CPU time
    (every thread of the process, so MediaPipe's own graph threads count) around its calls."""
    import importlib

    from facial_feedback.io import iter_frames
    from facial_feedback.pipeline import Analyzer, AnalyzerConfig

    cpu, wall, calls = {}, {}, {}

    def wrap(owner, attr, name):
        f = getattr(owner, attr)

        def timed(*a, **kw):
            key = name if name is not None else "model " + a[0].name
            c, t = time.process_time(), time.perf_counter()
            try:
                return f(*a, **kw)
            finally:
                cpu[key] = cpu.get(key, 0.0) + time.process_time() - c
                wall[key] = wall.get(key, 0.0) + time.perf_counter() - t
                calls[key] = calls.get(key, 0) + 1
        setattr(owner, attr, timed)

    for mod, path, name in STAGES:
        try:
            owner = importlib.import_module(mod)
        except ImportError:
            continue
        *outer, attr = path.split(".")
        for o in outer:
            owner = getattr(owner, o, None)
        if owner is not None and hasattr(owner, attr):
            wrap(owner, attr, name)
    fields = getattr(AnalyzerConfig, "__dataclass_fields__", {})
    a = Analyzer(AnalyzerConfig(overlap=False) if "overlap" in fields else AnalyzerConfig())
    frames = list(iter_frames(SPEED_VIDEO))
    s = a.video_session()
    warm = 20
    for i, t, rgb in frames[:warm]:
        s.process(rgb, t, i)
    cpu.clear(), wall.clear(), calls.clear()
    c0, t0 = time.process_time(), time.perf_counter()
    for i, t, rgb in frames[warm:]:
        s.process(rgb, t, i)
    n = len(frames) - warm
    res = {"frames": n, "cpu_total": (time.process_time() - c0) * 1000 / n,
           "wall_total": (time.perf_counter() - t0) * 1000 / n,
           "stages": {k: {"cpu": cpu[k] * 1000 / n, "wall": wall[k] * 1000 / n, "calls": calls[k] / n} for k in cpu},
           "loadavg": os.getloadavg()[0]}
    s.close()
    with open(out_path, "w") as f:
        json.dump(res, f)


def stages_report(runs) -> str:
    """runs: [(side, result)]; medians over the runs of each side."""
    by = {side: [r for sd, r in runs if sd == side] for side in ("today", "before", "new")}
    sides = [sd for sd in ("today", "before", "new") if by[sd]]
    names = []
    for _, r in runs:
        names += [k for k in r["stages"] if k not in names]
    order = list(dict.fromkeys([n for _, _, n in STAGES if n] + sorted(n for n in names if n.startswith("model "))))
    names = [n for n in order if n in names] + [n for n in names if n not in order]

    def med(side, key, field="cpu"):
        v = [r["stages"][key][field] for r in by[side] if key in r["stages"]]
        return statistics.median(v) if v else None

    def cell(x):
        return "-" if x is None else f"{x:.2f}"

    L = ["| stage (VIDEO mode, 1 face, frame by frame) | " + " | ".join(f"{sd} CPU ms/frame" for sd in sides)
         + " | new calls/frame |", "| --- " * (len(sides) + 2) + "|"]
    for n in names:
        calls = [r["stages"][n]["calls"] for r in by["new"] if n in r["stages"]]
        L.append(f"| {n} | " + " | ".join(cell(med(sd, n)) for sd in sides) +
                 f" | {cell(statistics.median(calls)) if calls else '-'} |")
    tot = {side: statistics.median(r["cpu_total"] for r in by[side]) for side in by if by[side]}
    wal = {side: statistics.median(r["wall_total"] for r in by[side]) for side in by if by[side]}
    L.append("| **whole frame (process CPU)** | " + " | ".join(f"{tot[sd]:.2f}" for sd in sides) + " | |")
    L.append("| whole frame (wall, one frame at a time) | " + " | ".join(f"{wal[sd]:.2f}" for sd in sides) + " | |")
    loads = ", ".join(f"{r['loadavg']:.1f}" for _, r in runs)
    return "\n".join(["", "### Stage by stage (CPU per frame, medians of the runs)", "", *L, "",
                      f"Load average at the end of each run: {loads}."])


# ---------------------------------------------------------------- comparison side
def run_worker(py: Path, mode: str, out: str, *extra: str, src: str = "") -> None:
    env = dict(os.environ, PYTHONPATH=src)  # src: another checkout's src/ imported instead (--before)
    cwd = REPO / "benchmarks" / ".reference" / "src" if py == REF_PY else REPO
    cmd = [str(py), str(Path(__file__).resolve()), "--worker", mode, out, *extra]
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{py} {mode} failed:\n{r.stderr[-3000:]}")


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    u = a[2] * a[3] + b[2] * b[3] - inter
    return inter / u if u > 0 else 0.0


def _iod(lm) -> float:
    return float(np.linalg.norm(lm[468, :2] - lm[473, :2]))


def _pairs(ref_faces, new_faces):
    """Greedy box matching (IoU > 0.3), best first."""
    cand = sorted(((_iou(r["box"], n["box"]), i, j) for i, r in enumerate(ref_faces)
                   for j, n in enumerate(new_faces)), reverse=True)
    used_r, used_n, out = set(), set(), []
    for iou, i, j in cand:
        if iou > 0.3 and i not in used_r and j not in used_n:
            used_r.add(i)
            used_n.add(j)
            out.append((ref_faces[i], new_faces[j]))
    return out


class Acc:
    def __init__(self):
        self.lm, self.pose, self.emo, self.n_emo = [], [], 0, 0
        self.per_region = {}

    def add(self, r, n):
        if r["lm"] is not None and n["lm"] is not None:
            iod = _iod(r["lm"])
            d = np.linalg.norm(r["lm"][:, :2] - n["lm"][:, :2], axis=1) / iod
            self.lm.append(float(d.mean()))
        if r["pose"] is not None and n["pose"] is not None:
            self.pose.append(np.abs(np.array(r["pose"]) - np.array(n["pose"])))
        if r["emotion"] is not None and n["emotion"] is not None:
            self.n_emo += 1
            self.emo += r["emotion"] == n["emotion"]


def blink_frames(blinks, fps, name):
    out = sorted(round(on * fps) for _, on, _, _ in blinks)
    if name == "WolfgangLanger_Pexels.mp4":
        out = [f for f in out if not HAND[0] <= f <= HAND[1]]
    return out


def fps_of(name: str) -> float:
    import cv2

    cap = cv2.VideoCapture(str(MEDIA / name))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return fps


def compare(ref, new) -> dict:
    rep = {"images": [], "videos": [], "acc": {}}
    img_acc, vid_acc = Acc(), Acc()
    for name in ref["images"]:
        r, n = ref["images"][name], new["images"][name]
        pairs = _pairs(r, n)
        for a, b in pairs:
            img_acc.add(a, b)
        rep["images"].append((name, len(r), len(n), len(pairs)))
    for name in ref["videos"]:
        r, n = ref["videos"][name], new["videos"][name]
        acc = Acc()
        fr_ref = sum(len(x) for x in r["frames"])
        fr_new = sum(len(x) for x in n["frames"])
        for fa, fb in zip(r["frames"], n["frames"]):
            for a, b in _pairs(fa, fb):
                acc.add(a, b)
                vid_acc.add(a, b)
        fps = fps_of(name)
        rep["videos"].append({"name": name, "faces_ref": fr_ref, "faces_new": fr_new,
                              "lm": acc.lm, "pose": acc.pose, "emo": (acc.emo, acc.n_emo),
                              "blinks_ref": blink_frames(r["blinks"], fps, name),
                              "blinks_new": blink_frames(n["blinks"], fps, name),
                              "hand": HAND_BLINKS.get(name)})
    rep["acc"] = {"images": img_acc, "videos": vid_acc}
    canvas_placed = group_canvas()[1]
    rep["group"] = {side: sum(any(_iou(f["box"], p) > 0.3 for f in d["images"]["group_1080p"]) for p in canvas_placed)
                    for side, d in (("ref", ref), ("new", new))}
    return rep


def _regions():
    sys.path.insert(0, str(REPO / "src"))
    from facial_feedback import topology as T

    reg = {"eyes (lid contours)": T.RIGHT_EYE_CONTOUR + T.LEFT_EYE_CONTOUR, "irises": T.RIGHT_IRIS + T.LEFT_IRIS,
           "lips": T.LIPS_OUTER + T.LIPS_INNER, "brows": T.RIGHT_BROW + T.LEFT_BROW, "face contour": T.FACE_OVAL}
    reg = {k: sorted(set(v)) for k, v in reg.items()}
    used = set().union(*map(set, reg.values()))
    reg["the other 340 points"] = sorted(set(range(478)) - used)
    return reg


def _face_frame_diffs(pairs):
    """Per pair: today->new difference of every point in the reference face's own frame (x along
    its eye line), in IODs; and the same for z (each mesh's z centred on its mean)."""
    d2, dz = [], []
    for r, n in pairs:
        a, b = r["lm"], n["lm"]
        iod = _iod(a)
        e = a[263, :2] - a[33, :2]
        c, s_ = e / max(1e-9, np.linalg.norm(e))
        R = np.array([[c, s_], [-s_, c]])
        d2.append(((b[:, :2] - a[:, :2]) @ R.T) / iod)
        dz.append(((b[:, 2] - b[:, 2].mean()) - (a[:, 2] - a[:, 2].mean())) / iod)
    return np.stack(d2), np.stack(dz)


def breakdown(ref, new) -> dict:
    """Where the landmark distance comes from: per region, systematic offset (the same shift of a
    point on every face / frame, in the face's own frame) against the rest, z, occluded frames."""
    sets = {"images": [], "videos": []}
    occ = {"occluded": [], "rest": []}
    for name in ref["images"]:
        sets["images"] += [(a, b) for a, b in _pairs(ref["images"][name], new["images"][name])
                           if a["lm"] is not None and b["lm"] is not None]
    for name in ref["videos"]:
        for i, (fa, fb) in enumerate(zip(ref["videos"][name]["frames"], new["videos"][name]["frames"])):
            pp = [(a, b) for a, b in _pairs(fa, fb) if a["lm"] is not None and b["lm"] is not None]
            sets["videos"] += pp
            occ["occluded" if name == OCCLUDED[0] and OCCLUDED[1] <= i <= OCCLUDED[2] else "rest"] += pp
    out = {"regions": {}, "sets": {}, "occluded": {}}
    for k, pairs in sets.items():
        if not pairs:
            continue
        d2, dz = _face_frame_diffs(pairs)
        dist = np.linalg.norm(d2, axis=2)
        sysoff = d2.mean(0)
        out["sets"][k] = {"n": len(pairs), "mean": float(dist.mean()),
                          "systematic": float(np.linalg.norm(sysoff, axis=1).mean()),
                          "residual": float(np.linalg.norm(d2 - sysoff, axis=2).mean()),
                          "translation": float(np.linalg.norm(d2.mean(1), axis=1).mean()),
                          "z": float(np.abs(dz).mean())}
        for rn, idx in _regions().items():
            out["regions"].setdefault(rn, {"points": len(idx)})[k] = (
                float(dist[:, idx].mean()), float(np.linalg.norm(sysoff[idx], axis=1).mean()))
    for k, pairs in occ.items():
        if pairs:
            d2, _ = _face_frame_diffs(pairs)
            out["occluded"][k] = (len(pairs), float(np.linalg.norm(d2, axis=2).mean()))
    return out


def fmt_stats(v):
    if not v:
        return "-"
    return f"{statistics.mean(v) * 100:.2f}% (p95 {np.percentile(v, 95) * 100:.2f}%, max {max(v) * 100:.2f}%)"


def report(rep, ref, new, speeds) -> str:
    L = ["### Faces per test image (IMAGE mode)", "",
         "| image | today | new | matched |", "| --- | --- | --- | --- |"]
    for name, a, b, m in rep["images"]:
        L.append(f"| {name} | {a} | {b} | {m} |")
    L += ["", f"1080p group canvas, faces of {', '.join(map(str, SMALL_SIZES))} px: today found "
          f"{rep['group']['ref']}/5, new {rep['group']['new']}/5.", ""]
    ia, va = rep["acc"]["images"], rep["acc"]["videos"]
    L += ["### Mesh, pose and emotion against today's", "",
          "| set | face pairs | landmark distance / IOD (mean) | yaw / pitch / roll diff, mean (deg) | max (deg) | same emotion label |",
          "| --- | --- | --- | --- | --- | --- |"]
    for name, acc in (("test images", ia), ("test videos (all frames)", va)):
        P = np.array(acc.pose) if acc.pose else np.zeros((1, 3))
        L.append(f"| {name} | {len(acc.lm)} | {fmt_stats(acc.lm)} | "
                 f"{' / '.join(f'{x:.2f}' for x in P.mean(0))} | {' / '.join(f'{x:.1f}' for x in P.max(0))} | "
                 f"{acc.emo}/{acc.n_emo} = {100 * acc.emo / max(1, acc.n_emo):.1f}% |")
    if rep.get("emotion_xcheck"):
        parts = []
        for k, what in (("images", "test-image faces"), ("videos", "video face-frames")):
            v = rep["emotion_xcheck"][k]
            same = sum(a == b for a, b in v)
            parts.append(f"{same}/{len(v)} {what} = {100 * same / max(1, len(v)):.1f}%")
        L += ["", "Same emotion label with one emotion model (this checkout's, per frame, unsmoothed) on "
              "each side's mesh: " + ", ".join(parts) + "."]
    L += ["", "| video | face-frames today | new | landmark / IOD mean | pose diff mean (deg) | same emotion | blinks today (frame) | blinks new | by hand |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for v in rep["videos"]:
        P = np.array(v["pose"]) if v["pose"] else np.zeros((1, 3))
        e, ne = v["emo"]
        L.append(f"| {v['name']} | {v['faces_ref']} | {v['faces_new']} | "
                 f"{statistics.mean(v['lm']) * 100 if v['lm'] else 0:.2f}% | "
                 f"{' / '.join(f'{x:.2f}' for x in P.mean(0))} | {100 * e / max(1, ne):.1f}% | "
                 f"{v['blinks_ref']} | {v['blinks_new']} | {v['hand'] or '-'} |")
    if rep.get("breakdown"):
        b = rep["breakdown"]
        L += ["", "### Where the landmark distance comes from", "",
              "Each point's today->new difference in the face's own frame (x along the eye line), in % of "
              "the IOD; *systematic*: the length of the point's mean difference over all faces/frames of "
              "the set (the same shift every time: where the two models put that point), the rest varies "
              "face to face and frame to frame.", "",
              "| points | n | photos: mean / systematic | video frames: mean / systematic |", "| --- | --- | --- | --- |"]
        for rn, v in b["regions"].items():
            cells = [f"{100 * v[k][0]:.2f}% / {100 * v[k][1]:.2f}%" if k in v else "-" for k in ("images", "videos")]
            L.append(f"| {rn} | {v['points']} | {cells[0]} | {cells[1]} |")
        for k, v in b["sets"].items():
            L.append(f"| all 478 ({k}) | {v['n']} faces | mean {100 * v['mean']:.2f}%: systematic {100 * v['systematic']:.2f}%, "
                     f"rest {100 * v['residual']:.2f}% (of which a shift of the whole mesh {100 * v['translation']:.2f}%) | "
                     f"z (each mesh centred): {100 * v['z']:.2f}% |")
        if b["occluded"]:
            o = b["occluded"]
            L += ["", f"Video frames with a hand over the face ({OCCLUDED[0]} {OCCLUDED[1]}-{OCCLUDED[2]}): "
                  f"{o.get('occluded', (0, 0))[0]} face-frames at {100 * o.get('occluded', (0, 0))[1]:.2f}%; "
                  f"all other video face-frames: {o.get('rest', (0, 0))[0]} at {100 * o.get('rest', (0, 0))[1]:.2f}%."]
    if rep.get("mpfl"):
        L += ["", "### MediaPipe's own Face Landmarker graph with the same model (`--mediapipe-landmarker`)", "",
              "| set | MediaPipe Face Landmarker vs today's mesh | new vs MediaPipe Face Landmarker | new vs today's (above) |",
              "| --- | --- | --- | --- |"]
        L.append(f"| test videos (all frames) | {fmt_stats(rep['mpfl']['today']['acc']['videos'].lm)} | "
                 f"{fmt_stats(rep['mpfl']['new']['acc']['videos'].lm)} | {fmt_stats(rep['acc']['videos'].lm)} |")
        for vt, vn in zip(rep["mpfl"]["today"]["videos"], rep["mpfl"]["new"]["videos"]):
            if vt["lm"]:
                L.append(f"| {vt['name']} | {100 * statistics.mean(vt['lm']):.2f}% | {100 * statistics.mean(vn['lm']):.2f}% | "
                         f"{100 * statistics.mean(next(v['lm'] for v in rep['videos'] if v['name'] == vt['name'])):.2f}% |")
    if rep.get("mpfl_images"):
        L += ["", "Photos (IMAGE mode; MediaPipe's graph has only the short-range detector here: faces it found "
              "of today's): " + "; ".join(f"{name} {found}/{n}: " + ", ".join(
                  f"{100 * a:.2f}% from today's (new {100 * c:.2f}%)" for a, c in d) for name, n, found, d in rep["mpfl_images"]) + "."]
    if ref.get("sfew") and new.get("sfew"):
        s0, s1 = ref["sfew"], new["sfew"]
        L += ["", f"SFEW Train stills with a face found: today {s0['found']}/{s0['files']} "
              f"({100 * s0['found'] / s0['files']:.1f}%), new {s1['found']}/{s1['files']} "
              f"({100 * s1['found'] / s1['files']:.1f}%); found by new only: "
              f"{len(set(s0['missed']) - set(s1['missed']))}, by today only: {len(set(s1['missed']) - set(s0['missed']))}."]
    if speeds:
        L += ["", "### Speed and memory (alternating runs, fresh process each)", "",
              "| run | side | video fps | video ms/frame by stage | live median ms | live p90 ms | live CPU ms/frame | peak RSS MB (video / +live) | load avg |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        names = list(dict.fromkeys(sd for sd, _ in speeds))
        for i, (side, s) in enumerate(speeds):
            st = ", ".join(f"{k} {v:.2f}" for k, v in s["stages"].items())
            L.append(f"| {i // len(names) + 1} | {side} | {s['fps']:.1f} | {st} | {s['live_median_ms']:.2f} | "
                     f"{s['live_p90_ms']:.2f} | {s['live_cpu_ms']:.2f} | {s['maxrss_mb']:.0f} / {s['maxrss_live_mb']:.0f} | {s['loadavg']:.1f} |")
        by = {side: [s for sd, s in speeds if sd == side] for side in names}
        med = lambda side, k: statistics.median(s[k] for s in by[side])  # noqa: E731
        for side in names[1:]:
            L += ["", f"Ratios {side}/today (medians of the runs): video fps x{med(side, 'fps') / med('today', 'fps'):.2f}, "
                  f"live per-frame time x{med(side, 'live_median_ms') / med('today', 'live_median_ms'):.2f} "
                  f"(p90 x{med(side, 'live_p90_ms') / med('today', 'live_p90_ms'):.2f}, "
                  f"CPU x{med(side, 'live_cpu_ms') / med('today', 'live_cpu_ms'):.2f}), "
                  f"peak RSS x{med(side, 'maxrss_mb') / med('today', 'maxrss_mb'):.2f}."]
        # ratios within each round (the two sides ran one after the other): the noise of a shared machine
        for base in ("today", "before"):
            per = [(a["fps"] / b["fps"], a["live_median_ms"] / b["live_median_ms"])
                   for a, b in zip(by["new"], by[base])] if "new" in by and base in by else []
            if per:
                L += ["", f"Per round, new/{base}: video fps " + ", ".join(f"x{r[0]:.2f}" for r in per) +
                      "; live per-frame time " + ", ".join(f"x{r[1]:.2f}" for r in per) + "."]
        if "before" in by and "new" in by:
            L += ["", f"Ratios new/before (medians): video fps x{med('new', 'fps') / med('before', 'fps'):.2f}, "
                  f"live per-frame time x{med('new', 'live_median_ms') / med('before', 'live_median_ms'):.2f} "
                  f"(CPU x{med('new', 'live_cpu_ms') / med('before', 'live_cpu_ms'):.2f})."]
    return "\n".join(L)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, metavar=("MODE", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--sfew", action="store_true", help="also count faces found on the 859 SFEW Train stills")
    ap.add_argument("--repeat", type=int, default=3, help="speed runs per side (0: none)")
    ap.add_argument("--no-parity", action="store_true", help="speed only")
    ap.add_argument("--without-blendshapes", action="store_true",
                    help="speed runs of the new side with the blendshape model off too (today has none)")
    ap.add_argument("--stages", type=int, default=0, metavar="N",
                    help="also time each stage frame by frame (CPU per frame), N runs per side")
    ap.add_argument("--variant", default="", help="the new side with MediaPipe's convention(s) where ours "
                    "differ: mp-roi, mp-border, mp-smooth, mp-first-roi, joined by + (benchmarks/mesh_variants.py)")
    ap.add_argument("--mediapipe-landmarker", action="store_true",
                    help="also run MediaPipe's own Face Landmarker graph with the same models (reference venv)")
    ap.add_argument("--save", metavar="DIR", help="keep the raw results (pickles/JSON) here")
    ap.add_argument("--today", metavar="PKL", help="today's parity results from an earlier --save "
                    "(DIR/today.pkl: today's side not run again, e.g. to compare --variant runs)")
    ap.add_argument("--before", metavar="REV", help="speed and stage runs also of this checkout's src/ at git "
                    "revision REV (a 'before' side, in this .venv): what a change did, measured in the same run")
    ns, extra = ap.parse_known_args()
    if ns.worker:
        mode, out = ns.worker
        if ns.variant:
            import mesh_variants
            mesh_variants.apply(ns.variant)
        if mode == "parity":
            work_parity(out, ns.sfew or "--sfew" in extra)
        elif mode == "stages":
            work_stages(out)
        elif mode == "mpfl":
            work_mpfl(out)
        elif mode == "emotion":
            work_emotion_xcheck(*extra[:2], out)
        else:
            work_speed(out, blendshapes="--no-blendshapes" not in extra)
        return 0
    if not REF_PY.exists():
        sys.exit(f"no reference environment at {REF_PY}: run benchmarks/setup_reference_env.sh first")
    tmp = Path(ns.save or tempfile.mkdtemp(prefix="ff-parity-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    out = []
    if not ns.no_parity:
        if ns.today and Path(ns.today).resolve() != (tmp / "today.pkl").resolve():
            (tmp / "today.pkl").write_bytes(Path(ns.today).read_bytes())
        for side, py in (("today", REF_PY), ("new", NEW_PY)):
            if side == "today" and ns.today:
                continue
            t = time.perf_counter()
            run_worker(py, "parity", str(tmp / f"{side}.pkl"), *(["--sfew"] if ns.sfew else []),
                       *([f"--variant={ns.variant}"] if ns.variant and side == "new" else []))
            print(f"{side}: parity run {time.perf_counter() - t:.0f} s", file=sys.stderr)
        ref = pickle.load(open(tmp / "today.pkl", "rb"))
        new = pickle.load(open(tmp / "new.pkl", "rb"))
        run_worker(NEW_PY, "emotion", str(tmp / "emotion.pkl"), str(tmp / "today.pkl"), str(tmp / "new.pkl"))
        rep = compare(ref, new)
        rep["emotion_xcheck"] = pickle.load(open(tmp / "emotion.pkl", "rb"))
        rep["breakdown"] = breakdown(ref, new)
        if ns.mediapipe_landmarker:
            if not MP_TASK.exists():
                sys.exit(f"no {MP_TASK}: run benchmarks/setup_reference_env.sh again")
            run_worker(REF_PY, "mpfl", str(tmp / "mpfl.pkl"))
            mpfl = pickle.load(open(tmp / "mpfl.pkl", "rb"))
            rep["mpfl"] = {"today": compare(ref, mpfl), "new": compare(mpfl, new)}
            rep["mpfl_images"] = []
            for name in ref["images"]:
                d = []
                for a, b in _pairs(ref["images"][name], mpfl["images"][name]):
                    c = _pairs([a], new["images"][name])
                    if a["lm"] is not None and c and c[0][1]["lm"] is not None:
                        iod = _iod(a["lm"])
                        d.append((float(np.linalg.norm(a["lm"][:, :2] - b["lm"][:, :2], axis=1).mean() / iod),
                                  float(np.linalg.norm(a["lm"][:, :2] - c[0][1]["lm"][:, :2], axis=1).mean() / iod)))
                if ref["images"][name]:
                    rep["mpfl_images"].append((name, len(ref["images"][name]), len(mpfl["images"][name]), d))
    speeds = []
    before_src = ""
    if ns.before:
        bdir = tmp / "before"
        bdir.mkdir(exist_ok=True)
        arch = subprocess.run(["git", "-C", str(REPO), "archive", ns.before, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(bdir)], input=arch.stdout, check=True)
        before_src = str(bdir / "src")
        print(f"before: {ns.before} ({before_src})", file=sys.stderr)
    sides = [("today", REF_PY, ()), ("new", NEW_PY, ())]
    if ns.before:
        sides.insert(1, ("before", NEW_PY, ()))
    if ns.without_blendshapes:
        sides.append(("new, no blendshapes", NEW_PY, ("--no-blendshapes",)))
    for i in range(ns.repeat):
        order = sides if i % 2 == 0 else sides[::-1]
        for side, py, args in order:
            p = tmp / f"speed_{side.replace(' ', '_').replace(',', '')}_{i}.json"
            run_worker(py, "speed", str(p), *args, src=before_src if side == "before" else "")
            speeds.append((side, json.loads(p.read_text())))
    names = [sd for sd, _, _ in sides]
    speeds = [s for group in zip(*[[s for s in speeds if s[0] == n] for n in names]) for s in group]
    stage_runs = []
    stage_sides = [("today", REF_PY)] + ([("before", NEW_PY)] if ns.before else []) + [("new", NEW_PY)]
    for i in range(ns.stages):
        order = stage_sides if i % 2 == 0 else stage_sides[::-1]
        for side, py in order:
            p = tmp / f"stages_{side}_{i}.json"
            run_worker(py, "stages", str(p), src=before_src if side == "before" else "")
            stage_runs.append((side, json.loads(p.read_text())))
    if not ns.no_parity:
        out.append(report(rep, ref, new, speeds))
    else:
        txt = report({"images": [], "videos": [], "acc": {"images": Acc(), "videos": Acc()},
                      "group": {"ref": "-", "new": "-"}}, {}, {}, speeds)
        out.append(txt[txt.index("### Speed"):] if "### Speed" in txt else "")  # no empty parity tables
    if stage_runs:
        out.append(stages_report(stage_runs))
    print(f"load average at end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
