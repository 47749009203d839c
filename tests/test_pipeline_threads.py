"""How the video loop spreads its work over threads (issue 13/15): overlapped stages for one
video, everything in the calling thread for batch workers (one per core), and the same results
either way. Real models on the shared clips."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from facial_feedback.config import AnalyzerConfig
from facial_feedback.detection import FaceDetector
from facial_feedback.pipeline import Session

from .conftest import REPO, media


def native_threads() -> set:
    return set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else set()


def summary(frames):
    return [([f.track_id for f in fr.faces], [f.box for f in fr.faces], [f.emotion.probs for f in fr.faces],
             [round(f.pose.yaw, 4) for f in fr.faces], None if fr.session is None else
             [(e.type, e.onset) for e in fr.session.ended]) for fr in frames]


def test_stream_without_overlap_equals_overlapped_and_starts_no_thread(analyzer):
    path = media("single_face.mp4")
    overlapped = list(analyzer.analyze_video(path))
    seen_py, seen_native = [], []
    before_py = {t.ident for t in threading.enumerate()}
    before_native = native_threads()
    stream = analyzer.analyze_video(path, overlap=False)
    serial = []
    for fr in stream:
        serial.append(fr)
        seen_py.append({t.ident for t in threading.enumerate()} - before_py)
        seen_native.append(native_threads() - before_native)
        assert stream.session.threads == 1  # overlap off: each face model on one thread
    assert len(serial) == len(overlapped) == 72
    assert not any(seen_py), "a Python thread was started beside the caller"
    if before_native:
        assert not any(seen_native), "a native thread (decoder, model thread pool) was started"
    a, b = summary(overlapped), summary(serial)
    for x, y in zip(a, b):
        assert x[0] == y[0] and x[1] == y[1] and x[3] == y[3] and x[4] == y[4]
        for p, q in zip(x[2], y[2]):
            np.testing.assert_allclose(p, q, atol=1e-6)
    assert [fr.timings.keys() for fr in serial][0] >= {"decode_wait", "mesh", "detect", "emotion"}


def test_live_frames_with_and_without_the_helper_thread_agree(analyzer):
    """process() classifies emotions on a helper thread meanwhile (overlap on); off, all in one."""
    from dataclasses import replace

    from facial_feedback.io import iter_frames

    path = media("face_noface.mov")
    out = []
    for overlap in (True, False):
        with Session(analyzer, replace(analyzer.config, overlap=overlap)) as s:
            out.append([s.process(rgb, t, i) for i, t, rgb in iter_frames(path)])
    a, b = summary(out[0]), summary(out[1])
    assert sum(1 for x in a if x[0]) > 20
    for x, y in zip(a, b):
        assert x[0] == y[0] and x[1] == y[1] and x[4] == y[4]


class CountingDetector(FaceDetector):
    """A real detector that counts its passes."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def detect_pass(self, rgb, which):
        self.calls += 1
        return super().detect_pass(rgb, which)


def test_session_uses_the_models_it_is_given(analyzer):
    from facial_feedback.io import iter_frames

    det = CountingDetector()
    s = analyzer.live_session(detector=det)
    assert s._own_detector() is det
    n = 0
    for i, t, rgb in iter_frames(media("single_face.mp4")):
        n += len(s.process(rgb, t, i).faces)
    s.close()
    assert n >= 60 and det.calls >= 2   # its periodic passes ran on the given detector
    rgb = next(iter(iter_frames(media("single_face.mp4"))))[2]
    assert det.detect_pass(rgb, None)    # still usable: the session did not close it
    with pytest.raises(ValueError, match="mode"):
        Session(analyzer, mode="batch")


def test_config_threads_must_not_be_negative():
    with pytest.raises(ValueError, match="threads"):
        AnalyzerConfig(threads=-1)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_batch_worker_runs_a_video_in_one_thread(tmp_path):
    """A batch worker (its own process, as in the pool) analyses a video without starting a
    thread: no decoder thread, no pipeline stage threads, no model thread pools."""
    script = textwrap.dedent(f"""
        import os, sys, threading
        from facial_feedback.batch.worker import Worker
        w = Worker()
        assert w.analyzer.config.threads == 1 and w.analyzer.config.overlap is False
        before = set(os.listdir("/proc/self/task"))
        grew = []
        def progress(done, total):
            now = set(os.listdir("/proc/self/task")) - before
            if now or threading.active_count() > 1:
                grew.append((done, len(now), threading.active_count()))
        out = w.run({str(media("single_face.mp4"))!r}, "single_face.mp4", "single_face.mp4", "video",
                    {str(tmp_path)!r}, progress=progress)
        assert out["row"]["status"] == "ok", out["row"]
        assert out["row"]["frames"] == 72 and out["row"]["face_frames"] == 72, out["row"]
        print("GREW", grew)
        assert not grew, grew
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
