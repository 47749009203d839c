"""Blink detection scored on hand-annotated clips in the Eyeblink8 / ZJU `.tag` format.

    python benchmarks/bench_blinks.py [FOLDER] [--timing pts|txt] [--lopo] [--degrade all|COND,...] [--refresh]

FOLDER (default ../shared/datasets/zju_blinks_dev) holds one sub-folder per clip with
`NAME.avi` (or .mp4), `NAME.tag` and `NAME.txt` (see that folder's README). Every clip runs
through the real pipeline (`Analyzer.analyze_video`: face detector, mesh, tracker) once; the
per-frame meshes, head poses and presentation times are cached under
runs/bench_blinks/ (git-ignored), keyed by the clip and the source of the models that made
them, so re-scoring after a change in signals/ takes seconds. The signals are then computed
from the cached meshes by the package's own code (`face_signals`, `SignalSession`, a fresh
session per clip, as a new video would get).

Rows:
- facial-feedback: the blink and slow_blink events of `SignalSession`;
- textbook: mean eye aspect ratio of the mesh's six eye points (FaceSignals.ear) below 0.2 for
  at least two frames.

Scoring (the folder README's rule): a detection matches a true blink when their time
intervals, each widened by 0.1 s, overlap; each true blink matches at most one detection; only
detections inside a clip's annotated time range count. Precision, recall, F1 over all clips and
per condition (the clip name's suffix: FNN frontal, FTN thin glasses, FBN black glasses, UNN
looking up). Also per-eye closure per frame (closed / open) against the tags' full-closure
marks, and complete / incomplete blinks.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DEFAULT = REPO.parent / "shared" / "datasets" / "zju_blinks_dev"
CACHE = REPO / "runs" / "bench_blinks"
WIDEN = 0.1
CONDITIONS = {"FNN": "frontal", "FTN": "thin glasses", "FBN": "black glasses", "UNN": "looking up"}


# --------------------------------------------------------------------------- annotations

@dataclass
class TrueBlink:
    start: float
    end: float
    complete: bool                      # some frame has an eye marked fully closed


@dataclass
class Clip:
    name: str
    video: Path
    blinks: List[TrueBlink]
    t_range: Tuple[float, float]        # annotated time range
    closed: Dict[float, Tuple[bool, bool]] = field(default_factory=dict)  # time -> (LE closed, RE closed)
    timing: str = "txt"                 # where its tag times came from: pts (packets) or txt

    @property
    def condition(self) -> str:
        return self.name.rsplit("_", 1)[-1]


def frame_times(txt: Path) -> Dict[int, float]:
    out = {}
    for line in txt.read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 2:
            out[int(parts[0])] = float(parts[1])
    return out


def packet_times(video: Path) -> Optional[List[float]]:
    """Presentation time of each video packet (ffprobe), repeat packets included: the tag's
    frame id i is the i-th packet. None without ffprobe."""
    import shutil
    import subprocess

    if shutil.which("ffprobe") is None:
        return None
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", str(video)], capture_output=True, text=True, check=False).stdout
    try:
        return [float(x) for x in out.split()]
    except ValueError:
        return None


def tag_fields(tag: Path):
    """The ':'-separated fields of each annotated frame of a `.tag` file (the lines after
    `#start`, comments and blanks skipped)."""
    started = False
    for line in tag.read_text(errors="replace").split("\n"):
        line = line.strip()
        if line == "#start":
            started = True
            continue
        if started and line and not line.startswith("#"):
            yield line.split(":")


def load_clip(folder: Path, timing: str = "pts") -> Optional[Clip]:
    tags = sorted(folder.glob("*.tag"))
    if not tags:
        return None
    tag = tags[0]
    stem = tag.with_suffix("")
    video = next((p for p in (stem.with_suffix(".avi"), stem.with_suffix(".mp4")) if p.exists()), None)
    if video is None:
        raise FileNotFoundError(f"{folder}: no .avi or .mp4 beside {tag.name}")
    times = frame_times(stem.with_suffix(".txt"))
    rows = []
    for f in tag_fields(tag):
        if len(f) < 7:
            continue
        rows.append((int(f[0]), int(f[1]), f[3].strip() == "C", f[5].strip() == "C"))
    if not rows:
        return None
    pts = packet_times(video) if timing == "pts" else None
    used = "pts"
    if pts is not None and len(pts) > max(r[0] for r in rows):
        t_of = lambda i: pts[i]  # noqa: E731
    else:
        # no ffprobe, or fewer packets than tagged frames (a re-encoded copy): the .txt times
        used = "txt"
        t_of = lambda i: times.get(i, (i + 1) / 30.0)  # noqa: E731
    by_id: Dict[int, List[tuple]] = {}
    closed = {}
    for fid, bid, le, re_ in rows:
        closed[t_of(fid)] = (le, re_)
        if bid >= 0:
            by_id.setdefault(bid, []).append((fid, le, re_))
    blinks = []
    for bid in sorted(by_id, key=lambda b: by_id[b][0][0]):
        fr = by_id[bid]
        blinks.append(TrueBlink(t_of(fr[0][0]), t_of(fr[-1][0]), any(le or re_ for _, le, re_ in fr)))
    ids = [r[0] for r in rows]
    return Clip(folder.name if folder.name != "." else stem.name, video, blinks,
                (t_of(min(ids)), t_of(max(ids))), closed, used)


def load_folder(root: Path, timing: str = "pts") -> List[Clip]:
    clips = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            c = load_clip(d, timing)
        except (OSError, ValueError) as e:
            print(f"skipped {d}: {e}", file=sys.stderr)
            continue
        if c is not None:
            c.name = c.video.stem
            clips.append(c)
    return clips


# --------------------------------------------------------------------------- features (cached)

def _fingerprint() -> str:
    """The models and the video loop that make the cached meshes: their sources, and the
    landmark model in use (--landmark-model)."""
    from facial_feedback import _litert

    h = hashlib.sha1()
    pkg = REPO / "src" / "facial_feedback"
    for name in ("detection.py", "landmarks.py", "pipeline.py", "io.py", "topology.py"):
        p = pkg / name
        if p.exists():
            h.update(p.read_bytes())
    h.update((_litert.MODELS_DIR / _litert.LANDMARK_MODEL).read_bytes())
    return h.hexdigest()[:12]


# Degraded copies of the clips, for what unseen cameras and people may differ in. Each acts on
# the decoded frames (times kept: the tags still apply) before the real pipeline sees them.
DEGRADE = {
    "fps15": "frames dropped to at most 15 per second (a frame is kept when it starts a new 1/15 s slot)",
    "fps60": "60 fps: each frame shown twice, the copy halfway to the next frame's time (same content, "
             "twice the frames: time constants must be in seconds)",
    "half": "downscaled to 160x120 (area filter): the face half as big (about 25 px between the eyes)",
    "small": "the 160x120 downscale in the middle of a 640x480 grey frame (a small face in a large picture)",
    "jpeg": "each frame JPEG-compressed at quality 20 (blocking, smeared lid edges)",
    "turned": "perspective warp of the picture as if turned 35 degrees about the vertical axis "
              "(foreshortened, one side nearer; an approximation of a turned head)",
    "dim": "dim and noisy: brightness x 0.35, Gaussian noise sigma 6 grey levels (fixed seed)",
}


def degrade_frames(frames, cond: str):
    """(index, time, rgb) frames of a clip, degraded by one of DEGRADE's conditions."""
    import cv2

    rng = np.random.default_rng(0)
    prev = None
    slot = -1
    for i, t, rgb in frames:
        if cond == "fps15":
            k = int(np.floor(t * 15.0 + 1e-6))
            if k == slot:
                continue
            slot = k
            yield i, t, rgb
        elif cond == "fps60":
            if prev is not None:
                pi, pt, prgb = prev
                yield pi, pt, prgb
                yield pi, (pt + t) / 2.0, prgb
            prev = (i, t, rgb)
        elif cond == "half":
            yield i, t, cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
        elif cond == "small":
            h, w = rgb.shape[:2]
            out = np.full((h * 2, w * 2, 3), 128, np.uint8)
            s = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            y0, x0 = (2 * h - s.shape[0]) // 2, (2 * w - s.shape[1]) // 2
            out[y0:y0 + s.shape[0], x0:x0 + s.shape[1]] = s
            yield i, t, out
        elif cond == "jpeg":
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 20])
            yield i, t, cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        elif cond == "turned":
            h, w = rgb.shape[:2]
            a = np.radians(35.0)
            f = float(w)
            src, dst = [], []
            for x, y in ((0, 0), (w, 0), (w, h), (0, h)):
                X, Y = x - w / 2, y - h / 2
                xr, zr = X * np.cos(a), f + X * np.sin(a)     # the picture's plane turned about its vertical axis
                src.append((x, y))
                dst.append((w / 2 + f * xr / zr, h / 2 + f * Y / zr))
            M = cv2.getPerspectiveTransform(np.float32(src), np.float32(dst))
            yield i, t, cv2.warpPerspective(rgb, M, (w, h), borderMode=cv2.BORDER_REPLICATE)
        elif cond == "dim":
            x = rgb.astype(np.float32) * 0.35 + rng.normal(0.0, 6.0, rgb.shape)
            yield i, t, np.clip(x, 0, 255).astype(np.uint8)
        else:
            raise ValueError(f"unknown condition {cond!r}; one of {', '.join(DEGRADE)}")
    if cond == "fps60" and prev is not None:
        yield prev


def features(clip: Clip, analyzer_factory, refresh: bool = False, degrade: Optional[str] = None) -> dict:
    """Per decoded frame: presentation time, mesh (or NaN), head pose, of the largest face."""
    st = clip.video.stat()
    key = hashlib.sha1(f"{clip.video.resolve()}:{st.st_size}:{int(st.st_mtime)}:{_fingerprint()}".encode()).hexdigest()[:16]
    path = CACHE / "features" / (f"{clip.name}-{key}.npz" if not degrade else f"{clip.name}-{key}-{degrade}.npz")
    if path.exists() and not refresh:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    analyzer = analyzer_factory()
    t, lm, pose, box = [], [], [], []
    if degrade:
        from facial_feedback.io import iter_frames

        def _stream():
            with analyzer.video_session() as session:
                for i, ts, rgb in degrade_frames(iter_frames(clip.video), degrade):
                    yield session.process(rgb, ts, index=i)
        results = _stream()
    else:
        results = analyzer.analyze_video(clip.video)
    for fr in results:
        t.append(fr.timestamp)
        faces = [f for f in fr.faces if f.landmarks is not None]
        if faces:
            f = max(faces, key=lambda f: f.box.w * f.box.h)
            lm.append(np.asarray(f.landmarks, np.float32))
            pose.append([f.pose.yaw, f.pose.pitch, f.pose.roll] if f.pose is not None else [np.nan] * 3)
            box.append([f.box.x, f.box.y, f.box.w, f.box.h])
        else:
            lm.append(np.full((478, 3), np.nan, np.float32))
            pose.append([np.nan] * 3)
            box.append([np.nan] * 4)
    out = {"t": np.asarray(t, np.float64), "lm": np.asarray(lm, np.float32).reshape(-1, 478, 3),
           "pose": np.asarray(pose, np.float64).reshape(-1, 3), "box": np.asarray(box, np.float64).reshape(-1, 4)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **out)
    os.replace(tmp, path)
    return out


def frames_of(feat: dict):
    """FrameResults rebuilt from the cached features (signals recomputed by the package)."""
    from facial_feedback.signals import face_signals
    from facial_feedback.types import Box, Face, FrameResult, HeadPose

    out = []
    for i, t in enumerate(feat["t"]):
        lm = feat["lm"][i]
        faces = ()
        if np.isfinite(lm).all():
            p = feat["pose"][i]
            pose = HeadPose(*map(float, p)) if np.isfinite(p).all() else None
            b = feat["box"][i]
            lm64 = lm.astype(np.float64)
            faces = (Face(Box(*map(float, b)), landmarks=lm64, pose=pose, track_id=1,
                          signals=face_signals(lm64, pose)),)
        out.append(FrameResult(320, 240, faces, index=i, timestamp=float(t)))
    return out


# --------------------------------------------------------------------------- detectors under test

Interval = Tuple[float, float]


def detect_session(frames, config=None) -> Tuple[List[Interval], list, list]:
    """(blink intervals, the blink Events, per-frame (time, TrackState or None)) of a fresh SignalSession."""
    from facial_feedback.signals import SignalConfig, SignalSession

    s = SignalSession(config or SignalConfig())
    events, states = [], []
    for fr in frames:
        snap = s.update(fr)
        events.extend(snap.ended)
        states.append((fr.timestamp, snap.tracks[0] if snap.tracks and snap.tracks[0].present else None))
    events.extend(s.close())
    blinks = [e for e in events if e.type in ("blink", "slow_blink")]
    return [(e.onset, e.onset + e.duration) for e in blinks], blinks, states


def detect_textbook(frames, thr: float = 0.2, min_frames: int = 2) -> List[Interval]:
    """Mean EAR of the two eyes below thr for >= min_frames consecutive frames."""
    out, run = [], []
    for fr in frames:
        fs = fr.faces[0].signals if fr.faces else None
        if fs is not None and fs.ear < thr:
            run.append(fr.timestamp)
            continue
        if len(run) >= min_frames:
            out.append((run[0], run[-1]))
        run = []
    if len(run) >= min_frames:
        out.append((run[0], run[-1]))
    return out


# --------------------------------------------------------------------------- scoring

@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, o: "Score") -> None:
        self.tp += o.tp
        self.fp += o.fp
        self.fn += o.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def match(truth: Sequence[TrueBlink], det: Sequence[Interval], t_range: Interval) -> Tuple[Score, Dict[int, int]]:
    """Greedy in time: each detection takes the earliest unmatched true blink it overlaps
    (intervals widened by WIDEN); detections outside the annotated range are not scored.
    Returns the score and {detection index: true blink index}."""
    lo, hi = t_range
    det = [(i, d) for i, d in enumerate(det) if d[1] >= lo - WIDEN and d[0] <= hi + WIDEN]
    used = set()
    pairs = {}
    for i, (a, b) in det:
        for j, tb in enumerate(truth):
            if j in used:
                continue
            if a - WIDEN <= tb.end + WIDEN and tb.start - WIDEN <= b + WIDEN:
                used.add(j)
                pairs[i] = j
                break
    return Score(len(pairs), len(det) - len(pairs), len(truth) - len(pairs)), pairs


# --------------------------------------------------------------------------- report

def _row(name: str, s: Score) -> str:
    return f"| {name} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} | {s.tp} | {s.fp} | {s.fn} |"


OURS, TEXTBOOK = "facial-feedback", "textbook (EAR < 0.2, >= 2 frames)"


def evaluate(clips: List[Clip], frames: Dict[str, list], config=None) -> dict:
    """Scores of both rows overall, per condition and per clip, plus per-eye closure,
    completeness and recall in the clips' first second."""
    rows: Dict[str, Dict[str, Score]] = {OURS: {}, TEXTBOOK: {}}
    extra = {"eyes": {"right": Score(), "left": Score()}, "frames": 0, "complete_ok": 0, "complete_n": 0,
             "incomplete_ok": 0, "incomplete_n": 0, "first_s": Score(), "later": Score(), "per_clip": {}}
    for c in clips:
        fr = frames[c.name]
        ours, events, states = detect_session(fr, config)
        for row, det in ((OURS, ours), (TEXTBOOK, detect_textbook(fr))):
            sc, pairs = match(c.blinks, det, c.t_range)
            for key in ("all", c.condition):
                rows[row].setdefault(key, Score()).add(sc)
            if row == OURS:
                extra["per_clip"][c.name] = sc
                _completeness(extra, c, events, pairs)
                _eyes(extra, c, states)
    return {"rows": rows, "extra": extra}


def _completeness(extra: dict, c: Clip, events, pairs: Dict[int, int]) -> None:
    for i, j in pairs.items():
        want = c.blinks[j].complete
        got = events[i].details.get("complete")
        if got is None:
            continue
        k = "complete" if want else "incomplete"
        extra[k + "_n"] += 1
        extra[k + "_ok"] += int(bool(got) == want)
    t0 = c.t_range[0]
    matched = set(pairs.values())
    for j, tb in enumerate(c.blinks):
        sc = extra["first_s" if tb.start < t0 + 1.0 else "later"]
        sc.tp += j in matched
        sc.fn += j not in matched


def _eyes(extra: dict, c: Clip, states) -> None:
    """Per annotated frame: each eye closed or open, against the tag's full-closure marks (LE =
    the subject's left eye). A repeat packet shows the frame decoded before it."""
    ts = np.array([t for t, _ in states])
    for t, (le, re_) in c.closed.items():
        k = int(np.searchsorted(ts, t + 1e-3)) - 1
        if k < 0 or states[k][1] is None:
            continue
        st = states[k][1]
        extra["frames"] += 1
        for side, want, got in (("right", re_, getattr(st, "right_closed", None)),
                                ("left", le, getattr(st, "left_closed", None))):
            if got is None:
                continue
            sc = extra["eyes"][side]
            sc.tp += bool(got and want)
            sc.fp += bool(got and not want)
            sc.fn += bool(want and not got)


def person_of(clip_name: str) -> str:
    return clip_name.split("_")[0]


# Leave-one-person-out choice of the detector's free parameters: for each person, the grid
# point with the best F1 on the other people is scored on that person.
GRID = {"blink_prominence": (0.3, 0.35, 0.4), "blink_rel": (0.4, 0.5, 0.6), "blink_min_prominence": (0.22, 0.28, 0.34)}


def lopo(clips: List[Clip], frames: Dict[str, list]) -> Tuple[Score, Dict[str, dict]]:
    import itertools
    from dataclasses import replace

    from facial_feedback.signals import SignalConfig

    keys = list(GRID)
    per_cfg = {}
    for vals in itertools.product(*(GRID[k] for k in keys)):
        cfg = replace(SignalConfig(), **dict(zip(keys, vals)))
        per_cfg[vals] = {c.name: match(c.blinks, detect_session(frames[c.name], cfg)[0], c.t_range)[0] for c in clips}
    people = sorted({person_of(c.name) for c in clips})
    total, chosen = Score(), {}
    default = tuple(getattr(SignalConfig(), k) for k in keys)
    closeness = {v: -sum(abs(a - b) for a, b in zip(v, default)) for v in per_cfg}
    f1s = []
    for vals in per_cfg:
        s = Score()
        for sc in per_cfg[vals].values():
            s.add(sc)
        f1s.append(s.f1)
    chosen["_grid_f1"] = {"min": round(min(f1s), 3), "max": round(max(f1s), 3)}
    for p in people:
        def f1_without(vals):
            s = Score()
            for name, sc in per_cfg[vals].items():
                if person_of(name) != p:
                    s.add(sc)
            return s.f1
        best = max(per_cfg, key=lambda v: (round(f1_without(v), 6), closeness[v]))  # ties: nearest the defaults
        chosen[p] = dict(zip(keys, best))
        for name, sc in per_cfg[best].items():
            if person_of(name) == p:
                total.add(sc)
    return total, chosen


def report(root: Path, clips: List[Clip], res: dict, timing: str, label: str = "") -> None:
    n_true = sum(len(c.blinks) for c in clips)
    n_pts = sum(c.timing == "pts" for c in clips)
    where = (f"packet presentation times (ffprobe) for {n_pts} clips" + (f", the .txt for {len(clips) - n_pts} "
             "(no ffprobe, or fewer packets than tagged frames)" if n_pts < len(clips) else "")
             if timing == "pts" else "the .txt files")
    print(f"{root.name}{label}: {len(clips)} clips of {len({person_of(c.name) for c in clips})} people, {n_true} true blinks "
          f"({sum(not b.complete for c in clips for b in c.blinks)} never fully closed); tag times from {where}\n")
    print("| detector | precision | recall | F1 | TP | FP | FN |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, by in res["rows"].items():
        print(_row(name, by["all"]))
    conds = [k for k in CONDITIONS if any(k in by for by in res["rows"].values())]
    print("\nF1 per condition:\n")
    print("| detector | " + " | ".join(CONDITIONS[k] for k in conds) + " |")
    print("| --- |" + " --- |" * len(conds))
    for name, by in res["rows"].items():
        print(f"| {name} | " + " | ".join(f"{by[k].f1:.3f}" for k in conds) + " |")
    ex = res["extra"]
    print(f"\nrecall of blinks in a clip's first second {ex['first_s'].recall:.3f} "
          f"({ex['first_s'].tp}/{ex['first_s'].tp + ex['first_s'].fn}), later {ex['later'].recall:.3f} "
          f"({ex['later'].tp}/{ex['later'].tp + ex['later'].fn})")
    print(f"complete blinks called complete {ex['complete_ok']}/{ex['complete_n']}, "
          f"incomplete called incomplete {ex['incomplete_ok']}/{ex['incomplete_n']} (matched blinks)")
    print(f"\nper-eye closure per frame ({ex['frames']} annotated frames; 'closed' against the tags' full-closure marks):\n")
    print("| eye | precision | recall | F1 |")
    print("| --- | --- | --- | --- |")
    for side, sc in ex["eyes"].items():
        print(f"| {side} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f} |")
    bad = {k: v for k, v in ex["per_clip"].items() if v.fp or v.fn}
    if bad:
        print("\nclips with errors (facial-feedback): " + ", ".join(f"{k} (FP {v.fp}, FN {v.fn})" for k, v in bad.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT))
    ap.add_argument("--timing", choices=("pts", "txt"), default="pts",
                    help="time of a tag's frame id for the full tables: its packet's presentation time (ffprobe; "
                         "default) or the .txt; the summary gives F1 under both")
    ap.add_argument("--lopo", action="store_true", help="also choose the detector's parameters leave-one-person-out")
    ap.add_argument("--degrade", default="",
                    help="comma-separated conditions to also score the clips under (or 'all'): "
                         + "; ".join(f"{k}: {v}" for k, v in DEGRADE.items()))
    ap.add_argument("--refresh", action="store_true", help="re-run the pipeline even where features are cached")
    ap.add_argument("--landmark-model", help="another .tflite landmark model to run (e.g. a quantized one: "
                    "benchmarks/bench_quant_mesh.py)")
    args = ap.parse_args(argv)
    if args.landmark_model:
        from facial_feedback import _litert

        _litert.LANDMARK_MODEL = str(Path(args.landmark_model).resolve())  # read when a mesh model is made
    root = Path(args.folder)
    clips = load_folder(root, args.timing)
    if not clips:
        print(f"no annotated clips in {root}", file=sys.stderr)
        return 2
    other = "txt" if args.timing == "pts" else "pts"
    clips_other = {c.name: c for c in load_folder(root, other)}
    conds = [c.strip() for c in args.degrade.split(",") if c.strip()]
    if conds == ["all"]:
        conds = list(DEGRADE)
    bad = [c for c in conds if c not in DEGRADE]
    if bad:
        print(f"unknown condition(s) {', '.join(bad)}; known: {', '.join(DEGRADE)}", file=sys.stderr)
        return 2
    analyzer = []

    def factory():
        if not analyzer:
            from facial_feedback.pipeline import Analyzer
            analyzer.append(Analyzer())
        return analyzer[0]

    summary = []
    for cond in [None] + conds:
        t0 = time.perf_counter()
        feats = {}
        for k, c in enumerate(clips):
            feats[c.name] = features(c, factory, args.refresh, cond)
            print(f"\r{k + 1}/{len(clips)} clips", end="", file=sys.stderr, flush=True)
        print(f"\rfeatures of {len(clips)} clips{' (' + cond + ')' if cond else ''} in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t1 = time.perf_counter()
        frames = {c.name: frames_of(feats[c.name]) for c in clips}
        res = evaluate(clips, frames)
        label = f" [{cond}: {DEGRADE[cond]}]" if cond else ""
        print()
        report(root, clips, res, args.timing, label)
        oth = evaluate([clips_other.get(c.name, c) for c in clips], frames)
        print(f"\nscored in {time.perf_counter() - t1:.1f} s")
        row = {"condition": cond or "as recorded", "ours": res["rows"][OURS]["all"],
               "textbook": res["rows"][TEXTBOOK]["all"], "ours_other": oth["rows"][OURS]["all"],
               "textbook_other": oth["rows"][TEXTBOOK]["all"], "per": res["rows"][OURS], "lopo": None}
        if args.lopo:
            sc, chosen = lopo(clips, frames)
            grid = chosen.pop("_grid_f1")
            row["lopo"] = sc
            print(f"\nleave-one-person-out over {len(chosen)} people (grid {GRID}; F1 of the grid's points on all "
                  f"people {grid['min']:.3f}..{grid['max']:.3f}): "
                  f"precision {sc.precision:.3f}, recall {sc.recall:.3f}, F1 {sc.f1:.3f}")
            for p, ch in chosen.items():
                print(f"  {p}: chosen on the others {ch}")
        summary.append(row)
    if len(summary) > 1 or args.lopo:
        print(f"\nSummary (F1; tag times from {args.timing}, and from {other} in brackets):\n")
        cols = [k for k in CONDITIONS if k in summary[0]["per"]]
        print("| condition | facial-feedback P / R / F1 | LOPO F1 | textbook F1 | " + " | ".join(CONDITIONS[k] for k in cols) + " |")
        print("| --- | --- | --- | --- |" + " --- |" * len(cols))
        for r in summary:
            o, tb = r["ours"], r["textbook"]
            lp = f"{r['lopo'].f1:.3f}" if r["lopo"] is not None else "-"
            print(f"| {r['condition']} | {o.precision:.3f} / {o.recall:.3f} / **{o.f1:.3f}** ({r['ours_other'].f1:.3f}) | {lp} "
                  f"| {tb.f1:.3f} ({r['textbook_other'].f1:.3f}) | "
                  + " | ".join(f"{r['per'][k].f1:.3f}" if k in r["per"] else "-" for k in cols) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
