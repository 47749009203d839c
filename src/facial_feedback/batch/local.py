"""The local pool: N worker processes, each with its own loaded models, one input at a time.

Not concurrent.futures: a ProcessPoolExecutor whose worker dies breaks the whole pool and
every queued input with it. Here the driver watches each worker's process sentinel; when one
dies, its input goes back to the front of the queue (or fails, the second time) and a fresh
worker takes the dead one's place. Workers are started with `spawn` (no fork of a process
that already runs MediaPipe's threads) and with every library at one thread.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections import deque
from pathlib import Path
from typing import Dict, List, Optional

from .worker import THREAD_ENV, usable_cpus

PROGRESS_EVERY_S = 0.25
MAX_START_FAILURES = 3


@contextlib.contextmanager
def _env(values: Dict[str, str]):
    """Set environment variables for a child about to be spawned (it copies them at start)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _child(conn, every: int, annotate: bool, config=None) -> None:
    """A worker process: load the models once, then analyse what the driver sends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    parent = os.getppid()
    try:
        from .worker import Worker

        w = Worker(every=every, annotate=annotate, config=config)
    except BaseException as e:  # no models, no worker: the driver stops the batch
        conn.send(("fatal", f"a worker could not load the models: {type(e).__name__}: {e}"))
        return
    conn.send(("ready", w.name))
    try:
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= PROGRESS_EVERY_S:
                    last[0] = now
                    if os.getppid() != parent:  # the driver died: stop, its scratch is going away
                        os._exit(1)
                    conn.send(("progress", done))

            res = w.run(job["src"], job["path"], job["key"], job["kind"], job["tmpdir"], progress=progress)
            conn.send(("done", res))
    except (BrokenPipeError, EOFError, OSError):
        return
    finally:
        w.close()


class _Slot:
    def __init__(self, proc, conn):
        self.proc, self.conn = proc, conn
        self.name = f"pid {proc.pid}"
        self.ready = False
        self.job = None
        self.tmp: Optional[Path] = None


def _death_reason(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class _Pool:
    """The driver's side of the pool: its slots, the queue, and what each worker message means."""

    def __init__(self, todo: List, scratch: Path, hooks: dict, n: int, every: int, annotate: bool, config):
        import multiprocessing as mp

        self.ctx = mp.get_context("spawn")
        self.queue = deque(todo)
        self.scratch, self.hooks, self.n = scratch, hooks, n
        self.args = (every, annotate, config)
        self.slots: List[_Slot] = []
        self.start_failures = 0
        scratch.mkdir(parents=True, exist_ok=True)

    def spawn(self) -> None:
        parent_conn, child_conn = self.ctx.Pipe()
        p = self.ctx.Process(target=_child, args=(child_conn,) + self.args, name="ff-batch-worker", daemon=True)
        with _env(THREAD_ENV):
            p.start()
        child_conn.close()
        self.slots.append(_Slot(p, parent_conn))

    def busy(self) -> bool:
        return bool(self.queue) or any(s.job is not None for s in self.slots)

    def assign(self) -> None:
        """Give the next input to every ready worker that has none."""
        for s in self.slots:
            if s.ready and s.job is None and self.queue:
                job = self.queue.popleft()
                s.tmp = self.scratch / f"{job.index}-{job.deaths}"
                shutil.rmtree(s.tmp, ignore_errors=True)
                s.tmp.mkdir(parents=True)
                s.job = job
                self.hooks["started"](job, s.name)
                try:
                    s.conn.send({"src": job.src, "path": job.path, "key": job.key, "kind": job.kind,
                                 "tmpdir": str(s.tmp)})
                except OSError:  # it died just now: its sentinel fires next, and bury() retries the job
                    pass

    def read(self, s: _Slot) -> bool:
        """Handle what a worker sent; False when its pipe broke (it died)."""
        from . import BatchError

        try:
            while s.conn.poll():
                kind, val = s.conn.recv()
                if kind == "ready":
                    s.ready, s.name = True, val
                elif kind == "progress" and s.job is not None:
                    self.hooks["progress"](s.job, s.name, val)
                elif kind == "done" and s.job is not None:
                    job, s.job = s.job, None
                    self.hooks["finish"](job, val["row"], val["files"])
                    shutil.rmtree(s.tmp, ignore_errors=True)
                elif kind == "fatal":
                    raise BatchError(val)
        except (EOFError, OSError):
            return False
        return True

    def bury(self, s: _Slot) -> None:
        """A worker died: its input goes back to the queue (or fails: the driver's hook decides)
        and a fresh worker takes its place while there is work."""
        from . import BatchError

        s.proc.join(timeout=5)
        self.slots.remove(s)
        s.conn.close()
        if s.tmp is not None:
            shutil.rmtree(s.tmp, ignore_errors=True)
        if s.job is not None:
            if self.hooks["died"](s.job, _death_reason(s.proc)):
                self.queue.appendleft(s.job)
        elif not s.ready:
            self.start_failures += 1
            if self.start_failures >= MAX_START_FAILURES:
                raise BatchError(f"worker processes die while starting ({_death_reason(s.proc)})")
        if len(self.slots) < self.n and (self.queue or not self.slots):
            self.spawn()

    def step(self) -> None:
        from multiprocessing.connection import wait

        self.assign()
        ready = wait([s.conn for s in self.slots] + [s.proc.sentinel for s in self.slots], timeout=0.25)
        for s in list(self.slots):
            alive = self.read(s) if s.conn in ready else True
            if not alive or (s.proc.sentinel in ready and not s.proc.is_alive()):
                self.bury(s)
        self.hooks["tick"]()

    def close(self) -> None:
        for s in self.slots:
            with contextlib.suppress(OSError, ValueError):
                s.conn.send(None)
        deadline = time.monotonic() + 3
        for s in self.slots:
            s.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join(timeout=2)
            s.conn.close()


def run_local(todo: List, scratch: Path, hooks: dict, workers: Optional[int] = None, every: int = 1,
              annotate: bool = False, config=None) -> None:
    """Analyse `todo` on a pool of worker processes, reporting through the driver's `hooks`
    (started, progress, finish, died, tick)."""
    n = max(1, min(workers or usable_cpus(), len(todo)))
    pool = _Pool(todo, scratch, hooks, n, every, annotate, config)
    for _ in range(n):
        pool.spawn()
    try:
        while pool.busy():
            pool.step()
    finally:
        pool.close()
