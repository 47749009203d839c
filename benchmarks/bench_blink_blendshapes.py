"""Blinks from the blendshape eyeBlink signal against today's detectors, on ZJU dev clips.

    .venv/bin/python benchmarks/bench_blink_blendshapes.py [FOLDER]

FOLDER (default ../shared/datasets/zju_blinks_dev, research use) holds one clip per sub-folder
(NAME.mp4 or .avi, NAME.tag, NAME.txt; see its README). Every clip runs once through the real
pipeline (`Analyzer.analyze_video`, signals on); per frame we keep the time, the blink events
the signals report, the mesh's eye aspect ratio and the blendshapes' eyeBlinkLeft/Right. Rows:
- facial-feedback: the `blink` and `slow_blink` events of SignalSession (the shipped detector);
- textbook: mean eye aspect ratio below 0.2 for at least two frames;
- eyeBlink > T: the mean of eyeBlinkLeft/Right above T for at least two frames (T fixed in
  advance at 0.5; other values shown as a sweep, not chosen on these clips).
Scoring as the folder's README says: a detection matches a true blink when their intervals,
each widened by 0.1 s, overlap; each true blink matches at most one detection; only detections
inside the clip's annotated time range count. Prints a Markdown table.
(benchmarks/bench_blinks.py, from the blinks work, is the full benchmark of the shipped detector.)
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared" / "datasets" / "zju_blinks_dev"
WIDEN = 0.1
Interval = Tuple[float, float]


def load_truth(folder: Path):
    tag = next(folder.glob("*.tag"))
    txt = tag.with_suffix(".txt")
    times: Dict[int, float] = {}
    for line in txt.read_text().splitlines():
        p = line.replace(",", " ").split()
        if len(p) >= 2:
            try:
                times[int(p[0])] = float(p[1])
            except ValueError:
                pass
    rows, started = [], False
    for line in tag.read_text().splitlines():
        if line.startswith("#start"):
            started = True
            continue
        if not started or line.startswith("#end") or not line.strip():
            continue
        f = line.split(":")
        rows.append((int(f[0]), int(f[1])))
    blinks: Dict[int, List[float]] = {}
    for fid, bid in rows:
        if bid != -1 and fid in times:
            blinks.setdefault(bid, []).append(times[fid])
    ts = [times[f] for f, _ in rows if f in times]
    return [(min(v), max(v)) for v in blinks.values()], (min(ts), max(ts))


def runs(ts, flags, min_frames=2) -> List[Interval]:
    out, start, n = [], None, 0
    for t, f in zip(ts, flags):
        if f:
            if start is None:
                start, n = t, 0
            n += 1
            last = t
        elif start is not None:
            if n >= min_frames:
                out.append((start, last))
            start = None
    if start is not None and n >= min_frames:
        out.append((start, last))
    return out


def score(truth: List[Interval], det: List[Interval], rng: Interval) -> Tuple[int, int, int]:
    det = [d for d in det if rng[0] - WIDEN <= d[0] <= rng[1] + WIDEN]
    used, tp = set(), 0
    for d in sorted(det):
        for i, t in enumerate(sorted(truth)):
            if i not in used and d[0] - WIDEN <= t[1] + WIDEN and t[0] - WIDEN <= d[1] + WIDEN:
                used.add(i)
                tp += 1
                break
    return tp, len(det) - tp, len(truth) - tp


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or [str(DEFAULT)])[0])
    if not root.exists():
        sys.exit(f"needs {root}")
    from facial_feedback.pipeline import Analyzer

    a = Analyzer()
    rows = {"facial-feedback (SignalSession blink events)": [], "textbook (EAR < 0.2, >= 2 frames)": []}
    sweep = (0.3, 0.4, 0.5, 0.6, 0.7)
    for th in sweep:
        rows[f"eyeBlink (L+R)/2 > {th:g}, >= 2 frames"] = []
    clips = sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: int(d.name) if d.name.isdigit() else 0)
    for d in clips:
        video = next(iter(sorted(d.glob("*.mp4"))), None) or next(iter(sorted(d.glob("*.avi"))), None)
        if video is None:
            continue
        truth, rng = load_truth(d)
        ts, ear, bs, events = [], [], [], []
        stream = a.analyze_video(video)
        for fr in stream:
            ts.append(fr.timestamp)
            f = max(fr.faces, key=lambda f: f.box.area) if fr.faces else None
            ear.append(f.signals.ear if f is not None and f.signals is not None else np.nan)
            bs.append((f.blendshapes["eyeBlinkLeft"] + f.blendshapes["eyeBlinkRight"]) / 2
                      if f is not None and f.blendshapes else np.nan)
            if fr.session is not None:
                events += [(e.onset, e.onset + (e.duration or 0.0)) for e in fr.session.ended
                           if e.type in ("blink", "slow_blink")]
        final = getattr(stream, "final_events", None) or []
        events += [(e.onset, e.onset + (e.duration or 0.0)) for e in final if e.type in ("blink", "slow_blink")]
        ear, bs = np.array(ear), np.array(bs)
        dets = [events, runs(ts, ear < 0.2)] + [runs(ts, bs > th) for th in sweep]
        for name, det in zip(rows, dets):
            rows[name].append(score(truth, det, rng))
    print(f"{len(clips)} clips, {sum(len(load_truth(d)[0]) for d in clips)} true blinks\n")
    print("| detector | TP | FP | FN | precision | recall | F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, sc in rows.items():
        tp, fp, fn = (sum(x[i] for x in sc) for i in range(3))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"| {name} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} | {f1:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
