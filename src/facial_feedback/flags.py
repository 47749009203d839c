"""What the `facial-feedback` command and its batch runner share: the exit codes, the analyzer
flags of each mode and the AnalyzerConfig they build. Below both (cli.py and batch/ import it;
it imports neither), and standard library only at import (the command's start-up time).
"""
from __future__ import annotations

import argparse
from typing import Iterable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# the AnalyzerConfig fields each mode has flags for (IMAGE mode has no tracking or smoothing)
IMAGE_SETTINGS = ("min_face_score", "emotion_labels", "signals")
VIDEO_SETTINGS = ("min_face_score", "max_faces", "emotion_labels", "emotion_smoothing", "emotion_interval", "track_memory",
                  "detect_interval", "signals")
# how `video` spreads its work over threads (batch workers always run one thread: batch.worker)
RUN_SETTINGS = ("threads", "overlap")


def add_analyzer_flags(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """One flag per AnalyzerConfig field named: its name (or the field's own `flag`), type,
    default and help all come from the field (facial_feedback.config), so they cannot drift."""
    from dataclasses import fields

    from .config import AnalyzerConfig

    by_name = {f.name: f for f in fields(AnalyzerConfig)}
    for name in names:
        f = by_name[name]
        flag = f.metadata.get("flag", "--" + name.replace("_", "-"))
        if f.type in ("bool", bool):   # on by default: the flag turns it off
            parser.add_argument(flag, dest=name, action="store_false", help="turn off " + f.metadata["help"])
        elif "choices" in f.metadata:
            parser.add_argument(flag, dest=name, choices=f.metadata["choices"], default=f.default,
                                help=f.metadata["help"] + " (default %(default)s)")
        else:
            kind = int if f.type in ("int", int) else float
            parser.add_argument(flag, dest=name, type=kind, default=f.default,
                                metavar="N" if kind is int else "X", help=f.metadata["help"] + " (default %(default)s)")


def analyzer_config(ns):
    """The AnalyzerConfig from the parsed flags (fields without a flag keep their defaults);
    a bad value raises ValueError naming the setting."""
    from dataclasses import fields

    from .config import AnalyzerConfig

    return AnalyzerConfig(**{f.name: getattr(ns, f.name) for f in fields(AnalyzerConfig) if hasattr(ns, f.name)})
