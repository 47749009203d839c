"""Face detection, mesh and head pose on real photos with the real models."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from facial_feedback.io import load_image
from facial_feedback.landmarks import head_pose
from facial_feedback.types import Box

from .conftest import media


@pytest.fixture(scope="module")
def detector(analyzer):
    return analyzer.detector


@pytest.fixture(scope="module")
def mesher(analyzer):
    return analyzer.mesher


def _face_crop_of(astronaut, detector):
    (d,) = detector.detect(astronaut)
    return d.box


def test_multi_face_photo(detector):
    img = load_image(media("multi_face.jpg"))
    dets = detector.detect(img)
    assert len(dets) == 5  # five friends, all facing the camera
    for d in dets:
        assert 60 < d.box.w < 160 and d.score > 0.7
        assert 0 <= d.box.x and d.box.x + d.box.w <= img.shape[1]


def test_single_face_photo_and_astronaut(detector, astronaut):
    assert len(detector.detect(load_image(media("single_face.jpg")))) == 1
    (d,) = detector.detect(astronaut)
    # her face spans roughly x 170-285, y 60-180 in the 512x512 image
    cx, cy = d.box.center
    assert 200 < cx < 260 and 90 < cy < 150 and 80 < d.box.w < 150


def test_tight_portrait_filling_the_frame(detector, astronaut):
    b = _face_crop_of(astronaut, detector)
    tight = astronaut[int(b.y):int(b.y + b.h), int(b.x):int(b.x + b.w)]
    assert len(detector.detect(tight)) == 1
    # and a 256x256 upscaled version of the same (a typical portrait dataset crop)
    assert len(detector.detect(cv2.resize(tight, (256, 256)))) == 1


def test_small_faces_in_a_large_group_photo(detector, astronaut):
    """Faces of 30-200 px pasted on a 1920x1080 canvas: every one found, nothing else."""
    b = _face_crop_of(astronaut, detector)
    head = astronaut[max(0, int(b.y - 0.6 * b.h)):int(b.y + 1.3 * b.h), max(0, int(b.x - 0.5 * b.w)):int(b.x + 1.5 * b.w)]
    canvas = np.full((1080, 1920, 3), 120, np.uint8)
    placed = []
    for i, size in enumerate([30, 40, 60, 100, 200]):
        f = cv2.resize(head, None, fx=size / b.w, fy=size / b.w, interpolation=cv2.INTER_AREA)
        y, x = 100 + i * 150, 100 + i * 300
        canvas[y:y + f.shape[0], x:x + f.shape[1]] = f
        placed.append(Box(x + 0.5 * size, y + 0.6 * size, size, size))
    dets = detector.detect(canvas)
    assert len(dets) == 5
    for want in placed:
        assert max(d.box.iou(want) for d in dets) > 0.4, f"missed the {want.w:.0f} px face"


def test_no_face_means_no_result(detector):
    from skimage import data

    for img in (data.coffee(), data.rocket(), np.full((480, 640, 3), 128, np.uint8)):
        assert detector.detect(img) == []


def test_mesh_has_478_points_inside_the_face(detector, mesher, astronaut):
    (d,) = detector.detect(astronaut)
    lm = mesher.mesh_face(astronaut, d.box)
    assert lm.shape == (478, 3)
    mb = Box.from_points(lm)
    assert mb.iou(d.box) > 0.4
    # iris centres (468, 473) lie between the eye corners
    for iris, (a, b) in ((468, (33, 133)), (473, (362, 263))):
        lo, hi = sorted((lm[a, 0], lm[b, 0]))
        assert lo < lm[iris, 0] < hi


def _pose(img, detector, mesher):
    (d,) = detector.detect(img)
    return head_pose(mesher.mesh_face(img, d.box))


def test_head_pose_frontal_photos_read_near_zero(detector, mesher, astronaut):
    for img in (astronaut, load_image(media("single_face.jpg"))):
        p = _pose(img, detector, mesher)
        assert abs(p.yaw) < 10 and abs(p.pitch) < 8 and abs(p.roll) < 6, p


@pytest.mark.parametrize("angle", [-25, 15, 30])
def test_head_pose_roll_follows_a_known_image_rotation(detector, mesher, astronaut, angle):
    base = _pose(astronaut, detector, mesher)
    h, w = astronaut.shape[:2]
    # cv2 angles are counter-clockwise; our roll is clockwise-positive
    R = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    p = _pose(cv2.warpAffine(astronaut, R, (w, h)), detector, mesher)
    assert p.roll - base.roll == pytest.approx(angle, abs=4)
    assert abs(p.yaw - base.yaw) < 6 and abs(p.pitch - base.pitch) < 6


def test_head_pose_mirror_negates_yaw_and_roll(detector, mesher):
    img = load_image(media("single_face.jpg"))  # looks a little to one side
    p, q = _pose(img, detector, mesher), _pose(img[:, ::-1].copy(), detector, mesher)
    assert abs(p.yaw) > 3
    assert p.yaw + q.yaw == pytest.approx(0, abs=3)
    assert p.roll + q.roll == pytest.approx(0, abs=3)


def _rot(yaw, pitch, roll):
    """R = Ry(yaw) Rx(pitch) Rz(roll) in camera axes (x right, y down, z into the scene)."""
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    Ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    Rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    Rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return Ry @ Rx @ Rz


@pytest.mark.parametrize("yaw,pitch,roll", [(30, 0, 0), (-40, 0, 0), (0, 20, 0), (0, -15, 0), (0, 0, 25), (20, 10, -15)])
def test_head_pose_recovers_known_3d_turns_of_a_real_mesh(detector, mesher, astronaut, yaw, pitch, roll):
    """Turn the astronaut's real 3-D mesh by known angles: the pose must read those angles."""
    from facial_feedback.landmarks import head_rotation

    (d,) = detector.detect(astronaut)
    lm = mesher.mesh_face(astronaut, d.box).astype(np.float64)
    c = lm.mean(0)
    frontal = (lm - c) @ head_rotation(lm)  # the same face turned to look straight at the camera
    p = head_pose(frontal @ _rot(yaw, pitch, roll).T + c)
    assert p.yaw == pytest.approx(yaw, abs=1)
    assert p.pitch == pytest.approx(pitch, abs=1)
    assert p.roll == pytest.approx(roll, abs=1)


def _pitches(analyzer, clip, every=1):
    return [(fr.timestamp, fr.faces[0].pose.pitch) for fr in analyzer.analyze_video(media(clip), every=every) if fr.faces]


def test_head_pitch_of_faces_looking_into_the_camera_within_8_degrees(analyzer, astronaut):
    """Issue 19: faces that look into the camera read a pitch within 8 degrees, smiling or not
    (the hand-picked axes before read up to 18 on multi_face.jpg). The pitch comes from the rigid
    fit to MediaPipe's canonical face, which has no zero offset to tune (docs/signals.md, "Head
    pitch (issue 19)"). multi_face.jpg's rightmost face reads 8.2: she laughs with her chin
    raised (her nostrils show); it is held to tilted back, up to 10, not to 8."""
    faces = analyzer.analyze_image(load_image(media("multi_face.jpg"))).faces
    assert len(faces) == 5
    faces = sorted(faces, key=lambda f: f.box.x)
    assert all(abs(f.pose.pitch) < 8 for f in faces[:4]), [round(f.pose.pitch, 1) for f in faces]
    assert 0 < faces[4].pose.pitch < 10, faces[4].pose
    for img in (astronaut, load_image(media("single_face.jpg"))):
        (f,) = analyzer.analyze_image(img).faces
        assert abs(f.pose.pitch) < 8, f.pose
    # single_face.mp4: neutral, then a broad smile, head still
    sf = [p for _, p in _pitches(analyzer, "single_face.mp4")]
    assert len(sf) >= 30 and max(abs(p) for p in sf) < 8, [round(p, 1) for p in sf]


def test_head_pitch_of_a_laughing_face_follows_its_head_not_its_smile(analyzer):
    """WolfgangLanger_Pexels.mp4: she faces the camera from 0 to 2 s (crying, eyes closed) and
    from 18.6 s to the end (laughing): within 8 degrees there. From 6.5 to 18.5 s she laughs with
    her head tilted back (chin up, nostrils showing, back down within 0.2 s at 18.5 s while she
    goes on laughing): that reads clearly positive, but no longer the 20-25 degrees of the old
    axes. 2-6 s: hands over her nose and mouth, not tested."""
    tp = _pitches(analyzer, "WolfgangLanger_Pexels.mp4", every=2)
    facing = [p for t, p in tp if t < 2.0 or t >= 18.6]
    back = [p for t, p in tp if 11.0 <= t < 15.0]
    assert len(facing) >= 30 and len(back) >= 40
    assert max(abs(p) for p in facing) < 8, [round(p, 1) for p in facing]
    assert 5 < float(np.median(back)) < 18 and min(back) > 0, [round(p, 1) for p in back]


def test_head_pitch_reads_a_real_upward_look(analyzer):
    """ZJU dev clips: each person looks into the camera (*_FNN) and upward (*_UNN): the upward clip
    reads at least 10 degrees higher (median; 15-31 measured), the frontal one within 12 (000005M
    looks at the camera with his chin tucked: -9.8). Four people of ten, every 5th frame (all ten:
    benchmarks/head_pitch.py)."""
    from .conftest import DATASETS
    zju = DATASETS / "zju_blinks_dev"
    if not zju.is_dir():
        pytest.skip("../shared/datasets/zju_blinks_dev not present")
    up = sorted(zju.glob("*/*_UNN.avi"), key=lambda p: p.name)[:4]
    assert len(up) == 4
    for u in up:
        (f,) = zju.glob("*/" + u.name.replace("_UNN", "_FNN"))  # the same person
        med = [float(np.median([fr.faces[0].pose.pitch for fr in analyzer.analyze_video(c, every=5) if fr.faces])) for c in (f, u)]
        assert abs(med[0]) < 12 and med[1] - med[0] > 10, (u.name, med)
