"""The `facial-feedback` command: a thin layer over the library.

Exit status: 0 every input analysed, 1 some failed (the others still analysed and
written), 2 usage error.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

# exit codes, analyzer flags and config: shared with batch/, which cli.py runs
from .flags import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, IMAGE_SETTINGS, RUN_SETTINGS, VIDEO_SETTINGS,
                    add_analyzer_flags, analyzer_config)

# Start-up: this module imports the standard library only (and .flags, which does too); each
# subcommand imports what it needs (numpy, OpenCV, the model runtimes, Flask) when it runs
# (benchmarks/bench_startup.py).


def expand_inputs(args: Iterable[str]) -> Tuple[List[Path], List[Tuple[str, str]]]:
    """Files as given, folders recursively (image files only), globs. Returns (paths, problems)."""
    from .io import IMAGE_EXTENSIONS

    paths: List[Path] = []
    problems: List[Tuple[str, str]] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                problems.append((a, "folder holds no image files"))
            paths.extend(found)
        elif p.exists():
            paths.append(p)
        elif any(ch in a for ch in "*?["):
            found = sorted(Path(m) for m in glob.glob(a, recursive=True) if Path(m).is_file())
            if not found:
                problems.append((a, "pattern matches no file"))
            paths.extend(found)
        else:
            problems.append((a, "no such file or folder"))
    seen, unique = set(), []
    for p in paths:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique, problems


def _err(path, reason: str) -> None:
    print(f"error: {path}: {reason}", file=sys.stderr)


def _unwritable(path) -> Optional[str]:
    """Why an output file cannot be written at `path`, found before any frame is analysed (a
    long video's work is not lost at the rename); None when it can."""
    if os.path.isdir(path):
        return "is a directory: give a file name for this output"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"its folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable"
    return None


def _table_lines(path: Path, d: dict) -> List[str]:
    faces = d["faces"]
    lines = [f"{path}  ({d['width']}x{d['height']}): {len(faces)} face{'s' if len(faces) != 1 else ''}"]
    for i, f in enumerate(faces, 1):
        x, y, w, h = f["box"]
        emo = f["emotion"]
        e = f"{emo['label']:<8} {emo['confidence']:4.0%}" if emo else "-"
        pose = f["pose"]
        p = f"yaw {pose['yaw']:+5.1f} pitch {pose['pitch']:+5.1f} roll {pose['roll']:+5.1f}" if pose else "no mesh"
        score = "" if f["score"] is None else f"  score {f['score']:.2f}"
        lines.append(f"  {i:>2}. box {x:.0f},{y:.0f} {w:.0f}x{h:.0f}{score}  {e}  {p}")
    return lines


class _ModelUnusable(Exception):
    """The models cannot serve these settings (a corrupt or replaced file, a label set the model lacks)."""


def _analyzer(ns):
    from .emotion import ModelError
    from .pipeline import Analyzer

    try:
        return Analyzer(analyzer_config(ns))
    except ModelError as e:
        raise _ModelUnusable(str(e)) from None


def cmd_analyze(ns) -> int:
    paths, problems = expand_inputs(ns.paths)
    failed = 0
    for a, reason in problems:
        _err(a, reason)
        if ns.json:
            print(json.dumps({"path": a, "faces": [], "error": reason}), flush=True)
        failed += 1
    if not paths:
        return EXIT_FAILED if failed else EXIT_OK
    from .annotate import annotate
    from .io import ImageError, load_image

    out_dir = Path(ns.annotate) if ns.annotate else None
    if out_dir:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:   # a file of that name, a read-only place: said before any work
            _err(out_dir, f"cannot be the annotations' folder ({e.strerror or e})")
            return EXIT_USAGE
    analyzer = _analyzer(ns)
    used_names: set = set()
    for path in paths:
        try:
            rgb = load_image(path)
            fr = analyzer.analyze_face_crop(rgb) if ns.face_crops else analyzer.analyze_image(rgb)
        except ImageError as e:
            _err(path, str(e))
            failed += 1
            if ns.json:
                print(json.dumps({"path": str(path), "faces": [], "error": str(e)}), flush=True)
            continue
        except Exception as e:  # one bad input never stops the batch
            _err(path, f"analysis failed: {type(e).__name__}: {e}")
            failed += 1
            if ns.json:
                print(json.dumps({"path": str(path), "faces": [], "error": f"analysis failed: {e}"}), flush=True)
            continue
        d = fr.to_dict(landmarks=ns.landmarks)
        if ns.json:
            print(json.dumps({"path": str(path), **d, "error": None}), flush=True)
        else:
            print("\n".join(_table_lines(path, d)), flush=True)
        if out_dir:
            import cv2

            name = path.stem + ".jpg"
            k = 1
            while name in used_names:
                k += 1
                name = f"{path.stem}_{k}.jpg"
            used_names.add(name)
            img = annotate(rgb, fr, landmarks=ns.landmarks)
            cv2.imwrite(str(out_dir / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    analyzer.close()
    if failed:
        print(f"{failed} of {len(paths) + len(problems)} inputs failed; the others were analysed.", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < 0.2 and done != total:
            return
        self.last = now
        fps = done / max(now - self.t0, 1e-6)
        if total > 0:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r[{bar:<30}] {frac:4.0%} {done}/{total} frames  {fps:5.0f} fps")
        else:
            sys.stderr.write(f"\r{done} frames  {fps:5.0f} fps")
        sys.stderr.flush()

    def end(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def cmd_video(ns) -> int:
    from .io import VideoError
    from .video import write_video_outputs

    if ns.every < 1:
        print("error: --every must be 1 or more", file=sys.stderr)
        return EXIT_USAGE
    out = ns.output
    to_stdout = out in (None, "-")
    events_path, states_path = ns.events, ns.states
    if ns.signals and not to_stdout:  # by default beside the output: out.events.csv, out.states.csv
        stem = os.path.splitext(out)[0]
        events_path = events_path or stem + ".events.csv"
        states_path = states_path or stem + ".states.csv"
    for p in (None if to_stdout else out, ns.annotate, *((events_path, states_path) if ns.signals else ())):
        why = p and _unwritable(p)
        if why:
            _err(p, why)
            return EXIT_USAGE
    analyzer = _analyzer(ns)
    tmp = None
    if to_stdout:
        import tempfile

        tmp = tempfile.NamedTemporaryFile("w+", suffix=".out", delete=False)
        tmp.close()
        out = tmp.name
    progress = Progress(sys.stderr.isatty() and not ns.quiet)
    try:
        summary = write_video_outputs(
            analyzer, ns.file,
            csv_path=None if ns.json else out, json_path=out if ns.json else None,
            annotate_path=ns.annotate, every=ns.every, progress=progress, landmarks=ns.landmarks,
            events_path=events_path if ns.signals else None, states_path=states_path if ns.signals else None,
            blendshapes=ns.blendshape_columns)
    except VideoError as e:
        progress.end()
        _err(ns.file, str(e))
        return EXIT_FAILED
    finally:
        analyzer.close()
        if tmp is not None:
            with open(tmp.name) as f:
                for line in f:
                    sys.stdout.write(line)
            os.unlink(tmp.name)
    progress.end()
    s = summary
    if not ns.quiet:
        print(f"{ns.file}: {s.frames_analysed} frames analysed in {s.seconds:.1f} s ({s.fps_processed:.0f} fps), "
              f"faces in {s.frames_with_faces}, {len(s.tracks)} track(s)", file=sys.stderr)
        if s.emotion_frames:
            tot = sum(s.emotion_frames.values())
            mix = ", ".join(f"{k} {v / tot:.0%}" for k, v in sorted(s.emotion_frames.items(), key=lambda kv: -kv[1]))
            print(f"  emotions over all face-frames: {mix}", file=sys.stderr)
        if s.frames_with_faces == 0:
            print("  no face was found in this video", file=sys.stderr)
        if s.session:
            from .signals.export import format_summary

            for line in format_summary(s.session):
                print(line, file=sys.stderr)
        if not to_stdout:
            print(f"  wrote {out}" + (f" and {ns.annotate}" if ns.annotate else ""), file=sys.stderr)
        written = [p for p in (events_path, states_path) if p and ns.signals]
        if written:
            print(f"  wrote {' and '.join(written)} (events; states once a second)", file=sys.stderr)
    return EXIT_OK


def cmd_batch(ns) -> int:
    from .batch import main

    if ns.ray and os.path.exists(ns.ray):  # `--ray clips/ ...`: the folder is an input, not an address
        ns.inputs.insert(0, ns.ray)
        ns.ray = ""
    return main(ns)


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def gui_opencv() -> bool:
    """Whether this OpenCV build can open windows (the headless build cannot)."""
    import cv2

    info = cv2.getBuildInformation()
    gui = next((ln for ln in info.splitlines() if ln.strip().startswith("GUI:")), "")
    return bool(gui) and "NONE" not in gui.upper()


def cmd_webcam(ns) -> int:
    if not has_display():
        print("error: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open.\n"
              "  Use the web app's live page instead: `make run`, then open http://127.0.0.1:5000/live",
              file=sys.stderr)
        return EXIT_FAILED
    import cv2

    from .annotate import annotate
    from .io import bgr_to_rgb

    if not gui_opencv():
        print("error: this OpenCV has no window support (the package depends on opencv-python-headless).\n"
              "  For the preview window: pip install opencv-python (in place of the headless build);\n"
              "  or use the web app's live page: `make run`, then open http://127.0.0.1:5000/live",
              file=sys.stderr)
        return EXIT_FAILED
    cap = cv2.VideoCapture(ns.camera)
    if not cap.isOpened():
        print(f"error: cannot open camera {ns.camera} (absent, busy, or permission denied)", file=sys.stderr)
        return EXIT_FAILED
    analyzer = _analyzer(ns)
    session = analyzer.live_session()
    title = "facial-feedback (q to quit)"
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                print("error: the camera stopped delivering frames", file=sys.stderr)
                return EXIT_FAILED
            rgb = bgr_to_rgb(bgr)
            fr = session.process(rgb)
            cv2.imshow(title, cv2.cvtColor(annotate(rgb, fr, landmarks=ns.landmarks), cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                break
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
        cap.release()
        cv2.destroyAllWindows()
    return EXIT_OK


def cmd_serve(ns) -> int:
    from .web.server import serve

    return serve(host=ns.host, port=ns.port, instance=ns.instance, threads=ns.threads,
                 allow_hosts=ns.allow_host or (), require_token=ns.require_token)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facial-feedback", description="Offline face analysis: faces, head pose, "
                                "emotions, and attention/fatigue cues, in photos, videos and a live webcam.")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="analyse images (files, folders, globs)")
    a.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders (searched recursively) or globs")
    a.add_argument("--json", action="store_true", help="one JSON object per input per line")
    a.add_argument("--annotate", metavar="DIR", help="write each image with boxes and labels into DIR")
    a.add_argument("--landmarks", action="store_true", help="include the 478-point mesh (JSON and drawings)")
    a.add_argument("--face-crops", action="store_true",
                   help="each input is one already-cropped face (FER-style): skip detection")
    add_analyzer_flags(a, IMAGE_SETTINGS)
    a.set_defaults(func=cmd_analyze)

    v = sub.add_parser("video", help="analyse a video file into CSV or JSON lines")
    v.add_argument("file", metavar="FILE")
    v.add_argument("-o", "--output", metavar="PATH", help="where to write rows (default: standard output)")
    v.add_argument("--json", action="store_true", help="JSON lines, one per frame, instead of CSV")
    v.add_argument("--annotate", metavar="OUT.mp4", help="also write an annotated video")
    v.add_argument("--every", type=int, default=1, metavar="N", help="analyse every Nth frame (default 1)")
    v.add_argument("--landmarks", action="store_true", help="include the mesh in JSON output")
    v.add_argument("--blendshapes", dest="blendshape_columns", action="store_true",
                   help="add the 52 blendshape columns (bs_<name>) to the CSV (JSON always has them)")
    v.add_argument("--events", metavar="PATH", help="events CSV: track, type, onset, duration, details "
                   "(default with -o: OUTPUT.events.csv)")
    v.add_argument("--states", metavar="PATH", help="attention/fatigue/tension per track once a second, CSV "
                   "(default with -o: OUTPUT.states.csv)")
    add_analyzer_flags(v, VIDEO_SETTINGS + RUN_SETTINGS)   # --no-signals: no blinks, gaze, states or events files
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    v.set_defaults(func=cmd_video)

    b = sub.add_parser("batch", help="many photos and videos: a local process pool, or a Ray cluster")
    b.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (searched recursively) or globs")
    b.add_argument("--out", required=True, metavar="DIR", help="outputs mirror the inputs' relative paths "
                   "under DIR; DIR/summary.csv has one row per input")
    b.add_argument("--workers", type=int, metavar="N", help="worker processes (Ray: actors at most); "
                   "default: one per CPU")
    b.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: a local instance, or join ADDRESS (or RAY_ADDRESS); "
                   "needs facial-feedback[cluster]")
    b.add_argument("--ship", action="store_true", help="with --ray: send inputs through Ray's object store "
                   "(nodes without a shared file system)")
    b.add_argument("--every", type=int, default=1, metavar="N", help="analyse every Nth video frame (default 1)")
    b.add_argument("--annotate", action="store_true", help="also write annotated videos and photos")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    add_analyzer_flags(b, VIDEO_SETTINGS)
    b.set_defaults(func=cmd_batch)

    w = sub.add_parser("webcam", help="live analysis in a window (needs a display)")
    w.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    w.add_argument("--landmarks", action="store_true", help="draw the mesh")
    add_analyzer_flags(w, VIDEO_SETTINGS)
    w.set_defaults(func=cmd_webcam)

    s = sub.add_parser("serve", help="run the web app on a production server (gunicorn, gthread worker)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this computer only)")
    s.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    s.add_argument("--instance", metavar="DIR", help="where jobs, reports and the wellbeing history live "
                   "(default: $FACIAL_FEEDBACK_INSTANCE or ~/.local/share/facial-feedback)")
    s.add_argument("--allow-host", action="append", metavar="NAME[:PORT]",
                   help="another Host name this server answers to (repeatable; docs/security.md)")
    s.add_argument("--require-token", action="store_true",
                   help="every request needs the token (a machine shared with other users): open the "
                   "printed address, which sets it as a cookie")
    s.add_argument("--threads", type=int, default=32,
                   help="request threads: each open live page holds one (default 32)")
    s.set_defaults(func=cmd_serve)
    return p


def _mute_native_logs():
    """MediaPipe and TFLite write start-up chatter straight to file descriptor 2. Point that
    descriptor at /dev/null and give Python's sys.stderr a copy of the real one, so the
    command's own messages and progress still show. FACIAL_FEEDBACK_NATIVE_LOGS=1 keeps them.
    Returns a function that undoes it."""
    if os.environ.get("FACIAL_FEEDBACK_NATIVE_LOGS") or sys.stderr is not sys.__stderr__:
        return lambda: None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        return lambda: None
    real = os.fdopen(os.dup(saved), "w", buffering=1)
    old = sys.stderr
    sys.stderr = real

    def undo():
        sys.stderr = old
        real.close()
        os.dup2(saved, 2)
        os.close(saved)
    return undo


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)  # exits 2 on a usage error
    if any(hasattr(ns, name) for name in VIDEO_SETTINGS):
        try:
            analyzer_config(ns)
        except ValueError as e:   # e.g. --max-faces 0: a usage error that names the setting
            parser.error(str(e))
    undo = _mute_native_logs()
    try:
        return ns.func(ns)
    except _ModelUnusable as e:   # one line, before any input is read or any output written
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    finally:
        undo()


if __name__ == "__main__":
    sys.exit(main())
