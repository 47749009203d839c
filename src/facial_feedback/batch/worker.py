"""The work of one input, the same in every mode (local process pool, Ray actor).

A worker loads the models once (one Analyzer) and analyses inputs one after another,
single-threaded inside each library, so that N workers on N cores never oversubscribe them.
Each input's outputs go to a private temporary folder; the driver moves them into place
(facial_feedback.batch.commit), so nothing half-written ever sits under its final name.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional

from ..types import EMOTIONS

# Libraries that start their own thread pools read these at import; set before the first import.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1",
}


def single_threaded() -> None:
    """One thread per library in this process: BLAS/OpenMP via the environment, OpenCV via
    setNumThreads(1). ONNX Runtime already runs with intra_op_num_threads=1
    (facial_feedback.emotion); the LiteRT face models and the video loop are made one-threaded
    by the Worker's config (worker_config)."""
    for k, v in THREAD_ENV.items():
        os.environ[k] = v
    import cv2

    cv2.setNumThreads(1)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, as a container or taskset limits it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def cpu_seconds() -> float:
    """CPU time of this whole process so far (every thread: decoder, both pipeline stages)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MiB)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0, 1)


def output_names(key: str, kind: str, annotate: bool, signals: bool = True) -> Dict[str, str]:
    """Role -> path under DIR of each output of one input (key = its path relative to the
    batch's base, suffix kept so clip.mp4 and clip.mov never share outputs)."""
    if kind == "video":
        names = {"rows": key + ".csv"}
        if signals:
            names.update(events=key + ".events.csv", states=key + ".states.csv")
        if annotate:
            names["annotated"] = key + ".annotated.mp4"
    else:
        names = {"result": key + ".json"}
        if annotate:
            names["annotated"] = key + ".annotated.jpg"
    return names


def marker_name(key: str) -> str:
    """Written last, atomically: its presence means every other output of the input is in place."""
    return key + ".summary.json"


def empty_row(path: str, key: str, kind: str) -> dict:
    row = {"path": path, "output": key, "kind": kind, "status": "failed", "error": "",
           "duration_s": None, "frames": 0, "face_frames": 0, "tracks": 0, "fps": None, "wall_s": None,
           "cpu_s": None, "worker": "", "attempts": 0, "peak_rss_mb": None}
    for e in EMOTIONS:
        row["share_" + e] = None
    row.update({"blinks_per_min": None, "perclos": None, "look_aways": None})
    return row


def _shares(counts: Dict[str, int], row: dict) -> None:
    tot = sum(counts.values())
    for e in EMOTIONS:
        row["share_" + e] = round(counts.get(e, 0) / tot, 4) if tot else None


def _signal_columns(session: Optional[dict], row: dict) -> None:
    """Blinks per minute, PERCLOS and look-aways over every track of the session summary
    (facial_feedback.signals): blinks over all the minutes faces were seen, PERCLOS weighted
    by each track's time seen, look-aways summed."""
    tracks = (session or {}).get("tracks") or []
    seen = sum(float(t.get("seen_s") or 0.0) for t in tracks)
    if not tracks or seen <= 0:
        return
    blinks = sum(int(t.get("blinks") or 0) + int(t.get("slow_blinks") or 0) for t in tracks)
    row["blinks_per_min"] = round(blinks / (seen / 60.0), 2)
    pw = [(float(t["perclos"]), float(t.get("seen_s") or 0.0)) for t in tracks if t.get("perclos") is not None]
    wsum = sum(w for _, w in pw)
    row["perclos"] = round(sum(p * w for p, w in pw) / wsum, 4) if wsum > 0 else None
    row["look_aways"] = sum(int(t.get("look_aways") or 0) for t in tracks)


def worker_config(config=None):
    """The AnalyzerConfig a worker runs: the user's settings, with each LiteRT interpreter on one
    thread and the video loop's stages in the worker's own thread (overlap off), so that N
    workers keep N cores busy and never more. The results are the same as with overlap."""
    from dataclasses import replace

    from ..pipeline import AnalyzerConfig

    return replace(config if config is not None else AnalyzerConfig(), threads=1, overlap=False)


class Worker:
    """Holds the loaded models; `run` analyses one input into a temporary folder."""

    def __init__(self, every: int = 1, annotate: bool = False, config=None):
        from ..pipeline import Analyzer

        single_threaded()
        self.every = every
        self.annotate = annotate
        self.analyzer = Analyzer(worker_config(config))
        self.name = worker_name()

    def close(self) -> None:
        self.analyzer.close()

    def run(self, src: str, path: str, key: str, kind: str, tmpdir: str,
            progress: Optional[Callable[[int, int], None]] = None) -> dict:
        """Analyse `src` (shown as `path`), writing outputs under `tmpdir` with the final
        names (relative to DIR). Returns {"row": summary row, "files": {name: tmp path}}.
        Bad input is a failed row with its reason, never an exception."""
        row = empty_row(path, key, kind)
        row["worker"] = self.name
        names = output_names(key, kind, self.annotate, self.analyzer.config.signals)
        tmp = {role: os.path.join(tmpdir, "f%d%s" % (i, _suffix(n))) for i, (role, n) in enumerate(names.items())}
        t0, c0 = time.perf_counter(), cpu_seconds()
        try:
            if kind == "video":
                self._video(src, tmp, row, progress)
            else:
                self._image(src, path, tmp, row)
            row["status"] = "ok"
        except Exception as e:  # one bad input fails alone, with its reason
            row["error"] = _reason(e)
        row["wall_s"] = round(time.perf_counter() - t0, 3)
        row["cpu_s"] = round(cpu_seconds() - c0, 3)
        if row["status"] == "ok" and row["frames"]:
            row["fps"] = round(row["frames"] / row["wall_s"], 1) if row["wall_s"] > 0 else None
        row["peak_rss_mb"] = peak_rss_mb()
        files = {names[r]: p for r, p in tmp.items() if os.path.exists(p)} if row["status"] == "ok" else {}
        return {"row": row, "files": files}

    def _video(self, src, tmp, row, progress) -> None:
        from ..video import write_video_outputs

        s = write_video_outputs(self.analyzer, src, csv_path=tmp["rows"], annotate_path=tmp.get("annotated"),
                                every=self.every, progress=progress, events_path=tmp.get("events"),
                                states_path=tmp.get("states"))
        info = getattr(s, "info", None)
        if info is not None and info.fps > 0 and info.frame_count > 0:
            row["duration_s"] = round(info.frame_count / info.fps, 3)
        row["frames"] = s.frames_analysed
        row["face_frames"] = s.frames_with_faces
        row["tracks"] = len(s.tracks)
        _shares(s.emotion_frames, row)
        _signal_columns(s.session, row)
        if s.session and s.session.get("duration_s") and not row["duration_s"]:
            row["duration_s"] = s.session["duration_s"]

    def _image(self, src, path, tmp, row) -> None:
        """What `facial-feedback analyze --json [--annotate]` writes for one photo."""
        from ..io import load_image

        rgb = load_image(src)
        fr = self.analyzer.analyze_image(rgb)
        d = fr.to_dict()
        with open(tmp["result"], "w") as f:
            json.dump({"path": path, **d, "error": None}, f)
            f.write("\n")
        if "annotated" in tmp:
            import cv2

            from ..annotate import annotate

            cv2.imwrite(tmp["annotated"], cv2.cvtColor(annotate(rgb, fr), cv2.COLOR_RGB2BGR))
        row["frames"] = 1
        row["face_frames"] = 1 if fr.faces else 0
        row["tracks"] = len(fr.faces)
        counts: Dict[str, int] = {}
        for face in fr.faces:
            if face.emotion is not None:
                counts[face.emotion.label] = counts.get(face.emotion.label, 0) + 1
        _shares(counts, row)


def _suffix(name: str) -> str:
    s = Path(name).suffix
    return s if s else ".out"


def _reason(e: BaseException) -> str:
    from ..io import ImageError, VideoError

    if isinstance(e, (ImageError, VideoError)):
        return str(e)
    return f"analysis failed: {type(e).__name__}: {e}"
