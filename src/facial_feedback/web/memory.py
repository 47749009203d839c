"""Giving freed memory back to the system (glibc), so that a long-running server's size
follows its load instead of its history.

A threaded server frees a large buffer (an upload, a 4 MB WebSocket message, a video job's
frames) in whichever malloc arena its thread used; glibc keeps those pages mapped, and with
one arena per thread the process grows by a few MB per job or connection that levels off only
when every arena has been used. ``limit_arenas`` (the worker of ``facial-feedback serve``)
caps the arenas; ``trim`` (after each video job and each closed WebSocket) returns what is
free. Both do nothing where glibc is absent, or with FACIAL_FEEDBACK_MALLOC_DEFAULTS=1 (the
soak benchmark's comparison run: benchmarks/bench_soak.py jobs --compare).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_ARENA_MAX = -8


def _libc():
    if not sys.platform.startswith("linux") or os.environ.get("FACIAL_FEEDBACK_MALLOC_DEFAULTS") == "1":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()


def limit_arenas(n: int = 2) -> bool:
    if _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    return bool(_LIBC.mallopt(_M_ARENA_MAX, int(n)))


def trim() -> None:
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def start_trimmer(every_s: float = 5.0) -> None:
    """Trim every few seconds in a daemon thread (the server worker): what live sessions free
    between frames goes back too, not only at the end of a job or a connection."""
    if _LIBC is None:
        return
    import threading

    def loop():
        ev = threading.Event()
        while not ev.wait(every_s):
            trim()

    threading.Thread(target=loop, name="ff-malloc-trim", daemon=True).start()
