"""Analyse one video file into files on disk, streaming: rows are written as frames come,
so a two-hour video needs the memory of a few frames. Used by the CLI, the web jobs and
anything that runs many videos (one call per video).

The outputs appear whole or not at all: each is written to a hidden temporary file beside
it (`.NAME.partial.EXT`) and renamed into place once the whole video is done; a video that
fails part-way (or Ctrl-C) leaves no output that looks finished.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .io import VideoError, VideoInfo
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
    info: Optional[VideoInfo] = None  # the container's size, rate and frame count (probed once)
    # why the annotated video has no sound track copied from the original (None: copied if there was one)
    annotated_audio_note: Optional[str] = None

    def add(self, fr: FrameResult) -> None:
        t = fr.timestamp
        self.frames_analysed += 1
        if fr.faces:
            self.frames_with_faces += 1
        for face in fr.faces:
            tr = self.tracks.setdefault(face.track_id, {"first": t, "last": t, "frames": 0})
            tr["last"] = t
            tr["frames"] += 1
            if face.emotion is not None:
                lab = face.emotion.label
                self.emotion_frames[lab] = self.emotion_frames.get(lab, 0) + 1

    def to_dict(self) -> dict:
        d = {"path": self.path, "frames_analysed": self.frames_analysed,
             "frames_with_faces": self.frames_with_faces,
             "tracks": {str(k): v for k, v in self.tracks.items()},
             "emotion_frames": self.emotion_frames, "seconds": round(self.seconds, 2),
             "fps_processed": round(self.fps_processed, 1), "session": self.session}
        if self.info is not None:
            d["video"] = {"width": self.info.width, "height": self.info.height, "fps": round(self.info.fps, 3),
                          "frame_count": self.info.frame_count, "duration": round(self.info.duration, 3)}
        return d


@functools.lru_cache(maxsize=None)
def _ffmpeg_encoders() -> frozenset:
    """The encoders of the ffmpeg on PATH (empty without one): scripts/setup_web.sh --browser
    installs Debian's, which has libx264, libvpx, AAC and Opus."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(line.split()[1] for line in out.splitlines()
                     if len(line.split()) > 1 and line.split()[0][:1] in "VA" and len(line.split()[0]) == 6)


# container -> (video encoder, audio encoder) that ffmpeg needs for it; browsers play both pairs
_FFMPEG_CODECS = {".mp4": ("libx264", "aac"), ".m4v": ("libx264", "aac"), ".mov": ("libx264", "aac"),
                  ".webm": ("libvpx", "libopus")}


def annotated_encoder(ext: str) -> Optional[str]:
    """Whether ffmpeg can write an annotated video of this extension (with the original's audio):
    None if it can, else why not (the OpenCV writer then writes the picture only)."""
    need = _FFMPEG_CODECS.get(ext.lower())
    if need is None:
        return f"ffmpeg is not used for {ext or 'this'} files"
    have = _ffmpeg_encoders()
    if not have:
        return "ffmpeg is not installed (scripts/setup_web.sh --browser or apt-get install ffmpeg)"
    missing = [c for c in need if c not in have]
    return f"this ffmpeg has no {' or '.join(missing)} encoder" if missing else None


class _AnnotatedWriter:
    """The annotated video. With ffmpeg (and its encoder for the extension) the frames are piped
    to it and the original's audio track, if any, is copied in: .mp4 as H.264 + AAC, .webm as
    VP8 + Opus, both of which browsers play. Without ffmpeg OpenCV writes the picture only
    (.webm VP8; .mp4 as mp4v, which browsers do not play: OpenCV's wheels have no H.264)."""

    def __init__(self, path: PathLike, fps: float, size, audio_from: Optional[PathLike] = None):
        self.path = str(path)
        self.size = tuple(size)
        ext = Path(path).suffix.lower()
        self.why_no_audio = annotated_encoder(ext)
        self.proc = self.w = None
        if self.why_no_audio is None:
            self._open_ffmpeg(ext, fps, audio_from)
            return
        import cv2

        codec = "mp4v" if ext in (".mp4", ".m4v", ".mov") else "VP80" if ext == ".webm" else "MJPG"
        fourcc = cv2.VideoWriter_fourcc(*codec)
        self.w = cv2.VideoWriter(self.path, fourcc, fps, size)
        if not self.w.isOpened():
            raise VideoError(f"cannot write annotated video to {path}")

    def _open_ffmpeg(self, ext: str, fps: float, audio_from) -> None:
        vcodec, acodec = _FFMPEG_CODECS[ext]
        w, h = self.size
        fps = fps if fps and fps > 0 else 30.0
        cmd = [shutil.which("ffmpeg"), "-v", "error", "-nostdin", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:.6f}", "-i", "pipe:0"]
        if audio_from is not None:
            # "1:a:0?": a source without sound gives a video without, not an error; apad +
            # -shortest: the picture sets the length (a short sound track is padded with silence,
            # a long one cut where the analysed frames end)
            cmd += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a:0?", "-c:a", acodec, "-b:a", "128k",
                    "-af", "apad", "-shortest"]
        # yuv420p (what browsers decode) needs even sides
        cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", "-c:v", vcodec]
        if vcodec == "libx264":
            cmd += ["-preset", "veryfast", "-crf", "23", "-movflags", "+faststart", "-f", "mp4"]
        else:
            cmd += ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-crf", "10", "-f", "webm"]
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd + [self.path], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self._err)

    def _ffmpeg_error(self) -> VideoError:
        self._err.seek(0)
        msg = self._err.read().decode("utf-8", "replace").strip().splitlines()
        return VideoError(f"ffmpeg could not write the annotated video {self.path}: "
                          f"{msg[-1] if msg else 'exit code ' + str(self.proc.returncode)}")

    def write(self, rgb: np.ndarray) -> None:
        if self.proc is not None:
            if rgb.shape[1::-1] != self.size:   # raw frames must be exactly the declared size
                import cv2

                rgb = cv2.resize(rgb, self.size)
            try:
                self.proc.stdin.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
            except BrokenPipeError:
                self.proc.wait()
                raise self._ffmpeg_error() from None
            return
        import cv2

        self.w.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self, abort: bool = False) -> None:
        if self.proc is None:
            self.w.release()
            return
        if abort:   # the outputs are being discarded: do not wait for the encoder to finish
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = self.proc.wait()
        try:
            if rc != 0 and not abort:
                raise self._ffmpeg_error()
        finally:
            self._err.close()


class _Outputs:
    """Temporary files beside the outputs, renamed into place (commit) or removed (discard)."""

    def __init__(self):
        self.pairs: List[Tuple[Path, Path]] = []

    def tmp(self, path: Optional[PathLike]) -> Optional[str]:
        if path is None:
            return None
        final = Path(path)
        t = final.with_name(f".{final.stem}.partial{final.suffix}")
        self.pairs.append((t, final))
        return str(t)

    def commit(self) -> None:
        for t, final in self.pairs:
            os.replace(t, final)

    def discard(self) -> None:
        for t, _ in self.pairs:
            try:
                t.unlink()
            except FileNotFoundError:
                pass


class _Writers:
    """The open output files of one video, fed one frame at a time."""

    def __init__(self, out: _Outputs, info: VideoInfo, every: int, csv_path, json_path, annotate_path,
                 events_path, states_path, signals: bool, landmarks: bool, blendshapes: bool = False,
                 source: Optional[PathLike] = None):
        self.files: List = []
        self.csv_w = self.json_f = self.video = self.sig_w = None
        self.landmarks = landmarks
        self.blendshapes = blendshapes
        try:
            if csv_path is not None:
                f = open(out.tmp(csv_path), "w", newline="")
                self.files.append(f)
                self.csv_w = csv.DictWriter(f, fieldnames=list(csv_columns(blendshapes)))
                self.csv_w.writeheader()
            if json_path is not None:
                self.json_f = open(out.tmp(json_path), "w")
                self.files.append(self.json_f)
            if annotate_path is not None:
                self.video = _AnnotatedWriter(out.tmp(annotate_path), info.fps / every, (info.width, info.height),
                                              audio_from=source)
            if signals and (events_path is not None or states_path is not None):
                from .signals.export import SignalWriter

                self.sig_w = SignalWriter(out.tmp(events_path), out.tmp(states_path))
        except BaseException:
            self.close()
            raise

    def write(self, rgb: np.ndarray, fr: FrameResult) -> None:
        if self.csv_w is not None:
            self.csv_w.writerows(csv_rows(fr, blendshapes=self.blendshapes))
        if self.json_f is not None:
            self.json_f.write(json.dumps(fr.to_dict(landmarks=self.landmarks)) + "\n")
        if self.video is not None:
            from .annotate import annotate

            self.video.write(annotate(rgb, fr))
        if self.sig_w is not None:
            self.sig_w.write(fr.session)

    def close(self, final_events=(), abort: bool = False) -> None:
        for f in self.files:
            f.close()
        if self.video is not None:
            self.video.close(abort=abort)
        if self.sig_w is not None:
            self.sig_w.close(final_events)   # the episodes the session ended at the last frame


def write_video_outputs(analyzer, path: PathLike, csv_path: Optional[PathLike] = None,
                        json_path: Optional[PathLike] = None, annotate_path: Optional[PathLike] = None,
                        every: int = 1, progress: Optional[Callable[[int, int], None]] = None,
                        on_frame: Optional[Callable[[FrameResult], None]] = None,
                        landmarks: bool = False, events_path: Optional[PathLike] = None,
                        states_path: Optional[PathLike] = None, blendshapes: bool = False) -> VideoSummary:
    """Analyse `path` (Analyzer.analyze_video: the one video loop), writing CSV rows (one per face
    per frame), JSON lines (one per frame) and an annotated video as it goes; with signals on, the
    events (events_path) and the states once a second (states_path) as CSV
    (facial_feedback.signals.export). Returns a summary. Raises VideoError for unusable input,
    before any file is made; outputs appear only when the whole video is done (see the module doc)."""
    # the blendshape model runs only when something here reads its output (JSON, CSV columns, on_frame)
    needed = blendshapes or json_path is not None or on_frame is not None
    stream = analyzer.analyze_video(path, every=every, progress=progress, blendshapes=None if needed else False)
    info = stream.info
    summary = VideoSummary(str(path), info=info)
    out = _Outputs()
    t_start = time.perf_counter()
    try:
        w = _Writers(out, info, every, csv_path, json_path, annotate_path, events_path, states_path,
                     analyzer.config.signals, landmarks, blendshapes, source=path)
        try:
            for rgb, fr in stream.frames():
                summary.add(fr)
                w.write(rgb, fr)
                if on_frame is not None:
                    on_frame(fr)
        except BaseException:
            w.close(stream.final_events, abort=True)
            raise
        w.close(stream.final_events)
        out.commit()
        if w.video is not None:
            summary.annotated_audio_note = w.video.why_no_audio
    except BaseException:
        stream.close()
        out.discard()
        raise
    summary.session = stream.summary
    summary.seconds = time.perf_counter() - t_start
    summary.fps_processed = summary.frames_analysed / summary.seconds if summary.seconds > 0 else 0.0
    return summary
