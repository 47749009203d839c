"""The HTML pages. Each is a thin template; the work is done by static/js/*.js through the API."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

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
