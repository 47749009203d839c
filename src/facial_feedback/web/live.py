"""The live page's WebSocket: JPEG frames in, JSON results out.

Protocol (also in the OpenAPI document under x-websocket):
- the server greets with {"type": "hello", "emotions": [...], "max_frame_bytes": N};
- the client sends one message per frame, a JPEG as binary or as a text data: URL
  ("data:image/jpeg;base64,..."), and the next one only after the reply
  to the previous (one frame in flight per client: the browser drops frames while waiting, the
  server never queues them);
- text messages are JSON controls: {"type": "config", "landmarks": true|false} asks for the mesh,
  {"type": "reset"} starts a fresh session (new track ids, signals baseline);
- frames that arrive while one is being analysed are dropped but the newest (never queued);
- each frame gets {"type": "result", "seq": n, "dropped": k, "server_ms": ms, "timings": {...},
  "load": {"clients": live clients sharing the server, "slots": analyses at once, "wait_ms": the
  frame's wait for a slot}, "result": FrameResult.to_dict()}
  or {"type": "error", "seq": n, "message": why}.

Each connection owns its live session (tracker, smoothing, signals, the tracked faces' ROIs):
the per-client state. The models (detector, landmark model) are shared by every session
from small pools (Session's detector / tracker_models arguments): 8 clients cost the models about twice (two analyses at once),
not eight times. Frames are decoded in memory and never written to disk.
"""
from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from typing import Callable, Optional

import numpy as np
import simple_websocket
from flask import Blueprint, Response, current_app, request
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason

from ..io import bgr_to_rgb
from . import state

log = logging.getLogger(__name__)
bp = Blueprint("live", __name__)

MAX_SIDE = 4096


class _Server(simple_websocket.Server):
    """simple_websocket's server, closing an over-limit message at once: the close frame says
    the limit (code 1009), every thread waiting in receive() wakes up, and the TCP connection
    is shut down even while the WSGI server still holds the socket (no CLOSE-WAIT left)."""

    def handshake(self):
        send = self.ws.send
        limit = self.max_message_size

        def send_with_reason(event):
            if isinstance(event, CloseConnection) and event.code == CloseReason.MESSAGE_TOO_BIG:
                event = CloseConnection(event.code, f"a message is at most {limit} bytes")
            return send(event)

        self.ws.send = send_with_reason
        super().handshake()

    def _thread(self):
        try:
            super()._thread()
        finally:
            self.connected = False
            self.event.set()  # a receive() that checked `connected` just before must not wait forever
            try:
                import socket

                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Sock:
    """flask-sock's route decorator on _Server, for the two servers this app runs on:
    Werkzeug (tests, development) and gunicorn's gthread worker (facial-feedback serve)."""

    def route(self, path, bp, **kwargs):
        def decorator(f):
            @functools.wraps(f)
            def websocket_route(*args, **kw):
                ws = _Server(request.environ, **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
                try:
                    f(ws, *args, **kw)
                except simple_websocket.ConnectionClosed:
                    pass
                try:
                    ws.close()
                except Exception:  # already closed
                    pass
                # The close handshake: read the client's reply before the WSGI server closes the
                # socket. Closing it with that reply unread makes the kernel send a reset, and the
                # client then loses what it had not read yet (the last message, the close frame).
                # A client replies at once; the 10 s only bound one that never does.
                ws.thread.join(timeout=10)

                ws.incoming_message, ws.input_buffer = None, []
                from .memory import trim

                trim()  # a connection's buffers (up to a 4 MB message) go back to the system

                class WebSocketResponse(Response):
                    def __call__(self, *a, **k):
                        if ws.mode == "gunicorn":
                            raise StopIteration()
                        if ws.mode == "werkzeug":
                            return super().__call__(*a, **k)
                        return []

                return WebSocketResponse()

            bp.route(path, websocket=True, **kwargs)(websocket_route)
            return f

        return decorator


sock = Sock()


def image_size(data: bytes) -> tuple:
    """(width, height) from a JPEG's SOF or a PNG's IHDR, without decoding a pixel.
    Raises ValueError when the header is missing or malformed."""
    import struct

    if data[:8] == b"\x89PNG\r\n\x1a\n":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ValueError("the frame's PNG header is malformed")
        return struct.unpack(">II", data[16:24])
    i = 2  # after SOI
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("the frame's JPEG header is malformed")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                break
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        if marker == 0xD9 or length < 2:
            break
        i += 2 + length
    raise ValueError("the frame's JPEG header has no size")


def decode_frame(data: bytes) -> np.ndarray:
    """A browser JPEG/PNG frame -> RGB uint8. Raises ValueError for anything else. The size
    is read from the header first: a small file declaring a huge image is refused undecoded."""
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size < 4 or not (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"):
        raise ValueError("a frame must be a JPEG or PNG image")
    w, h = image_size(data)
    if h > MAX_SIDE or w > MAX_SIDE or w < 1 or h < 1:
        raise ValueError(f"the frame is {w}x{h}: at most {MAX_SIDE} pixels a side")
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("the frame could not be decoded")
    h, w = bgr.shape[:2]
    if h > MAX_SIDE or w > MAX_SIDE:
        raise ValueError(f"the frame is {w}x{h}: at most {MAX_SIDE} pixels a side")
    return bgr_to_rgb(bgr)


class _Pool:
    """Instances of a stateless model (a detector, the mesh model), each lent to
    one call at a time: live sessions share them instead of owning one each (a LiteRT mesh
    model is about 15 MB, a detector 10 MB). Analyses are gated (scheduler.py), so a pool
    holds about ANALYSIS_SLOTS instances and a call never waits for one."""

    def __init__(self, make: Callable):
        self._make = make
        self._free: list = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lend(self):
        with self._lock:
            g = self._free.pop() if self._free else None
        if g is None:
            g = self._make()
        try:
            yield g
        finally:
            with self._lock:
                self._free.append(g)


class _PooledDetector:
    def __init__(self, pool: _Pool, config=None):
        self._pool = pool
        self.config = config

    def passes(self, *args, **kwargs):
        with self._pool.lend() as d:
            return d.passes(*args, **kwargs)

    def detect_pass(self, *args, **kwargs):
        with self._pool.lend() as d:
            return d.detect_pass(*args, **kwargs)

    def detect(self, *args, **kwargs):
        with self._pool.lend() as d:
            return d.detect(*args, **kwargs)

    def close(self) -> None:  # the pool's, not the session's
        pass


class _PooledMeshModel:
    """The tracking mesh's landmark model: stateless (the tracker keeps the faces' ROIs)."""

    def __init__(self, pool: _Pool):
        self._pool = pool

    def run(self, *args, **kwargs):
        with self._pool.lend() as m:
            return m.run(*args, **kwargs)


class _Pools:
    """An analyzer's shared models for its live sessions."""

    def __init__(self, analyzer):
        from facial_feedback.landmarks import _MeshModel

        self.analyzer = analyzer
        self._lock = threading.Lock()
        self._detectors: dict = {}   # (DetectorConfig, threads) -> _Pool
        self._mesh_models: dict = {}  # threads -> _Pool
        self._MeshModel = _MeshModel

    def detector(self, config, threads: int = 0) -> _Pool:
        from facial_feedback._litert import default_threads
        from facial_feedback.detection import FaceDetector

        threads = threads or default_threads()
        with self._lock:
            pool = self._detectors.get((config, threads))
            if pool is None:
                pool = self._detectors[(config, threads)] = _Pool(lambda: FaceDetector(config, threads))
            return pool

    def mesh_model(self, threads: int = 0) -> _Pool:
        from facial_feedback._litert import default_threads

        threads = threads or default_threads()
        with self._lock:
            pool = self._mesh_models.get(threads)
            if pool is None:
                pool = self._mesh_models[threads] = _Pool(lambda: self._MeshModel(threads))
            return pool


_POOLS: dict = {}
_POOLS_LOCK = threading.Lock()


def _pools(analyzer) -> _Pools:
    with _POOLS_LOCK:
        pools = _POOLS.get(id(analyzer))
        if pools is None or pools.analyzer is not analyzer:
            pools = _POOLS[id(analyzer)] = _Pools(analyzer)
        return pools


def _new_session(analyzer):
    # Share the stateless models between live sessions: a session then makes no models of its
    # own, only its per-client state (tracker, smoothing, signals, the tracked faces' ROIs).
    pools = _pools(analyzer)

    def tracker_models(threads: int, min_score: float):
        from facial_feedback.detection import DetectorConfig

        config = DetectorConfig(min_score=min_score)
        return (_PooledMeshModel(pools.mesh_model(threads)),
                _PooledDetector(pools.detector(config, threads), config))

    return analyzer.live_session(signals=True, detector=_PooledDetector(pools.detector(analyzer.detector.config),
                                                                          analyzer.detector.config),
                                 tracker_models=tracker_models)


@sock.route("/ws/live", bp=bp)
def live_ws(ws):
    serve_frames(ws)


def serve_frames(ws, on_result: Optional[Callable] = None, on_control: Optional[Callable] = None) -> None:
    """The frame loop behind /ws/live, for other pages' WebSockets to reuse:

        @sock.route("/ws/reading", bp=reading_bp)
        def reading_ws(ws):
            serve_frames(ws, on_result=lambda fr, reply, session: reply.update(paragraph=...))

    on_result(fr, reply, session) may add keys to the JSON reply (fr is the FrameResult);
    on_control(message_dict, session) handles control types this loop does not know and
    returns True when it did."""
    _FrameLoop(ws, on_result, on_control).run()


class _FrameLoop:
    """One client's connection: its session and the state of its replies."""

    def __init__(self, ws, on_result, on_control) -> None:
        self.ws, self.on_result, self.on_control = ws, on_result, on_control
        self.analyzer = state().analyzer
        self.gate = state().gate
        self.max_bytes = current_app.config["MAX_FRAME_BYTES"]
        self.session = None
        self.t_start = time.monotonic()
        self.landmarks = False
        self.seq = 0
        self.inbox: deque = deque()   # control messages read while looking for a newer frame

    def send(self, obj: dict) -> None:
        self.ws.send(json.dumps(obj))

    def run(self) -> None:
        from facial_feedback import types as fft

        self.session = _new_session(self.analyzer)
        self.send({"type": "hello", "emotions": list(fft.EMOTIONS), "max_frame_bytes": self.max_bytes})
        gate_client = self.gate.live_client()
        gate_client.__enter__()
        try:
            while True:
                msg = _frame_bytes(self.inbox.popleft() if self.inbox else self.ws.receive())
                if msg is None:
                    continue
                if isinstance(msg, str):
                    self.control(msg)
                else:
                    msg, dropped = self.newest_frame(msg)
                    self.frame(msg, dropped)
        finally:
            gate_client.__exit__(None, None, None)
            _close(self.session)

    def newest_frame(self, msg: bytes):
        """Drop, never queue: a client that did not wait for the reply gets its newest frame
        analysed and the older ones dropped (controls keep their order)."""
        dropped = 0
        while True:
            nxt = _frame_bytes(self.ws.receive(timeout=0))
            if nxt is None:
                return msg, dropped
            if isinstance(nxt, bytes):
                msg, dropped = nxt, dropped + 1
            else:
                self.inbox.append(nxt)

    def control(self, msg: str) -> None:
        try:
            ctl = json.loads(msg)
        except ValueError:
            self.send({"type": "error", "message": "text messages must be JSON"})
            return
        kind = ctl.get("type") if isinstance(ctl, dict) else None
        if kind == "config":
            self.landmarks = bool(ctl.get("landmarks", self.landmarks))
        elif kind == "reset":
            _close(self.session)
            self.session = _new_session(self.analyzer)
            self.t_start = time.monotonic()
        elif not (self.on_control and self.on_control(ctl, self.session)):
            self.send({"type": "error", "message": f"unknown control message {kind!r}"})

    def frame(self, msg: bytes, dropped: int) -> None:
        from .scheduler import LIVE

        self.seq += 1
        seq = self.seq
        t0 = time.perf_counter()
        if len(msg) > self.max_bytes:
            self.send({"type": "error", "seq": seq, "message": f"frame over {self.max_bytes} bytes"})
            return
        try:
            rgb = decode_frame(msg)
        except ValueError as e:
            self.send({"type": "error", "seq": seq, "message": str(e)})
            return
        t1 = time.perf_counter()
        try:
            with self.gate.slot(LIVE) as waited:
                fr = self.session.process(rgb, time.monotonic() - self.t_start)
        except Exception as e:  # one bad frame must not end the session
            log.exception("live frame failed")
            self.send({"type": "error", "seq": seq, "message": f"analysis failed: {type(e).__name__}"})
            return
        t2 = time.perf_counter()
        reply = {"type": "result", "seq": seq, "dropped": dropped, "result": fr.to_dict(landmarks=self.landmarks)}
        if self.on_result is not None:
            self.on_result(fr, reply, self.session)
        reply["load"] = {"clients": self.gate.live_clients, "slots": self.gate.slots,
                         "wait_ms": round(waited * 1000.0, 1)}
        reply["timings"] = {"decode": round((t1 - t0) * 1000.0, 2),
                            **{k: round(v, 2) for k, v in fr.timings.items()},
                            "reply": round((time.perf_counter() - t2) * 1000.0, 2)}
        reply["server_ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
        self.ws.send(json.dumps(reply, separators=(",", ":")))


def _frame_bytes(msg):
    """A frame as bytes (binary message, or a data: URL text message); other text as it is."""
    if isinstance(msg, str) and msg.startswith("data:image/"):
        head, _, b64 = msg.partition(",")
        try:
            return base64.b64decode(b64, validate=False) if head.endswith(";base64") else b""
        except ValueError:
            return b""
    if isinstance(msg, (bytearray, memoryview)):
        return bytes(msg)
    return msg


def _close(session) -> None:
    close = getattr(session, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # pragma: no cover - closing must not mask the real end
            log.exception("closing a live session")
