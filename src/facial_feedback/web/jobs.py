"""Video analysis jobs: a small thread pool, one folder per job under the instance folder.

    <root>/<job id>/job.json        the job's record (what GET /api/v1/jobs/<id> returns)
    <root>/<job id>/upload.<ext>    the uploaded video, deleted after the job unless kept
    <root>/<job id>/results.csv     one row per face per frame (types.CSV_COLUMNS)
    <root>/<job id>/results.jsonl   one FrameResult.to_dict() per line (JSON lines)
    <root>/<job id>/annotated.mp4   the video with boxes and labelled bars, with the upload's sound:
                                    H.264 + AAC when ffmpeg can and the browser plays it (it says so
                                    when uploading), else annotated.webm (VP8, + Opus with ffmpeg);
                                    the job's "video_note" says why WebM or why no sound

A job that ends early because the file stops decoding (truncated, partly corrupt) is "done"
with a "warning" saying how many of the declared frames were read ("frames_read").

Records are written to disk as the job goes, so the job list survives a page reload and a
server restart (a job that was running when the server stopped is marked failed, saying so).
Results are streamed to disk frame by frame: a long video needs the memory of a few frames.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

log = logging.getLogger(__name__)

OUTPUTS = {"csv": ("results.csv", "text/csv"),
           "json": ("results.jsonl", "application/x-ndjson"),
           "video": ("annotated.webm", "video/webm")}
# the annotated video's two forms (OUTPUTS["video"] is the WebM, every job's before MP4 existed)
VIDEO_FILES = {"annotated.mp4": "video/mp4", "annotated.webm": "video/webm"}


def output_file(job: dict, kind: str):
    """(file name, media type) of one of a job's outputs."""
    if kind == "video":
        name = job.get("video_file") or OUTPUTS["video"][0]
        return name, VIDEO_FILES[name]
    return OUTPUTS[kind]
ACTIVE = ("queued", "running")


class Cancelled(Exception):
    pass


class JobManager:
    def __init__(self, analyzer, root: str, workers: int = 1, max_kept: int = 50):
        self.analyzer = analyzer
        self.root = root
        self.max_kept = max_kept
        os.makedirs(root, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs: Dict[str, dict] = {}
        self._cancel: Dict[str, threading.Event] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="ff-job",
                                        initializer=_lower_priority)
        self._load()

    # ---- records -------------------------------------------------------------------
    def _dir(self, job_id: str) -> str:
        return os.path.join(self.root, job_id)

    def _load(self) -> None:
        for name in os.listdir(self.root):
            p = os.path.join(self.root, name, "job.json")
            try:
                with open(p) as f:
                    job = json.load(f)
            except (OSError, ValueError):
                continue
            if job.get("status") in ACTIVE:
                job.update(status="failed", error="The server stopped before this job finished.",
                           finished=job.get("finished") or time.time())
                self._remove_upload(job)
                self._save(job)
            self._jobs[job["id"]] = job

    def _save(self, job: dict) -> None:
        d = self._dir(job["id"])
        if not os.path.isdir(d):
            return  # deleted meanwhile
        tmp = os.path.join(d, "job.json.tmp")
        with open(tmp, "w") as f:
            json.dump(job, f)
        os.replace(tmp, os.path.join(d, "job.json"))

    def _update(self, job_id: str, save: bool = True, **fields) -> Optional[dict]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            job.update(fields)
            snapshot = dict(job)
        if save:
            self._save(snapshot)
        return snapshot

    # ---- public ------------------------------------------------------------------------
    def create(self, fileobj, filename: str, every: int = 1, keep_upload: bool = False,
               annotate: bool = True, video_format: str = "mp4") -> dict:
        """Store an uploaded video (a werkzeug FileStorage or anything with .save(path)) and queue it.
        video_format: "mp4" (H.264, if this machine can write it) or "webm" (the browser plays no H.264)."""
        job_id = uuid.uuid4().hex[:12]
        ext = os.path.splitext(filename)[1].lower()
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", ext):
            ext = ".bin"  # the name is the user's; only a plain extension reaches the disk
        d = self._dir(job_id)
        os.makedirs(d)
        upload = os.path.join(d, "upload" + ext)
        fileobj.save(upload)
        job = {
            "id": job_id, "filename": filename, "status": "queued", "error": None,
            "every": int(every), "keep_upload": bool(keep_upload), "annotate": bool(annotate),
            "video_format": "webm" if video_format == "webm" else "mp4",
            "created": time.time(), "started": None, "finished": None,
            "progress": 0.0, "frames_done": 0, "frames_total": None, "fps": None,
            "faces": None, "tracks": [], "size_bytes": os.path.getsize(upload),
            "upload": os.path.basename(upload), "outputs": [],
        }
        with self._lock:
            self._jobs[job_id] = job
            self._cancel[job_id] = threading.Event()
        self._save(job)
        self._prune()
        self._pool.submit(self._run, job_id)
        return dict(job)

    def list(self) -> List[dict]:
        with self._lock:
            return sorted((dict(j) for j in self._jobs.values()), key=lambda j: j["created"], reverse=True)

    def get(self, job_id: str) -> Optional[dict]:
        with self._lock:
            j = self._jobs.get(job_id)
            return dict(j) if j else None

    def output_path(self, job_id: str, kind: str) -> Optional[str]:
        job = self.get(job_id)
        if job is None or kind not in OUTPUTS or kind not in job["outputs"]:
            return None
        p = os.path.join(self._dir(job_id), output_file(job, kind)[0])
        return p if os.path.exists(p) else None

    def delete(self, job_id: str) -> bool:
        """Cancel (if running) and delete a job with all its files."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            ev = self._cancel.pop(job_id, None)
        if job is None:
            return False
        if ev is not None:
            ev.set()
        shutil.rmtree(self._dir(job_id), ignore_errors=True)
        return True

    def wait(self, job_id: str, timeout: float = 60.0) -> Optional[dict]:
        """Block until the job leaves queued/running (tests, scripts)."""
        end = time.time() + timeout
        while time.time() < end:
            j = self.get(job_id)
            if j is None or j["status"] not in ACTIVE:
                return j
            time.sleep(0.05)
        return self.get(job_id)

    def shutdown(self) -> None:
        for ev in list(self._cancel.values()):
            ev.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _prune(self) -> None:
        finished = [j for j in self.list() if j["status"] not in ACTIVE]
        for j in finished[self.max_kept:]:
            self.delete(j["id"])

    def _remove_upload_of(self, job_id: str) -> None:
        with self._lock:
            j = self._jobs.get(job_id)
            if j is not None:
                self._remove_upload(j)

    def _remove_upload(self, job: dict) -> None:
        if job.get("keep_upload"):
            return
        p = os.path.join(self._dir(job["id"]), job.get("upload") or "")
        if job.get("upload") and os.path.exists(p):
            os.remove(p)
        job["upload"] = None

    # ---- the work ----------------------------------------------------------------------
    def _run(self, job_id: str) -> None:
        try:
            self._run_job(job_id)
        finally:
            from .memory import trim

            trim()  # the job's decoded frames and encoder buffers go back to the system

    def _run_job(self, job_id: str) -> None:
        job = self.get(job_id)
        if job is None:
            return
        cancel = self._cancel.get(job_id) or threading.Event()
        d = self._dir(job_id)
        upload = os.path.join(d, job["upload"])
        t0 = time.time()
        self._update(job_id, status="running", started=t0)
        state = {"last_save": 0.0, "read": 0}

        def progress(done: int, total: Optional[int]) -> None:
            if cancel.is_set():
                raise Cancelled()
            state["read"] = int(done)
            now = time.time()
            fields = {"frames_done": int(done), "frames_total": int(total) if total else None,
                      "fps": round(done / max(now - t0, 1e-6), 1)}
            if total:
                fields["progress"] = round(min(1.0, done / total), 4)
            save = now - state["last_save"] > 1.0
            if save:
                state["last_save"] = now
            self._update(job_id, save=save, **fields)

        try:
            summary = run_video(self.analyzer, upload, d, every=job["every"],
                                annotate=job["annotate"], progress=progress,
                                video_format=job.get("video_format", "mp4"))
        except Cancelled:
            return
        except Exception as e:  # the job says why it failed
            log.warning("job %s failed: %s", job_id, e, exc_info=not _is_input_error(e))
            if cancel.is_set():
                return
            self._remove_upload_of(job_id)
            self._update(job_id, status="failed", error=describe_error(e), finished=time.time())
            return
        if cancel.is_set():
            return
        self._remove_upload_of(job_id)
        elapsed = time.time() - t0
        warning = short_read_warning(state["read"], summary["frames_total"], job["every"])
        if warning:
            log.warning("job %s: %s", job_id, warning)
        self._update(job_id, status="done", progress=1.0, finished=time.time(), warning=warning,
                     frames_read=state["read"] + job["every"] - 1 if state["read"] else 0,
                     frames_done=summary["frames"], frames_total=summary["frames_total"] or summary["frames"],
                     fps=round(summary["frames"] / max(elapsed, 1e-6), 1),
                     faces=len(summary["tracks"]), tracks=summary["tracks"],
                     duration=summary.get("duration"), outputs=summary["outputs"],
                     emotion_frames=summary.get("emotion_frames"), session=summary.get("session"),
                     video_file=summary.get("video_file"), video_note=summary.get("video_note"))


def short_read_warning(read: int, total: Optional[int], every: int = 1) -> Optional[str]:
    """A warning when decoding stopped well before the frame count the container declares
    (a truncated or partly corrupt file): the results cover only the frames read."""
    if not total or read <= 0:
        return None
    read_upto = read + every - 1   # the last analysed frame's index + 1, and the skipped ones after it
    if read_upto >= total * 0.95 or total - read_upto <= 2 * every:
        return None
    return (f"The video could be decoded only up to frame {read_upto} of the {total} its container "
            f"declares (truncated or partly corrupt): the results cover those {read_upto} frames.")


def _lower_priority() -> None:
    """Video jobs yield the CPU to the live page: on Linux a thread has its own nice value,
    and the threads its models start inherit it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def _is_input_error(e: Exception) -> bool:
    return isinstance(e, (ValueError, OSError))  # ImageError and VideoError are ValueErrors


def describe_error(e: Exception) -> str:
    msg = str(e).strip() or type(e).__name__
    if not _is_input_error(e):
        msg = f"{type(e).__name__}: {msg}"
    return msg


def annotated_video_choice(video_format: str = "mp4"):
    """(file name, note) of the annotated video: MP4 (H.264 + AAC) where the browser plays it and
    this machine's ffmpeg writes it, else WebM, with the reason in the note (None: MP4 as asked)."""
    from facial_feedback.video import annotated_encoder

    if video_format == "webm":
        return "annotated.webm", "WebM, because this browser does not play H.264 MP4."
    why = annotated_encoder(".mp4")
    if why is None:
        return "annotated.mp4", None
    return "annotated.webm", f"WebM instead of MP4: {why}; OpenCV alone has no H.264 encoder."


def run_video(analyzer, path: str, out_dir: str, every: int = 1, annotate: bool = True,
              progress=None, video_format: str = "mp4") -> dict:
    """Analyse one video with the library's streaming writer: CSV, JSON lines and (optionally)
    the annotated video go to out_dir as frames come."""
    from facial_feedback.video import write_video_outputs

    csv_path = os.path.join(out_dir, OUTPUTS["csv"][0])
    json_path = os.path.join(out_dir, OUTPUTS["json"][0])
    video_file, note = annotated_video_choice(video_format)
    video_path = os.path.join(out_dir, video_file) if annotate else None
    summary = write_video_outputs(analyzer, path, csv_path=csv_path, json_path=json_path,
                                  annotate_path=video_path, every=every, progress=progress)
    if video_path and summary.annotated_audio_note:
        note = (note + " " if note else "") + f"No sound: {summary.annotated_audio_note}."

    if summary.frames_analysed == 0:
        raise ValueError("the video has no readable frames")
    info = summary.info   # probed once, by the video loop
    outputs = ["csv", "json"] + (["video"] if video_path and os.path.getsize(video_path) > 0 else [])
    last = max([tr["last"] for tr in summary.tracks.values()] + [info.duration])
    return {"frames": summary.frames_analysed, "frames_total": info.frame_count or None,
            "duration": round(float(last), 3), "outputs": outputs, "session": summary.session,
            "tracks": [{"track_id": k, "frames": v["frames"], "first": round(v["first"], 3),
                        "last": round(v["last"], 3)} for k, v in sorted(summary.tracks.items())],
            "emotion_frames": summary.emotion_frames,
            "video_file": video_file if "video" in outputs else None, "video_note": note if "video" in outputs else None}
