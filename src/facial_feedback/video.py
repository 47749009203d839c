"""Analyse a video file into files on disk, streaming: rows are written as frames come,
so a two-hour video needs the memory of a few frames. Used by the CLI and the web jobs."""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

import numpy as np

from .io import VideoError, probe_video
from .types import FrameResult, csv_columns, csv_rows

PathLike = Union[str, os.PathLike]


@dataclass
class VideoSummary:
    path: str
    frames_analysed: int = 0
    frames_with_faces: int = 0
    tracks: Dict[int, Dict[str, float]] = field(default_factory=dict)  # id -> first/last time, frames
    emotion_frames: Dict[str, int] = field(default_factory=dict)       # label -> face-frames
    seconds: float = 0.0
    fps_processed: float = 0.0
    session: Optional[dict] = None   # final signals summary, when signals are on

    def to_dict(self) -> dict:
        return {"path": self.path, "frames_analysed": self.frames_analysed,
                "frames_with_faces": self.frames_with_faces,
                "tracks": {str(k): v for k, v in self.tracks.items()},
                "emotion_frames": self.emotion_frames, "seconds": round(self.seconds, 2),
                "fps_processed": round(self.fps_processed, 1), "session": self.session}


class _AnnotatedWriter:
    def __init__(self, path: PathLike, fps: float, size):
        import cv2

        self.path = str(path)
        ext = Path(path).suffix.lower()
        # .webm: VP8, which browsers play (the web app's annotated video); OpenCV's wheels
        # have no H.264 encoder, and browsers do not play mp4v.
        codec = "mp4v" if ext in (".mp4", ".m4v", ".mov") else "VP80" if ext == ".webm" else "MJPG"
        fourcc = cv2.VideoWriter_fourcc(*codec)
        self.w = cv2.VideoWriter(self.path, fourcc, fps, size)
        if not self.w.isOpened():
            raise VideoError(f"cannot write annotated video to {path}")

    def write(self, rgb: np.ndarray) -> None:
        import cv2

        self.w.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self.w.release()


def write_video_outputs(analyzer, path: PathLike, csv_path: Optional[PathLike] = None,
                        json_path: Optional[PathLike] = None, annotate_path: Optional[PathLike] = None,
                        every: int = 1, progress: Optional[Callable[[int, int], None]] = None,
                        on_frame: Optional[Callable[[FrameResult], None]] = None,
                        landmarks: bool = False, events_path: Optional[PathLike] = None,
                        states_path: Optional[PathLike] = None, blendshapes: bool = False) -> VideoSummary:
    """Analyse `path`, writing CSV rows (one per face per frame), JSON lines (one per frame)
    and an annotated video as it goes; with signals on, the events (events_path) and the
    states once a second (states_path) as CSV (facial_feedback.signals.export). Returns a summary. Raises VideoError for unusable input;
    partial outputs of a video that fails mid-way are kept (they are valid up to that frame)."""
    import time

    from .annotate import annotate

    info = probe_video(path)
    summary = VideoSummary(str(path))
    files: List = []
    csv_w = json_f = writer = sig_w = None
    t_start = time.perf_counter()
    try:
        if csv_path is not None:
            f = open(csv_path, "w", newline="")
            files.append(f)
            csv_w = csv.DictWriter(f, fieldnames=list(csv_columns(blendshapes)))
            csv_w.writeheader()
        if json_path is not None:
            json_f = open(json_path, "w")
            files.append(json_f)
        if annotate_path is not None:
            writer = _AnnotatedWriter(annotate_path, info.fps / every, (info.width, info.height))
        session = analyzer.video_session()
        if session.signals is not None and (events_path is not None or states_path is not None):
            from .signals.export import SignalWriter

            sig_w = SignalWriter(events_path, states_path)
        try:
            from .io import iter_frames

            for rgb, fr in session.process_stream(iter_frames(path, every=every)):
                i, t = fr.index, fr.timestamp
                summary.frames_analysed += 1
                if fr.faces:
                    summary.frames_with_faces += 1
                for face in fr.faces:
                    tr = summary.tracks.setdefault(face.track_id, {"first": t, "last": t, "frames": 0})
                    tr["last"] = t
                    tr["frames"] += 1
                    if face.emotion is not None:
                        lab = face.emotion.label
                        summary.emotion_frames[lab] = summary.emotion_frames.get(lab, 0) + 1
                if csv_w is not None:
                    csv_w.writerows(csv_rows(fr, blendshapes=blendshapes))
                if json_f is not None:
                    json_f.write(json.dumps(fr.to_dict(landmarks=landmarks)) + "\n")
                if writer is not None:
                    writer.write(annotate(rgb, fr))
                if sig_w is not None:
                    sig_w.write(fr.session)
                if on_frame is not None:
                    on_frame(fr)
                if progress is not None:
                    progress(i + 1, info.frame_count)
            if session.signals is not None:
                final = session.signals.close()  # ends the episodes still open at the last frame
                if sig_w is not None:
                    sig_w.write_events(final)
                summary.session = session.signals.summary()
        finally:
            session.close()
    finally:
        for f in files:
            f.close()
        if writer is not None:
            writer.close()
        if sig_w is not None:
            sig_w.close()
    summary.seconds = time.perf_counter() - t_start
    summary.fps_processed = summary.frames_analysed / summary.seconds if summary.seconds > 0 else 0.0
    return summary
