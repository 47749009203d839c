"""Errors as JSON under /api/: {"error": {"status": 413, "code": "too_large", "message": "...",
"field": "every"}} ("field" names the parameter or body field at fault, where there is one)."""
from __future__ import annotations

import math
import re
import unicodedata
from urllib.parse import quote

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 401: "token_required", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
         413: "too_large", 415: "unsupported_media_type", 421: "unknown_host", 500: "internal_error",
         503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.field = field


def error_response(status: int, message: str, code: str | None = None, field: str | None = None):
    body = {"error": {"status": status, "code": code or CODES.get(status, "error"), "message": message}}
    if field:
        body["error"]["field"] = field
    return jsonify(body), status


def number_arg(name: str, default: float, lo: float, hi: float, integer: bool = False) -> float:
    """A query parameter as a finite number in [lo, hi]; a 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    kind = "a whole number" if integer else "a number"
    try:
        v = float(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be {kind} from {lo:g} to {hi:g}.", field=name) from None
    if not math.isfinite(v) or not lo <= v <= hi or (integer and v != int(v)):
        raise ApiError(400, f"'{name}' must be {kind} from {lo:g} to {hi:g}.", field=name)
    return int(v) if integer else v


def clean_name(name) -> str:
    """A user's file name as we may show it: no path, no control characters, at most 200 chars."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return name.strip()[:200]


def attachment(name: str) -> str:
    """A Content-Disposition header for a download named `name`, whatever its characters:
    an ASCII fallback plus the UTF-8 name (RFC 6266 / 5987)."""
    name = clean_name(name) or "download"
    ascii_name = re.sub(r'[^A-Za-z0-9._ -]', "_", name) or "download"
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _mb(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.message, e.code, e.field)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if not request.path.startswith("/api/"):
            return _page(e.code or 500, e.name, e.description or e.name, e)
        message = e.description or e.name
        if e.code == 413:
            limit = request.max_content_length
            message = (f"The upload is too large: the limit is {_mb(limit)} per request."
                       if limit else "The upload is too large.")
        elif e.code == 404:
            message = f"No such resource: {request.path}"
        return error_response(e.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        app.logger.exception("unhandled error on %s", request.path)
        if request.path.startswith("/api/"):
            return error_response(500, f"Internal error: {type(e).__name__}")
        return _page(500, "Internal server error",
                     "Something went wrong on the server; the details are in its log.", None)

    def _page(code: int, title: str, message: str, e):
        """A page (not /api/) error in the app's own style and with its navigation; titles are Werkzeug's
        ("Not Found" reads "Page not found"). If the page itself cannot render, plain text."""
        from flask import render_template

        title = "Page not found" if code == 404 else title
        try:
            resp = app.make_response((render_template("error.html", active=None, path=request.path, code=code,
                                                      title=title, message=message), code))
        except Exception:   # a broken template must not hide the original error
            app.logger.exception("error page failed to render")
            resp = app.make_response((f"{code} {title}", code, {"Content-Type": "text/plain; charset=utf-8"}))
        if e is not None and hasattr(e, "get_headers"):   # keep e.g. 405's Allow header
            for k, v in e.get_headers():
                if k.lower() != "content-type":
                    resp.headers[k] = v
        return resp
