"""The canonical face model and the rigid fit behind head_pose (issue 19): pure, no models run."""
from __future__ import annotations

import math

import numpy as np
import pytest

from facial_feedback.face_geometry import HEAD_FRAME_POINTS, canonical_face, rigid_rotation
from facial_feedback.landmarks import head_pose

from .test_detection_landmarks import _rot


def test_canonical_model_is_mediapipes_symmetric_face():
    v, basis = canonical_face()
    assert v.shape == (468, 3) and len(basis) == 33
    assert all(w > 0 for w in basis.values())
    # mirror pairs (33 outer right eye corner <-> 263 left) have equal weights and mirrored points
    for r, l in ((33, 263), (133, 362), (54, 284), (67, 297), (127, 356), (143, 372)):
        assert basis[r] == basis[l]
        assert v[r] == pytest.approx(v[l] * [-1, 1, 1])
    assert set(HEAD_FRAME_POINTS) <= set(basis)
    # head frame: x to the subject's left, y down, z into the head -> the nose tip is the nearest point
    assert v[263, 0] > 0 > v[33, 0] and v[10, 1] < v[4, 1] < v[152, 1] and v[4, 2] == v[:, 2].min()


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (35, 0, 0), (0, -20, 0), (0, 0, 30), (-25, 15, 10)])
def test_rigid_fit_recovers_a_turned_scaled_shifted_canonical_face(yaw, pitch, roll):
    v, _ = canonical_face()
    R = _rot(yaw, pitch, roll)
    mesh = 23.0 * v @ R.T + [320.0, 240.0, 5.0]  # as the mesh gives it: pixels, anywhere in the image
    assert rigid_rotation(mesh) == pytest.approx(R, abs=1e-9)
    p = head_pose(mesh)
    assert (p.yaw, p.pitch, p.roll) == pytest.approx((yaw, pitch, roll), abs=1e-6)


def test_rigid_fit_ignores_the_points_a_smile_moves():
    """Cheeks, nostril wings, jaw and mouth are not in the fit: moving them changes nothing."""
    v, _ = canonical_face()
    smile = v.copy()
    moved = [i for i in range(468) if i not in HEAD_FRAME_POINTS]
    smile[moved] += np.random.default_rng(0).normal(0, 1.0, (len(moved), 3))
    assert head_pose(smile).pitch == pytest.approx(0, abs=1e-9)
    assert math.isclose(head_pose(v).yaw, 0, abs_tol=1e-9)
