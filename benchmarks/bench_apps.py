"""Server cost of the two apps per frame (apps.reading, apps.wellbeing), against the live analysis
of the same frames, and the cost of a long reading's report.

    .venv/bin/python benchmarks/bench_apps.py [--video PATH] [--frames 200] [--repeat 20]

The first N frames of the video go once through `Analyzer.live_session()` (the reference: the
live analysis per frame, timed); then their FrameResults are fed N times to a fresh
`ReadingSession.update` and `WellbeingMonitor.observe` (timed per frame). Last, a 10-minute
reading at 25 fps (15,000 frames: those FrameResults repeated, re-timed, the paragraph moving on
every 20 s) is built into a report (timed) and its JSON measured. Prints a Markdown table and the
load average; the ratio column is the app's cost as a share of the analysis of a frame.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"


def analysed(video: Path, n: int):
    from facial_feedback.io import iter_frames
    from facial_feedback.pipeline import Analyzer

    out, ms = [], []
    with Analyzer() as analyzer, analyzer.live_session(signals=True) as session:
        for i, t, rgb in iter_frames(video):
            if i >= n:
                break
            a = time.perf_counter()
            out.append(session.process(rgb, t, index=i))
            ms.append((time.perf_counter() - a) * 1000.0)
    return out, ms


def per_frame(make, feed, frames, repeat: int):
    ms = []
    for _ in range(repeat):
        app = make()
        for fr in frames:
            a = time.perf_counter()
            feed(app, fr)
            ms.append((time.perf_counter() - a) * 1000.0)
    return ms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=20)
    ns = ap.parse_args()

    from facial_feedback.apps.reading import ReadingSession, sample_texts
    from facial_feedback.apps.wellbeing import Rules, WellbeingMonitor

    load0 = os.getloadavg()
    frames, ref = analysed(Path(ns.video), ns.frames)
    doc = sample_texts()[0]["doc"]
    n_par = len(doc.paragraphs)
    reading = per_frame(lambda: ReadingSession(doc, started=0.0), lambda rs, fr: rs.update(fr, paragraph=0),
                        frames, ns.repeat)
    wellbeing = per_frame(lambda: WellbeingMonitor(Rules(), start_wall=0.0), lambda m, fr: m.observe(fr),
                          frames, ns.repeat)

    rs = ReadingSession(doc, started=0.0)
    for k in range(15_000):
        t = k / 25
        rs.update(replace(frames[k % len(frames)], timestamp=t), paragraph=min(n_par - 1, int(t // 20)))
    a = time.perf_counter()
    report = rs.report()
    report_ms = (time.perf_counter() - a) * 1000.0
    size_kb = len(json.dumps(report, ensure_ascii=False).encode("utf-8")) / 1000.0
    load1 = os.getloadavg()

    ref_med = statistics.median(ref)
    print(f"{len(frames)} frames of {Path(ns.video).name}, {ns.repeat} runs of each app; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after ({os.cpu_count()} cores)\n")
    print("| per frame | median ms | mean ms | share of the live analysis (median) |")
    print("| --- | --- | --- | --- |")
    print(f"| live analysis (reference) | {ref_med:.2f} | {statistics.fmean(ref):.2f} | 1 |")
    for name, ms in (("ReadingSession.update", reading), ("WellbeingMonitor.observe", wellbeing)):
        med = statistics.median(ms)
        print(f"| {name} | {med:.4f} | {statistics.fmean(ms):.4f} | {med / ref_med:.5f} |")
    print(f"\nreport of a 10-minute reading at 25 fps (15,000 frames): {report_ms:.0f} ms, {size_kb:.0f} kB of JSON")


if __name__ == "__main__":
    main()
