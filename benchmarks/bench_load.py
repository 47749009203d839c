"""Load as the live page sees it: 1, 2, 4, 8 live WebSocket clients on `facial-feedback serve`.

    python benchmarks/bench_load.py [--clients 1,2,4,8] [--seconds 15] [--markdown]
    python benchmarks/bench_load.py --clients 8 --against /tmp/main/src --rounds 3   # A/B, same run

The production server (gunicorn, gthread) in its own process on a free loopback port, with a
fresh instance folder. Each client streams JPEG frames of the Pexels clip
(../shared/media/WolfgangLanger_Pexels.mp4, 640x480, quality 80, as the live page sends them)
over /ws/live with one frame in flight, at most 30 fps (the camera's rate). Meanwhile a photo
request (single_face.jpg, POST /api/v1/analyze) every 2 s, sent and timed by a process of its
own (as a browser would: not behind this process's interpreter lock). Recorded per run:

- per-client fps (replies per second), their spread (min/max) and Jain's fairness index;
- latency per frame (send -> reply), median and p90 over all clients;
- the server worker's resident memory (peak and at the end), sampled every 0.2 s;
- the photo request's latency, median and max, and the same with no live client measured just
  before each row (the reference: the machine's load drifts);
- the worker's CPU time in the window: cores it got, and ms per live frame (photos included),
  which says how much of a slowdown is ours and how much the machine's other work.

Ratios are against the 1-client run of the same invocation; /proc/loadavg is printed before
and after, because this machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(1, str(REPO))   # tests.ws_client
MEDIA = REPO.parent / "shared" / "media"

from facial_feedback.web.server import ServeProcess  # noqa: E402


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_s(pid: int) -> float:
    """A process's CPU time so far (user + system, all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0:3].__str__()


def Server(instance: Path, threads: int = 32, slots=None, src=None) -> ServeProcess:
    """`facial-feedback serve` on a free port (web/server.py's ServeProcess), ANALYSIS_SLOTS=slots;
    with src, the package in that folder is served (PYTHONPATH) instead of this tree's."""
    env = {"FACIAL_FEEDBACK_ANALYSIS_SLOTS": str(slots)} if slots else {}
    if src:
        env["PYTHONPATH"] = str(src)
    return ServeProcess(instance, threads=threads, env=env)


def clip_jpegs(n: int = 150, size=(640, 480)):
    import cv2

    cap = cv2.VideoCapture(str(MEDIA / "WolfgangLanger_Pexels.mp4"))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        tw = min(w, int(h * size[0] / size[1]))
        x0 = (w - tw) // 2
        bgr = cv2.resize(bgr[:, x0:x0 + tw], size)
        out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    cap.release()
    return out


_PHOTO_CHILD = r"""
import json, sys, time, urllib.request
url, header, token, path = sys.argv[1:5]
data = open(path, "rb").read()
for line in sys.stdin:
    req = urllib.request.Request(url + "/api/v1/analyze", data=data, method="POST",
                                 headers={"Content-Type": "image/jpeg", header: token})
    t0 = time.perf_counter()
    body = urllib.request.urlopen(req, timeout=60).read()
    ms = (time.perf_counter() - t0) * 1000.0
    print(json.dumps([ms, json.loads(body)["elapsed_ms"]]), flush=True)
"""


class Photographer:
    """Photo requests from a process of their own, as a user's browser sends them: timed there,
    not in this process, whose threads (the live clients) hold its interpreter lock."""

    def __init__(self, server: ServeProcess, photo_path: Path):
        import subprocess

        (header, token), = server.headers.items()
        self.proc = subprocess.Popen([sys.executable, "-c", _PHOTO_CHILD, server.url, header, token, str(photo_path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._lock = threading.Lock()

    def shoot(self, server_ms: list = None) -> float:
        """One photo request: its latency (ms) as the client saw it."""
        with self._lock:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
            ms, srv = json.loads(self.proc.stdout.readline())
        if server_ms is not None:   # the server's own time: the wait for a slot and the analysis
            server_ms.append(srv)
        return ms

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run(server: ServeProcess, jpegs, n_clients: int, seconds: float, warmup: float, photo: Photographer,
        max_fps: float = 30.0):
    from tests.ws_client import ws_connect  # simple_websocket's Client, minus its handshake race

    stop = threading.Event()
    measuring = threading.Event()
    per_client = [[] for _ in range(n_clients)]   # latencies (ms) inside the window
    waits = [[] for _ in range(n_clients)]
    errors = []

    def client(k):
        try:
            c = ws_connect(server.url.replace("http", "ws") + "/ws/live", headers=server.headers)
            c.receive(timeout=30)
            i = k * 17
            while not stop.is_set():
                t0 = time.perf_counter()
                c.send(jpegs[i % len(jpegs)])
                reply = json.loads(c.receive(timeout=60))
                dt = time.perf_counter() - t0
                if reply.get("type") != "result":
                    errors.append(reply)
                elif measuring.is_set():
                    per_client[k].append(dt * 1000.0)
                    waits[k].append(reply.get("load", {}).get("wait_ms", 0.0))
                i += 1
                rest = 1.0 / max_fps - (time.perf_counter() - t0)
                if rest > 0:
                    time.sleep(rest)
            c.close()
        except Exception as e:  # reported, not hidden
            errors.append(repr(e))

    mem = []
    photos, photo_server = [], []

    def sampler():
        while not stop.is_set():
            mem.append(rss_mb(server.worker_pid))
            time.sleep(0.2)

    def photographer():
        while not stop.is_set():
            if measuring.is_set():
                photos.append(photo.shoot(photo_server))
            stop.wait(2.0)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n_clients)]
    threads += [threading.Thread(target=sampler, daemon=True), threading.Thread(target=photographer, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    measuring.set()
    t0, c0, l0 = time.perf_counter(), cpu_s(server.worker_pid), load1()
    time.sleep(seconds)
    measuring.clear()
    window = time.perf_counter() - t0
    cpu = cpu_s(server.worker_pid) - c0
    l1 = load1()
    stop.set()
    for t in threads:
        t.join(timeout=70)
    fps = [len(v) / window for v in per_client]
    lat = [x for v in per_client for x in v]
    jain = (sum(fps) ** 2) / (len(fps) * sum(f * f for f in fps)) if any(fps) else float("nan")
    return {"clients": n_clients, "fps": fps, "fps_mean": statistics.mean(fps), "fps_min": min(fps),
            "fps_max": max(fps), "jain": jain, "lat_median": pct(lat, 0.5), "lat_p90": pct(lat, 0.9),
            "wait_median": pct([x for v in waits for x in v], 0.5),
            "mem_peak": max(mem) if mem else float("nan"), "mem_end": mem[-1] if mem else float("nan"),
            "photo_median": pct(photos, 0.5), "photo_max": max(photos) if photos else float("nan"),
            "photo_server_median": pct(photo_server, 0.5), "photo_server_max": max(photo_server, default=float("nan")),
            "photos": len(photos), "errors": errors[:3], "load": (l0 + l1) / 2,
            # the worker's CPU in the window: cores it got, and ms per live frame (photos included)
            "cpu_cores": cpu / window, "cpu_ms_per_frame": 1000.0 * cpu / max(1, len(lat))}


def measure(args, jpegs, src=None):
    """One server (this tree's code, or the tree at `src`), every client count of --clients."""
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "instance", slots=args.slots, src=src)
        photo = Photographer(server, MEDIA / "single_face.jpg")
        try:
            for _ in range(3):
                photo.shoot()
            idle_mem = rss_mb(server.worker_pid)
            ref_photo = statistics.median(photo.shoot() for _ in range(5))
            print(f"{src or 'this tree'}: server idle {idle_mem:.0f} MB; photo alone {ref_photo:.0f} ms", flush=True)
            rows = []
            for n in [int(x) for x in args.clients.split(",")]:
                alone = statistics.median(photo.shoot() for _ in range(3))
                r = run(server, jpegs, n, args.seconds, args.warmup, photo)
                r["photo_alone"] = alone   # the reference for this row, measured just before it
                rows.append(r)
                print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items() if k != "fps"})
                      + f"  per-client fps {[round(f, 1) for f in r['fps']]}", flush=True)
        finally:
            photo.close()
            server.close()
    return idle_mem, ref_photo, rows


def table(rows, idle_mem, ref_photo) -> str:
    base = rows[0]["fps_mean"]
    out = ["| live clients | fps per client (mean; min-max) | vs 1 client | fairness (Jain) | latency median / p90 |"
           " slot wait median | server memory peak | photo during load (median / max) | photo alone just before "
           "| photo max / alone | server CPU per frame | cores the server got | load |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['clients']} | {r['fps_mean']:.1f} ({r['fps_min']:.1f}-{r['fps_max']:.1f}) | "
                   f"{r['fps_mean'] / base:.2f} | {r['jain']:.3f} | {r['lat_median']:.0f} / {r['lat_p90']:.0f} ms | "
                   f"{r['wait_median']:.0f} ms | {r['mem_peak']:.0f} MB | {r['photo_median']:.0f} / {r['photo_max']:.0f} ms | "
                   f"{r['photo_alone']:.0f} ms | {r['photo_max'] / r['photo_alone']:.2f} | {r['cpu_ms_per_frame']:.1f} ms | "
                   f"{r['cpu_cores']:.2f} | {r['load']:.1f} |")
    out.append(f"\nServer idle {idle_mem:.0f} MB; a photo alone {ref_photo:.0f} ms (same run).")
    return "\n".join(out)


COMPARED = [("fps_mean", "fps per client", "{:.2f}"), ("frames_per_core_s", "frames per CPU-second", "{:.1f}"),
            ("cpu_ms_per_frame", "server CPU per frame (ms)", "{:.1f}"), ("lat_median", "latency median (ms)", "{:.0f}"),
            ("lat_p90", "latency p90 (ms)", "{:.0f}"), ("mem_peak", "server memory peak (MB)", "{:.0f}"),
            ("photo_median", "photo during load, median (ms)", "{:.0f}"),
            ("photo_max", "photo during load, max (ms)", "{:.0f}"), ("photo_alone", "photo alone (ms)", "{:.0f}"),
            ("cpu_cores", "cores the server got", "{:.2f}"), ("load", "load average", "{:.1f}")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=15.0, help="measuring window per run")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--slots", type=int, default=None, help="ANALYSIS_SLOTS (default: the CPU count)")
    ap.add_argument("--against", metavar="SRC", help="also serve the package in SRC (e.g. another commit's src/, "
                    "from `git archive`), alternating with this tree, and compare")
    ap.add_argument("--rounds", type=int, default=1, help="with --against: rounds, the order alternating")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)

    jpegs = clip_jpegs()
    print(f"load before: {loadavg()}  cores: {os.cpu_count()}", flush=True)
    if not args.against:
        idle_mem, ref_photo, rows = measure(args, jpegs)
        print(f"load after: {loadavg()}", flush=True)
        if args.markdown:
            print("\n" + table(rows, idle_mem, ref_photo))
        return 0
    trees = [("this tree", None), ("against", os.path.abspath(args.against))]
    runs = {name: [] for name, _ in trees}
    for k in range(args.rounds):
        for name, src in (trees if k % 2 == 0 else trees[::-1]):
            runs[name].append(measure(args, jpegs, src)[2])
    print(f"load after: {loadavg()}", flush=True)
    print(f"\nMedians over {args.rounds} rounds (order alternating); 'against' = {args.against}")
    print("| live clients | measure | this tree | against | ratio |\n|---|---|---|---|---|")
    for i, n in enumerate(int(x) for x in args.clients.split(",")):
        for key, label, fmt in COMPARED:
            vals = []
            for name, _ in trees:
                rs = [rows[i] for rows in runs[name]]
                for r in rs:
                    r["frames_per_core_s"] = r["fps_mean"] * r["clients"] / max(r["cpu_cores"], 1e-9)
                vals.append(statistics.median(r[key] for r in rs))
            ratio = vals[0] / vals[1] if vals[1] else float("nan")
            print(f"| {n} | {label} | {fmt.format(vals[0])} | {fmt.format(vals[1])} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
