"""AnalyzerConfig: every setting of the analysis, its default and its meaning, written once.

The same fields are reachable from everywhere a user sets them:
- Python: `Analyzer(AnalyzerConfig(max_faces=4))`;
- the CLI: one flag per field (`--max-faces 4`, `--smoothing 0`, `--detect-interval 0.5`, ...),
  built from these fields, their defaults and help (flags.add_analyzer_flags);
- the web app: `ANALYZER_OPTIONS` in its config (`{"max_faces": 4}`, or the environment variable
  FACIAL_FEEDBACK_ANALYZER_OPTIONS='{"max_faces": 4}'), read by `AnalyzerConfig.from_dict`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping


# Which annotators' convention the emotion label follows. FER2013's original labels and FER+'s
# ten-annotator majorities agree on only about two faces in three, so no one output follows both:
# "mixed" is the shipped output (one mix of both heads, tuned on both label sets and on film stills);
# "ferplus" and "fer2013" are the model's two heads, for research scored against that label set.
EMOTION_LABEL_SETS = ("mixed", "ferplus", "fer2013")


def _setting(default, help: str, **meta):
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class AnalyzerConfig:
    min_face_score: float = _setting(0.5, "detection confidence (0-1) a face needs to be reported")
    # VIDEO/LIVE: most faces the tracking mesh follows at once.
    max_faces: int = _setting(8, "VIDEO/LIVE: the most faces followed at once")
    # Emotion smoothing in VIDEO/LIVE: an exponential moving average of each track's
    # probabilities with this time constant in seconds (weight of a new frame is
    # 1 - exp(-dt / tau)); 0 turns smoothing off. 0.3 s removes frame-to-frame flicker
    # and still follows a change of expression within about half a second.
    emotion_smoothing: float = _setting(
        0.3, "VIDEO/LIVE: time constant in seconds of the emotion moving average; 0 = off", flag="--smoothing")
    # VIDEO/LIVE: each face is read by the emotion model at most this often (seconds); between
    # readings it keeps its last one, smoothed as above. 0.1 s (10 readings a second, every 3rd frame
    # of a 30 fps video) is well inside the 0.3 s smoothing and saves 2/3 of the model's 4-5 ms a face.
    emotion_interval: float = _setting(
        0.1, "VIDEO/LIVE: seconds between two emotion readings of one face (held and smoothed between); "
             "0 = every frame", flag="--emotion-interval")
    emotion_labels: str = _setting(
        "mixed", "which label convention the emotion follows: mixed (one output tuned on FER+ majorities, "
                 "FER2013's labels and film stills), ferplus (FER+ annotators' majority: more often neutral) or "
                 "fer2013 (FER2013's original labels: more angry, fear, sad)", choices=EMOTION_LABEL_SETS)
    # A track keeps its id while its face is visible and for this long after it is lost.
    track_memory: float = _setting(2.0, "VIDEO/LIVE: seconds a lost face keeps its track id")
    # VIDEO/LIVE: seconds for one full detector search (the whole frame, then its tiles, run
    # one pass at a time across the interval); it refreshes detection scores and finds faces
    # the tracking mesh has not (new ones, small ones).
    detect_interval: float = _setting(
        1.0, "VIDEO/LIVE: seconds for one full detector search (finds new and small faces)")
    # Per-frame facial signals and session state over time (facial_feedback.signals).
    signals: bool = _setting(True, "the facial signals (blinks, gaze, ...), their events and the attention/"
                             "fatigue/tension states", flag="--no-signals")
    # The 52 expression blendshapes of each meshed face (Face.blendshapes, facial_feedback.blendshapes).
    blendshapes: bool = _setting(True, "the 52 expression blendshapes of each face (JSON, API, live page)",
                                 flag="--no-blendshapes")
    # How the work is spread over CPU threads (the results are the same either way).
    threads: int = _setting(0, "CPU threads each face model (LiteRT) may use; 0 = automatic: for video files 1 "
                            "on a machine of 2 cores or fewer (their stages already run in parallel), else up "
                            "to 2, as for photos and live frames")
    overlap: bool = _setting(True, "VIDEO/LIVE: overlapping the stages of a frame and of consecutive frames in "
                             "threads (decoding, mesh and detector, emotion); off: all in one thread, as batch "
                             "workers run", flag="--no-overlap")

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("bool", bool):
                ok = isinstance(v, bool)
            elif f.type in ("str", str):
                ok = isinstance(v, str) and v in f.metadata.get("choices", (v,))
            elif f.type in ("int", int):
                ok = isinstance(v, int) and not isinstance(v, bool)
            else:
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not ok:
                want = ("true or false" if f.type in ("bool", bool) else
                        "one of " + ", ".join(f.metadata["choices"]) if "choices" in f.metadata else f.type)
                raise ValueError(f"{f.name} must be {want}, got {v!r}")
        if not 0.0 <= self.min_face_score <= 1.0:
            raise ValueError(f"min_face_score must be between 0 and 1, got {self.min_face_score}")
        if self.max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {self.max_faces}")
        for name in ("emotion_smoothing", "track_memory", "emotion_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.threads < 0:
            raise ValueError(f"threads must be 0 (automatic) or more, got {self.threads}")
        if self.detect_interval <= 0:
            raise ValueError(f"detect_interval must be more than 0, got {self.detect_interval}")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> "AnalyzerConfig":
        """A config from {field: value}; an unknown name or a bad value raises ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown analyzer option {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return cls(**options)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
