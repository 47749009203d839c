"""The Analyzer (models, loaded once, shared) and its sessions (state, one per video or client).

Running modes, as in MediaPipe:
- IMAGE: `Analyzer.analyze_image` is stateless: detect every face (pyramid), mesh each,
  head pose, emotion.
- VIDEO: `Analyzer.analyze_video` / `Analyzer.video_session()`: monotonic timestamps,
  MediaPipe's tracking mesh, stable track ids, smoothed emotions.
- LIVE: `Analyzer.live_session()`: the same Session, owned by one client.

A Session holds all state over time (tracker, smoothing, signals); the Analyzer holds
none, so one Analyzer serves many sessions.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .config import AnalyzerConfig
from .detection import DetectorConfig, FaceDetector, nms
from .emotion import DEFAULT_MANIFEST, EmotionModel
from .blendshapes import BlendshapeModel
from .io import ImageSource, VideoInfo, iter_frames, load_image, probe_video
from .landmarks import FaceMesher, MeshTracker, head_pose
from .types import Box, Emotion, Face, FrameResult

if TYPE_CHECKING:
    from .signals import Event

__all__ = ["Analyzer", "AnalyzerConfig", "Session", "Tracker", "VideoStream"]


# process_stream: frames stage 1 (mesh) may be ahead of stage 2 (emotion, signals)
_AHEAD = 3


class Analyzer:
    """Loads the detector, mesh and emotion models once. Thread-safe for analyze_image."""

    def __init__(self, config: AnalyzerConfig = AnalyzerConfig(),
                 emotion_manifest: Union[str, os.PathLike] = DEFAULT_MANIFEST):
        self.config = config
        self.detector = FaceDetector(DetectorConfig(min_score=config.min_face_score), config.threads)
        self.mesher = FaceMesher(threads=config.threads)
        self.emotion = EmotionModel(emotion_manifest, labels=config.emotion_labels)
        self.blendshapes = BlendshapeModel() if config.blendshapes else None

    def face_blendshapes(self, landmarks: Optional[np.ndarray]):
        """The 52 blendshapes of one mesh (None without a mesh or with blendshapes off)."""
        return None if self.blendshapes is None or landmarks is None else self.blendshapes.predict(landmarks)

    def close(self) -> None:
        self.detector.close()
        self.mesher.close()

    def __enter__(self) -> "Analyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- IMAGE mode -------------------------------------------------------------
    def analyze_image(self, src: ImageSource) -> FrameResult:
        t0 = time.perf_counter()
        rgb = load_image(src)
        t1 = time.perf_counter()
        dets = self.detector.detect(rgb)
        t2 = time.perf_counter()
        meshes = self.mesher.mesh_faces(rgb, [d.box for d in dets], [d.keypoints for d in dets])
        t3 = time.perf_counter()
        emotions = self.emotion.predict(rgb, [(lm, d.box) for lm, d in zip(meshes, dets)])
        t4 = time.perf_counter()
        faces = []
        for d, lm, emo in zip(dets, meshes, emotions):
            faces.append(Face(
                box=Box.from_points(lm) if lm is not None else d.box, score=d.score, landmarks=lm,
                pose=head_pose(lm) if lm is not None else None, emotion=emo,
                blendshapes=self.face_blendshapes(lm)))
        faces.sort(key=lambda f: (f.box.x, f.box.y))  # reading order, stable across runs
        faces = _with_signals(faces, self.config.signals)
        t5 = time.perf_counter()
        return FrameResult(rgb.shape[1], rgb.shape[0], tuple(faces), timings=_ms(
            load=t1 - t0, detect=t2 - t1, mesh=t3 - t2, emotion=t4 - t3, other=t5 - t4, total=t5 - t0))

    def analyze_face_crop(self, src: ImageSource) -> FrameResult:
        """The whole image is one already-cropped face (FER-style data): no detection."""
        rgb = load_image(src)
        h, w = rgb.shape[:2]
        emo = self.emotion.predict_crops(rgb[None])[0]
        return FrameResult(w, h, (Face(box=Box(0, 0, w, h), emotion=emo),))

    # ---- VIDEO / LIVE modes --------------------------------------------------------
    def video_session(self, config: Optional[AnalyzerConfig] = None) -> "Session":
        return Session(self, config, mode="video")

    def live_session(self, signals: Optional[bool] = None, *, detector=None,
                     tracker_models=None) -> "Session":
        """A LIVE session; `detector` / `tracker_models`: shared stateless models to use (see Session)."""
        cfg = self.config if signals is None else replace(self.config, signals=signals)
        return Session(self, cfg, detector=detector, tracker_models=tracker_models)

    def analyze_video(self, path: Union[str, os.PathLike], every: int = 1,
                      progress: Optional[Callable[[int, int], None]] = None,
                      overlap: Optional[bool] = None, blendshapes: Optional[bool] = None) -> "VideoStream":
        """One FrameResult per analysed frame, in order, streaming (constant memory): iterate the
        returned VideoStream. After the last frame, its `final_events` hold the signal episodes
        the session ended there (an eye closure still going on), and `summary` the signals' totals.
        overlap, blendshapes: see VideoStream (default: the config's)."""
        return VideoStream(self, path, every=every, progress=progress, overlap=overlap, blendshapes=blendshapes)


class VideoStream:
    """THE video loop (the CLI, the web jobs and `ff.analyze_video` all run this one).

    Iterating yields FrameResults; `frames()` yields (rgb, FrameResult) for writers that draw.
    The video is probed once (`info`); its session is closed at the end, or when the stream is
    closed or dropped part-way.

    overlap (default: AnalyzerConfig.overlap): True runs decoding, locating (mesh, detector) and
    describing (emotion, signals) in overlapping threads (on 2 cores each face model on one
    thread); False
    runs everything in the calling thread, one frame after another, each face model on one
    thread too, so N such streams in N processes use N cores (batch workers). The results are
    the same either way.

    blendshapes=False skips the blendshape model (Face.blendshapes None) for a caller that
    writes no blendshapes (a CSV without their columns); default: the config's."""

    def __init__(self, analyzer: "Analyzer", path: Union[str, os.PathLike], every: int = 1,
                 progress: Optional[Callable[[int, int], None]] = None, overlap: Optional[bool] = None,
                 blendshapes: Optional[bool] = None):
        self.analyzer, self.path, self.every, self.progress = analyzer, path, every, progress
        self.overlap = analyzer.config.overlap if overlap is None else bool(overlap)
        self.blendshapes = analyzer.config.blendshapes if blendshapes is None else bool(blendshapes)
        self._info: Optional[VideoInfo] = None
        self._gen: Optional[Iterator[Tuple[np.ndarray, FrameResult]]] = None
        self.final_events: Tuple["Event", ...] = ()  # episodes still open at the last frame, ended there
        self.summary: Optional[dict] = None          # the signals' totals per track, at the end
        self.session: Optional["Session"] = None      # the video's session, while the stream runs

    @property
    def info(self) -> VideoInfo:
        """The container's size, rate and frame count (VideoError for an unusable file)."""
        if self._info is None:
            self._info = probe_video(self.path)
        return self._info

    def frames(self) -> Iterator[Tuple[np.ndarray, FrameResult]]:
        if self._gen is not None:
            raise RuntimeError("a VideoStream is iterated once")
        self._gen = self._run()
        return self._gen

    def __iter__(self) -> "VideoStream":
        return self

    def __next__(self) -> FrameResult:
        if self._gen is None:
            self.frames()
        return next(self._gen)[1]  # type: ignore[index]

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()

    def _run(self) -> Iterator[Tuple[np.ndarray, FrameResult]]:
        info = self.info
        cfg = self.analyzer.config
        if (cfg.overlap, cfg.blendshapes) != (self.overlap, self.blendshapes):
            cfg = replace(cfg, overlap=self.overlap, blendshapes=self.blendshapes)
        with self.analyzer.video_session(cfg) as session:
            self.session = session
            frames = iter_frames(self.path, every=self.every, info=info, prefetch=4 if self.overlap else 0)
            for rgb, fr in session.process_stream(frames):
                if self.progress is not None:
                    self.progress(fr.index + 1, info.frame_count)
                yield rgb, fr
            self.final_events = session.finish()
            self.summary = session.signals.summary() if session.signals is not None else None
        self.session = None


def _ms(**secs: float) -> Dict[str, float]:
    return {k: round(v * 1000.0, 3) for k, v in secs.items()}


def _with_signals(faces: List[Face], on: bool) -> List[Face]:
    """Per-frame facial signals (facial_feedback.signals.FaceSignals) for every face with a mesh."""
    if not on:
        return faces
    from .signals import face_signals

    return [replace(f, signals=face_signals(f.landmarks, f.pose)) if f.landmarks is not None else f for f in faces]


@dataclass
class _Track:
    id: int
    box: Box
    last_seen: float
    probs: Optional[np.ndarray] = None
    score: Optional[float] = None
    raw: Optional[np.ndarray] = None           # the emotion model's last reading of this face
    read_at: Optional[float] = None            # when it was taken (frame timestamp, seconds)


class Tracker:
    """Stable ids by box overlap: kept while visible and for `memory` seconds after.

    Greedy matching on IoU; a face that was lost may also match by centre distance
    (it may have moved while hidden) within half its size.
    """

    def __init__(self, memory: float = AnalyzerConfig.track_memory):
        self.memory = memory
        self.tracks: List[_Track] = []
        self._next = 1

    def assign(self, boxes: Sequence[Box], t: float) -> List[_Track]:
        self.tracks = [tr for tr in self.tracks if t - tr.last_seen <= self.memory]
        pairs = []
        for bi, b in enumerate(boxes):
            for ti, tr in enumerate(self.tracks):
                iou = b.iou(tr.box)
                (bx, by), (tx, ty) = b.center, tr.box.center
                size = max(b.w, b.h, tr.box.w, tr.box.h, 1.0)
                near = math.hypot(bx - tx, by - ty) / size
                sim = iou if iou > 0.2 else (0.2 - near * 0.2 if near < 0.5 else -1.0)
                if sim > 0:
                    pairs.append((sim, bi, ti))
        pairs.sort(reverse=True)
        out: List[Optional[_Track]] = [None] * len(boxes)
        used = set()
        for sim, bi, ti in pairs:
            if out[bi] is None and ti not in used:
                out[bi] = self.tracks[ti]
                used.add(ti)
        for bi, b in enumerate(boxes):
            if out[bi] is None:
                tr = _Track(self._next, b, t)
                self._next += 1
                self.tracks.append(tr)
                out[bi] = tr
            out[bi].box = b
            out[bi].last_seen = t
        return out  # type: ignore[return-value]


@dataclass
class _Located:
    """What stage 1 of Session hands to stage 2 for one frame."""
    rgb: np.ndarray
    timestamp: float
    index: int
    dt: float
    meshes: List[np.ndarray]
    boxes: List[Box]
    tracks: List[_Track]
    scores: List[Optional[float]]   # detection scores as they were at this frame
    t0: float
    t1: float
    t2: float
    wait_ms: Optional[float] = None


class Session:
    """State over time for one video or one live client (VIDEO / LIVE mode).

    detector / tracker_models: stateless models to use instead of the session's own (made on
    first use), e.g. pooled ones shared by many live clients (web/live.py): a FaceDetector (or
    anything with its `passes` and `detect_pass`) for the detector passes; tracker_models(threads,
    min_score) -> (mesh_model, detector) for the tracking mesh (MeshTracker: its landmark model,
    and the detector it confirms a new face with), called once. The session does not close what
    it was given. mode: "video" (a file: on 2 cores each face model on one thread, as the
    stages of process_stream run in parallel) or "live" (one frame at a time, up to 2 threads a
    model); with config.overlap off one thread; AnalyzerConfig.threads overrides all of these
    (facial_feedback._litert.stage_threads)."""

    def __init__(self, analyzer: Analyzer, config: Optional[AnalyzerConfig] = None, *,
                 detector=None, tracker_models=None, mode: str = "live"):
        from ._litert import stage_threads

        if mode not in ("video", "live"):
            raise ValueError(f"mode must be 'video' or 'live', got {mode!r}")
        self.analyzer = analyzer
        self.config = config or analyzer.config
        self.mode = mode
        self.threads = stage_threads(self.config.threads, video=mode == "video", overlap=self.config.overlap)
        # Every face is followed by the tracking mesh (one landmark run a face a frame); the
        # detector only brings faces in, from _locate's passes.
        # tracker_models(threads, min_score) -> (mesh_model, detector): shared stateless models
        # for the tracking mesh (the web app's pools); None: the tracking mesh makes its own.
        models = {} if tracker_models is None else dict(zip(
            ("mesh_model", "detector"), tracker_models(self.threads, self.config.min_face_score)))
        self.mesh = MeshTracker(max_faces=self.config.max_faces, min_score=self.config.min_face_score,
                                threads=self.threads, **models)
        self.tracker = Tracker(self.config.track_memory)
        self._last_t: Optional[float] = None
        self._last_detect: float = -1e9
        self._pass = 0                 # next detector pass (see _locate)
        self._detector = detector
        self._owned: List = []         # the models this session made (and closes)
        self._side: Optional[ThreadPoolExecutor] = None
        self._index = 0
        self._final: Optional[Tuple["Event", ...]] = None
        self.signals = None  # SignalSession, when signals are on (facial_feedback.signals)
        if self.config.signals:
            from .signals import SignalConfig, SignalSession

            self.signals = SignalSession(SignalConfig(track_memory_s=self.config.track_memory))

    # A session's own detector (the analyzer's is shared behind a lock, and a big photo
    # analysed for one client would stall every live client). Made on first use.
    def _own_detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = FaceDetector(self.analyzer.detector.config, self.threads)
            self._owned.append(self._detector)
        return self._detector

    def _helper(self) -> Optional[ThreadPoolExecutor]:
        """The helper thread that runs one call while the session's own thread does other work
        (LiteRT's invoke and ONNX Runtime's run release the GIL, so the two run on two cores);
        made on first use, None when the config says one thread."""
        if not self.config.overlap:
            return None
        if self._side is None:
            import weakref

            self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ff-session-side")
            # a session dropped unclosed ends its thread too
            weakref.finalize(self, self._side.shutdown, wait=False)
        return self._side

    def finish(self) -> Tuple["Event", ...]:
        """End the signal episodes still open at the last frame (an eye closure, a look-away)
        and return them; once: later calls return the same events. close() calls it."""
        if self._final is None:
            self._final = tuple(self.signals.close()) if self.signals is not None else ()
        return self._final

    def close(self) -> None:
        self.finish()
        self.mesh.close()
        for g in self._owned:
            g.close()
        self._owned = []
        self._detector = None
        if self._side is not None:
            self._side.shutdown(wait=False)
            self._side = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def process(self, frame: ImageSource, timestamp: Optional[float] = None,
                index: Optional[int] = None) -> FrameResult:
        """Analyse the next frame. Timestamps must increase; None means 'now' on a monotonic clock."""
        rgb = load_image(frame) if not isinstance(frame, np.ndarray) else frame
        return self._describe(self._locate(rgb, timestamp, index), side=True)

    def process_stream(self, frames: Iterable[tuple]) -> Iterator[Tuple[np.ndarray, FrameResult]]:
        """Analyse (index, timestamp, rgb) frames from a file, yielding (rgb, FrameResult) in order.

        Two stages overlap: while a worker thread classifies the emotions and updates the signals
        of frame t, this thread already meshes and tracks frame t+1 (LiteRT and ONNX Runtime
        both release the GIL). Each stage owns its state, so results equal process() frame by frame.
        With config.overlap off, both stages run here, one frame after the other.
        """
        import queue
        import threading

        if not self.config.overlap:
            t_prev = time.perf_counter()
            for i, t, rgb in frames:
                loc = self._locate(rgb, t, i)
                loc.wait_ms = (loc.t0 - t_prev) * 1000.0  # decoding, in this thread
                yield rgb, self._describe(loc)
                t_prev = time.perf_counter()
            return

        # Stage 1 may run up to AHEAD frames ahead of stage 2 (2 made it wait for stage 2 0.2-0.7 ms
        # a frame on 2 shared cores, 3 under 0.05: docs/benchmarks.md); each holds one frame.
        todo: "queue.Queue" = queue.Queue(maxsize=_AHEAD)
        done: "queue.Queue" = queue.Queue(maxsize=4)
        END = object()

        def worker() -> None:
            while True:
                loc = todo.get()
                if loc is END:
                    done.put(END)
                    return
                try:
                    done.put((loc.rgb, self._describe(loc)))
                except BaseException as e:  # handed to the consumer, then stop
                    done.put(e)
                    return

        th = threading.Thread(target=worker, name="ff-describe", daemon=True)
        th.start()
        pending = 0
        t_prev = time.perf_counter()
        try:
            for i, t, rgb in frames:
                t_got = time.perf_counter()
                loc = self._locate(rgb, t, i)
                loc.wait_ms = (t_got - t_prev) * 1000.0  # time spent waiting for the decoder
                todo.put(loc)
                pending += 1
                while pending and (done.qsize() or pending >= _AHEAD):
                    item = done.get()
                    if isinstance(item, BaseException):
                        raise item
                    pending -= 1
                    yield item
                t_prev = time.perf_counter()
            todo.put(END)
            while True:
                item = done.get()
                if item is END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if th.is_alive():
                try:
                    todo.put_nowait(END)
                except queue.Full:
                    pass

    def _locate(self, rgb: np.ndarray, timestamp: Optional[float], index: Optional[int]) -> "_Located":
        """Stage 1: where the faces are (mesh, tracks, detector refresh). Owns mesh/tracker state."""
        t0 = time.perf_counter()
        if timestamp is None:
            timestamp = time.monotonic()
        if self._last_t is not None and timestamp <= self._last_t:
            raise ValueError(f"timestamps must increase: {timestamp} after {self._last_t}")
        dt = 0.0 if self._last_t is None else timestamp - self._last_t
        self._last_t = timestamp
        if index is None:
            index = self._index
        self._index = index + 1
        # The detector finds faces, the tracking mesh follows them. A full search (the whole
        # frame, wide borders, then the tiles for small faces) is spread over detect_interval,
        # one pass at a time, so no frame pays for a whole search (a live client would see that
        # as a stall); it finds new faces and refreshes each track's detection score. The first
        # frame gets a whole search (every face there from the start), and while a remembered
        # face is not followed the search runs a pass every frame. A pass does not depend on
        # this frame's meshes, so it runs on the helper thread while the mesh runs here.
        detector = self._own_detector()
        passes = detector.passes(rgb.shape[0], rgb.shape[1])
        alive = self._alive(timestamp)
        first = self._pass == 0
        due = first or self.mesh.followed < alive or \
            timestamp - self._last_detect >= self.config.detect_interval / len(passes)
        todo = passes if first else [passes[self._pass % len(passes)]]

        def search() -> list:
            return [d for which in todo for d in detector.detect_pass(rgb, which)]

        side = self._helper() if due else None
        early = side.submit(search) if side is not None else None
        meshes = self.mesh.follow(rgb)
        t1 = time.perf_counter()
        raw: Optional[list] = None
        if due:
            # the first frame's whole search stands for the first interval's: the next pass is
            # due one interval on, so a whole video runs as many passes as the plain schedule
            self._last_detect = timestamp + (self.config.detect_interval * (1 - 1 / len(passes)) if first else 0.0)
            self._pass += len(todo)
            raw = early.result() if early is not None else search()
        # Fewer faces followed than are remembered (one lost a moment ago), or none at all: the
        # whole frame is searched every frame too, as MediaPipe's tracking graph does (a big
        # face is back at once; a small one from its tile, in the hurried search above).
        if len(meshes) < min(self.config.max_faces, max(1, alive)) and not (due and None in todo):
            raw = (raw or []) + detector.detect_pass(rgb, None)
        dets = nms(raw) if raw is not None else []
        if dets:
            meshes += self.mesh.seed(rgb, dets)
        boxes = [Box.from_points(lm) for lm in meshes]
        tracks = self.tracker.assign(boxes, timestamp)
        if raw is None and any(tr.score is None for tr in tracks):
            # a track with no detection score yet (a followed face the tracker gave a new id)
            raw = detector.detect_pass(rgb, None)
            dets = nms(raw)
        if raw is not None:
            for tr in tracks:
                best = max(dets, key=lambda d: d.box.iou(tr.box), default=None)
                if best is not None and best.box.iou(tr.box) > 0.2:
                    tr.score = best.score
                elif tr.score is None:
                    tr.score = 0.0  # the mesh follows a face the detector no longer sees
        t2 = time.perf_counter()
        return _Located(rgb, timestamp, index, dt, meshes, boxes, tracks,
                        [tr.score for tr in tracks], t0, t1, t2)

    def _alive(self, t: float) -> int:
        """The tracks seen within track_memory: the faces that should be followed now."""
        return sum(1 for tr in self.tracker.tracks if t - tr.last_seen <= self.tracker.memory)

    def _emotion_due(self, tr: _Track, t: float) -> bool:
        """A new face, or its last reading at least emotion_interval old (_locate keeps t increasing)."""
        gap = self.config.emotion_interval
        if gap <= 0 or tr.read_at is None:
            return True
        # half a millisecond of slack: 3 frames of a 30 fps video are 0.1 s apart in floats too
        return t - tr.read_at >= gap - 5e-4

    def _describe(self, loc: "_Located", side: bool = False) -> FrameResult:
        """Stage 2: what the faces show (emotion, smoothing, pose, signals). Owns smoothing/signals state.
        side: classify the emotions on the helper thread meanwhile (one frame at a time, as live
        frames come: the emotion model and the blendshapes, pose and geometry run on two cores)."""
        t2 = time.perf_counter()
        # each face is read by the emotion model at most once per emotion_interval; between readings it
        # keeps its last one (then smoothed as every frame is): the model costs 4-5 ms a face
        due = [k for k, tr in enumerate(loc.tracks) if self._emotion_due(tr, loc.timestamp)]
        pairs = [(loc.meshes[k], loc.boxes[k]) for k in due]
        helper = self._helper() if side and pairs else None
        pending = helper.submit(self.analyzer.emotion.predict, loc.rgb, pairs) if helper is not None else None
        if pending is None:
            read = self.analyzer.emotion.predict(loc.rgb, pairs) if pairs else []
        t_emo = time.perf_counter()
        # what does not need the emotions: per face its pose, blendshapes and geometric signals
        poses = [head_pose(lm) for lm in loc.meshes]
        shapes = [self.analyzer.face_blendshapes(lm) if self.config.blendshapes else None for lm in loc.meshes]
        t_geo = time.perf_counter()
        geometry = None
        if self.config.signals and loc.meshes:
            from .signals import face_signals

            geometry = [face_signals(lm, pose) for lm, pose in zip(loc.meshes, poses)]
        t_wait = time.perf_counter()
        if pending is not None:
            read = pending.result()
        for k, emo in zip(due, read):
            loc.tracks[k].raw, loc.tracks[k].read_at = emo.probs, loc.timestamp
        t3 = time.perf_counter()
        tau = self.config.emotion_smoothing
        faces = []
        for k, (lm, box, tr, score) in enumerate(zip(loc.meshes, loc.boxes, loc.tracks, loc.scores)):
            p = tr.raw
            if tau > 0 and tr.probs is not None:
                a = 1.0 - math.exp(-max(loc.dt, 0.0) / tau)
                p = tr.probs + a * (p - tr.probs)
            tr.probs = p
            faces.append(Face(box=box, score=score, landmarks=lm, pose=poses[k],
                              emotion=Emotion.from_probs(p), track_id=tr.id, blendshapes=shapes[k],
                              signals=geometry[k] if geometry is not None else None))
        faces.sort(key=lambda f: f.track_id)
        t4 = time.perf_counter()
        fr = FrameResult(loc.rgb.shape[1], loc.rgb.shape[0], tuple(faces), index=loc.index, timestamp=loc.timestamp)
        if self.signals is not None:
            fr = replace(fr, session=self.signals.update(fr))
        t5 = time.perf_counter()
        # emotion: the model's call, or (on the helper thread) the time still waited for it after
        # the rest; other: pose, blendshapes, smoothing, result objects; signals: geometry + session
        timings = _ms(mesh=loc.t1 - loc.t0, detect=loc.t2 - loc.t1, emotion=(t_emo - t2) + (t3 - t_wait),
                      other=(t_geo - t_emo) + (t4 - t3), signals=(t_wait - t_geo) + (t5 - t4))
        timings["total"] = round(sum(timings.values()), 3)  # work done, whichever thread did it
        if loc.wait_ms is not None:
            timings = {"decode_wait": round(loc.wait_ms, 3), **timings}
        return replace(fr, timings=timings)
