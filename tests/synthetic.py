"""Deform a real 478-point mesh by known amounts, and build frame sequences from it.

Test-only (it lives under tests/, not in the package): for tests and for checking thresholds: close the lids, open the mouth, move the irises,
lower the brows, turn the head, all in the face's own axes so the result stays a
plausible mesh. Amounts are fractions or multiples of the inter-ocular distance (IOD).
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable, List, Optional

import numpy as np

from facial_feedback import topology as T
from facial_feedback.signals.geometry import face_axes, face_up_3d, interocular_distance


@functools.lru_cache(maxsize=1)
def reference_mesh() -> np.ndarray:
    """The real mesh of scikit-image's astronaut photo (the package's detector and 478-point mesh).

    Needs scikit-image (a test dependency); the mesh is computed once per process.
    """
    import skimage.data

    from facial_feedback.detection import FaceDetector
    from facial_feedback.landmarks import FaceMesher

    img = skimage.data.astronaut()
    dets = FaceDetector().detect(img)
    lm = FaceMesher().mesh_face(img, dets[0].box, dets[0].keypoints) if dets else None
    if lm is None:
        raise RuntimeError("no face found in skimage.data.astronaut()")
    lm = np.asarray(lm, dtype=np.float64)
    lm.setflags(write=False)
    return lm


def _up(lm: np.ndarray) -> np.ndarray:
    """The face's 3-D up axis (the one heights are measured along)."""
    return face_up_3d(lm)


def close_eyes(lm: np.ndarray, f: float, side: str = "both") -> np.ndarray:
    """Move each upper-lid point a fraction f of the way onto the lower-lid point below it
    (f=1: lids shut, lid gap 0). Returns a new array."""
    out = np.array(lm, dtype=np.float64, copy=True)
    pairs = []
    if side in ("both", "right"):
        pairs += list(T.RIGHT_EYE_LID_PAIRS)
    if side in ("both", "left"):
        pairs += list(T.LEFT_EYE_LID_PAIRS)
    for u, d in pairs:
        out[u] = out[u] + f * (out[d] - out[u])
    return out


def open_mouth(lm: np.ndarray, a: float) -> np.ndarray:
    """Drop the lower lip (inner and outer lower contours) and the chin by a * IOD along the
    face's (3-D) down axis: a=0.6 is a yawn-wide opening."""
    out = np.array(lm, dtype=np.float64, copy=True)
    d = -_up(out) * a * interocular_distance(out)
    idx = set(T.LIPS_INNER_LOWER[1:-1]) | set(T.LIPS_OUTER_LOWER[1:-1]) | {T.CHIN}
    for i in idx:
        out[i] += d
    return out


def move_irises(lm: np.ndarray, dx: float, dy: float = 0.0) -> np.ndarray:
    """Shift both irises (centre and ring) by (dx, dy) iris diameters along the face's
    (x, up) axes: dx > 0 towards the image's right, dy > 0 upwards."""
    out = np.array(lm, dtype=np.float64, copy=True)
    x, up = face_axes(out)
    for centre, ring in ((T.RIGHT_IRIS_CENTER, T.RIGHT_IRIS_RING), (T.LEFT_IRIS_CENTER, T.LEFT_IRIS_RING)):
        r = out[list(ring), :2]
        diam = (np.hypot(*(r[0] - r[2])) + np.hypot(*(r[1] - r[3]))) / 2.0
        shift = (dx * x + dy * up) * diam
        for i in (centre,) + tuple(ring):
            out[i, :2] += shift
    return out


def lower_brows(lm: np.ndarray, a: float) -> np.ndarray:
    """Move both brows down by a * IOD along the face's (3-D) down axis."""
    out = np.array(lm, dtype=np.float64, copy=True)
    d = -_up(out) * a * interocular_distance(out)
    for i in set(T.RIGHT_BROW) | set(T.LEFT_BROW):
        out[i] += d
    return out


def close_mouth(lm: np.ndarray) -> np.ndarray:
    """Bring the lips together: each lip moves (whole, outer and inner edge) half the inner gap."""
    out = np.array(lm, dtype=np.float64, copy=True)
    for (u, d), uo, do in zip(T.LIPS_INNER_PAIRS, T.LIPS_OUTER_UPPER[1:-1], T.LIPS_OUTER_LOWER[1:-1]):
        half = (out[d] - out[u]) / 2.0
        out[u] += half
        out[uo] += half
        out[d] -= half
        out[do] -= half
    return out


def press_lips(lm: np.ndarray, f: float) -> np.ndarray:
    """Close the mouth and thin both lips by a fraction f (outer lip edges move towards the
    inner edges), as when the lips are pressed together."""
    out = close_mouth(lm)
    for outer, inner in zip(T.LIPS_OUTER_UPPER[1:-1], T.LIPS_INNER_UPPER[1:-1]):
        out[outer] += f * (out[inner] - out[outer])
    for outer, inner in zip(T.LIPS_OUTER_LOWER[1:-1], T.LIPS_INNER_LOWER[1:-1]):
        out[outer] += f * (out[inner] - out[outer])
    return out


def smile(lm: np.ndarray, f: float) -> np.ndarray:
    """Lift the mouth corners by 0.12 * f IOD and widen the mouth by 0.3 * f IOD."""
    out = np.array(lm, dtype=np.float64, copy=True)
    iod = interocular_distance(out)
    x, _ = face_axes(out)
    up = _up(out)
    for i, sgn in ((T.MOUTH_RIGHT, -1.0), (T.MOUTH_LEFT, 1.0), (T.MOUTH_INNER_RIGHT, -1.0), (T.MOUTH_INNER_LEFT, 1.0)):
        out[i] += up * 0.12 * f * iod
        out[i, :2] += sgn * x * 0.15 * f * iod
    return out


def rotate_in_plane(lm: np.ndarray, deg: float) -> np.ndarray:
    """Rotate the mesh about its eye midpoint by deg degrees, clockwise in the image."""
    out = np.array(lm, dtype=np.float64, copy=True)
    c = (out[T.RIGHT_EYE_OUTER, :2] + out[T.LEFT_EYE_OUTER, :2]) / 2.0
    a = np.radians(deg)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out[:, :2] = (out[:, :2] - c) @ R.T + c
    return out


def face_signals_of(lm: np.ndarray, pose=None):
    """Shorthand for geometry.face_signals."""
    from facial_feedback.signals.geometry import face_signals

    return face_signals(lm, pose)


def frames(fps: float, seconds: float, mesh_at: Callable[[float], Optional[np.ndarray]],
           pose_at: Optional[Callable[[float], tuple]] = None, track_id: int = 1,
           signals: bool = True) -> List:
    """A list of FrameResult, one per frame at fps, with one face whose mesh is mesh_at(t)
    (None = no face in that frame) and head pose pose_at(t) -> (yaw, pitch, roll)."""
    from facial_feedback.types import Box, Face, FrameResult, HeadPose
    from facial_feedback.signals.geometry import face_signals

    out = []
    n = int(round(seconds * fps))
    for i in range(n):
        t = i / fps
        lm = mesh_at(t)
        faces = ()
        if lm is not None:
            pose = HeadPose(*pose_at(t)) if pose_at is not None else HeadPose(0.0, 0.0, 0.0)
            face = Face(box=Box.from_points(lm), score=0.99, landmarks=lm, pose=pose, track_id=track_id)
            if signals:
                from dataclasses import replace
                face = replace(face, signals=face_signals(lm, pose))
            faces = (face,)
        out.append(FrameResult(512, 512, faces, index=i, timestamp=t))
    return out


def blink_profile(t: float, onset: float, duration: float, ramp: float = 0.06) -> float:
    """Lid closure fraction (0 open .. 1 shut) of a blink or eye closure whose lids are at
    least half closed from onset to onset + duration; closing and opening each take `ramp`
    seconds (closure 0.5 at onset and at onset + duration)."""
    if duration <= 0:
        return 0.0
    down = 0.5 + (t - onset) / ramp
    up = 0.5 + (onset + duration - t) / ramp
    return float(np.clip(min(down, up), 0.0, 1.0))


def run(session, frame_list: Iterable) -> tuple:
    """Feed frames to a SignalSession; returns (snapshots, all ended events incl. close())."""
    snaps, ended = [], []
    for fr in frame_list:
        s = session.update(fr)
        snaps.append(s)
        ended.extend(s.ended)
    ended.extend(session.close())
    return snaps, ended


def rotate_3d(lm: np.ndarray, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """Turn the whole mesh rigidly about its centroid: yaw about the image's vertical axis,
    pitch about the horizontal one (degrees). A head turning or nodding, face unchanged."""
    out = np.array(lm, dtype=np.float64, copy=True)
    c = out.mean(axis=0)
    a, b = np.radians(yaw), np.radians(pitch)
    Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    Rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return (out - c) @ (Ry @ Rx).T + c


# ---- hand-written FrameResults for the app tests (apps.reading, apps.wellbeing) -----------------

def state(name: str, value: float = 0.0, level: str = "low", confidence: float = 0.0, abstain: bool = True,
          cues=()):
    """A signals State; by default an abstaining one (the apps then ignore it)."""
    from facial_feedback.signals import State

    return State(name, value, level, None, confidence, abstain, tuple(cues))


def track(track_id: int, on_screen=None, eyes_closed: bool = False, fatigue=None, baseline: str = "population",
          frowning=None, smiling=None):
    """A signals TrackState with the given fields; the other states abstain."""
    from facial_feedback.signals import TrackState

    return TrackState(track_id=track_id, present=True, eyes_closed=eyes_closed, closure=None, on_screen=on_screen,
                      attention=state("attention"), fatigue=fatigue or state("fatigue"), tension=state("tension"),
                      baseline_source=baseline, seen_s=0.0, frowning=frowning, smiling=smiling)


def event(type: str, track_id, onset: float, duration=None):
    from facial_feedback.signals import Event

    return Event(type, track_id, onset, duration)


def steady_signals(quality: float = 1.0):
    """FaceSignals of a still, neutral face (the same every frame), seen with this quality."""
    from facial_feedback.signals import FaceSignals

    return FaceSignals(ear_left=0.3, ear_right=0.3, eye_open_left=0.15, eye_open_right=0.15, mar=0.05,
                       mouth_open=0.02, mouth_width=0.9, mouth_corner_lift=0.0, smile=0.0, lip_press=0.2,
                       brow_height=0.25, brow_inner_height=0.25, head_tilt=0.0, eye_yaw=None, eye_pitch=None,
                       gaze_yaw=None, gaze_pitch=None, on_screen=None, iod_px=40.0, quality=quality)


def face(box=(0, 0, 100, 100), track_id=None, signals=None):
    from facial_feedback.types import Box, Face

    return Face(box=Box(*box), track_id=track_id, signals=signals)


def frame(t: float, faces=(), started=(), ended=(), tracks=(), session: bool = True):
    """A FrameResult at time t with these faces and (unless session=False) a SessionSnapshot."""
    from facial_feedback.signals import SessionSnapshot
    from facial_feedback.types import FrameResult

    snap = SessionSnapshot(None, t, tuple(started), tuple(ended), tuple(tracks)) if session else None
    return FrameResult(640, 480, tuple(faces), timestamp=t, session=snap)
