"""Blinks, per-eye closure and gaze of issue 11, on real clips through the real pipeline:
presentation times on variable-rate clips, blinks from the first second, a long video built
from the shared clips (lighting and distance changing), an hour of lid signals drifting, and
the uncalibrated "on the screen" on a woman facing the camera."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from facial_feedback.signals import SignalSession
from tests import synthetic as S
from facial_feedback.signals.geometry import FaceSignals
from facial_feedback.types import Box, Face, FrameResult

from .conftest import DATASETS, REPO, media

ZJU = DATASETS / "zju_blinks_dev"
WOLFGANG_FPS = 23.976
WOLFGANG_BLINKS = [153, 201, 248, 288, 385]   # by hand (tests/test_signals_video.py)


def _bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_blinks

    return bench_blinks


def _ffmpeg():
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("needs ffmpeg and ffprobe (apt-get install ffmpeg)")


def _blinks(frames):
    return [e for fr in frames for e in fr.session.ended if e.type in ("blink", "slow_blink")]


# --------------------------------------------------------------------------- presentation times

def test_blinks_land_at_their_presentation_time_on_a_variable_rate_clip(analyzer):
    """A ZJU clip with 41 "repeat the previous frame" packets: decoded frame i is not at i/30 s.
    Every hand-annotated blink is found at its own second (the tags' packet times), where
    counting decoded frames would put the late ones 0.3 s and more too early."""
    _ffmpeg()
    folder = ZJU / "5"
    if not folder.exists():
        pytest.skip(f"needs {folder} (the shared datasets beside the checkout)")
    B = _bench()
    clip = B.load_clip(folder)
    frames = list(analyzer.analyze_video(clip.video))
    # the pipeline's frame times are the packets' presentation times
    pts = np.array(B.packet_times(clip.video))
    assert all(np.abs(pts - fr.timestamp).min() < 0.002 for fr in frames)
    drift = max(abs(fr.timestamp - fr.index / 30.0) for fr in frames)
    assert drift > 0.3, drift
    det = [(e.onset, e.onset + e.duration) for e in _blinks(frames)]
    score, pairs = B.match(clip.blinks, det, clip.t_range)
    assert score.fn == 0 and score.fp == 0, (clip.blinks, det)
    for i, j in pairs.items():
        mid = (det[i][0] + det[i][1]) / 2
        assert clip.blinks[j].start - 0.1 <= mid <= clip.blinks[j].end + 0.1
    # with decoded-frame counting the same detections would miss the late blinks
    by_count = []
    for e in _blinks(frames):
        k = min(range(len(frames)), key=lambda n: abs(frames[n].timestamp - e.onset))
        by_count.append((k / 30.0, k / 30.0 + e.duration))
    assert B.match(clip.blinks, by_count, clip.t_range)[0].tp < score.tp


def test_a_variable_rate_file_made_from_a_shared_clip(analyzer, tmp_path):
    """single_face.mp4 with frames 5-19 dropped (times kept): its one blink (frames 25-29 of
    the original, 0.83 s) stays at 0.83 s although it is now the 10th decoded frame."""
    _ffmpeg()
    src = media("single_face.mp4")
    dst = tmp_path / "vfr.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vf", "select='not(between(n,5,19))'",
                    "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", str(dst)], check=True)
    frames = list(analyzer.analyze_video(dst))
    assert len(frames) == 72 - 15
    (b,) = _blinks(frames)
    assert b.onset == pytest.approx(25 / 30.0, abs=0.07)
    k = min(range(len(frames)), key=lambda n: abs(frames[n].timestamp - b.onset))
    assert abs(k / 30.0 - b.onset) > 0.4   # what counting frames would have said


# --------------------------------------------------------------------------- from the first moment

@pytest.mark.parametrize("fps,onset", [(30, 0.15), (30, 0.5), (15, 0.3)])
def test_a_blink_in_the_first_second_is_found(fps, onset):
    mesh = S.reference_mesh()
    fr = S.frames(fps, 2.0, lambda t: S.close_eyes(mesh, S.blink_profile(t, onset, 0.15)))
    _, ev = S.run(SignalSession(), fr)
    (b,) = [e for e in ev if e.type == "blink"]
    assert b.onset == pytest.approx(onset, abs=1.5 / fps) and b.details["complete"] is True


def test_an_incomplete_blink_is_a_blink_marked_incomplete():
    mesh = S.reference_mesh()
    # full blinks, then one that lowers the lids only 38% of the way: its closure, about half
    # of a full blink's, is still a blink (above the person's blink threshold), but neither eye
    # reaches "closed" (config.eye_closed_rel of the eye's typical blink peak)
    def at(t):
        full = max(S.blink_profile(t, o, 0.15) for o in (1.0, 3.0, 5.0, 7.0))
        half = 0.38 * S.blink_profile(t, 9.0, 0.15)
        return S.close_eyes(mesh, max(full, half))
    _, ev = S.run(SignalSession(), S.frames(30, 10.0, at))
    blinks = [e for e in ev if e.type == "blink"]
    assert [round(e.onset) for e in blinks] == [1, 3, 5, 7, 9]
    assert [e.details["complete"] for e in blinks] == [True] * 4 + [False]


# --------------------------------------------------------------------------- for hours

def _fs(open_r: float, open_l: float) -> FaceSignals:
    return FaceSignals(ear_left=0.3, ear_right=0.3, eye_open_left=open_l, eye_open_right=open_r, mar=0.02,
                       mouth_open=0.0, mouth_width=0.8, mouth_corner_lift=0.0, smile=0.1, lip_press=0.33,
                       brow_height=0.3, brow_inner_height=0.3, head_tilt=0.0, eye_yaw=0.0, eye_pitch=0.0,
                       gaze_yaw=0.0, gaze_pitch=0.0, on_screen=True, iod_px=80.0, quality=1.0)


def test_an_hour_of_drifting_lids_keeps_every_blink():
    """One hour at 10 fps of lid gaps (FaceSignals, as the pipeline gives them): the open
    level drifts with the light (+-25% over 20 min), steps down at 30 min (a new posture,
    narrower eyes), the blinks get shallow for 10 minutes (looking up: 45-60% of the way
    down), and the lids jitter by 3%. Blinks every 2-6 s are all found, and nothing else."""
    rng = np.random.default_rng(1)
    fps, hours = 10.0, 1.0
    n = int(hours * 3600 * fps)
    t = np.arange(n) / fps
    onsets = np.cumsum(rng.uniform(2.0, 6.0, size=int(hours * 3600 / 2)))
    onsets = onsets[onsets < t[-1] - 1]
    depth = np.where((onsets > 2400) & (onsets < 3000), rng.uniform(0.45, 0.6, onsets.size),
                     rng.uniform(0.75, 1.0, onsets.size))
    closure = np.zeros(n)
    for o, d in zip(onsets, depth):
        k0, k1 = int(o * fps), int(o * fps) + 4
        closure[k0:k1] = np.maximum(closure[k0:k1], [S.blink_profile(x, o, 0.15) * d for x in t[k0:k1]])
    level = 0.13 * (1 + 0.25 * np.sin(2 * np.pi * t / 1200)) * np.where(t > 1800, 0.75, 1.0)
    gap = level * (1 - 0.8 * closure) * (1 + rng.uniform(-0.03, 0.03, n))
    session = SignalSession()
    ended = []
    box = Box(0, 0, 100, 100)
    for k in range(n):
        fs = _fs(gap[k], gap[k] * 0.98)
        snap = session.update(FrameResult(640, 480, (Face(box, track_id=1, signals=fs),), index=k, timestamp=float(t[k])))
        ended.extend(e for e in snap.ended if e.type in ("blink", "slow_blink"))
    found = [e.onset for e in ended]
    hits = sum(any(abs(f - o) < 0.2 for f in found) for o in onsets)
    assert hits >= 0.98 * len(onsets), (hits, len(onsets))
    assert len(found) <= len(onsets) + 2, (len(found), len(onsets))
    late = [o for o in onsets if o > 3000]
    assert sum(any(abs(f - o) < 0.2 for f in found) for o in late) >= len(late) - 1
    # memory stays bounded over the hour
    tr = session._get(1)
    assert len(tr.events) < 200 and len(tr.gaze_ref.samples) <= 3001 and len(tr.lids.open_hist) <= 601


def test_a_long_video_from_the_shared_clip_under_changing_light_and_distance(analyzer, tmp_path):
    """The open-eyed part of the Pexels clip (frames 142-420, five hand-counted blinks) four
    times in one file: as filmed, dimmed, brightened, and the face at 60% of its size (further
    from the camera). Each part's five blinks are found, at their frames, and no other."""
    _ffmpeg()
    src = media("WolfgangLanger_Pexels.mp4")
    start, end = 142 / WOLFGANG_FPS, 421 / WOLFGANG_FPS
    looks = ["null", "eq=brightness=-0.18:contrast=0.75", "eq=brightness=0.12:gamma=1.3",
             "scale=iw*0.6:ih*0.6,pad=iw/0.6:ih/0.6:(ow-iw)/2:(oh-ih)/2"]
    parts = []
    for k, vf in enumerate(looks):
        p = tmp_path / f"part{k}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{start:.4f}", "-to", f"{end:.4f}", "-i", str(src),
                        "-vf", vf + ",scale=trunc(iw/2)*2:trunc(ih/2)*2", "-an", "-c:v", "libx264", "-preset",
                        "ultrafast", "-crf", "16", "-r", str(WOLFGANG_FPS), str(p)], check=True)
        parts.append(p)
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"file '{p}'\n" for p in parts))
    long = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy",
                    str(long)], check=True)
    frames = list(analyzer.analyze_video(long))
    part_s = (421 - 142) / WOLFGANG_FPS
    blinks = _blinks(frames)
    for k in range(len(looks)):
        got = [(e.onset - k * part_s) * WOLFGANG_FPS + 142 for e in blinks if k * part_s <= e.onset < (k + 1) * part_s]
        assert len(got) == len(WOLFGANG_BLINKS), (looks[k], got)
        for f in WOLFGANG_BLINKS:
            assert any(abs(g - f) <= 2.5 for g in got), (looks[k], f, got)


# --------------------------------------------------------------------------- per eye, in the results

def test_per_eye_closure_in_the_track_state_and_the_blink(analyzer):
    """single_face.mp4: one blink, lids shut at frames 26-28 (by hand)."""
    frames = list(analyzer.analyze_video(media("single_face.mp4")))
    states = [fr.session.tracks[0] for fr in frames]
    shut = [k for k, s in enumerate(states) if s.right_closed and s.left_closed]
    assert shut and all(24 <= k <= 30 for k in shut) and set(shut) & {26, 27, 28}, shut
    assert all(s.closure_right is not None and 0 <= s.closure_left <= 1 for s in states)
    for fr in frames:   # plain JSON types (no NumPy scalars) in every snapshot
        json.loads(json.dumps(fr.session.to_dict()))
    d = frames[27].session.to_dict()["tracks"][0]["eyes"]
    assert set(d) == {"right", "left"} and set(d["left"]) == {"closure", "closed"}
    (b,) = _blinks(frames)
    assert b.details["complete"] is True and b.details["peak_left"] > 0.5 and b.details["peak_right"] > 0.5


# --------------------------------------------------------------------------- gaze without calibration

def test_a_woman_facing_the_camera_is_on_the_screen_without_calibration(analyzer):
    """The Pexels clip: she faces the camera with her head tilted back once her eyes open.
    Relative to her own usual gaze she is on the screen most of the time, the cue says how it
    was decided, and the attention level agrees with the share it shows. (The head pose before
    issue 19 read her pitch +15..25, above the fixed cone's +15, so the cone put her off the
    screen: 0.03. The rigid fit reads +5..15 and the fixed cone agrees with the relative one.)"""
    frames = list(analyzer.analyze_video(media("WolfgangLanger_Pexels.mp4")))
    absolute = np.mean([fr.faces[0].signals.on_screen for fr in frames[142:420]])
    rel = [fr.session.tracks[0].on_screen for fr in frames[142:420]]
    rel = np.mean([x for x in rel if x is not None])
    assert rel >= 0.6 and absolute >= 0.5, (rel, absolute)   # 0.69 and 0.66 (6 Dec 2026)
    for fr in frames[200::40]:
        a = fr.session.tracks[0].attention
        share = a.metrics["on_screen_share"]
        if a.abstain or share is None:
            continue
        assert "not calibrated: relative to the person's usual gaze" in a.cues[0]
        assert f"looking at the screen {100 * share:.0f}%" in a.cues[0]
        # value = on-screen share x share of the time the face was seen
        assert a.value == pytest.approx(share * a.metrics["present_share"], abs=1e-6)
        # high within 0.1 of the person's own share (and of 75% at least), low 0.3 below it
        ref = max(a.baseline, 0.75)
        assert f"baseline {100 * a.baseline:.0f}%" in a.cues[0]
        assert (a.level == "high") == (a.value >= ref - 0.1) and (a.level == "low") == (a.value < ref - 0.3)


# --------------------------------------------------------------------------- the bench's degraded copies

def test_the_bench_degrades_frames_keeping_their_times():
    """bench_blinks.py --degrade: each condition keeps the frames' presentation times (the tags
    still apply) and changes what it says it changes."""
    B = _bench()
    rng = np.random.default_rng(1)
    src = [(i, 0.01 + i / 30.0, rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for i in range(30)]
    out = {c: list(B.degrade_frames(iter(src), c)) for c in B.DEGRADE}
    times = [t for _, t, _ in src]
    assert [t for _, t, _ in out["fps15"]] == times[::2]
    t60 = [t for _, t, _ in out["fps60"]]
    assert len(t60) == 2 * len(src) - 1 and t60[::2] == times and np.all(np.diff(t60) > 0)
    assert out["half"][0][2].shape == (120, 160, 3) and out["small"][0][2].shape == (480, 640, 3)
    for c in ("jpeg", "turned", "dim"):
        assert [t for _, t, _ in out[c]] == times and out[c][0][2].shape == (240, 320, 3)
        assert not np.array_equal(out[c][0][2], src[0][2])
    assert out["dim"][0][2].mean() < 0.5 * src[0][2].mean()
    with pytest.raises(ValueError, match="unknown condition"):
        list(B.degrade_frames(iter(src), "sepia"))
