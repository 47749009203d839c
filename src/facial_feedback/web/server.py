"""`facial-feedback serve`: the web app on a production WSGI server.

Gunicorn with its gthread worker: flask-sock (the live pages' WebSockets) supports exactly two
synchronous servers, Werkzeug's development server and gunicorn's gthread worker; the others it
lists (eventlet, gevent) need the standard library monkey-patched, which the models' native
threads do not survive, and waitress does not hand the socket over at all. One worker process
holds the models once for every session (the memory of 8 live clients is the models plus 8
small per-client states); its threads (--threads, one per open WebSocket or request) share
them. The models are loaded in the worker after the fork (no preload: native threads do not
survive a fork). Gunicorn does not run on Windows: there the command falls back to Werkzeug's
threaded server and says so.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Optional

LOOPBACK_BINDS = ("127.0.0.1", "localhost", "::1", "[::1]")


def default_instance() -> str:
    """Where the served app keeps jobs, reports and the wellbeing history: the environment's
    FACIAL_FEEDBACK_INSTANCE, else the user's data folder (XDG_DATA_HOME/facial-feedback)."""
    env = os.environ.get("FACIAL_FEEDBACK_INSTANCE")
    if env:
        return os.path.abspath(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "facial-feedback")


def _bind(host: str, port: int) -> str:
    h = host.strip("[]")
    return f"[{h}]:{port}" if ":" in h else f"{h}:{port}"


def make_app(instance: str, allow_hosts: Iterable[str] = (), config: Optional[dict] = None):
    """The app for `serve`: its instance folder private to this user (0700)."""
    from . import create_app

    os.makedirs(instance, mode=0o700, exist_ok=True)
    try:
        os.chmod(instance, 0o700)  # other local users must not read the jobs, reports, history
    except OSError:
        pass
    app = create_app(instance_path=instance)
    app.config["ALLOWED_HOSTS"] = list(app.config.get("ALLOWED_HOSTS") or []) + list(allow_hosts)
    app.config.update(config or {})
    return app


def serve(host: str = "127.0.0.1", port: int = 5000, instance: Optional[str] = None, threads: int = 32,
          allow_hosts: Iterable[str] = (), log_level: str = "info", require_token: bool = False) -> int:
    instance = os.path.abspath(instance or default_instance())
    config = {"REQUIRE_TOKEN": True} if require_token else {}
    allow_hosts = list(allow_hosts)
    if host not in LOOPBACK_BINDS:
        print(f"warning: binding {host}: other machines on the network can reach this server. It answers "
              f"only to the Host names 127.0.0.1, localhost, [::1] and --allow-host ones.", file=sys.stderr)
        if host not in ("0.0.0.0", "::", "[::]"):
            allow_hosts.append(_bind(host, port) if ":" in host else host)
    url = f"http://{_bind(host if host not in ('0.0.0.0', '::') else '127.0.0.1', port)}/"
    if require_token:
        from .guard import load_token

        os.makedirs(instance, mode=0o700, exist_ok=True)
        url += f"?token={load_token(instance)}"   # the address sets the browser's cookie
    print(f"facial-feedback: {url}  (data in {instance}; scripts send the header X-Facial-Feedback-Token "
          f"with the value in {os.path.join(instance, 'api-token')})", file=sys.stderr, flush=True)
    if sys.platform == "win32":  # pragma: no cover - gunicorn needs fork
        print("warning: gunicorn does not run on Windows; serving with Werkzeug's threaded server",
              file=sys.stderr)
        make_app(instance, allow_hosts, config).run(host=host, port=port, threaded=True)
        return 0

    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):
        def load_config(self):
            options = {
                "bind": [_bind(host, port)], "workers": 1, "worker_class": "gthread",
                "threads": max(4, int(threads)), "preload_app": False,
                # a live WebSocket holds its thread for as long as the page is open: the
                # worker's heartbeat runs apart from the request threads, so no request timeout
                "timeout": 120, "graceful_timeout": 5, "keepalive": 5,
                "loglevel": log_level, "accesslog": None, "errorlog": "-",
                "proc_name": "facial-feedback", "limit_request_line": 8190,
                "limit_request_fields": 100, "limit_request_field_size": 8190,
            }
            # gunicorn >= 25 opens a runtime control socket in the home folder: not wanted here
            options["control_socket_disable"] = True
            for k, v in options.items():
                if k in self.cfg.settings:
                    self.cfg.set(k, v)

        def load(self):
            from .memory import limit_arenas, start_trimmer

            limit_arenas(2)  # the worker's threads share two malloc arenas (memory.py says why)
            start_trimmer()
            return make_app(instance, allow_hosts, config)

    _Gunicorn().run()
    return 0


class ServeProcess:
    """`facial-feedback serve` in a child process on a free loopback port, returned once it
    answers: for scripts, benchmarks and tests that need the production server as a user runs
    it (benchmarks/bench_load.py, bench_soak.py, the `server` fixture of tests/web/conftest.py).

        with ServeProcess("/tmp/x/instance") as srv:
            urllib.request.urlopen(srv.url + "/api/v1/meta")
            requests.post(srv.url + "/api/v1/analyze", headers=srv.headers, ...)

    .url, .port, .instance_path, .headers (the API token header a script sends), .proc (the
    gunicorn master), .worker_pid (the worker holding the app and the models), .log_path (the
    server's output, next to the instance folder). Raises RuntimeError with the end of that log
    when the server exits or does not answer within `timeout` seconds.
    """

    def __init__(self, instance, threads: int = 16, env: Optional[dict] = None, args: Iterable[str] = (),
                 timeout: float = 180.0):
        import socket
        import subprocess
        import time
        import urllib.error
        import urllib.request
        from pathlib import Path

        instance = Path(instance)
        instance.parent.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance_path = str(instance)
        self.log_path = instance.parent / "serve.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "facial_feedback.cli", "serve", "--port", str(self.port),
             "--instance", self.instance_path, "--threads", str(threads), *args],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/v1/meta", timeout=10).read()
                break
            except urllib.error.HTTPError:   # it answered (401 with --require-token): ready
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("facial-feedback serve did not start: "
                                       + self.log_path.read_text(errors="replace")[-2000:])
                time.sleep(0.3)
        from .guard import TOKEN_HEADER, read_token

        self.headers = {TOKEN_HEADER: read_token(self.instance_path)}

    @property
    def worker_pid(self) -> int:
        """The gunicorn worker: the process that holds the app and the models."""
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def close(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> "ServeProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
