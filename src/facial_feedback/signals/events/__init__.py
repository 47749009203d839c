"""Event detectors: one small class per kind of event, all with the interface of
`Detector` (update(Observation) -> (started, ended), close(t), busy).

    blink, slow_blink   BlinkDetector        (events/eyes.py)
    eye_closure         ClosureDetector      (events/eyes.py)
    yawn                YawnDetector         (events/expression.py)
    frown               FrownDetector        (events/expression.py)
    smile               SmileDetector        (events/expression.py)
    look_away           LookAwayDetector     (events/gaze.py)
    nod                 NodDetector          (events/head.py)
    head_drop           HeadDropDetector     (events/head.py)
    face_absent         Episode, session-wide (signals/session.py)
"""
from .base import Detector, Episode, EpisodeDetector, Event, Observation, cross
from .expression import FrownDetector, SmileDetector, YawnDetector
from .eyes import BlinkDetector, ClosureDetector, LidMachine
from .gaze import LookAwayDetector
from .head import HeadDropDetector, NodDetector

__all__ = ["BlinkDetector", "ClosureDetector", "Detector", "Episode", "EpisodeDetector", "Event", "FrownDetector",
           "HeadDropDetector", "LidMachine", "LookAwayDetector", "NodDetector", "Observation", "SmileDetector",
           "YawnDetector", "cross"]
