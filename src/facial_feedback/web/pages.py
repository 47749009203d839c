"""The HTML pages. Each is a thin template; the work is done by static/js/*.js through the API."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("pages", __name__)


def _limits():
    cfg = current_app.config
    return {"max_image_bytes": cfg["MAX_IMAGE_BYTES"], "max_request_bytes": cfg["MAX_CONTENT_LENGTH"]}


@bp.get("/")
def live():
    return render_template("live.html", active="pages.live")


@bp.get("/photos")
def photos():
    return render_template("photos.html", active="pages.photos", limits=_limits())


@bp.get("/video")
def video():
    return render_template("video.html", active="pages.video", limits=_limits())


@bp.get("/api")
def api_docs():
    """The API described for a person, generated from the same OpenAPI document as
    /api/v1/openapi.json (which it links), server-side: no script, nothing from a CDN."""
    from .openapi import readable, spec

    return render_template("api.html", active=None, api=readable(spec(current_app)))


@bp.get("/blendshapes")
def blendshapes():
    """What each of the 52 blendshape scores the Live page shows means."""
    from facial_feedback.blendshapes import MEANINGS

    # "_neutral" is the model's rest-face score, not an ARKit movement: listed apart, so the table is the 51 movements
    shapes = {k: v for k, v in MEANINGS.items() if not k.startswith("_")}
    return render_template("blendshapes.html", active=None, meanings=shapes, neutral=MEANINGS.get("_neutral"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers and tools ask for /favicon.ico whatever the page says: the app's own icon (an SVG)."""
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


@bp.app_template_filter("bs_label")
def bs_label(name: str) -> str:
    """A blendshape's name as the Live page writes it (live.js bsLabel): 'browDownLeft' -> 'brow down (left)'."""
    import re

    words = re.sub(r"([A-Z])", r" \1", name).lower()
    return re.sub(r" (left|right)$", r" (\1)", words)
