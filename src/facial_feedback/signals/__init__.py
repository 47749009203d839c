"""Facial signals: per-frame measures over the mesh (geometry) and state over time
(session: one detector per event in events/, the states apart in states.py).

    from facial_feedback.signals import face_signals, SignalSession, Baseline

`face_signals(landmarks, pose)` -> FaceSignals (eye openness, mouth, gaze, brows, lips, smile);
`SignalSession().update(frame_result)` -> SessionSnapshot (events with onset and duration,
attention / fatigue / tension states per track). Formulas and sources: docs/signals.md.
"""
from .baseline import Baseline
from .geometry import FaceSignals, GazeCalibration, ScreenCone, face_signals
from .config import SignalConfig
from .events import Event
from .session import SessionSnapshot, SignalSession, TrackState, face_states, learn_baseline
from .states import State

__all__ = ["Baseline", "Event", "FaceSignals", "face_states", "GazeCalibration", "ScreenCone", "SessionSnapshot", "SignalConfig",
           "SignalSession", "State", "TrackState", "face_signals",
           "learn_baseline"]
