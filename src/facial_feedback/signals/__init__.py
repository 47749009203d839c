"""Facial signals: per-frame measures over the mesh (geometry) and state over time (temporal).

    from facial_feedback.signals import face_signals, SignalSession
"""
from .geometry import FaceSignals, GazeCalibration, ScreenCone, face_signals

__all__ = ["FaceSignals", "GazeCalibration", "ScreenCone", "face_signals"]
