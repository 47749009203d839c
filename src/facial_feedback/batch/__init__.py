"""Many inputs at once: a local process pool by default, a Ray cluster when asked.

    >>> import facial_feedback as ff
    >>> rows = ff.analyze_many(["lab/"], out="results", workers=2)          # local pool
    >>> rows = ff.analyze_many(["lab/"], out="results", ray=True)           # a local Ray instance
    >>> rows = ff.analyze_many(["/nfs/lab/"], out="results", ray="head:6379")  # join a cluster

For each input, the outputs `facial-feedback video` / `analyze --json` write, under OUT at the
input's path relative to the inputs' common folder (so two clip.mp4 in different folders never
collide), then OUT/summary.csv (+ summary.parquet where pyarrow is installed), one row per input.

Nothing is lost: a worker that dies in the middle of an input (killed, out of memory) is replaced
and the input retried; an input that kills its worker twice is failed with the reason. Every
output is written to a temporary name and renamed into place, and an input's `.summary.json`
marker last, so a run stopped by Ctrl-C or a crash is resumed by running it again: what
finished (same file, same options) is not redone.

The driver (this process) does every write under OUT; workers return results. Ray is imported
only when asked (`pip install facial-feedback[cluster]`).
"""
from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from ..types import EMOTIONS
from .worker import empty_row, marker_name

PathLike = Union[str, os.PathLike]

SUMMARY_COLUMNS: Tuple[str, ...] = (
    "path", "output", "kind", "status", "error", "duration_s", "frames", "face_frames", "tracks", "fps",
    "wall_s", "cpu_s", "worker", "attempts", "peak_rss_mb", *("share_" + e for e in EMOTIONS),
    "blinks_per_min", "perclos", "look_aways")
"""One row per input. duration_s: the video's length (None for photos); frames: frames analysed;
face_frames: of those, frames with a face; tracks: distinct face tracks (faces, for a photo);
fps: frames analysed per second of wall_s, the worker's time on the input; cpu_s: the CPU time
its process spent on it (all threads); worker: host:pid;
attempts: 1, or 2 after a worker died on it; share_*: each emotion's share of the face-frames;
blinks_per_min, perclos (share of time the eyes were 80 % closed), look_aways: over all tracks."""

TMP_DIR = ".ff-tmp"          # under OUT: per-input scratch folders, removed at start and end
MAX_DEATHS = 2               # an input that kills its worker this many times is failed


class BatchError(RuntimeError):
    """The batch cannot run at all (no worker could start, Ray missing or unreachable)."""


@dataclass
class Job:
    index: int
    src: str          # absolute path, read by the worker (or by the driver, to ship it)
    path: str         # as the user named it, for messages and the summary
    key: str          # path relative to the inputs' common folder: names the outputs
    kind: str         # "video" | "image"
    frames: int = 0   # expected frames (for the ETA); 1 for a photo
    deaths: int = 0
    last_death: str = ""


# ---- inputs ---------------------------------------------------------------------------------
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


def _under(p: str, folder: Optional[str]) -> bool:
    return folder is not None and (p == folder or p.startswith(folder.rstrip(os.sep) + os.sep))


def discover(inputs: Iterable[PathLike], out: Optional[PathLike] = None
             ) -> Tuple[List[Job], List[Tuple[str, str]]]:
    """Files as given, folders recursively (photos and videos), globs (files or folders).
    Anything under `out` is skipped (a result folder inside an input folder is not an input).
    Returns (jobs in a stable order, [(input, problem)])."""
    out_abs = os.path.abspath(out) if out is not None else None
    found: List[Tuple[str, str]] = []     # (as named, absolute)
    problems: List[Tuple[str, str]] = []

    def walk(folder: str, shown: str) -> int:
        n = 0
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not _under(os.path.abspath(os.path.join(root, d)), out_abs)
                             and not d.startswith("."))
            for f in sorted(files):
                full = os.path.join(root, f)
                if Path(f).suffix.lower() in MEDIA_EXTENSIONS and not _under(os.path.abspath(full), out_abs):
                    found.append((os.path.join(shown, os.path.relpath(full, folder)), os.path.abspath(full)))
                    n += 1
        return n

    for a in inputs:
        a = os.fspath(a)
        if os.path.isdir(a):
            if not walk(a, a):
                problems.append((a, "folder holds no photo or video files"))
        elif os.path.exists(a):
            found.append((a, os.path.abspath(a)))
        elif any(ch in a for ch in "*?["):
            matches = sorted(glob.glob(a, recursive=True))
            n = 0
            for m in matches:
                if os.path.isdir(m):
                    n += walk(m, m)
                elif os.path.isfile(m) and not _under(os.path.abspath(m), out_abs):
                    found.append((m, os.path.abspath(m)))
                    n += 1
            if not n:
                problems.append((a, "pattern matches no file"))
        else:
            problems.append((a, "no such file or folder"))
    seen, unique = set(), []
    for shown, full in found:
        full = os.path.normpath(full)
        if full not in seen:
            seen.add(full)
            unique.append((shown, full))
    if not unique:
        return [], problems
    base = os.path.commonpath([os.path.dirname(f) for _, f in unique])
    jobs = []
    for i, (shown, full) in enumerate(unique):
        kind = "video" if Path(full).suffix.lower() in VIDEO_EXTENSIONS else "image"
        key = Path(os.path.relpath(full, base)).as_posix()
        jobs.append(Job(i, full, shown, key, kind))
    return jobs, problems


def _expected_frames(job: Job, every: int) -> int:
    if job.kind == "image":
        return 1
    try:
        from ..io import probe_video

        n = probe_video(job.src).frame_count
        return max(1, -(-n // every)) if n > 0 else 0
    except Exception:
        return 0


# ---- resume and commit ----------------------------------------------------------------------
def _fingerprint(job: Job, every: int, annotate: bool, config=None) -> dict:
    """What the outputs depend on: the file (size, mtime), the options, the analysis settings."""
    from dataclasses import asdict

    from .. import __version__

    st = os.stat(job.src)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "every": every, "annotate": bool(annotate),
            "settings": asdict(config) if config is not None else None, "version": __version__}


def finished_row(out: Path, job: Job, every: int, annotate: bool, config=None) -> Optional[dict]:
    """The row of an input a previous run completed with the same file and options, else None."""
    m = out / marker_name(job.key)
    try:
        d = json.loads(m.read_text())
        if d.get("fingerprint") != _fingerprint(job, every, annotate, config):
            return None
        if d["row"].get("status") != "ok" or not all((out / n).exists() for n in d.get("outputs", [])):
            return None
        row = dict(d["row"])
        row["path"] = job.path
        return row
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _atomic_write(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)


def commit(out: Path, job: Job, row: dict, files: Dict[str, Union[str, bytes]], every: int,
           annotate: bool, config=None) -> None:
    """Move one input's outputs into place (each by rename), then write its marker, last."""
    for name, content in files.items():
        dest = out / name
        if isinstance(content, (bytes, bytearray, memoryview)):
            _atomic_write(dest, bytes(content))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(content, dest)
            except OSError:  # another file system: copy beside the destination, then rename
                tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
                shutil.copyfile(content, tmp)
                os.replace(tmp, dest)
                os.unlink(content)
    marker = {"row": row, "fingerprint": _fingerprint(job, every, annotate, config), "outputs": sorted(files)}
    _atomic_write(out / marker_name(job.key), (json.dumps(marker, indent=1) + "\n").encode())


def write_summary(out: Path, rows: Sequence[dict]) -> List[Path]:
    """OUT/summary.csv, and OUT/summary.parquet where pyarrow is installed (both atomic)."""
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(SUMMARY_COLUMNS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in SUMMARY_COLUMNS})
    written = [out / "summary.csv"]
    _atomic_write(written[0], buf.getvalue().encode())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    cols = {k: [r.get(k) for r in rows] for k in SUMMARY_COLUMNS}
    types = {k: pa.string() for k in ("path", "output", "kind", "status", "error", "worker")}
    for k in ("frames", "face_frames", "tracks", "attempts", "look_aways"):
        types[k] = pa.int64()
    table = pa.table({k: pa.array(v, type=types.get(k, pa.float64())) for k, v in cols.items()})
    dest = out / "summary.parquet"
    tmp = out / f".summary.parquet.tmp-{os.getpid()}"
    pq.write_table(table, tmp)
    os.replace(tmp, dest)
    written.append(dest)
    return written


# ---- progress -------------------------------------------------------------------------------
def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class BatchProgress:
    """Across the whole batch: inputs done, frames per second, ETA. Draws one line on stderr
    when `draw` is on (a terminal); always keeps the counts."""

    def __init__(self, total_inputs: int, total_frames: int, draw: bool, stream=None):
        self.total_inputs, self.total_frames = total_inputs, total_frames
        self.draw_on, self.stream = draw, stream or sys.stderr
        self.done = self.failed = self.frames_done = 0
        self.in_flight: Dict[int, int] = {}
        self.t0 = time.perf_counter()
        self._last = 0.0

    def frames_now(self) -> int:
        return self.frames_done + sum(self.in_flight.values())

    def fps(self) -> float:
        return self.frames_now() / max(time.perf_counter() - self.t0, 1e-6)

    def update(self, force: bool = False) -> None:
        if not self.draw_on:
            return
        now = time.perf_counter()
        if not force and now - self._last < 0.25:
            return
        self._last = now
        frac = self.done / self.total_inputs if self.total_inputs else 1.0
        fps = self.fps()
        left = max(self.total_frames - self.frames_now(), 0)
        eta = _hms(left / fps) if fps > 0 and self.frames_now() else "--"
        bar = "#" * int(frac * 24)
        fail = f", {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r[{bar:<24}] {self.done}/{self.total_inputs} inputs{fail}  {fps:6.0f} fps  ETA {eta}  ")
        self.stream.flush()

    def end(self) -> None:
        if self.draw_on:
            self.update(force=True)
            self.stream.write("\n")
            self.stream.flush()


# ---- the driver -----------------------------------------------------------------------------
def analyze_many(inputs: Union[PathLike, Iterable[PathLike]], out: PathLike, workers: Optional[int] = None,
                 ray: Union[bool, str, None] = None, ship: bool = False, every: int = 1, annotate: bool = False,
                 config=None, on_event: Optional[Callable[[dict], None]] = None, show_progress: bool = False,
                 as_frame: Optional[bool] = None):
    """Analyse photos and videos (files, folders recursively, globs) into `out`.

    workers: processes (local) or actors at most (Ray); default: the machine's (cluster's) CPUs.
    ray: None/False: the local pool; True: Ray (RAY_ADDRESS if set, else a local instance);
    "host:port" / "ray://...": that cluster. ship: send each input through Ray's object store
    (no shared file system needed). every: analyse every Nth video frame. annotate: also
    write annotated videos/photos. config: the AnalyzerConfig every worker uses. on_event: called in this process with {"event": "start" |
    "progress" | "done" | "retry", "path", "key", "worker", "frames", ...}.

    Returns the summary rows (SUMMARY_COLUMNS), in input order: a pandas DataFrame when pandas
    is installed (as_frame=None) or asked for (as_frame=True), else a list of dicts."""
    rows = run_batch(inputs, out, workers=workers, ray=ray, ship=ship, every=every, annotate=annotate,
                     config=config, on_event=on_event, show_progress=show_progress)
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise
        return rows
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


class _Driver:
    """The driver's side of a batch: it hears the workers (the hooks) and does every write."""

    def __init__(self, out: Path, every: int, annotate: bool, config, prog: "BatchProgress",
                 rows: Dict[int, dict], on_event, report) -> None:
        self.out, self.every, self.annotate, self.config = out, every, annotate, config
        self.prog, self.rows, self.on_event, self.report = prog, rows, on_event, report

    def hooks(self) -> Dict[str, Callable]:
        return {"finish": self.finish, "died": self.died, "started": self.started,
                "progress": self.progressed, "tick": self.prog.update}

    def emit(self, ev: dict) -> None:
        if self.on_event is not None:
            self.on_event(ev)

    def finish(self, job: Job, row: dict, files, attempts: Optional[int] = None) -> None:
        row["attempts"] = attempts or job.deaths + 1
        row["path"] = job.path
        if row["status"] == "ok":
            commit(self.out, job, row, files, self.every, self.annotate, self.config)
        else:
            self.prog.failed += 1
            if self.report:
                self.report(job.path, row["error"])
        self.rows[job.index] = row
        self.prog.in_flight.pop(job.index, None)
        self.prog.frames_done += row.get("frames") or 0
        self.prog.done += 1
        self.emit({"event": "done", "path": job.path, "key": job.key, "worker": row.get("worker"),
                   "status": row["status"], "error": row["error"], "frames": row.get("frames")})

    def died(self, job: Job, reason: str) -> bool:
        """A worker died on `job`: True to retry it, False when it has failed for good."""
        job.deaths += 1
        job.last_death = reason
        self.prog.in_flight.pop(job.index, None)
        if job.deaths < MAX_DEATHS:
            self.emit({"event": "retry", "path": job.path, "key": job.key, "reason": reason})
            return True
        row = empty_row(job.path, job.key, job.kind)
        row["error"] = f"its worker died {job.deaths} times while analysing it (last: {reason})"
        self.finish(job, row, {}, attempts=job.deaths)
        return False

    def started(self, job: Job, worker: str) -> None:
        self.prog.in_flight[job.index] = 0
        self.emit({"event": "start", "path": job.path, "key": job.key, "worker": worker})

    def progressed(self, job: Job, worker: str, frames: int) -> None:
        if job.index in self.prog.in_flight:
            self.prog.in_flight[job.index] = frames
        self.emit({"event": "progress", "path": job.path, "key": job.key, "worker": worker, "frames": frames})
        self.prog.update()


def check_out(out: PathLike) -> None:
    """A batch writes into a folder: a file of that name is refused before any work."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"{out}: is a file: a batch writes into a folder")


def _check_options(every: int, workers: Optional[int], ray, ship: bool) -> None:
    if every < 1:
        raise ValueError("every must be 1 or more")
    if workers is not None and workers < 1:
        raise ValueError("workers must be 1 or more")
    if ship and not ray:
        raise ValueError("ship needs ray: inputs travel through Ray's object store")


def _problem_rows(problems, report) -> List[dict]:
    """Inputs that could not even be listed (missing, unreadable): a failed row each."""
    rows = []
    for a, reason in problems:
        r = empty_row(a, "", "")
        r["error"] = reason
        rows.append(r)
        if report:
            report(a, reason)
    return rows


def run_batch(inputs, out: PathLike, workers: Optional[int] = None, ray: Union[bool, str, None] = None,
              ship: bool = False, every: int = 1, annotate: bool = False, config=None,
              on_event: Optional[Callable[[dict], None]] = None, show_progress: bool = False,
              report: Optional[Callable[[str, str], None]] = None) -> List[dict]:
    """analyze_many's work; returns the rows as dicts. `report(path, reason)` hears each failure."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    _check_options(every, workers, ray, ship)
    check_out(out)
    out = Path(out)
    jobs, problems = discover(inputs, out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / TMP_DIR
    shutil.rmtree(scratch, ignore_errors=True)  # left by a crashed run: never a finished output

    rows: Dict[int, dict] = {}
    todo: List[Job] = []
    for job in jobs:          # what a stopped run already finished (same file, same options) stays
        prev = finished_row(out, job, every, annotate, config)
        if prev is not None:
            rows[job.index] = prev
        else:
            todo.append(job)
    extra_rows = _problem_rows(problems, report)
    for job in todo:
        job.frames = _expected_frames(job, every)
    prog = BatchProgress(len(jobs), sum(j.frames for j in todo), show_progress)
    prog.done = len(rows)
    hooks = _Driver(out, every, annotate, config, prog, rows, on_event, report).hooks()
    try:
        if todo:
            if ray:
                from .cluster import run_ray

                run_ray(todo, out, hooks, workers=workers, address=None if ray is True else str(ray),
                        ship=ship, every=every, annotate=annotate, config=config)
            else:
                from .local import run_local

                run_local(todo, scratch, hooks, workers=workers, every=every, annotate=annotate, config=config)
    finally:
        prog.end()
        shutil.rmtree(scratch, ignore_errors=True)
    ordered = [rows[j.index] for j in jobs] + extra_rows
    write_summary(out, ordered)
    return ordered


def main(ns) -> int:
    """`facial-feedback batch`: the CLI's subcommand (parsed in facial_feedback.cli)."""
    from ..flags import EXIT_FAILED, EXIT_OK, EXIT_USAGE, analyzer_config

    failures: List[Tuple[str, str]] = []

    def report(path: str, reason: str) -> None:
        failures.append((path, reason))
        if not sys.stderr.isatty() or ns.quiet:
            print(f"error: {path}: {reason}", file=sys.stderr, flush=True)

    ray = ns.ray if ns.ray is not None else None
    if ns.ship and ray is None:
        print("error: --ship needs --ray (inputs travel through Ray's object store)", file=sys.stderr)
        return EXIT_USAGE
    if ns.every < 1 or (ns.workers is not None and ns.workers < 1):
        print("error: --every and --workers must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    try:
        check_out(ns.out)
    except ValueError as e:
        print(f"error: {e} (--out DIR)", file=sys.stderr)
        return EXIT_USAGE
    t0 = time.perf_counter()
    try:
        rows = run_batch(ns.inputs, ns.out, workers=ns.workers, ray=(True if ray == "" else ray), ship=ns.ship,
                         every=ns.every, annotate=ns.annotate, config=analyzer_config(ns), report=report,
                         show_progress=sys.stderr.isatty() and not ns.quiet)
    except BatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE if "not installed" in str(e) else EXIT_FAILED
    if sys.stderr.isatty() and not ns.quiet:  # the bar is gone: name each failure now
        for path, reason in failures:
            print(f"error: {path}: {reason}", file=sys.stderr)
    ok = sum(r["status"] == "ok" for r in rows)
    frames = sum(r.get("frames") or 0 for r in rows)
    if not ns.quiet:
        wall = time.perf_counter() - t0
        print(f"{ok} of {len(rows)} inputs analysed ({frames} frames) in {wall:.1f} s; "
              f"wrote {Path(ns.out) / 'summary.csv'}", file=sys.stderr)
    if len(rows) - ok:
        print(f"{len(rows) - ok} of {len(rows)} inputs failed; the others were analysed.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
