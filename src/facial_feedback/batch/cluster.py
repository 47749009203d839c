"""Ray: one actor per CPU, each holding the loaded models; the driver writes every output.

Imported only when asked (`--ray`, `analyze_many(ray=...)`); Ray comes with the optional extra
`facial-feedback[cluster]`. Inputs are read by path where the cluster shares a file system, or
shipped through Ray's object store (`ship=True`) where it does not; results (the summary row and
the output files' bytes) come back through the object store and the driver renames them into
place. An actor killed in the middle of an input is restarted by Ray (models loaded again) and
the driver resubmits the input; the driver's policy (facial_feedback.batch) fails an input that
killed its worker twice.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Dict, List, Optional

from .worker import THREAD_ENV, usable_cpus

POLL_EVERY_S = 0.5


class Analyser:
    """The actor: a Worker (models loaded once) plus what it is doing now, for progress."""

    def __init__(self, every: int, annotate: bool, config=None):
        from .worker import Worker

        self.worker = Worker(every=every, annotate=annotate, config=config)
        self.current: Optional[int] = None
        self.frames = 0

    def poll(self):
        return self.worker.name, self.current, self.frames

    def run(self, job: dict, data: Optional[bytes] = None) -> dict:
        tmp = tempfile.mkdtemp(prefix="ff-batch-")
        try:
            src = job["src"]
            if data is not None:  # shipped: this node need not see the driver's files
                src = os.path.join(tmp, "input" + Path(job["src"]).suffix)
                with open(src, "wb") as f:
                    f.write(data)
            outdir = os.path.join(tmp, "out")
            os.mkdir(outdir)
            self.current, self.frames = job["index"], 0

            def progress(done: int, total: int) -> None:
                self.frames = done

            res = self.worker.run(src, job["path"], job["key"], job["kind"], outdir, progress=progress)
            files = {name: Path(p).read_bytes() for name, p in res["files"].items()}
            return {"row": res["row"], "files": files}
        finally:
            self.current = None
            shutil.rmtree(tmp, ignore_errors=True)


def _import_ray():
    from . import BatchError

    try:
        import ray
    except ImportError:
        raise BatchError("Ray is not installed: pip install 'facial-feedback[cluster]'") from None
    return ray


def connect(address: Optional[str], workers: Optional[int]):
    """ray.init: join `address` (or RAY_ADDRESS) if given, else start a local instance.
    Returns (ray, whether this call initialised it)."""
    from . import BatchError

    ray = _import_ray()
    if ray.is_initialized():
        return ray, False
    kw = dict(log_to_driver=False, logging_level=logging.WARNING)
    try:
        if address or os.environ.get("RAY_ADDRESS"):
            ray.init(address=address or None, **kw)
        else:
            # "local": a new instance even where a `ray start` cluster runs on this machine
            ray.init(address="local", num_cpus=workers or usable_cpus(), include_dashboard=False, **kw)
    except Exception as e:
        raise BatchError(f"cannot start or reach Ray at {address or os.environ.get('RAY_ADDRESS') or 'a local instance'}:"
                         f" {type(e).__name__}: {e}") from None
    return ray, True


class _RayScheduler:
    """Hands the jobs to one actor each, hears their results, deaths and progress.

    Actor indexes move between idle (ready for a job), busy (running one: `running` maps its task
    ref to it) and restarting (Ray brings a dead actor back; it takes work again once it answers
    a ping)."""

    def __init__(self, ray, actors: List, todo: List, hooks: dict, ship: bool) -> None:
        self.ray, self.actors, self.hooks, self.ship = ray, actors, hooks, ship
        self.died_errors = tuple(getattr(ray.exceptions, n) for n in
                                 ("RayActorError", "ActorUnavailableError", "ActorDiedError")
                                 if hasattr(ray.exceptions, n))
        self.names: Dict[int, str] = {i: "" for i in range(len(actors))}
        self.queue = deque(todo)
        self.running: Dict = {}            # task ref -> (actor index, job, shipped ref)
        self.busy: Dict[int, object] = {}  # actor index -> job
        self.idle = list(range(len(actors)))
        self.polls: Dict = {}              # poll ref -> actor index
        self.pings: Dict = {}              # ping ref -> actor index, for actors Ray is restarting
        self.retry_ping: Dict[int, float] = {}  # actor index -> when to ping it again
        self.last_poll = 0.0

    def run(self) -> None:
        from . import BatchError

        while self.queue or self.running:
            self._dispatch()
            done, _ = self.ray.wait(list(self.running) + list(self.pings), num_returns=1, timeout=0.25)
            for ref in done:
                if ref in self.pings:
                    self._answered_ping(ref)
                else:
                    self._task_done(ref)
            now = time.monotonic()
            for i, when in list(self.retry_ping.items()):
                if now >= when:
                    del self.retry_ping[i]
                    self.pings[self.actors[i].poll.remote()] = i
            if self.queue and not self.running and not self.idle and not self.pings and not self.retry_ping:
                raise BatchError("no Ray actor is left to run the remaining inputs")
            self._poll_progress(now)
            self.hooks["tick"]()

    def _dispatch(self) -> None:
        while self.idle and self.queue:
            i, job = self.idle.pop(0), self.queue.popleft()
            data = self.ray.put(Path(job.src).read_bytes()) if self.ship else None
            spec = {"index": job.index, "src": job.src, "path": job.path, "key": job.key, "kind": job.kind}
            ref = self.actors[i].run.remote(spec, data)
            self.running[ref] = (i, job, data)
            self.busy[i] = job
            self.hooks["started"](job, self.names[i])

    def _answered_ping(self, ref) -> None:
        """A restarted actor answers: it takes work again."""
        i = self.pings.pop(ref)
        try:
            self.names[i] = self.ray.get(ref)[0]
            self.idle.append(i)
        except self.died_errors:
            self.retry_ping[i] = time.monotonic() + POLL_EVERY_S

    def _task_done(self, ref) -> None:
        from . import BatchError
        from .worker import empty_row

        i, job, data = self.running.pop(ref)
        self.busy.pop(i, None)
        try:
            res = self.ray.get(ref)
        except self.died_errors as e:
            if "creation task" in str(e):
                raise BatchError(f"a Ray actor could not load the models: {e}") from None
            # Only ever dispatched to an actor that answered, so this is a death during the
            # task. Ray restarts the actor; it takes work again once it answers a ping.
            self.retry_ping[i] = time.monotonic()
            if self.hooks["died"](job, f"Ray actor {self.names[i] or i} died: {type(e).__name__}"):
                self.queue.appendleft(job)
            return
        except self.ray.exceptions.RayTaskError as e:  # our code raised: this input fails alone
            self.idle.append(i)
            row = empty_row(job.path, job.key, job.kind)
            row["error"] = f"analysis failed on Ray: {e}"
            row["worker"] = self.names[i]
            self.hooks["finish"](job, row, {})
            return
        finally:
            del data
        self.idle.append(i)
        self.hooks["finish"](job, res["row"], res["files"])

    def _poll_progress(self, now: float) -> None:
        if now - self.last_poll >= POLL_EVERY_S:
            self.last_poll = now
            asked = set(self.polls.values())
            for i in self.busy:
                if i not in asked:
                    self.polls[self.actors[i].poll.remote()] = i
        if not self.polls:
            return
        ready, _ = self.ray.wait(list(self.polls), num_returns=len(self.polls), timeout=0)
        for p in ready:
            i = self.polls.pop(p)
            try:
                name, current, frames = self.ray.get(p)
            except Exception:  # the actor died; its run task says so
                continue
            self.names[i] = name
            job = self.busy.get(i)
            if job is not None and current == job.index:
                self.hooks["progress"](job, name, frames)


def run_ray(todo: List, out: Path, hooks: dict, workers: Optional[int] = None, address: Optional[str] = None,
            ship: bool = False, every: int = 1, annotate: bool = False, config=None) -> None:
    ray, mine = connect(address, workers)
    actors = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        n = max(1, min(workers or cpus, cpus, len(todo)))
        cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=0, max_concurrency=2)(Analyser)
        actors = [cls.options(runtime_env={"env_vars": dict(THREAD_ENV)}).remote(every, annotate, config)
                  for _ in range(n)]
        _RayScheduler(ray, actors, todo, hooks, ship).run()
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:
                pass
        if mine:
            ray.shutdown()
