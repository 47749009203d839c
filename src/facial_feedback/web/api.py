"""The JSON API under /api/v1 (the pages use it themselves). Described by /api/v1/openapi.json.

The server takes uploaded bytes only: it never reads a path or fetches a URL named in a request.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time

from flask import Blueprint, Response, current_app, jsonify, request, send_file, url_for

from ..io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from . import state
from .errors import ApiError, attachment, clean_name
from .jobs import ACTIVE, OUTPUTS, VIDEO_FILES, output_file

bp = Blueprint("api", __name__, url_prefix="/api/v1")

GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")


def _flag(name: str, default: bool = False) -> bool:
    v = request.values.get(name)
    if v is None:
        return default
    return v.strip().lower() in ("1", "true", "yes", "on")


def _mb(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def _reject_references() -> None:
    """Paths and URLs are refused outright, whatever their form."""
    if request.is_json:
        raise ApiError(415, "Send the image bytes (multipart/form-data field 'image', or the raw body "
                            "with an image/* Content-Type); paths and URLs are not accepted.")


def _check_type(mimetype: str, filename: str, kind: str, extensions) -> None:
    mimetype = (mimetype or "").split(";")[0].strip().lower()
    ext = os.path.splitext(filename or "")[1].lower()
    if mimetype.startswith(kind + "/"):
        return
    if mimetype in GENERIC_TYPES and (not ext or ext in extensions):
        return
    raise ApiError(415, f"Unsupported type {mimetype or 'unknown'!s}"
                        f"{' (' + filename + ')' if filename else ''}: expected {'an' if kind == 'image' else 'a'} {kind} file.")


def _upload(field_names, kind: str, extensions, max_bytes: int | None):
    """Return (FileStorage-or-None, bytes-or-None, filename) from a multipart field or the raw body.
    Without max_bytes (videos) a raw body is not read here: it comes back as a FileStorage over
    the request stream, so saving it copies it to disk in chunks."""
    _reject_references()
    if max_bytes:
        # Refused as it streams in (a chunked body has no Content-Length): never read past this.
        request.max_content_length = max_bytes + 64 * 1024
    if max_bytes and request.content_length and request.content_length > max_bytes + 64 * 1024:
        raise ApiError(413, f"The {kind} is too large: the limit is {_mb(max_bytes)}.")
    ctype = (request.mimetype or "").lower()
    if ctype.startswith("multipart/form-data"):
        f = None
        for name in field_names:
            f = request.files.get(name)
            if f is not None:
                break
        if f is None:
            raise ApiError(400, f"No {kind} in the request: send it as the multipart field '{field_names[0]}'.")
        _check_type(f.mimetype, clean_name(f.filename), kind, extensions)
        return f, None, clean_name(f.filename)
    if ctype.startswith("application/x-www-form-urlencoded"):
        raise ApiError(415, f"Send the {kind} as multipart/form-data or as the raw request body; "
                            "paths and URLs are not accepted.")
    filename = clean_name(request.args.get("filename", ""))
    _check_type(ctype, filename, kind, extensions)
    if not max_bytes:
        from werkzeug.datastructures import FileStorage

        return FileStorage(request.stream, filename=filename), None, filename
    data = _read_body(max_bytes)
    if not data:
        raise ApiError(400, f"The request has no {kind}: the body is empty.")
    return None, data, filename


# ---- meta -----------------------------------------------------------------------------------
def _read_body(max_bytes: int) -> bytes:
    """The raw body, read in chunks into one buffer and refused (413) as soon as it passes
    max_bytes, chunked or not: at most one copy of at most max_bytes in memory."""
    buf = io.BytesIO()
    stream = request.stream
    while True:
        chunk = stream.read(256 * 1024)
        if not chunk:
            break
        buf.write(chunk)
        if buf.tell() > max_bytes:
            raise ApiError(413, f"The image is too large: the limit is {_mb(max_bytes)}.")
    return buf.getvalue()


@bp.get("/openapi.json")
def openapi():
    from .openapi import spec

    return jsonify(spec(current_app))


@bp.get("/meta")
def meta():
    from facial_feedback import types as fft

    cfg = current_app.config
    return jsonify({
        "emotions": list(fft.EMOTIONS),
        "csv_columns": list(fft.CSV_COLUMNS),
        "photo_csv_columns": list(fft.PHOTO_CSV_COLUMNS),
        "limits": {"max_image_bytes": cfg["MAX_IMAGE_BYTES"], "max_request_bytes": cfg["MAX_CONTENT_LENGTH"],
                   "max_frame_bytes": cfg["MAX_FRAME_BYTES"]},
        "video_extensions": sorted(VIDEO_EXTENSIONS),
    })


# ---- images ---------------------------------------------------------------------------------
@bp.post("/analyze")
def analyze():
    from facial_feedback import ImageError, load_image

    max_bytes = current_app.config["MAX_IMAGE_BYTES"]
    f, data, filename = _upload(("image", "file"), "image", IMAGE_EXTENSIONS, max_bytes)
    if f is not None:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, f"The image is too large: the limit is {_mb(max_bytes)}.")
    if not data:
        raise ApiError(400, f"The image{' ' + filename if filename else ''} is empty.")
    try:
        rgb = load_image(data)
    except ImageError as e:
        raise ApiError(400, f"Not a usable image{' (' + filename + ')' if filename else ''}: {e}")
    from .scheduler import PHOTO

    t0 = time.perf_counter()
    with state().gate.slot(PHOTO):  # ahead of every waiting live frame
        fr = state().analyzer.analyze_image(rgb)
    ms = (time.perf_counter() - t0) * 1000.0
    body = {"filename": filename or None, **fr.to_dict(landmarks=_flag("landmarks")),
            "elapsed_ms": round(ms, 1)}
    if request.args.get("format") == "csv":
        return _csv_response([(filename, fr)], (filename or "image") + ".csv")
    return jsonify(body)


def _csv_response(items, name):
    from facial_feedback import types as fft

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fft.PHOTO_CSV_COLUMNS))
    w.writeheader()
    for fname, fr in items:
        w.writerows(fft.photo_csv_rows(fname, fr))
    return Response(buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": attachment(name)})


# ---- video jobs -----------------------------------------------------------------------------
def _public(job: dict) -> dict:
    j = {k: v for k, v in job.items() if k not in ("upload",)}
    j["upload_kept"] = bool(job.get("keep_upload") and job.get("upload"))
    j["urls"] = {"self": url_for("api.get_job", job_id=job["id"])}
    for kind in job.get("outputs") or []:
        j["urls"][kind] = url_for("api.job_output", job_id=job["id"], name=output_file(job, kind)[0])
    if job.get("outputs"):
        j["urls"]["timeline"] = url_for("api.job_timeline", job_id=job["id"])
    return j


def _job_or_404(job_id: str) -> dict:
    job = state().jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"No such job: {job_id}")
    return job


@bp.post("/jobs")
def create_job():
    f, _, filename = _upload(("video", "file"), "video", VIDEO_EXTENSIONS, None)
    try:
        every = int(request.values.get("every", "1"))
    except ValueError:
        raise ApiError(400, "'every' must be a whole number from 1 to 10000.", field="every")
    if every < 1 or every > 10000:
        raise ApiError(400, "'every' must be a whole number from 1 to 10000.", field="every")
    name = os.path.basename((filename or "video").replace("\\", "/"))[:200] or "video"
    video_format = request.values.get("video_format", "mp4")
    if video_format not in ("mp4", "webm"):
        raise ApiError(400, "'video_format' must be mp4 or webm.", field="video_format")
    job = state().jobs.create(f, name, every=every, keep_upload=_flag("keep"), annotate=_flag("annotate", True),
                              video_format=video_format)
    if job["size_bytes"] == 0:
        state().jobs.delete(job["id"])
        raise ApiError(400, f"The video {name} is empty.")
    resp = jsonify(_public(job))
    resp.status_code = 202
    resp.headers["Location"] = url_for("api.get_job", job_id=job["id"])
    return resp


@bp.get("/jobs")
def list_jobs():
    return jsonify({"jobs": [_public(j) for j in state().jobs.list()]})


@bp.get("/jobs/<job_id>")
def get_job(job_id):
    return jsonify(_public(_job_or_404(job_id)))


@bp.delete("/jobs/<job_id>")
def delete_job(job_id):
    _job_or_404(job_id)
    state().jobs.delete(job_id)
    return "", 204


@bp.get("/jobs/<job_id>/<name>")
def job_output(job_id, name):
    job = _job_or_404(job_id)
    kinds = {v[0]: k for k, v in OUTPUTS.items()}
    kinds.update({v: "video" for v in VIDEO_FILES})
    if name not in kinds:
        raise ApiError(404, f"No such output: {name} (one of {', '.join(kinds)})")
    kind = kinds[name]
    if job["status"] in ACTIVE:
        raise ApiError(409, f"Job {job_id} is still {job['status']}; its results are not ready.")
    path = state().jobs.output_path(job_id, kind)
    if path is not None and os.path.basename(path) != name:
        path = None   # the job's annotated video is the other form
    if path is None:
        raise ApiError(404, f"Job {job_id} has no {name}" + (f": it failed ({job['error']})" if job["status"] == "failed" else "."))
    stem = os.path.splitext(job["filename"])[0] or "video"
    download_name = f"{stem}.{name.split('.', 1)[1]}" if kind != "video" else f"{stem}.{name}"
    return send_file(path, mimetype=output_file(job, kind)[1], as_attachment=_flag("download"),
                     download_name=download_name, conditional=True)


@bp.get("/jobs/<job_id>/timeline")
def job_timeline(job_id):
    """Each face's emotion probabilities over time, bucketed to at most `points` per face (for charts)."""
    from facial_feedback import types as fft

    job = _job_or_404(job_id)
    path = state().jobs.output_path(job_id, "csv")
    if path is None:
        raise ApiError(409 if job["status"] in ACTIVE else 404, f"Job {job_id} has no results yet.")
    try:
        points = max(10, min(5000, int(request.args.get("points", "600"))))
    except ValueError:
        raise ApiError(400, "'points' must be a whole number.", field="points")
    cache = os.path.join(os.path.dirname(path), f"timeline-{points}.json")
    if os.path.exists(cache):  # a finished job's results do not change: read a long CSV once
        return send_file(cache, mimetype="application/json")
    duration = float(job.get("duration") or 0.0)
    bucket = duration / points if duration > 0 else 0.0
    tracks: dict = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            tid = row["track_id"] or "0"
            t = float(row["time"] or 0.0)
            key = int(t / bucket) if bucket else int(row["frame"] or 0)
            tr = tracks.setdefault(tid, {})
            acc = tr.get(key)
            probs = [float(row[f"p_{k}"] or 0.0) for k in fft.EMOTIONS]
            if acc is None:
                tr[key] = [t, 1, probs]
            else:
                acc[1] += 1
                acc[2] = [a + b for a, b in zip(acc[2], probs)]
    out = []
    for tid, buckets in sorted(tracks.items(), key=lambda kv: int(kv[0]) if kv[0].lstrip("-").isdigit() else 0):
        ts, series = [], {k: [] for k in fft.EMOTIONS}
        for key in sorted(buckets):
            t, n, s = buckets[key]
            ts.append(round(t, 3))
            for k, v in zip(fft.EMOTIONS, s):
                series[k].append(round(v / n, 4))
        out.append({"track_id": int(tid) if tid.lstrip("-").isdigit() else tid, "time": ts, "emotions": series})
    body = {"job": job_id, "emotions": list(fft.EMOTIONS), "duration": duration, "tracks": out}
    tmp = cache + ".tmp"
    with open(tmp, "w") as f:
        json.dump(body, f, separators=(",", ":"))
    os.replace(tmp, cache)
    return jsonify(body)
