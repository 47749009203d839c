"""The one video loop (Analyzer.analyze_video -> VideoStream) and the files written over it
(video.write_video_outputs): episodes still open at the end are ended by the session itself,
the video is probed once, and outputs appear whole or not at all."""
from __future__ import annotations

import csv

import pytest

from facial_feedback.video import write_video_outputs

from .conftest import media


def test_the_stream_ends_the_episodes_open_at_the_end(analyzer):
    """The face leaves face_noface.mov for good: its face_absent episode is still open at the
    last frame, and the stream hands it over ended (before, ff.analyze_video users lost it)."""
    stream = analyzer.analyze_video(media("face_noface.mov"), every=2)
    frames = list(stream)
    assert frames[-1].session.face_absent
    started = [e for fr in frames for e in fr.session.started if e.type == "face_absent"]
    ended = [e for e in stream.final_events if e.type == "face_absent"]
    assert len(started) == 1 and len(ended) == 1
    assert ended[0].onset == started[0].onset and ended[0].duration > 0
    assert stream.summary["face_absent_episodes"] == 1


def test_outputs_are_whole_or_absent_and_the_video_is_probed_once(analyzer, tmp_path, monkeypatch):
    import facial_feedback.io as fio
    import facial_feedback.pipeline as pipeline

    src = media("single_face.mp4")
    out = {k: tmp_path / f"v.{k}" for k in ("csv", "jsonl", "events.csv", "states.csv", "mp4")}

    def run(progress=None):
        return write_video_outputs(analyzer, src, csv_path=out["csv"], json_path=out["jsonl"],
                                   annotate_path=out["mp4"], events_path=out["events.csv"],
                                   states_path=out["states.csv"], every=3, progress=progress)

    def stop_at_10(done, total):
        if done >= 10:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run(stop_at_10)
    assert list(tmp_path.iterdir()) == []   # nothing half-written, not even a temporary file

    probes = []
    real = fio.probe_video

    def counting(path):
        probes.append(path)
        return real(path)
    monkeypatch.setattr(fio, "probe_video", counting)
    monkeypatch.setattr(pipeline, "probe_video", counting)
    summary = run()
    assert len(probes) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in out.values())
    assert summary.frames_analysed == 24 and summary.info.frame_count == 72
    assert len(list(csv.DictReader(out["csv"].open()))) == 24
    assert summary.to_dict()["video"]["frame_count"] == 72 and summary.session["tracks"]
