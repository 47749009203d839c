"""The live page's WebSocket: JPEG frames in, JSON results out.

Protocol (also in the OpenAPI document under x-websocket):
- the server greets with {"type": "hello", "emotions": [...], "max_frame_bytes": N};
- the client sends one message per frame, a JPEG as binary or as a text data: URL
  ("data:image/jpeg;base64,..."), and the next one only after the reply
  to the previous (one frame in flight per client: the browser drops frames while waiting, the
  server never queues them);
- text messages are JSON controls: {"type": "config", "landmarks": true|false} asks for the mesh,
  {"type": "reset"} starts a fresh session (new track ids, signals baseline);
- each frame gets {"type": "result", "seq": n, "server_ms": ms, "result": FrameResult.to_dict()}
  or {"type": "error", "seq": n, "message": why}.

Each connection owns its live session (tracker, smoothing, signals): the per-client state.
Frames are decoded in memory and never written to disk.
"""
from __future__ import annotations

import base64
import json
import logging
import time

import numpy as np
from flask import Blueprint, current_app
from flask_sock import Sock

from . import same_origin, state

log = logging.getLogger(__name__)
bp = Blueprint("live", __name__)
sock = Sock()

MAX_SIDE = 4096


def decode_frame(data: bytes) -> np.ndarray:
    """A browser JPEG/PNG frame -> RGB uint8. Raises ValueError for anything else."""
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size < 4 or not (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"):
        raise ValueError("a frame must be a JPEG or PNG image")
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("the frame could not be decoded")
    h, w = bgr.shape[:2]
    if h > MAX_SIDE or w > MAX_SIDE:
        raise ValueError(f"the frame is {w}x{h}: at most {MAX_SIDE} pixels a side")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _new_session(analyzer):
    try:
        return analyzer.live_session(signals=True)
    except TypeError:  # a core without signals
        return analyzer.live_session()


@bp.before_request
def _refuse_cross_site():
    # refused before the handshake: another site open in the same browser gets a 403
    if not same_origin():
        return "cross-site WebSocket refused", 403


@sock.route("/ws/live", bp=bp)
def live_ws(ws):
    from facial_feedback import types as fft

    analyzer = state().analyzer
    max_bytes = current_app.config["MAX_FRAME_BYTES"]
    session = _new_session(analyzer)
    t_start = time.monotonic()
    landmarks = False
    seq = 0
    ws.send(json.dumps({"type": "hello", "emotions": list(fft.EMOTIONS), "max_frame_bytes": max_bytes}))
    while True:
        msg = ws.receive()
        if msg is None:
            continue
        if isinstance(msg, str) and msg.startswith("data:image/"):
            # a frame as a data: URL (the page's synchronous encoder)
            head, _, b64 = msg.partition(",")
            try:
                msg = base64.b64decode(b64, validate=False) if head.endswith(";base64") else b""
            except ValueError:
                msg = b""
        if isinstance(msg, str):
            try:
                ctl = json.loads(msg)
            except ValueError:
                ws.send(json.dumps({"type": "error", "message": "text messages must be JSON"}))
                continue
            kind = ctl.get("type") if isinstance(ctl, dict) else None
            if kind == "config":
                landmarks = bool(ctl.get("landmarks", landmarks))
            elif kind == "reset":
                session = _new_session(analyzer)
                t_start = time.monotonic()
            else:
                ws.send(json.dumps({"type": "error", "message": f"unknown control message {kind!r}"}))
            continue
        seq += 1
        t0 = time.perf_counter()
        if len(msg) > max_bytes:
            ws.send(json.dumps({"type": "error", "seq": seq, "message": f"frame over {max_bytes} bytes"}))
            continue
        try:
            rgb = decode_frame(msg)
        except ValueError as e:
            ws.send(json.dumps({"type": "error", "seq": seq, "message": str(e)}))
            continue
        t1 = time.perf_counter()
        try:
            fr = session.process(rgb, time.monotonic() - t_start)
        except Exception as e:  # one bad frame must not end the session
            log.exception("live frame failed")
            ws.send(json.dumps({"type": "error", "seq": seq, "message": f"analysis failed: {type(e).__name__}"}))
            continue
        t2 = time.perf_counter()
        result = fr.to_dict(landmarks=landmarks)
        timings = {"decode": round((t1 - t0) * 1000.0, 2), **{k: round(v, 2) for k, v in fr.timings.items()},
                   "to_dict": round((time.perf_counter() - t2) * 1000.0, 2)}
        ms = (time.perf_counter() - t0) * 1000.0
        ws.send(json.dumps({"type": "result", "seq": seq, "server_ms": round(ms, 1), "timings": timings,
                            "result": result}, separators=(",", ":")))
