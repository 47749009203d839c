"""The analysis gate (web/scheduler.py): live clients take turns, a photo goes first and runs
with no live frame starting beside it. Threads and events only: no timing decides a result."""
from __future__ import annotations

import threading
import time

from facial_feedback.web.scheduler import LIVE, PHOTO, Gate

WAIT = 60.0  # generous: a loaded machine may be slow to schedule a thread, never wrong


def _until(cond, what: str) -> None:
    end = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.005)


class _Holder(threading.Thread):
    """Takes a slot (at `priority`), records the order it got it in, holds it until released."""

    def __init__(self, gate: Gate, priority: int, order: list, name: str):
        super().__init__(daemon=True)
        self.gate, self.priority, self.order, self.label = gate, priority, order, name
        self.got = threading.Event()
        self.release = threading.Event()

    def run(self):
        with self.gate.slot(self.priority):
            self.order.append(self.label)
            self.got.set()
            self.release.wait(WAIT)


def _queued(gate: Gate, n: int) -> None:
    _until(lambda: len(gate._queue) == n, f"{n} waiting")


def test_live_frames_take_turns_first_come_first_served():
    gate, order = Gate(1), []
    first = _Holder(gate, LIVE, order, "first")
    first.start()
    assert first.got.wait(WAIT)
    waiting = []
    for k in range(4):
        h = _Holder(gate, LIVE, order, f"live{k}")
        h.start()
        _queued(gate, k + 1)   # each in the queue before the next arrives
        waiting.append(h)
    first.release.set()
    for h in waiting:
        assert h.got.wait(WAIT)
        h.release.set()
    assert order == ["first", "live0", "live1", "live2", "live3"]


def test_a_photo_goes_ahead_of_waiting_live_frames():
    gate, order = Gate(1), []
    running = _Holder(gate, LIVE, order, "running")
    running.start()
    assert running.got.wait(WAIT)
    live = _Holder(gate, LIVE, order, "live")
    live.start()
    _queued(gate, 1)
    photo = _Holder(gate, PHOTO, order, "photo")
    photo.start()
    _queued(gate, 2)
    running.release.set()
    assert photo.got.wait(WAIT)
    photo.release.set()
    assert live.got.wait(WAIT)
    live.release.set()
    assert order == ["running", "photo", "live"]


def test_no_live_frame_starts_while_a_photo_runs():
    gate, order = Gate(2), []
    photo = _Holder(gate, PHOTO, order, "photo")
    photo.start()
    assert photo.got.wait(WAIT)
    live = _Holder(gate, LIVE, order, "live")
    live.start()
    _queued(gate, 1)
    assert gate._free == 1                 # a slot is free...
    assert not live.got.wait(0.5)          # ...but the photo has the cores to itself
    photo.release.set()
    assert live.got.wait(WAIT)             # and the live frame runs as soon as it is done
    live.release.set()
    # a second photo still gets the free slot beside a first one
    p1, p2 = _Holder(gate, PHOTO, order, "p1"), _Holder(gate, PHOTO, order, "p2")
    p1.start()
    assert p1.got.wait(WAIT)
    p2.start()
    assert p2.got.wait(WAIT)
    p1.release.set()
    p2.release.set()
    p1.join(WAIT)
    p2.join(WAIT)
    assert gate._free == 2 and gate._photos == 0 and not gate._queue


def test_the_wait_is_reported():
    gate = Gate(1)
    with gate.slot(LIVE) as waited:
        assert 0.0 <= waited < WAIT
    assert gate._free == 1
