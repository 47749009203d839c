"""Live page speed in headless Chromium: frames per second and frame-to-overlay latency.

    python benchmarks/bench_live.py [--seconds 20] [--size 640x480] [--markdown]

A real server (the app, real models) on a free loopback port; Debian's Chromium, headless,
with a real face video (../shared/media/WolfgangLanger_Pexels.mp4, one face, cropped to 4:3
and scaled to --size, 30 fps, as a .y4m in a temporary folder) as its camera; the Live page
started with ?autostart=1. After a warm-up, it reads the page's own counters:

- fps: overlays drawn per second (results received and drawn), over the whole window;
- latency: per frame, from the page grabbing the video frame (drawImage into the capture
  canvas) to the overlay having been drawn for that frame: JPEG encoding, the WebSocket
  round trip, decoding, analysis, JSON, and drawing. It leaves out the camera's own delay
  and the display's, which no page can see;
- server: the server's time per frame (decode + analysis + JSON), from the reply.

One frame is in flight at a time, so fps <= 1000 / latency, and the camera's 30 fps caps it.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def make_clip(src: Path, dst: Path, size: str, seconds: float) -> None:
    w, h = (int(v) for v in size.split("x"))
    # crop the 16:9 clip to the target aspect ratio around the centre, then scale
    vf = f"fps=30,crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',scale={w}:{h}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-t", str(seconds), "-vf", vf,
                    "-pix_fmt", "yuv420p", str(dst)], check=True)


def _cpu_s() -> float:
    """CPU seconds used by this process (the server and its models), all threads."""
    t = os.times()
    return t.user + t.system


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measuring window after warm-up")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--video", default=str(REPO.parent / "shared" / "media" / "WolfgangLanger_Pexels.mp4"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--mesh", action="store_true", help="ask for and draw the 478-point mesh too")
    ap.add_argument("--screenshot", default=None, help="save a screenshot of the page here")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table row block")
    ap.add_argument("--encode", default="dataurl", choices=["blob", "dataurl"], help="the page's JPEG encoder")
    ap.add_argument("--quality", type=float, default=0.8, help="JPEG quality")
    ap.add_argument("--emotion-manifest", default=None,
                    help="another emotion model's manifest (default: the shipped one)")
    args = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from facial_feedback.web import create_app

    with tempfile.TemporaryDirectory(prefix="ff-bench-live-") as tmp:
        clip = Path(tmp) / "cam.y4m"
        make_clip(Path(args.video), clip, args.size, seconds=10)
        t0 = time.perf_counter()
        cfg = {"TESTING": False}
        if args.emotion_manifest:
            from facial_feedback.pipeline import Analyzer

            cfg["ANALYZER"] = Analyzer(emotion_manifest=args.emotion_manifest)
        app = create_app(cfg, instance_path=str(Path(tmp) / "instance"))
        startup = time.perf_counter() - t0
        srv = make_server("127.0.0.1", 0, app, threaded=True)
        th = threading.Thread(target=srv.serve_forever, daemon=True)
        th.start()
        url = f"http://127.0.0.1:{srv.server_port}/?autostart=1&encode={args.encode}&quality={args.quality}"
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=args.chromium, headless=True,
                                      args=FLAGS + [f"--use-file-for-fake-video-capture={clip}"])
                page = b.new_page(viewport={"width": 1280, "height": 900})
                page.goto(url)
                page.wait_for_selector('#stage[data-faces="1"]', timeout=30000)
                if args.mesh:
                    page.check("#mesh")
                time.sleep(args.warmup)
                cpu0 = _cpu_s()
                start = page.evaluate("() => ({n: window.ffLive.cam.results, k: window.ffLive.cam.latencies.length,"
                                      " e: window.ffLive.cam.encodeMs.length, w: window.ffLive.cam.waitMs.length,"
                                      " s: window.ffLive.cam.serverMs.length, r: window.ffLive.cam.roundTripMs.length,"
                                      " d: window.ffLive.cam.drawMs.length, t: performance.now()})")
                time.sleep(args.seconds)
                cpu1 = _cpu_s()
                end = page.evaluate("""() => ({n: window.ffLive.cam.results, t: performance.now(),
                    lat: window.ffLive.cam.latencies, srv: window.ffLive.cam.serverMs,
                    enc: window.ffLive.cam.encodeMs, wait: window.ffLive.cam.waitMs, timings: window.ffLive.cam.lastTimings,
                    rt: window.ffLive.cam.roundTripMs, draw: window.ffLive.cam.drawMs,
                    w: document.getElementById('video').videoWidth, h: document.getElementById('video').videoHeight,
                    faces: window.ffLive.lastResult().faces.length})""")
                if args.screenshot:
                    page.screenshot(path=args.screenshot)
                b.close()
        finally:
            srv.shutdown()
            app.extensions["facial_feedback"].jobs.shutdown()

    lat = end["lat"][start["k"]:]
    n = end["n"] - start["n"]
    secs = (end["t"] - start["t"]) / 1000.0
    res = {
        "frame_size": f"{end['w']}x{end['h']}", "faces": end["faces"], "mesh": args.mesh,
        "window_s": round(secs, 1), "frames": n, "fps": round(n / secs, 1),
        "latency_ms_median": round(statistics.median(lat), 1), "latency_ms_p90": round(pct(lat, 0.9), 1),
        "server_ms_median": round(statistics.median(end["srv"][start["s"]:]), 1),
        "encode_ms_median": round(statistics.median(end["enc"][start["e"]:]), 1),
        "round_trip_ms_median": round(statistics.median(end["rt"][start["r"]:]), 1),
        "draw_ms_median": round(statistics.median(end["draw"][start["d"]:]), 1),
        "wait_for_camera_ms_median": round(statistics.median(end["wait"][start["w"]:] or [0]), 1),
        "last_server_timings_ms": end["timings"],
        "server_cpu_ms_per_frame": round((cpu1 - cpu0) * 1000.0 / max(n, 1), 1),
        "app_startup_s": round(startup, 2), "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(), "python": platform.python_version(),
    }
    print(json.dumps(res))
    if args.markdown:
        print(f"| {res['frame_size']}, {res['faces']} face{'s' if res['faces'] != 1 else ''}"
              f"{', mesh' if args.mesh else ''} | {res['fps']} | {res['latency_ms_median']} | "
              f"{res['latency_ms_p90']} | {res['server_ms_median']} | {res['load_avg_1m']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
