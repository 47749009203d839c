"""Compatibility module: the signals over time now live in config.py (SignalConfig),
events/ (one detector per kind of event), states.py (attention, fatigue, tension),
track.py and session.py (SignalSession). Import them from facial_feedback.signals."""
from .config import SignalConfig
from .events import Event
from .session import SessionSnapshot, SignalSession, TrackState, learn_baseline
from .states import LEVELS, State

__all__ = ["Event", "LEVELS", "SessionSnapshot", "SignalConfig", "SignalSession", "State", "TrackState",
           "learn_baseline"]
