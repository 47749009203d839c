"""The named mesh indices land where their names say, on a real MediaPipe mesh."""
import numpy as np
import pytest

from facial_feedback import topology as T
from tests.synthetic import reference_mesh


@pytest.fixture(scope="module")
def mesh():
    return reference_mesh()  # real FaceMesh on skimage's astronaut (frontal, unmirrored)


def test_subject_right_is_image_left(mesh):
    assert mesh[T.RIGHT_EYE_OUTER, 0] < mesh[T.RIGHT_EYE_INNER, 0] < mesh[T.LEFT_EYE_INNER, 0] < mesh[T.LEFT_EYE_OUTER, 0]
    assert mesh[T.MOUTH_RIGHT, 0] < mesh[T.MOUTH_LEFT, 0]
    assert mesh[T.RIGHT_CHEEK, 0] < mesh[T.NOSE_TIP, 0] < mesh[T.LEFT_CHEEK, 0]
    assert T.EYE_CORNERS_OUTER == (33, 263)


def test_irises_sit_inside_their_eyes(mesh):
    for centre, ring, outer, inner in ((T.RIGHT_IRIS_CENTER, T.RIGHT_IRIS_RING, T.RIGHT_EYE_OUTER, T.RIGHT_EYE_INNER),
                                       (T.LEFT_IRIS_CENTER, T.LEFT_IRIS_RING, T.LEFT_EYE_OUTER, T.LEFT_EYE_INNER)):
        lo, hi = sorted((mesh[outer, 0], mesh[inner, 0]))
        assert lo < mesh[centre, 0] < hi
        r = mesh[list(ring), :2]
        assert np.allclose(r.mean(axis=0), mesh[centre, :2], atol=1.5)  # the ring surrounds the centre
        # ring order (image-right, top, image-left, bottom)
        assert r[0, 0] > r[2, 0] and r[1, 1] < r[3, 1]


def test_vertical_order(mesh):
    y = lambda i: mesh[i, 1]  # noqa: E731
    assert y(T.FOREHEAD) < y(T.FOREHEAD_MID) < y(T.GLABELLA) < y(T.NOSE_TIP) < y(T.UPPER_LIP_TOP) < y(T.CHIN)
    assert y(T.UPPER_LIP_TOP) < y(T.UPPER_LIP_BOTTOM) <= y(T.LOWER_LIP_TOP) < y(T.LOWER_LIP_BOTTOM)
    for u, d in T.RIGHT_EYE_LID_PAIRS + T.LEFT_EYE_LID_PAIRS:
        assert y(u) < y(d), (u, d)
    for brow, eye in ((T.RIGHT_BROW_LOWER, T.RIGHT_EYE_UPPER_MID), (T.LEFT_BROW_LOWER, T.LEFT_EYE_UPPER_MID)):
        assert all(y(i) < y(eye) for i in brow)
    for u, d in T.LIPS_INNER_PAIRS:
        assert y(u) < y(d) + 0.5, (u, d)


def test_ear_sets_and_contours_are_consistent():
    for ear, upper, lower in ((T.RIGHT_EYE_EAR, T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER),
                              (T.LEFT_EYE_EAR, T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER)):
        p1, p2, p3, p4, p5, p6 = ear
        assert p1 == upper[0] == lower[0] and p4 == upper[-1] == lower[-1]
        assert {p2, p3} <= set(upper) and {p5, p6} <= set(lower)
        assert upper.index(p2) == lower.index(p6) and upper.index(p3) == lower.index(p5)
    assert len(T.FACE_OVAL) == 36 and len(set(T.FACE_OVAL)) == 36
    assert len(T.LIPS_OUTER) == 20 and len(T.LIPS_INNER) == 20
    def flat(v):
        return [v] if isinstance(v, int) else [i for x in v for i in flat(x)]
    for n in T.__all__:
        if not n.startswith("NUM_"):
            assert all(0 <= i < T.NUM_POINTS for i in flat(getattr(T, n))), n


# The point sets of MediaPipe 0.10.21's face_mesh_connections (FACEMESH_*), frozen here when the
# package left mediapipe (issue 15): the 478-point topology is the same in the Face Landmarker mesh.
MP_POINTS = {
    "RIGHT_EYE": [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246],
    "LEFT_EYE": [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466],
    "RIGHT_EYEBROW": [46, 52, 53, 55, 63, 65, 66, 70, 105, 107],
    "LEFT_EYEBROW": [276, 282, 283, 285, 293, 295, 296, 300, 334, 336],
    "LIPS": [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267,
             269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415],
    "FACE_OVAL": [10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234, 251,
                  284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454],
    "RIGHT_IRIS": [469, 470, 471, 472],
    "LEFT_IRIS": [474, 475, 476, 477],
}


def test_matches_mediapipe_edge_sets():
    assert set(T.RIGHT_EYE_CONTOUR) == set(MP_POINTS["RIGHT_EYE"])
    assert set(T.LEFT_EYE_CONTOUR) == set(MP_POINTS["LEFT_EYE"])
    assert set(T.RIGHT_BROW) == set(MP_POINTS["RIGHT_EYEBROW"])
    assert set(T.LEFT_BROW) == set(MP_POINTS["LEFT_EYEBROW"])
    assert set(T.LIPS_OUTER) | set(T.LIPS_INNER) == set(MP_POINTS["LIPS"])
    assert set(T.FACE_OVAL) == set(MP_POINTS["FACE_OVAL"])
    assert set(T.RIGHT_IRIS_RING) == set(MP_POINTS["RIGHT_IRIS"])
    assert set(T.LEFT_IRIS_RING) == set(MP_POINTS["LEFT_IRIS"])
