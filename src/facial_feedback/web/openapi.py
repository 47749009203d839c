"""The OpenAPI 3.1 document for /api/v1 (served at /api/v1/openapi.json).

A test checks that every /api/v1 route of the app is described here and vice versa.
"""
from __future__ import annotations

import re
from typing import Dict

from flask import Flask


def _err(desc):
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def op(summary: str, ok: str = "ok", errors=(), status: str = "200", tags=None, **extra) -> dict:
    """One operation of the document, for every blueprint that describes its routes
    (add_openapi_paths): its summary, the success response and the errors it can answer
    ((code, why) pairs, each a JSON Error), plus any other operation keys (parameters,
    requestBody, description, responses to merge)."""
    responses = {str(status): {"description": ok}}
    for code, why in errors:
        responses[str(code)] = _err(why)
    responses.update(extra.pop("responses", {}))
    doc = {"summary": summary, "responses": responses}
    if tags:
        doc["tags"] = list(tags)
    doc.update(extra)
    return doc


# What any /api/v1 operation may answer besides its own codes: the guard (403 cross-site or no
# token, 421 unknown Host), the body limits (413), the type checks (415), bad input (400).
COMMON_ERRORS = {
    "400": "Bad input: the message says what, and error.field names the parameter",
    "403": "Refused: a cross-site request, or a script without the token header (docs/security.md)",
    "404": "No such resource",
    "405": "Method not allowed",
    "413": "Too large",
    "415": "Unsupported media type",
    "421": "This server does not answer to that Host name (DNS rebinding defence)",
}


def spec(app: Flask) -> dict:
    """The document: the core API described here, paths that other blueprints added with
    facial_feedback.web.add_openapi_paths, and a generated entry (from the view's docstring,
    marked x-generated) for any other /api/v1 route, so the document lists every route."""
    doc = _core(app)
    paths = doc["paths"]
    web = app.extensions.get("facial_feedback")
    for path, ops in (web.openapi_paths if web is not None else {}).items():
        paths.setdefault(path, {}).update(ops)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule
        for conv in ("<int:", "<path:", "<string:", "<"):
            path = path.replace(conv, "{")
        path = path.replace(">", "}")
        view = app.view_functions.get(rule.endpoint)
        summary = ((view.__doc__ or "").strip().splitlines() or [rule.endpoint])[0] if view else rule.endpoint
        for m in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = paths.setdefault(path, {})
            if m.lower() not in op:
                op[m.lower()] = {"summary": summary, "x-generated": True,
                                 "responses": {"200": {"description": "ok"}, "400": _err("Bad input"),
                                               "404": _err("Not found")}}
    for path, item in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for code, why in COMMON_ERRORS.items():
                responses.setdefault(code, _err(why))
    return doc


def _core(app: Flask) -> dict:
    from facial_feedback import types as fft

    emo_scores = {"type": "object", "properties": {k: {"type": "number"} for k in fft.EMOTIONS},
                  "required": list(fft.EMOTIONS)}
    limit = app.config.get("MAX_IMAGE_BYTES")
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    E400, E404, E409, E413, E415 = (_err("Bad input (not an image or video, empty, truncated, bad parameter)"),
                                    _err("Unknown job or output"), _err("The job is not finished"),
                                    _err("Too large (MAX_CONTENT_LENGTH for a request, MAX_IMAGE_BYTES for an image)"),
                                    _err("Wrong type (not an image/video; JSON, form fields, paths and URLs are refused)"))
    return {
        "openapi": "3.1.0",
        "info": {"title": "facial-feedback", "version": "1",
                 "description": "Offline face analysis. Uploaded bytes only: the server never reads a path or "
                                "fetches a URL named in a request. Errors are JSON: "
                                '{"error": {"status", "code", "message"}}. All times are seconds, boxes are '
                                "[x, y, w, h] in pixels of the upright image."},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/api/v1/meta": {"get": {"summary": "Emotion labels, CSV columns and upload limits",
                                     "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Meta"}}}}}}},
            "/api/v1/analyze": {"post": {
                "summary": "Analyse one image",
                "description": f"Send the image as multipart/form-data field `image` (or `file`), or as the raw body "
                               f"with an image/* Content-Type. At most {limit} bytes.",
                "parameters": [
                    {"name": "landmarks", "in": "query", "schema": {"type": "boolean"}, "description": "include the 478-point mesh"},
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}, "description": "csv: one row per face (Meta's photo_csv_columns)"},
                    {"name": "filename", "in": "query", "schema": {"type": "string"}, "description": "name to report for a raw-body upload"}],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}}, "required": ["image"]}},
                    "image/*": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": {"200": {"description": "The faces found (an empty list when there are none)",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImageResult"}},
                                                  "text/csv": {"schema": {"type": "string"}}}},
                              "400": E400, "413": E413, "415": E415}}},
            "/api/v1/jobs": {
                "get": {"summary": "List video jobs, newest first",
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}}}}}}},
                "post": {"summary": "Upload a video and start analysing it in the background",
                         "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                             "type": "object", "required": ["video"], "properties": {
                                 "video": {"type": "string", "format": "binary"},
                                 "every": {"type": "integer", "minimum": 1, "default": 1, "description": "analyse every Nth frame"},
                                 "keep": {"type": "boolean", "default": False, "description": "keep the uploaded video after the job (else deleted)"},
                                 "annotate": {"type": "boolean", "default": True, "description": "write the annotated video"},
                                 "video_format": {"type": "string", "enum": ["mp4", "webm"], "default": "mp4",
                                                  "description": "the annotated video's form: mp4 (H.264, where this "
                                                                 "machine's ffmpeg writes it, else WebM) or webm (for a "
                                                                 "browser that plays no H.264)"}}}}}},
                         "responses": {"202": {"description": "Queued", "headers": {"Location": {"schema": {"type": "string"}}},
                                               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                                       "400": E400, "413": E413, "415": E415}}},
            "/api/v1/jobs/{job_id}": {
                "parameters": [job_id],
                "get": {"summary": "Poll a job (status, progress, fps, error)",
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}, "404": E404}},
                "delete": {"summary": "Cancel (if running) and delete a job and its files",
                           "responses": {"204": {"description": "Deleted"}, "404": E404}}},
            "/api/v1/jobs/{job_id}/{name}": {
                "parameters": [job_id, {"name": "name", "in": "path", "required": True, "schema": {
                    "type": "string", "enum": ["results.csv", "results.jsonl", "annotated.mp4", "annotated.webm"]}},
                    {"name": "download", "in": "query", "schema": {"type": "boolean"}, "description": "as an attachment"}],
                "get": {"summary": "Download a finished job's results",
                        "description": "results.csv: one row per face per frame; results.jsonl: one FrameResult per line (JSON lines); "
                                       "annotated.mp4 or annotated.webm (the job's urls.video names which; its "
                                       "video_note says why WebM): the video with boxes and labelled bars, with "
                                       "the upload's sound.",
                        "responses": {"200": {"description": "The file"}, "404": E404, "409": E409}}},
            "/api/v1/jobs/{job_id}/timeline": {
                "parameters": [job_id, {"name": "points", "in": "query", "schema": {"type": "integer", "default": 600}}],
                "get": {"summary": "Each face's emotion probabilities over time, averaged into at most `points` buckets",
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Timeline"}}}},
                                      "404": E404, "409": E409}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["status", "code", "message"], "properties": {
                    "status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                    "field": {"type": "string", "description": "the parameter or body field at fault"}}}}},
            "Emotion": {"type": "object", "properties": {"label": {"type": "string", "enum": list(fft.EMOTIONS)},
                                                         "confidence": {"type": "number"}, "scores": emo_scores}},
            "Face": {"type": "object", "description": "FrameResult.to_dict() face (the schema the CLI and CSV share)",
                     "properties": {
                         "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4, "description": "[x, y, w, h] pixels"},
                         "score": {"type": ["number", "null"]}, "track_id": {"type": ["integer", "null"]},
                         "pose": {"type": ["object", "null"], "properties": {"yaw": {"type": "number"}, "pitch": {"type": "number"}, "roll": {"type": "number"}}},
                         "emotion": {"oneOf": [{"$ref": "#/components/schemas/Emotion"}, {"type": "null"}]},
                         "signals": {"type": "object", "description": "per-face signals, when computed"},
                         "landmarks": {"type": "array", "description": "478 x [x, y, z], only when asked for"}}},
            "FrameResult": {"type": "object", "properties": {
                "width": {"type": "integer"}, "height": {"type": "integer"}, "frame": {"type": "integer"},
                "time": {"type": "number"}, "faces": {"type": "array", "items": {"$ref": "#/components/schemas/Face"}},
                "session": {"type": "object", "description": "live/video signals snapshot (states, events), when on"}}},
            "ImageResult": {"allOf": [{"$ref": "#/components/schemas/FrameResult"}, {"type": "object", "properties": {
                "filename": {"type": ["string", "null"]}, "elapsed_ms": {"type": "number"}}}]},
            "Job": {"type": "object", "properties": {
                "id": {"type": "string"}, "filename": {"type": "string"},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "error": {"type": ["string", "null"], "description": "why it failed"},
                "warning": {"type": ["string", "null"], "description": "done, but not every declared frame decoded"},
                "frames_read": {"type": "integer", "description": "frames decoded (analysed or skipped by `every`)"},
                "progress": {"type": "number", "description": "0..1"}, "frames_done": {"type": "integer"},
                "frames_total": {"type": ["integer", "null"]}, "fps": {"type": ["number", "null"], "description": "frames analysed per second"},
                "every": {"type": "integer"}, "keep_upload": {"type": "boolean"}, "upload_kept": {"type": "boolean"},
                "created": {"type": "number"}, "started": {"type": ["number", "null"]}, "finished": {"type": ["number", "null"]},
                "faces": {"type": ["integer", "null"]}, "tracks": {"type": "array"}, "outputs": {"type": "array", "items": {"type": "string"}},
                "video_format": {"type": "string", "enum": ["mp4", "webm"], "description": "the annotated video's form asked for"},
                "video_file": {"type": ["string", "null"], "description": "annotated.mp4 or annotated.webm"},
                "video_note": {"type": ["string", "null"], "description": "why the annotated video is WebM or has no sound"},
                "urls": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "Timeline": {"type": "object", "properties": {
                "job": {"type": "string"}, "emotions": {"type": "array", "items": {"type": "string"}}, "duration": {"type": "number"},
                "tracks": {"type": "array", "items": {"type": "object", "properties": {
                    "track_id": {"type": "integer"}, "time": {"type": "array", "items": {"type": "number"}},
                    "emotions": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "number"}}}}}}}},
            "Meta": {"type": "object", "properties": {"emotions": {"type": "array"}, "csv_columns": {"type": "array"},
                                                      "photo_csv_columns": {"type": "array", "description": "a photo's CSV (no frame, time or track; an error column)"},
                                                      "limits": {"type": "object"}, "video_extensions": {"type": "array"}}},
        }},
        "x-websocket": {"/ws/live": "A frame is a binary message holding a JPEG, or a text message holding it as a data: URL "
                                    "(at most MAX_FRAME_BYTES). Other text messages: JSON "
                                    '{"type": "config", "landmarks": bool} or {"type": "reset"}. Replies: JSON {"type": "result", '
                                    '"seq", "dropped", "server_ms", "timings", "load": {"clients", "slots", "wait_ms"}, "result": FrameResult} '
                                    'or {"type": "error", "message"}. A message over MAX_FRAME_BYTES closes the socket '
                                    "(code 1009, the limit in the reason); a frame over 4096 pixels a side (read from its "
                                    "header) gets an error. The upgrade follows the same-origin rule (docs/security.md). "
                                    "Send the next frame only after the reply to the previous one (one frame in flight); "
                                    "frames that arrive while the server is busy are dropped but the newest, never queued."},
    }


# ---- the readable page (/api): the same document, laid out for a person -----------------------

def schema_text(schema) -> str:
    """A schema in a few words: 'integer', 'string or null', 'one of: a, b', 'Job (see below)'."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key, word in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if key in schema:
            return word.join(schema_text(s) for s in schema[key])
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"])
    t = schema.get("type", "")
    t = " or ".join(t) if isinstance(t, list) else t
    if t == "array" and isinstance(schema.get("items"), dict):
        t = f"array of {schema_text(schema['items'])}"
    if schema.get("format") == "binary":
        t = "file (bytes)"
    return t or "any"


# the core routes (untagged) by what they are for
_CORE_GROUPS = {"openapi.json": "about", "meta": "about", "analyze": "photos", "jobs": "videos"}


def readable(doc: dict) -> dict:
    """The OpenAPI document as the /api page shows it: operations grouped by tag (in path order),
    each with its parameters, request body, responses; and the schemas with their fields."""
    groups: Dict[str, list] = {}
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, o in item.items():
            if method == "parameters" or not isinstance(o, dict):
                continue
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "type": schema_text(p.get("schema")), "description": p.get("description", "")}
                      for p in shared + o.get("parameters", [])]
            body = []
            for ctype, c in (o.get("requestBody") or {}).get("content", {}).items():
                props = (c.get("schema") or {}).get("properties") or {}
                body.append({"type": ctype, "fields": [{"name": k, "type": schema_text(v),
                                                        "description": v.get("description", "")}
                                                       for k, v in props.items()]})
            responses = [{"code": code, "description": r.get("description", ""),
                          "schema": ", ".join(schema_text(c.get("schema")) for c in r.get("content", {}).values()
                                              if c.get("schema"))}
                         for code, r in sorted(o.get("responses", {}).items())]
            seg = path.split("/")[3] if path.count("/") >= 3 else ""
            tag = (o.get("tags") or [_CORE_GROUPS.get(seg, seg or "api")])[0]
            groups.setdefault(tag, []).append({
                "method": method.upper(), "path": path, "summary": o.get("summary", ""),
                "description": o.get("description", ""), "params": params, "body": body,
                "responses": responses, "anchor": re.sub(r"[^a-z0-9]+", "-", f"{method}{path}".lower()).strip("-")})
    schemas = []
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        props = dict(s.get("properties") or {})
        for part in s.get("allOf", []):
            props.update(part.get("properties") or {})
        schemas.append({"name": name, "description": s.get("description", ""),
                        "fields": [{"name": k, "type": schema_text(v), "description": v.get("description", "")}
                                   for k, v in props.items()]})
    return {"info": doc.get("info", {}), "groups": groups, "schemas": schemas,
            "websockets": doc.get("x-websocket", {})}
