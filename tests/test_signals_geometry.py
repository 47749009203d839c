"""Per-frame signals on KNOWN geometry: a real MediaPipe mesh (skimage's astronaut),
deformed by known amounts (tests/synthetic.py)."""
import json
import math

import numpy as np
import pytest

from facial_feedback.signals import geometry as G
from tests import synthetic as S
from facial_feedback.types import HeadPose


@pytest.fixture(scope="module")
def mesh():
    return S.reference_mesh()


def test_real_mesh_values_are_plausible(mesh):
    fs = G.face_signals(mesh)
    assert 0.25 < fs.ear_left < 0.4 and 0.25 < fs.ear_right < 0.4      # open eyes
    assert 0.10 < fs.eye_open < 0.2
    assert 0.15 < fs.brow_height < 0.4
    assert abs(fs.eye_yaw) < 5 and abs(fs.eye_pitch) < 5                # she looks into the camera
    assert fs.on_screen is True
    assert fs.smile > 0.5                                                # she smiles
    assert 35 < fs.iod_px < 50 and fs.quality == 1.0
    json.dumps(fs.to_dict())


def test_eye_openness_follows_lid_closure_exactly(mesh):
    o0 = G.face_signals(mesh)
    prev = None
    for f in np.linspace(0, 1, 11):
        fs = G.face_signals(S.close_eyes(mesh, f))
        # the lid gaps shrink by exactly (1 - f)
        assert fs.eye_open_left == pytest.approx((1 - f) * o0.eye_open_left, abs=1e-9)
        assert fs.eye_open_right == pytest.approx((1 - f) * o0.eye_open_right, abs=1e-9)
        assert fs.ear_left == pytest.approx((1 - f) * o0.ear_left, abs=1e-9)
        if prev is not None:
            assert fs.ear < prev.ear and fs.eye_open < prev.eye_open
        prev = fs
    assert prev.ear == pytest.approx(0.0, abs=1e-9)


def test_one_eye_only(mesh):
    o0 = G.face_signals(mesh)
    fs = G.face_signals(S.close_eyes(mesh, 1.0, side="right"))
    assert fs.eye_open_right < 1e-9 and fs.eye_open_left == pytest.approx(o0.eye_open_left)
    fs = G.face_signals(S.close_eyes(mesh, 1.0, side="left"))
    assert fs.eye_open_left < 1e-9 and fs.eye_open_right == pytest.approx(o0.eye_open_right)


def test_mouth_opening(mesh):
    o0 = G.face_signals(mesh)
    prev = o0
    for a in (0.1, 0.2, 0.4, 0.6, 0.8):
        fs = G.face_signals(S.open_mouth(mesh, a))
        # the lower lip drops a * IOD along the face's (3-D) down axis; the gap grows by about
        # that (within 2% of IOD + 3% of the drop: the mesh's pitch foreshortens it a little)
        assert fs.mouth_open == pytest.approx(o0.mouth_open + a, abs=0.02 + 0.03 * a)
        assert fs.mar > prev.mar and fs.mouth_open > prev.mouth_open
        prev = fs
    assert G.face_signals(S.open_mouth(mesh, 0.6)).mar > 0.6   # yawn-wide crosses the yawn threshold
    assert o0.mar < 0.45


def test_gaze_follows_the_iris(mesh):
    e0 = G.eye_gaze(mesh)
    for dx in (-0.3, -0.1, 0.1, 0.3):
        yaw, pitch = G.eye_gaze(S.move_irises(mesh, dx, 0.0))
        # iris diameter 11.7 mm on a 12 mm eyeball: sin(angle) = shift / radius
        want = math.degrees(math.asin(dx * 11.7 / 12.0))
        assert yaw - e0[0] == pytest.approx(want, abs=1.5)
        assert pitch == pytest.approx(e0[1], abs=1.0)
    for dy in (-0.2, 0.2):
        yaw, pitch = G.eye_gaze(S.move_irises(mesh, 0.0, dy))
        assert pitch - e0[1] == pytest.approx(math.degrees(math.asin(dy * 11.7 / 12.0)), abs=1.5)
        assert (pitch > e0[1]) == (dy > 0)   # up is up


def test_gaze_adds_head_pose_and_screen_cone(mesh):
    fs0 = G.face_signals(mesh, HeadPose(0, 0, 0))
    fs = G.face_signals(mesh, HeadPose(yaw=12.0, pitch=-8.0, roll=0.0))
    assert fs.gaze_yaw == pytest.approx(fs0.gaze_yaw + 12.0)
    assert fs.gaze_pitch == pytest.approx(fs0.gaze_pitch - 8.0)
    assert fs.on_screen
    # eyes far to the side: off the default cone (|yaw| <= 25 degrees)
    assert G.face_signals(S.move_irises(mesh, 0.6, 0.0)).on_screen is False
    assert G.face_signals(mesh, HeadPose(yaw=35.0, pitch=0.0, roll=0.0)).on_screen is False
    assert G.face_signals(mesh, HeadPose(yaw=0.0, pitch=-45.0, roll=0.0)).on_screen is False  # looking at the desk


def test_gaze_calibration_maps_corners(mesh):
    # a screen seen from the camera spanning yaw -20..20 and pitch -5..-30 (camera on top)
    screen = [(0, 0), (1, 0), (0, 1), (1, 1), (0.5, 0.5)]
    gaze = [(-20 + 40 * sx, -5 - 25 * sy) for sx, sy in screen]
    cal = G.GazeCalibration.fit(gaze, screen)
    assert cal.rms_error < 1e-9
    assert cal.to_screen(0.0, -17.5) == pytest.approx((0.5, 0.5))
    assert cal.contains(10.0, -20.0) and not cal.contains(0.0, 10.0) and not cal.contains(35.0, -15.0)
    cal2 = G.GazeCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert cal2.to_screen(5, -10) == pytest.approx(cal.to_screen(5, -10))
    # with it, a gaze at the camera (pitch 0) is above the screen
    fs = G.face_signals(mesh, HeadPose(0, 0, 0), calibration=cal)
    assert fs.on_screen is (cal.contains(fs.gaze_yaw, fs.gaze_pitch))


def test_brow_lowering(mesh):
    b0 = G.brow_height(mesh)
    for a in (0.02, 0.05, 0.1):
        assert G.brow_height(S.lower_brows(mesh, a)) == pytest.approx(b0 - a, abs=1e-9)
    # closing the eyes does not move the brow measure (it is taken from the eye corners)
    assert G.brow_height(S.close_eyes(mesh, 1.0)) == pytest.approx(b0)


def test_lip_press_and_smile(mesh):
    closed = S.close_mouth(mesh)
    assert G.mouth_aspect_ratio(closed) < 0.01 < 0.1 < G.mouth_aspect_ratio(mesh)
    l0 = G.lip_press(closed)
    for f in (0.25, 0.5):
        assert G.lip_press(S.press_lips(mesh, f)) == pytest.approx((1 - f) * l0, rel=0.02)
    lift0, s0 = G.mouth_corner_lift(mesh), G.smile_intensity(mesh)
    assert G.mouth_corner_lift(S.smile(mesh, 0.5)) == pytest.approx(lift0 + 0.06, abs=0.005)
    # a neutral mouth: corners pulled back in and down to the rest values -> low intensity
    neutral = S.smile(mesh, -1.3)
    assert G.smile_intensity(neutral) < 0.2 < s0
    seq = [G.smile_intensity(S.smile(neutral, f)) for f in (0.0, 0.3, 0.6, 1.0)]
    assert all(b > a for a, b in zip(seq, seq[1:]))


def test_roll_and_scale_invariance(mesh):
    fs0 = G.face_signals(mesh)
    for deg in (-20.0, 15.0):
        fs = G.face_signals(S.rotate_in_plane(mesh, deg))
        assert fs.head_tilt == pytest.approx(fs0.head_tilt + deg, abs=1e-6)
        for k in ("eye_open_left", "ear_right", "mar", "mouth_open", "brow_height", "lip_press", "smile",
                  "mouth_corner_lift", "eye_yaw", "eye_pitch"):
            assert getattr(fs, k) == pytest.approx(getattr(fs0, k), abs=1e-6), k
    big = mesh * 2.0
    fs = G.face_signals(big)
    assert fs.iod_px == pytest.approx(2 * fs0.iod_px)
    assert fs.eye_open == pytest.approx(fs0.eye_open) and fs.brow_height == pytest.approx(fs0.brow_height)


def test_without_iris_and_small_faces(mesh):
    fs = G.face_signals(mesh[:468], HeadPose(5.0, -10.0, 0.0))
    assert fs.eye_yaw is None and fs.gaze_yaw is None and fs.on_screen is True  # from the head pose
    assert G.face_signals(mesh[:468]).on_screen is None
    small = G.face_signals(mesh * 0.3)  # IOD about 13 px: the eyes are a few pixels tall
    assert small.quality < 0.2
    turned = G.face_signals(mesh, HeadPose(60.0, 0.0, 0.0))
    assert turned.quality < 0.5


def test_one_pass_matches_the_reference_functions(mesh):
    for lm in (mesh, S.close_eyes(S.open_mouth(mesh, 0.3), 0.4), S.rotate_in_plane(S.lower_brows(mesh, 0.04), 12.0),
               S.move_irises(S.smile(mesh, 0.5), 0.2, -0.1)):
        fs = G.face_signals(lm)
        iod = G.interocular_distance(lm)
        want = {
            "ear_left": G.eye_aspect_ratio(lm, "left"), "ear_right": G.eye_aspect_ratio(lm, "right"),
            "eye_open_left": G.eye_openness(lm, "left"), "eye_open_right": G.eye_openness(lm, "right"),
            "mar": G.mouth_aspect_ratio(lm), "mouth_open": G.mouth_opening(lm), "mouth_width": G.mouth_width(lm),
            "mouth_corner_lift": G.mouth_corner_lift(lm), "smile": G.smile_intensity(lm), "lip_press": G.lip_press(lm),
            "brow_height": G.brow_height(lm), "brow_inner_height": G.brow_height(lm, inner=True),
            "head_tilt": G.head_tilt(lm), "eye_yaw": G.eye_gaze(lm)[0], "eye_pitch": G.eye_gaze(lm)[1], "iod_px": iod,
        }
        for k, v in want.items():
            assert getattr(fs, k) == pytest.approx(v, abs=1e-9), k


@pytest.mark.parametrize("yaw,pitch", [(0, -20), (0, 20), (-30, 0), (30, 0), (20, -15)])
def test_head_turns_do_not_read_as_expressions(mesh, yaw, pitch):
    """A rigid turn or nod of the whole mesh changes none of the expression measures
    (heights are taken along the face's own 3-D up axis, lengths are 3-D): looking down at
    a keyboard is not a frown."""
    fs0, fs = G.face_signals(mesh), G.face_signals(S.rotate_3d(mesh, yaw, pitch))
    for k in ("ear_left", "ear_right", "eye_open_left", "eye_open_right", "mar", "mouth_open", "mouth_width",
              "mouth_corner_lift", "smile", "lip_press", "brow_height", "brow_inner_height"):
        assert getattr(fs, k) == pytest.approx(getattr(fs0, k), abs=1e-6), k
