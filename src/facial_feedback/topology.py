"""Named indices into MediaPipe's 478-point face mesh (468 points + 10 iris points).

Every signal that reads the mesh takes its indices from here, so each index is
written down once.

LEFT and RIGHT are always THE SUBJECT'S OWN left and right (as MediaPipe's own
``FACEMESH_LEFT_EYE`` etc. do). In an unmirrored photo of a person facing the
camera, the subject's RIGHT eye appears on the IMAGE'S LEFT (smaller x):
``RIGHT_EYE_OUTER`` (33) has a smaller x than ``LEFT_EYE_OUTER`` (263).
A mirrored selfie preview flips the image, not these names.

Index sources: MediaPipe ``face_mesh_connections`` (FACEMESH_* edge sets) and the
canonical face model's UV map; the iris points 468-477 exist only with
``refine_landmarks=True``. Checked against a real mesh in tests/test_topology.py.
"""
from __future__ import annotations

from typing import Tuple

Idx = Tuple[int, ...]

NUM_POINTS = 478          # with iris refinement
NUM_POINTS_NO_IRIS = 468  # without

# --- Eyes -------------------------------------------------------------------
# Corners ("canthi"). Outer = lateral (towards the ear), inner = medial (towards the nose).
RIGHT_EYE_OUTER = 33
RIGHT_EYE_INNER = 133
LEFT_EYE_INNER = 362
LEFT_EYE_OUTER = 263
#: the two outer eye corners, image-left first for a frontal face: (33, 263). The
#: line through them gives the in-plane roll.
EYE_CORNERS_OUTER: Idx = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER)

# Lid centres (the most open point of each lid).
RIGHT_EYE_UPPER_MID = 159
RIGHT_EYE_LOWER_MID = 145
LEFT_EYE_UPPER_MID = 386
LEFT_EYE_LOWER_MID = 374

# Full lid contours, ordered from the outer corner to the inner corner
# (corners included in both).
RIGHT_EYE_UPPER: Idx = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER: Idx = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER: Idx = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER: Idx = (263, 249, 390, 373, 374, 380, 381, 382, 362)
#: closed contour, outer corner -> along the upper lid -> inner corner -> along the lower lid
RIGHT_EYE_CONTOUR: Idx = RIGHT_EYE_UPPER + tuple(reversed(RIGHT_EYE_LOWER[1:-1]))
LEFT_EYE_CONTOUR: Idx = LEFT_EYE_UPPER + tuple(reversed(LEFT_EYE_LOWER[1:-1]))

# Upper-lid points paired with the lower-lid point below them (same position along
# the eye), outer to inner, corners excluded. Used to close lids in tests and to
# measure the lid gap.
RIGHT_EYE_LID_PAIRS: Tuple[Tuple[int, int], ...] = tuple(zip(RIGHT_EYE_UPPER[1:-1], RIGHT_EYE_LOWER[1:-1]))
LEFT_EYE_LID_PAIRS: Tuple[Tuple[int, int], ...] = tuple(zip(LEFT_EYE_UPPER[1:-1], LEFT_EYE_LOWER[1:-1]))

# The six points of the eye aspect ratio (Soukupova & Cech 2016), in their order
# p1..p6: p1 outer corner, p2 p3 upper lid, p4 inner corner, p5 p6 lower lid
# (p2 above p6, p3 above p5). EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|).
RIGHT_EYE_EAR: Idx = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR: Idx = (263, 387, 385, 362, 380, 373)

# --- Irises (refine_landmarks=True only) -----------------------------------
RIGHT_IRIS_CENTER = 468
LEFT_IRIS_CENTER = 473
# Ring of 4 points on each iris boundary. For a frontal unmirrored face, in
# image terms: (image-right, top, image-left, bottom).
RIGHT_IRIS_RING: Idx = (469, 470, 471, 472)
LEFT_IRIS_RING: Idx = (474, 475, 476, 477)
RIGHT_IRIS: Idx = (RIGHT_IRIS_CENTER,) + RIGHT_IRIS_RING
LEFT_IRIS: Idx = (LEFT_IRIS_CENTER,) + LEFT_IRIS_RING

# --- Eyebrows ---------------------------------------------------------------
# Upper and lower edge of each brow, outer (lateral) to inner (medial).
RIGHT_BROW_UPPER: Idx = (70, 63, 105, 66, 107)
RIGHT_BROW_LOWER: Idx = (46, 53, 52, 65, 55)
LEFT_BROW_UPPER: Idx = (300, 293, 334, 296, 336)
LEFT_BROW_LOWER: Idx = (276, 283, 282, 295, 285)
RIGHT_BROW: Idx = RIGHT_BROW_UPPER + RIGHT_BROW_LOWER
LEFT_BROW: Idx = LEFT_BROW_UPPER + LEFT_BROW_LOWER
#: the medial ends of the brows (lower edge), which the corrugator pulls down and together in a frown
RIGHT_BROW_INNER = 55
LEFT_BROW_INNER = 285
GLABELLA = 9  # between the brows

# --- Mouth ------------------------------------------------------------------
MOUTH_RIGHT = 61   # outer lip corner, subject's right
MOUTH_LEFT = 291   # outer lip corner, subject's left
MOUTH_CORNERS: Idx = (MOUTH_RIGHT, MOUTH_LEFT)
MOUTH_INNER_RIGHT = 78   # inner lip corner (where the lips meet), subject's right
MOUTH_INNER_LEFT = 308
UPPER_LIP_TOP = 0        # outer edge of the upper lip, on the midline
UPPER_LIP_BOTTOM = 13    # inner edge of the upper lip, on the midline
LOWER_LIP_TOP = 14       # inner edge of the lower lip, on the midline
LOWER_LIP_BOTTOM = 17    # outer edge of the lower lip, on the midline

# Lip contours, ordered from the right corner to the left corner.
LIPS_OUTER_UPPER: Idx = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER: Idx = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_INNER_UPPER: Idx = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER: Idx = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_OUTER: Idx = LIPS_OUTER_UPPER + tuple(reversed(LIPS_OUTER_LOWER[1:-1]))
LIPS_INNER: Idx = LIPS_INNER_UPPER + tuple(reversed(LIPS_INNER_LOWER[1:-1]))
# Inner-lip points paired top/bottom (same position along the mouth), right to
# left, corners excluded: the mouth opening is measured between these.
LIPS_INNER_PAIRS: Tuple[Tuple[int, int], ...] = tuple(zip(LIPS_INNER_UPPER[1:-1], LIPS_INNER_LOWER[1:-1]))
# The three central pairs used for the mouth aspect ratio (MAR).
MAR_PAIRS: Tuple[Tuple[int, int], ...] = ((81, 178), (13, 14), (311, 402))

# --- Nose, chin, forehead, outline -----------------------------------------
NOSE_TIP = 1
NOSE_BRIDGE = 168   # between the eyes, on the bridge
NOSE_BOTTOM = 2     # subnasale
CHIN = 152          # lowest point of the chin (menton)
FOREHEAD = 10       # top of the face oval, on the midline
FOREHEAD_MID = 151  # middle of the forehead
RIGHT_CHEEK = 234   # face edge at the subject's right (tragus level)
LEFT_CHEEK = 454

#: face outline, clockwise in the image starting at the top of the forehead (10)
FACE_OVAL: Idx = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
                  400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
                  54, 103, 67, 109)

#: a few stable points (little moved by expressions) for pose / alignment
STABLE_POINTS: Idx = (RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER,
                      NOSE_BRIDGE, NOSE_TIP, NOSE_BOTTOM, FOREHEAD_MID, RIGHT_CHEEK, LEFT_CHEEK)

__all__ = [n for n in dir() if n.isupper()]
