"""One reader's live session over one Document: a record per camera frame, the report at the end.

The page tells which paragraph is being read; everything else comes from the camera session's
FrameResult: the reader's face (the primary face), its FaceSignals (brows, head tilt, eye opening,
smile, face size) and the SessionSnapshot (the reader's track state and the events)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ...types import FrameResult
from .records import ReadingConfig, Rec
from .report import build_report
from .text import Document

if TYPE_CHECKING:
    from ...signals import SessionSnapshot


# events that count for the paragraph being read: episodes when they start, short ones when they end
_STARTED = ("look_away", "face_absent", "frown", "smile", "yawn", "eye_closure")
_ENDED = ("blink", "slow_blink", "nod")
# the reader's own episodes that stay on from their start to their end
_EPISODES = {"eye_closure": "_shut"}


class ReadingSession:
    """Aggregates one reader's live session over one Document (see the module doc)."""

    def __init__(self, doc: Document, reader: str = "", config: ReadingConfig = ReadingConfig(),
                 started: Optional[float] = None):
        self.doc = doc
        self.reader = reader.strip()[:60]
        self.config = config
        self.started = time.time() if started is None else started
        self.recs: List[Rec] = []
        self.paragraph: Optional[int] = None
        self.source = "viewport"
        self._last_t: Optional[float] = None
        self._shut = False
        self.gaze_calibrated = False

    def set_paragraph(self, index: Optional[int], source: str = "viewport") -> None:
        """The paragraph being read from now on (None: none, e.g. the tab is hidden)."""
        if index is not None:
            index = int(index)
            if not 0 <= index < len(self.doc.paragraphs):
                raise ValueError(f"no paragraph {index}")
        self.paragraph = index
        self.source = source if source in ("viewport", "gaze") else "viewport"
        if self.source == "gaze":
            self.gaze_calibrated = True

    def update(self, frame: FrameResult, paragraph: Any = "keep") -> None:
        """Feed the next FrameResult of the camera session; `paragraph` changes the current
        paragraph first (an int, or None for none)."""
        if paragraph != "keep":
            self.set_paragraph(paragraph)
        t = frame.timestamp
        t = round(float(t), 3) if t is not None else ((self._last_t or 0.0) + 1 / 30)  # ms, as in the JSON
        if self._last_t is not None and t <= self._last_t:
            return
        dt = 0.0 if self._last_t is None else min(t - self._last_t, self.config.max_dt_s)
        self._last_t = t
        face = frame.primary_face()
        sess = frame.session
        tid = face.track_id if face else None
        evs = self._events(sess, tid)
        if face is None:
            self._shut = False
            self.recs.append(Rec(t, dt, self.paragraph, False, False, False, events=evs))
            return
        tr = sess.track(tid) if sess is not None and tid is not None else None
        s = face.signals
        seen = s is None or s.quality >= self.config.min_quality
        on = tr.on_screen if tr is not None else (s.on_screen if s is not None else None)
        fat = tr.fatigue if tr is not None else None
        cues = {} if s is None else dict(brow=s.brow_height, tilt=s.head_tilt, smile=s.smile, iod=s.iod_px,
                                         eye=(s.eye_open_left + s.eye_open_right) / 2.0)
        self.recs.append(Rec(
            t, dt, self.paragraph, True, seen, on, **cues, closed=bool(tr is not None and tr.eyes_closed),
            fatigue=None if (fat is None or fat.abstain) else fat.value,
            # this frame's frown (brows lowered outside a smile) and smile as the signals read them
            # (the same reading as the live page's and the states'; see signals.events.expression)
            frown=bool(tr is not None and tr.frowning), smiling=bool(tr is not None and tr.smiling),
            eyes_shut=self._shut and (tr is None or tr.eyes_closed), events=evs))

    def _events(self, sess: Optional["SessionSnapshot"], tid: Optional[int]) -> Tuple[str, ...]:
        """The events of this frame that count for the paragraph; follows the reader's episodes."""
        if sess is None:
            return ()
        evs = [e.type for e in sess.started if e.type in _STARTED]
        evs += [e.type for e in sess.ended if e.type in _ENDED]
        for events, on in ((sess.started, True), (sess.ended, False)):
            for e in events:
                if e.track == tid and e.type in _EPISODES:
                    setattr(self, _EPISODES[e.type], on)
        return tuple(evs)

    # ---- the report ----------------------------------------------------------
    def report(self) -> dict:
        return build_report(self.doc, self.recs, self.config, reader=self.reader, started=self.started,
                            gaze=self.gaze_calibrated)
