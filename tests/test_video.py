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


def _streams(path, what="codec_name"):
    import json
    import subprocess

    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration:format=duration",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    if what == "duration":
        return float(doc["format"]["duration"])
    return {s["codec_type"]: s[what] for s in doc["streams"]}


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory):
    """single_face.mp4 with a 440 Hz tone as its sound track (instead of its own), and without sound."""
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("needs ffmpeg (scripts/setup_web.sh --browser)")
    out = tmp_path_factory.mktemp("sound") / "with_tone.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media("single_face.mp4")), "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=10", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                    "-c:a", "aac", "-shortest", str(out)], check=True)
    silent = out.with_name("silent.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media("single_face.mp4")), "-an", "-c:v", "copy",
                    str(silent)], check=True)
    short = out.with_name("short_sound.mp4")   # the sound stops after 0.5 s of the 2.4
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media("single_face.mp4")), "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=0.5", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                    "-c:a", "aac", str(short)], check=True)
    assert _streams(out).get("audio") == "aac" and "audio" not in _streams(silent)
    return out


@pytest.mark.parametrize("ext,video,audio", [("mp4", "h264", "aac"), ("webm", "vp8", "opus")])
def test_the_annotated_video_keeps_the_sound(analyzer, clip_with_sound, tmp_path, ext, video, audio):
    """With ffmpeg the annotated video is one browsers play (H.264 MP4 or VP8 WebM) and carries
    the original's sound; a source without sound gives a video without (and no error)."""
    out = tmp_path / f"annotated.{ext}"
    s = write_video_outputs(analyzer, clip_with_sound, annotate_path=out, every=3)
    assert s.annotated_audio_note is None
    assert _streams(out) == {"video": video, "audio": audio}
    silent = tmp_path / f"silent.{ext}"
    write_video_outputs(analyzer, clip_with_sound.with_name("silent.mp4"), annotate_path=silent, every=3)
    assert _streams(silent) == {"video": video}
    # a sound track shorter than the picture does not cut the video short
    padded = tmp_path / f"padded.{ext}"
    write_video_outputs(analyzer, clip_with_sound.with_name("short_sound.mp4"), annotate_path=padded, every=3)
    assert _streams(padded) == {"video": video, "audio": audio}
    assert _streams(padded, "duration") == pytest.approx(2.4, abs=0.15)


def test_a_failing_annotated_video_leaves_nothing(analyzer, clip_with_sound, tmp_path):
    """Ctrl-C part-way through with ffmpeg writing: the encoder is stopped, no file is left."""
    def stop_at_5(done, total):
        if done >= 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_video_outputs(analyzer, clip_with_sound, annotate_path=tmp_path / "a.mp4", progress=stop_at_5)
    assert list(tmp_path.iterdir()) == []


def test_the_emotion_bars_are_labelled_beside_the_face():
    """Each bar of the annotated picture has its emotion's name, in a panel beside the face
    (not over it) and inside the picture, wherever the face is."""
    from facial_feedback.annotate import bar_rows
    from facial_feedback.types import EMOTIONS

    scores = {k: 1.0 / len(EMOTIONS) for k in EMOTIONS}
    for box in [(100, 100, 200, 220), (500, 50, 130, 140), (0, 300, 620, 180)]:
        rows, (x0, y0, x1, y1) = bar_rows(box, (640, 480), scores)
        assert [r[0] for r in rows] == list(EMOTIONS)
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480
        x, y, w, h = box
        beside = x1 <= x or x0 >= x + w or y1 <= y or y0 >= y + h
        assert beside or w > 600, (box, (x0, y0, x1, y1))   # a face as wide as the picture: nowhere else
        for _, (tx, ty), (bx0, by0, bx1, by1), _ in rows:
            assert x0 <= tx < bx0 and y0 <= by0 < by1 <= y1   # the label left of its bar
