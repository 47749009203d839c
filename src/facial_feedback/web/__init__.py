"""The facial-feedback web app: live webcam, photos and videos in the browser.

    from facial_feedback.web import create_app
    app = create_app()          # loads the analysis models once
    app.run()                   # http://127.0.0.1:5000

One blueprint per concern: ``pages`` (HTML), ``api`` (JSON under /api/v1, described by
/api/v1/openapi.json) and ``live`` (the WebSocket the live page streams frames over). One gate
in front of them all, ``guard`` (registered on the app, so every blueprint added later is
covered): the Host allow-list, the same-origin rule for writes and WebSocket upgrades (scripts
send the token header), and the security headers; docs/security.md.
Everything shared lives on ``app.extensions["facial_feedback"]`` (a :class:`WebState`):
the one :class:`~facial_feedback.Analyzer`, the video :class:`~.jobs.JobManager` and the
navigation entries. Per-client state (tracker, smoothing, signals) lives in the live
session object that each WebSocket connection owns, never in a global.

Adding a page (the reading and wellbeing tools do this)::

    from facial_feedback.web import add_page
    bp = Blueprint("reading", __name__, url_prefix="/reading", template_folder="templates")
    ...
    add_page(app, bp, "Reading", "reading.index")   # registers it and puts it in the nav bar

Templates extend ``base.html`` (blocks ``title``, ``head``, ``content``, ``scripts``) and may
use ``static/js/overlay.js`` (drawing a FrameResult) and ``static/js/camera.js`` (the live
camera/WebSocket client) from the ``pages`` blueprint's static folder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from flask import Blueprint, Flask, current_app

EXT = "facial_feedback"

DEFAULT_CONFIG = {
    # The whole request (a video upload is the largest); werkzeug answers 413 above it.
    "MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
    # One image (POST /api/v1/analyze); a larger one gets 413 with a clear message.
    "MAX_IMAGE_BYTES": 25 * 1024 * 1024,
    # One live frame (a JPEG from the browser).
    "MAX_FRAME_BYTES": 4 * 1024 * 1024,
    "JOB_WORKERS": 1,
    # Keep finished jobs' outputs this many; older finished jobs are deleted first.
    "MAX_JOBS_KEPT": 50,
    # receive_bytes: read a whole frame (a 30-60 KB JPEG) in one or two socket reads, not 4 KB ones.
    "SOCK_SERVER_OPTIONS": {"max_message_size": 4 * 1024 * 1024, "ping_interval": 25, "receive_bytes": 256 * 1024},
    # AnalyzerConfig fields (e.g. {"max_faces": 4, "emotion_smoothing": 0.5, "detect_interval": 0.5});
    # from the environment: FACIAL_FEEDBACK_ANALYZER_OPTIONS='{"max_faces": 4}'. Unknown names or
    # bad values stop the app at start-up with a message naming the setting.
    "ANALYZER_OPTIONS": {},
    # Host names besides 127.0.0.1 / localhost / [::1] that this server answers to (guard.py),
    # e.g. ["mybox.lan"] (the served port) or ["mybox.lan:8080"].
    "ALLOWED_HOSTS": [],
    # The token scripts send in X-Facial-Feedback-Token; None: read or made in <instance>/api-token.
    "API_TOKEN": None,
    # Every request needs the token (header, or the cookie from the /?token=... address); for a
    # machine shared with other users (guard.py, docs/security.md). serve --require-token.
    "REQUIRE_TOKEN": False,
    # Analyses (live frames, photos) run at once; None: the number of CPU cores (scheduler.py).
    "ANALYSIS_SLOTS": None,
}


@dataclass
class WebState:
    analyzer: Any
    jobs: Any
    gate: Any = None  # scheduler.Gate: live frames and photos share the CPU through it
    nav: List[Tuple[str, str]] = field(default_factory=list)  # (label, endpoint)
    openapi_paths: Dict[str, dict] = field(default_factory=dict)  # added by other blueprints


def state(app: Optional[Flask] = None) -> WebState:
    return (app or current_app).extensions[EXT]


def add_openapi_paths(app: Flask, paths: Dict[str, dict]) -> None:
    """Describe a blueprint's /api/v1 routes in /api/v1/openapi.json (OpenAPI path items,
    e.g. {"/api/v1/reading/texts": {"get": {...}}}). Routes left undescribed still appear,
    with their view's docstring as the summary."""
    for path, ops in paths.items():
        app.extensions[EXT].openapi_paths.setdefault(path, {}).update(ops)


def add_page(app: Flask, bp: Blueprint, label: str, endpoint: str, **register_kwargs) -> None:
    """Register a blueprint and list it in the navigation bar as ``label`` -> ``endpoint``."""
    app.register_blueprint(bp, **register_kwargs)
    app.extensions[EXT].nav.append((label, endpoint))


def add_tool(app: Flask, page: Blueprint, label: str, endpoint: str, api: Blueprint, ws: Blueprint,
             openapi: Dict[str, dict]) -> None:
    """Register one of the apps' tools (reading, wellbeing): its pages (listed in the
    navigation), its /api/v1 routes with their OpenAPI description, and its WebSocket."""
    add_page(app, page, label, endpoint)
    app.register_blueprint(api)
    app.register_blueprint(ws)
    add_openapi_paths(app, openapi)


def app_store(key: str, make: Callable[[str], object]):
    """The app's one store under ``extensions[key]``, made on first use by ``make(instance_path)``."""
    st = current_app.extensions.get(key)
    if st is None:
        st = current_app.extensions[key] = make(current_app.instance_path)
    return st


def create_app(test_config: Optional[dict] = None, instance_path: Optional[str] = None) -> Flask:
    """Build the app. ``test_config`` overrides the config; its key ``ANALYZER`` may hold an
    already-built Analyzer to share (tests build one per session), else one is built here."""
    instance_path = instance_path or os.environ.get("FACIAL_FEEDBACK_INSTANCE")
    if instance_path:
        instance_path = os.path.abspath(instance_path)
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(DEFAULT_CONFIG)
    if test_config is None:
        app.config.from_prefixed_env("FACIAL_FEEDBACK")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    analyzer = app.config.pop("ANALYZER", None)
    if analyzer is None:
        from facial_feedback.config import AnalyzerConfig
        from facial_feedback.pipeline import Analyzer

        analyzer = Analyzer(AnalyzerConfig.from_dict(app.config["ANALYZER_OPTIONS"]))

    from .jobs import JobManager

    jobs = JobManager(analyzer, os.path.join(app.instance_path, "jobs"),
                      workers=app.config["JOB_WORKERS"], max_kept=app.config["MAX_JOBS_KEPT"])
    from .scheduler import Gate

    app.extensions[EXT] = WebState(analyzer=analyzer, jobs=jobs, gate=Gate(app.config["ANALYSIS_SLOTS"]))

    from . import api, errors, guard, live, pages

    guard.register(app)   # Host allow-list, same-origin rule, headers: before every route
    errors.register(app)
    add_page(app, pages.bp, "Live", "pages.live")
    app.extensions[EXT].nav += [("Photos", "pages.photos"), ("Video", "pages.video")]
    app.register_blueprint(api.bp)
    app.register_blueprint(live.bp)
    # the reading and wellbeing tools (issue 6): their own blueprints, pages and nav entries
    from . import reading_pages, wellbeing_pages

    reading_pages.register(app)
    wellbeing_pages.register(app)

    @app.context_processor
    def _nav():
        return {"nav_items": app.extensions[EXT].nav}

    return app
