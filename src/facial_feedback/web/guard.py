"""The app's one gate: which Host may be served, which requests may change state, and the
headers every response carries. Registered once on the app (``register``), before any
blueprint, so it covers every route: pages, /api/v1, and the WebSocket upgrades.

1. Host allow-list (DNS rebinding): the Host header must name this server, as
   127.0.0.1, localhost or [::1] with the served port, or a host the user configured
   (``ALLOWED_HOSTS``, e.g. ``["mybox.lan", "mybox.lan:8080"]``; ``serve --allow-host``).
   Anything else gets 421 before any route runs.
2. Same-origin rule for every state-changing request (POST, PUT, PATCH, DELETE) and every
   WebSocket upgrade: a browser's ``Origin`` must be this server (scheme, host and port);
   ``Origin: null`` is refused; without an Origin, ``Sec-Fetch-Site`` must say
   ``same-origin``; a ``Referer`` naming another origin is refused. A script (curl, Python)
   sends neither header: it proves it runs as this user with the token header
   ``X-Facial-Feedback-Token``, whose value the server writes to ``<instance>/api-token``
   (readable by this user only, mode 0600) at start. A web page cannot send that header to
   another origin without a CORS preflight, which this server never grants. The token stands
   in for missing browser headers only: a request that has an Origin is judged by it.
3. Reads across sites: a GET that a browser marks ``Sec-Fetch-Site: cross-site`` or
   ``same-site`` and that is not a top-level navigation (an <img>, <video> or <script> of
   another page pointing here) gets 403, and every response says
   ``Cross-Origin-Resource-Policy: same-origin``.
4. Optional, for a machine shared with other users (``REQUIRE_TOKEN``, ``serve
   --require-token``): every request (but the static files) needs the token, as the header or
   as the HttpOnly SameSite=Strict cookie that the printed address (``/?token=...``) sets.
5. Headers on every response: a strict Content-Security-Policy (self only, no inline
   script, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
   ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin`` (see HEADERS), and
   ``Cache-Control: no-store`` on everything but the static files (pages, JSON, results,
   exports and videos are personal data).

docs/security.md holds the threat model and the tests that check each point.
"""
from __future__ import annotations

import hmac
import os
import secrets
from typing import Iterable, Optional, Set, Tuple
from urllib.parse import urlsplit

from flask import Flask, current_app, request

TOKEN_HEADER = "X-Facial-Feedback-Token"
TOKEN_FILE = "api-token"
COOKIE = "ff_token"
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on our own
    # pages' form POSTs (the Fetch standard's origin serialisation follows the referrer policy),
    # which rule 2 must refuse, since a sandboxed frame of any site sends the same. same-origin
    # gives our own requests their real Origin and Referer and still sends nothing to other
    # sites (strict-origin would tell every linked site this server's address).
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ---- the token ------------------------------------------------------------------------------
def load_token(instance_path: str, configured: Optional[str] = None) -> str:
    """The token scripts send in X-Facial-Feedback-Token: API_TOKEN from the config, else the
    one in <instance>/api-token, else a new one written there (mode 0600, atomically)."""
    if configured:
        return str(configured)
    path = os.path.join(instance_path, TOKEN_FILE)
    try:
        with open(path) as f:
            tok = f.read().strip()
        if len(tok) >= 32:
            return tok
    except OSError:
        pass
    tok = secrets.token_urlsafe(32)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(tok + "\n")
    os.replace(tmp, path)
    return tok


def read_token(instance_path: str) -> str:
    """For scripts on this machine: the running server's token (see load_token)."""
    with open(os.path.join(instance_path, TOKEN_FILE)) as f:
        return f.read().strip()


# ---- hosts and origins ----------------------------------------------------------------------
def _split_hostport(netloc: str, default_port: int) -> Tuple[str, int]:
    netloc = netloc.strip().lower()
    if not netloc or any(c in netloc for c in "/\\@ \t\r\n?#"):
        raise ValueError(netloc)
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ValueError(netloc)
        host, rest = netloc[:end + 1], netloc[end + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError(netloc)
        port = rest[1:]
    else:
        host, _, port = netloc.partition(":")
    if port:
        if not port.isdigit() or len(port) > 5:
            raise ValueError(netloc)
        return host.rstrip("."), int(port)
    return host.rstrip("."), default_port


def served_port() -> int:
    """The port this connection came in on: the local socket's, where the server exposes it
    (Werkzeug, gunicorn), else the app's SERVER_PORT config, else the WSGI SERVER_PORT."""
    env = request.environ
    for key in ("werkzeug.socket", "gunicorn.socket"):
        sock = env.get(key)
        if sock is not None:
            try:
                return int(sock.getsockname()[1])
            except (OSError, IndexError, TypeError, ValueError):
                pass
    port = current_app.config.get("SERVER_PORT")
    if port:
        return int(port)
    try:
        return int(env.get("SERVER_PORT") or 80)
    except ValueError:
        return 80


def allowed_hosts(port: int, extra: Iterable[str] = ()) -> Set[Tuple[str, int]]:
    allowed = {(h, port) for h in LOOPBACK}
    for entry in extra or ():
        try:
            allowed.add(_split_hostport(str(entry), port))
        except ValueError:
            continue
    return allowed


def _origin_allowed(origin: str, allowed: Set[Tuple[str, int]]) -> Optional[str]:
    """None when `origin` (scheme://host[:port]) is this server, else why not."""
    if origin.strip().lower() == "null":
        return "Origin: null (a sandboxed frame or a local file) is refused"
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return "the Origin header is malformed"
    if parts.scheme not in ("http", "https"):
        return f"the Origin's scheme {parts.scheme!r} is not this server's"
    if parts.scheme != request.scheme:
        return f"the Origin's scheme {parts.scheme} is not this server's ({request.scheme})"
    try:
        hp = _split_hostport(parts.netloc, 443 if parts.scheme == "https" else 80)
    except ValueError:
        return "the Origin header is malformed"
    if hp not in allowed:
        return f"the Origin {parts.scheme}://{parts.netloc} is another site"
    return None


def _is_websocket() -> bool:
    return "websocket" in (request.headers.get("Upgrade") or "").lower()


def _has_token() -> bool:
    sent = request.headers.get(TOKEN_HEADER)
    tok = current_app.config.get("_FF_TOKEN")
    return bool(sent and tok and hmac.compare_digest(sent.strip().encode(), tok.encode()))


def check_request() -> None:
    """Raise Refused unless the request may proceed (see the module's docstring)."""
    port = served_port()
    allowed = allowed_hosts(port, current_app.config.get("ALLOWED_HOSTS") or ())
    host = request.headers.get("Host", "")
    try:
        # A Host without a port is taken as the served port: some clients (simple_websocket's)
        # leave it out, and a browser page cannot make one up for this server's address.
        hp = _split_hostport(host, port)
    except ValueError:
        hp = None
    if hp not in allowed:
        raise Refused(421, "unknown_host",
                      f"This server answers only to its own address (http://127.0.0.1:{port}), not to the "
                      f"Host {host[:100]!r}. To reach it under another name, add it to ALLOWED_HOSTS "
                      "(facial-feedback serve --allow-host NAME).")
    if current_app.config.get("REQUIRE_TOKEN") and not request.path.startswith("/static/"):
        _check_private()
    changing = request.method not in SAFE_METHODS or _is_websocket()
    fetch_site = (request.headers.get("Sec-Fetch-Site") or "").lower()
    if not changing:
        mode = (request.headers.get("Sec-Fetch-Mode") or "").lower()
        if fetch_site in ("cross-site", "same-site") and mode not in ("navigate", ""):
            raise Refused(403, "cross_site", "Another site's page may not read from this server.")
        return
    origin = request.headers.get("Origin")
    referer = request.headers.get("Referer")
    if origin is not None:
        why = _origin_allowed(origin, allowed)
        if why:
            raise Refused(403, "cross_site", f"Cross-site request refused: {why}.")
    elif fetch_site:
        if fetch_site != "same-origin":
            raise Refused(403, "cross_site", f"Cross-site request refused (Sec-Fetch-Site: {fetch_site}).")
    elif not referer and not _has_token():
        raise Refused(403, "token_required",
                      f"A request without a browser's Origin must carry the header {TOKEN_HEADER} "
                      f"(its value is in the server's instance folder, file {TOKEN_FILE}; see docs/security.md).")
    if referer:
        r = urlsplit(referer)
        why = _origin_allowed(f"{r.scheme}://{r.netloc}", allowed) if r.scheme and r.netloc else "malformed"
        if why:
            raise Refused(403, "cross_site", "Cross-site request refused: the Referer is another site.")


class Redirect(Exception):
    def __init__(self, response):
        super().__init__("redirect")
        self.response = response


def _check_private() -> None:
    """REQUIRE_TOKEN (serve --require-token, for a machine shared with other users): every
    request but the static files needs the token, as the header (scripts) or as the cookie
    the browser got from the URL that `serve` prints (/?token=...; HttpOnly, SameSite=Strict)."""
    tok = current_app.config.get("_FF_TOKEN") or ""
    if _has_token():
        return
    cookie = request.cookies.get(COOKIE) or ""
    if cookie and hmac.compare_digest(cookie.encode(), tok.encode()):
        return
    given = request.args.get("token") or ""
    if request.method == "GET" and given and hmac.compare_digest(given.encode(), tok.encode()):
        from flask import redirect

        resp = redirect(request.path, code=303)
        resp.set_cookie(COOKIE, tok, httponly=True, samesite="Strict", path="/")
        raise Redirect(resp)
    raise Refused(401, "token_required",
                  "This server is private (--require-token): open the address that `facial-feedback serve` "
                  f"printed (it carries the token), or send the header {TOKEN_HEADER}.")


def _refused_response(e: Refused):
    from .errors import error_response

    if request.path.startswith("/api/"):
        resp, status = error_response(e.status, e.message, e.code)
        resp.status_code = status
        return resp
    return current_app.response_class(e.message + "\n", status=e.status, mimetype="text/plain")


def add_headers(resp):
    for k, v in HEADERS.items():
        resp.headers.setdefault(k, v)
    resp.headers.setdefault("Content-Security-Policy", CSP)
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"
        resp.headers.pop("Expires", None)
        resp.headers.pop("Last-Modified", None)
    return resp


def register(app: Flask) -> None:
    app.config["_FF_TOKEN"] = load_token(app.instance_path, app.config.get("API_TOKEN"))

    @app.before_request
    def _guard():
        try:
            check_request()
        except Refused as e:
            return _refused_response(e)
        except Redirect as r:
            return r.response
        return None

    app.after_request(add_headers)
