"""Fixtures for the web app: the app on the shared real Analyzer, a real server on a free
port, and headless Debian Chromium with a real face video as its camera.

Screenshots go to $FF_ARTIFACTS (default /tmp/ff-artifacts/web), never into the repo.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import media
from tests.ws_client import ws_connect  # noqa: F401  (the web tests' WebSocket client, shared with the load benchmarks)

CHROMIUM = os.environ.get("FF_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("FF_ARTIFACTS", "/tmp/ff-artifacts/web"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


# The web tests' name for tests.conftest.media (a shared-media path, or skip naming it).
media_or_skip = media


@pytest.fixture(scope="session")
def web_analyzer(request):
    """The suite's shared Analyzer; FF_TEST_EMOTION_MANIFEST swaps in another emotion model
    (development before a model ships; the UI and API do not depend on its accuracy)."""
    manifest = os.environ.get("FF_TEST_EMOTION_MANIFEST")
    if not manifest:
        return request.getfixturevalue("analyzer")
    from facial_feedback.pipeline import Analyzer

    return Analyzer(emotion_manifest=manifest)


def _script_client_class():
    """Flask's test client as a script on this machine: its requests carry the token header
    (a script reads it from <instance>/api-token; docs/security.md). Tests of the guard itself
    use flask.testing.FlaskClient, which sends no token."""
    from flask.testing import FlaskClient

    from facial_feedback.web.guard import TOKEN_HEADER

    class _Client(FlaskClient):
        def open(self, *args, **kwargs):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault(TOKEN_HEADER, self.application.config["_FF_TOKEN"])
            return super().open(*args, headers=headers, **kwargs)

    return _Client


@pytest.fixture(scope="session", autouse=True)
def _test_clients_are_scripts():
    from flask import Flask

    old = Flask.test_client_class
    Flask.test_client_class = _script_client_class()
    yield
    Flask.test_client_class = old


def token_headers(app, **extra) -> dict:
    """Headers of a script's WebSocket/HTTP request to a running server (the token header)."""
    from facial_feedback.web.guard import TOKEN_HEADER

    return {TOKEN_HEADER: app.config["_FF_TOKEN"], **extra}


@pytest.fixture(scope="session")
def web_app(web_analyzer, tmp_path_factory):
    from facial_feedback.web import create_app

    analyzer = web_analyzer

    app = create_app({"TESTING": True, "ANALYZER": analyzer},
                     instance_path=str(tmp_path_factory.mktemp("instance")))
    yield app
    app.extensions["facial_feedback"].jobs.shutdown()


@pytest.fixture()
def client(web_app):
    return web_app.test_client()


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self.srv = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.srv.server_port}"
        self.headers = token_headers(app)  # what a script sends (the token)
        self.instance_path = app.instance_path
        self.kind = "werkzeug"
        self.thread = threading.Thread(target=self.srv.serve_forever, name="ff-test-server", daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(web_app):
    s = LiveServer(web_app)
    yield s
    s.close()


class ProdServer:
    """`facial-feedback serve` (gunicorn, gthread) in its own process on a free port, with its
    own instance folder: the production server, for the tests that talk to a server over the
    network to run on it as well. Started and waited for by web/server.py's ServeProcess (the
    load and soak benchmarks start it the same way)."""

    kind = "gunicorn"

    def __init__(self, instance: Path):
        from facial_feedback.web.server import ServeProcess

        self._serve = ServeProcess(instance, threads=16, env={"FACIAL_FEEDBACK_NATIVE_LOGS": ""})
        self.url, self.instance_path, self.headers = self._serve.url, self._serve.instance_path, self._serve.headers
        self.proc = self._serve.proc

    @property
    def worker_pid(self) -> int:
        """The gunicorn worker (the process that holds the app and the models)."""
        return self._serve.worker_pid

    def close(self):
        self._serve.close()


@pytest.fixture(scope="session")
def prod_server(tmp_path_factory):
    s = ProdServer(tmp_path_factory.mktemp("prod") / "instance")
    yield s
    s.close()


@pytest.fixture(params=["werkzeug", "gunicorn"])
def server(request):
    """The tests that only talk to a server over HTTP/WebSocket run on both: Werkzeug (the
    in-process test server) and `facial-feedback serve` (gunicorn)."""
    return request.getfixturevalue("live_server" if request.param == "werkzeug" else "prod_server")


def make_y4m(src: Path, dst: Path, seconds: float = 4.0, size: str = "640:360", fps: int = 30) -> Path:
    """A raw .y4m clip for Chromium's fake camera (66 MB per 8 s at 640x360: tmp only)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (apt-get install ffmpeg) to make the fake camera clip")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", str(seconds),
                    "-vf", f"fps={fps},scale={size}", "-pix_fmt", "yuv420p", str(dst)], check=True)
    return dst


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory):
    src = media_or_skip("WolfgangLanger_Pexels.mp4")
    return make_y4m(src, tmp_path_factory.mktemp("camera") / "cam.y4m")


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver for the session (the sync API allows one per thread)."""
    import facial_feedback.web as web

    vendor = Path(web.__file__).parent / "static" / "vendor" / "chart.umd.min.js"
    if not vendor.exists():
        pytest.skip(f"needs the front-end libraries in {vendor.parent}: run scripts/setup_web.sh (npm)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("needs the playwright Python package (pip install -e '.[test]')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        yield p


def launch(playwright, camera: Path):
    """Headless Debian Chromium with `camera` (a .y4m) as its only camera."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_FLAGS + [f"--use-file-for-fake-video-capture={camera}"])


@pytest.fixture(scope="session")
def browser(playwright, camera_clip):
    b = launch(playwright, camera_clip)
    yield b
    b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.js_errors = errors
    yield pg
    ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
