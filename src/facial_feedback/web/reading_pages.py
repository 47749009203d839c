"""Reading feedback in the browser: pick or paste a text, read it with the camera on, get a report.

Pages under /reading, JSON under /api/v1/reading, and the WebSocket /ws/reading/<text hash>,
which is the live page's frame loop (live.serve_frames) plus these control messages:

- {"type": "reading", "paragraph": i | null, "source": "viewport" | "gaze"}: the paragraph being
  read from now on (null: none, e.g. the tab is hidden);
- {"type": "calibrate", "point": [x, y]}: the reader looks at this viewport point (0..1) until the
  next message; {"type": "calibrate", "done": true} fits the gaze map and answers
  {"type": "calibrated", "ok": bool, "rms": error, "message": ...}; from then on each result carries
  "gaze_point": [x, y] (viewport fractions);
- {"type": "finish", "reader": name}: builds the report, stores it under the text's hash and
  answers {"type": "report", "id": ..., "url": ...}.

Every result also carries "reading": {"paragraph": i}. Reports live in the instance folder
(reading/<text hash>/), on this machine only.
"""
from __future__ import annotations

import json
import os
import time

from flask import (Blueprint, Response, abort, jsonify, redirect, render_template, request,
                   url_for)

from ..apps.reading import METRIC_HELP, METRICS, ReadingSession, ReportStore, parse_text, report_html, sample_texts
from ..signals import face_states
from . import add_tool, app_store
from .errors import ApiError
from .live import serve_frames, sock
from .openapi import op

bp = Blueprint("reading", __name__, url_prefix="/reading")
api = Blueprint("reading_api", __name__, url_prefix="/api/v1/reading")
ws_bp = Blueprint("reading_ws", __name__)

MAX_UPLOAD = 1_000_000


def store() -> ReportStore:
    return app_store("facial_feedback_reading", lambda instance: ReportStore(os.path.join(instance, "reading")))


def register(app) -> None:
    add_tool(app, bp, "Reading", "reading.index", api, ws_bp, OPENAPI)


def _op(summary, ok="ok", errors=(), **extra):
    return op(summary, ok, errors, tags=["reading"], **extra)


_HASH = {"name": "text_hash", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
_RID = {"name": "rid", "in": "path", "required": True, "schema": {"type": "string"}}
OPENAPI = {
    "/api/v1/reading/texts": {
        "get": _op("Texts stored on this machine (with their report counts) and the sample texts"),
        "post": dict(_op("Add a text to read: JSON {text, filename?, title?} or a multipart 'file' (.txt, .md, .html; "
                         "HTML is reduced to its text)", "the parsed text {hash, title, paragraphs}",
                         [(400, "Empty or unreadable text"), (415, "Not .txt, .md or .html")], status="201"),
                     requestBody={"content": {"application/json": {"schema": {"type": "object", "properties": {
                         "text": {"type": "string"}, "filename": {"type": "string"}, "title": {"type": "string"}},
                         "required": ["text"]}}, "multipart/form-data": {"schema": {"type": "object", "properties": {
                             "file": {"type": "string", "format": "binary"}}}}}}),
    },
    "/api/v1/reading/texts/{text_hash}": {
        "parameters": [_HASH],
        "get": _op("One text: {hash, title, paragraphs: [{text, kind, words}]}", errors=[(404, "Unknown text")]),
    },
    "/api/v1/reading/texts/{text_hash}/reports": {
        "parameters": [_HASH],
        "get": _op("Every reader's report of this text (per-paragraph time, re-reads, look-aways, attention, "
                   "confusion and interest cues, fatigue, confidence; timeline; passages)",
                   errors=[(404, "Unknown text")]),
    },
    "/api/v1/reading/texts/{text_hash}/reports/{rid}": {
        "parameters": [_HASH, _RID],
        "delete": _op("Delete one report", "deleted", [(404, "Unknown report")], status="204"),
    },
}


def _doc_or_404(text_hash):
    try:
        return store().text(text_hash)
    except KeyError:
        abort(404)


# ---- pages ---------------------------------------------------------------------------------

@bp.get("/")
def index():
    return render_template("reading_index.html", active="reading.index", samples=sample_texts(),
                           texts=store().texts(), error=None)


@bp.post("/texts")
def add_text():
    f = request.files.get("file")
    try:
        if f and f.filename:
            data = f.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise ValueError(f"the file is too large: at most {MAX_UPLOAD // 1000} kB")
            doc = parse_text(data, f.filename, title=request.form.get("title") or None)
        else:
            text = request.form.get("text", "")
            if not text.strip():
                raise ValueError("paste a text or choose a file")
            doc = parse_text(text, "pasted.txt", title=request.form.get("title") or None)
    except ValueError as e:
        return render_template("reading_index.html", active="reading.index", samples=sample_texts(),
                               texts=store().texts(), error=str(e)), 400
    store().save_text(doc)
    return redirect(url_for("reading.read", text_hash=doc.hash))


@bp.get("/sample/<name>")
def sample(name):
    s = next((x for x in sample_texts() if x["name"] == name), None)
    if s is None:
        abort(404)
    store().save_text(s["doc"])
    return redirect(url_for("reading.read", text_hash=s["doc"].hash))


@bp.get("/<text_hash>")
def read(text_hash):
    doc = _doc_or_404(text_hash)
    return render_template("reading_read.html", active="reading.index", doc=doc, text_hash=text_hash,
                           reports=store().reports(text_hash))


def _report_or_404(text_hash, rid):
    try:
        return store().report(text_hash, rid)
    except KeyError:
        abort(404)


@bp.get("/<text_hash>/report/<rid>")
def report(text_hash, rid):
    rep = _report_or_404(text_hash, rid)
    return render_template("reading_report.html", active="reading.index", report=rep, metrics=METRICS,
                           metric_help=METRIC_HELP,
                           others=len(store().reports(text_hash)))


@bp.get("/<text_hash>/report/<rid>.json")
def report_json(text_hash, rid):
    rep = _report_or_404(text_hash, rid)
    return Response(json.dumps(rep, ensure_ascii=False, indent=1), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="reading-{text_hash}-{rid}.json"'})


@bp.get("/<text_hash>/report/<rid>.html")
def report_standalone(text_hash, rid):
    rep = _report_or_404(text_hash, rid)
    metric = request.args.get("metric", "confusion")
    if metric not in METRICS:
        metric = "confusion"
    return Response(report_html(rep, metric), mimetype="text/html",
                    headers={"Content-Disposition": f'attachment; filename="reading-{text_hash}-{rid}.html"',
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@bp.get("/<text_hash>/compare")
def compare(text_hash):
    doc = _doc_or_404(text_hash)
    reps = store().reports(text_hash)
    return render_template("reading_compare.html", active="reading.index", doc=doc, text_hash=text_hash,
                           reports=reps, metrics=METRICS)


# ---- API -----------------------------------------------------------------------------------

@api.get("/texts")
def api_texts():
    return jsonify({"texts": store().texts(), "samples": [
        {"name": s["name"], "title": s["title"], "hash": s["doc"].hash} for s in sample_texts()]})


@api.post("/texts")
def api_add_text():
    body = request.get_json(silent=True)
    f = request.files.get("file")
    try:
        if f and f.filename:
            doc = parse_text(f.read(MAX_UPLOAD + 1), f.filename)
        elif isinstance(body, dict) and isinstance(body.get("text"), str):
            for key in ("title", "filename"):
                if body.get(key) is not None and not isinstance(body[key], str):
                    raise ApiError(400, f"'{key}' must be a string", field=key)
            doc = parse_text(body["text"], str(body.get("filename") or "pasted.txt"), title=body.get("title"))
        else:
            raise ApiError(400, "send JSON {\"text\": ...} or a file field named 'file'")
    except ValueError as e:
        raise ApiError(415 if "unsupported" in str(e) else 400, str(e))
    store().save_text(doc)
    return jsonify(doc.to_dict()), 201


@api.get("/texts/<text_hash>")
def api_text(text_hash):
    try:
        return jsonify(store().text(text_hash).to_dict())
    except KeyError:
        raise ApiError(404, f"no text {text_hash}")


@api.get("/texts/<text_hash>/reports")
def api_reports(text_hash):
    try:
        store().text(text_hash)
        return jsonify({"reports": store().reports(text_hash)})
    except KeyError:
        raise ApiError(404, f"no text {text_hash}")


@api.delete("/texts/<text_hash>/reports/<rid>")
def api_delete_report(text_hash, rid):
    try:
        store().delete_report(text_hash, rid)
    except KeyError:
        raise ApiError(404, f"no report {rid}")
    return "", 204


# ---- the WebSocket -------------------------------------------------------------------------

@sock.route("/ws/reading/<text_hash>", bp=ws_bp)
def reading_ws(ws, text_hash):
    try:
        doc = store().text(text_hash)
    except KeyError:
        ws.send(json.dumps({"type": "error", "message": f"no text {text_hash}"}))
        return
    rs = ReadingSession(doc, started=time.time())
    calib = {"point": None, "samples": {}, "map": None}

    def on_result(fr, reply, session):
        res = reply["result"]
        res["reading"] = reading_reply(rs, fr)
        face = fr.primary_face()
        s = face.signals if face is not None else None
        if s is not None and s.gaze_yaw is not None:
            if calib["point"] is not None:
                calib["samples"].setdefault(calib["point"], []).append((s.gaze_yaw, s.gaze_pitch))
            if calib["map"] is not None:
                x, y = calib["map"].to_screen(s.gaze_yaw, s.gaze_pitch)
                res["gaze_point"] = [round(x, 3), round(y, 3)]

    def on_control(ctl, session):
        kind = ctl.get("type")
        if kind == "reading":
            p = ctl.get("paragraph")
            try:
                rs.set_paragraph(None if p is None else int(p), str(ctl.get("source") or "viewport"))
            except (TypeError, ValueError):
                ws.send(json.dumps({"type": "error", "message": f"no paragraph {p!r}"}))
            return True
        if kind == "calibrate":
            if ctl.get("done"):
                calib["point"] = None
                ws.send(json.dumps(_fit(calib, session)))
            else:
                pt = ctl.get("point")
                try:
                    calib["point"] = (float(pt[0]), float(pt[1]))
                except (TypeError, ValueError, IndexError):
                    calib["point"] = None
            return True
        if kind == "finish":
            rs.reader = str(ctl.get("reader") or "")[:60]
            rep = rs.report()
            rid = store().save_report(rep)
            ws.send(json.dumps({"type": "report", "id": rid,
                                "url": f"/reading/{text_hash}/report/{rid}",
                                "paragraphs": len(rep["paragraphs"])}))
            return True
        return False

    serve_frames(ws, on_result=on_result, on_control=on_control)


def reading_reply(rs: ReadingSession, fr) -> dict:
    """What the reading page gets with each frame: the paragraph being read, and the reader's
    states as Live and Wellbeing show them (signals.face_states: one computation, one wording)."""
    rs.update(fr)
    return {"paragraph": rs.paragraph, "states": face_states(fr)}


def _fit(calib, session) -> dict:
    from ..signals import GazeCalibration

    samples = {p: g for p, g in calib["samples"].items() if len(g) >= 3}
    calib["samples"] = {}
    if len(samples) < 4:
        return {"type": "calibrated", "ok": False,
                "message": "Not enough of your gaze was seen at the targets: the page keeps using the reading position."}
    try:
        cal = GazeCalibration.from_samples(samples)
    except (ValueError, ArithmeticError) as e:
        return {"type": "calibrated", "ok": False, "message": str(e)}
    ok = cal.rms_error <= 0.2
    if ok:
        calib["map"] = cal
        sig = getattr(session, "signals", None)
        if sig is not None:
            sig.calibration = cal   # 'on screen' now follows the calibrated gaze
    return {"type": "calibrated", "ok": ok, "rms": round(cal.rms_error, 3),
            "message": (f"Gaze calibrated (error {cal.rms_error * 100:.0f}% of the window): the paragraph under your "
                        "gaze is used.") if ok else
            (f"The gaze estimate was too imprecise (error {cal.rms_error * 100:.0f}% of the window): the page keeps "
             "using the reading position.")}
