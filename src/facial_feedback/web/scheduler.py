"""Sharing the CPU between live clients and photo requests.

Every analysis (a live frame, a photo) takes one of a few slots (ANALYSIS_SLOTS, default the
number of CPU cores) before it runs: more analyses at once than cores only makes each slower.
Waiting is first come, first served within a priority, and each live client has at most one
frame in flight, so N clients take turns: when the machine cannot keep them all at camera
rate, every client's fps drops together (each reply says how many clients share the server
and how long its frame waited, and the live page shows it). A photo request waits ahead of
every live frame and, while it waits or runs, no live frame starts: it takes the first slot
that frees and then has the cores to itself (the live frame still running in another slot
finishes), so it answers in about the time of a photo alone plus what remains of one live
frame, however many live clients there are. Video jobs are not gated: they run at a lower OS
priority (jobs.py) and yield anyway.
"""
from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from contextlib import contextmanager

PHOTO, LIVE = 0, 1


class Gate:
    def __init__(self, slots: int | None = None):
        self.slots = max(1, int(slots or os.cpu_count() or 1))
        self._cv = threading.Condition()
        self._free = self.slots
        self._queue: list = []
        self._seq = itertools.count()
        self._photos = 0   # photo requests waiting or running: live frames do not start meanwhile
        self.live_clients = 0

    @contextmanager
    def slot(self, priority: int = LIVE):
        """Hold one slot for the block; yields the seconds spent waiting for it."""
        t0 = time.perf_counter()
        photo = priority == PHOTO
        with self._cv:
            ticket = (priority, next(self._seq))
            heapq.heappush(self._queue, ticket)
            if photo:
                self._photos += 1
            try:
                while not (self._free > 0 and self._queue[0] == ticket and (photo or self._photos == 0)):
                    self._cv.wait()
            except BaseException:   # interrupted while waiting: give the place up
                self._queue.remove(ticket)
                heapq.heapify(self._queue)
                if photo:
                    self._photos -= 1
                self._cv.notify_all()
                raise
            heapq.heappop(self._queue)
            self._free -= 1
            self._cv.notify_all()  # the next ticket may find a slot too
        try:
            yield time.perf_counter() - t0
        finally:
            with self._cv:
                self._free += 1
                if photo:
                    self._photos -= 1
                self._cv.notify_all()

    @contextmanager
    def live_client(self):
        with self._cv:
            self.live_clients += 1
        try:
            yield
        finally:
            with self._cv:
                self.live_clients -= 1
