"""Soak and fault runs against `facial-feedback serve` (the production server, own process).

    python benchmarks/bench_soak.py live  [--minutes 10] [--fps 10]
    python benchmarks/bench_soak.py jobs  [--jobs 20] [--compare]
    python benchmarks/bench_soak.py faults [--rounds 3]

live:   one live WebSocket client streaming the Pexels clip's JPEG frames for --minutes, the
        server worker's resident memory sampled every 5 s: first/last/max and the slope over
        the second half (MB per minute).
jobs:   --jobs video jobs of single_face.mp4 in a row (annotated, as the Video page does),
        memory after each; the growth per job is the slope of a line fitted to jobs 5..N, and
        the upload folder is checked for leftovers (an upload is deleted after its job).
        --compare runs the same with glibc's malloc defaults (FACIAL_FEEDBACK_MALLOC_DEFAULTS=1:
        no arena cap, no trim) first, which is where the ~8 MB a job of issue 12 came from.
faults: kill -9 of the server during a video job, restart: the job must read "failed" with a
        reason and its upload must be gone; then --rounds times kill -9 during wellbeing writes
        (a live wellbeing client, killed 12-25 s in), restart: PRAGMA integrity_check must say
        ok and the rows written before the kill must still be there.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import MEDIA, Server, clip_jpegs, loadavg, rss_mb  # noqa: E402


def slope(xs, ys) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def api(server, method, path, body=None, ctype=None):
    headers = dict(server.headers)
    if ctype:
        headers["Content-Type"] = ctype
    req = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    return json.loads(data) if data else None


def upload_video(server, path: Path, annotate=True):
    boundary = "ffsoak"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"annotate\"\r\n\r\n{int(annotate)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"{path.name}\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return api(server, "POST", "/api/v1/jobs", body, f"multipart/form-data; boundary={boundary}")


def wait_job(server, job_id, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        j = api(server, "GET", f"/api/v1/jobs/{job_id}")
        if j["status"] not in ("queued", "running"):
            return j
        time.sleep(0.2)
    return j


def leftovers(instance: Path):
    return sorted(str(p.relative_to(instance)) for p in (instance / "jobs").glob("*/upload*"))


# ---- live -------------------------------------------------------------------------------------
def cmd_live(args) -> int:
    from tests.ws_client import ws_connect  # simple_websocket's Client, minus its handshake race

    jpegs = clip_jpegs()
    print(f"load before: {loadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "instance")
        try:
            c = ws_connect(server.url.replace("http", "ws") + "/ws/live", headers=server.headers)
            c.receive(timeout=30)
            t0 = time.time()
            end = t0 + args.minutes * 60
            samples, frames, errors, next_sample, i = [], 0, 0, t0, 0
            while time.time() < end:
                ts = time.perf_counter()
                c.send(jpegs[i % len(jpegs)])
                reply = json.loads(c.receive(timeout=60))
                frames += 1
                errors += reply.get("type") != "result"
                i += 1
                if time.time() >= next_sample:
                    samples.append(((time.time() - t0) / 60.0, rss_mb(server.worker_pid)))
                    next_sample += 5
                rest = 1.0 / args.fps - (time.perf_counter() - ts)
                if rest > 0:
                    time.sleep(rest)
            c.close()
            samples.append(((time.time() - t0) / 60.0, rss_mb(server.worker_pid)))
        finally:
            server.close()
    half = [s for s in samples if s[0] >= args.minutes / 2]
    mem = [m for _, m in samples]
    print(f"load after: {loadavg()}")
    print(json.dumps({"minutes": args.minutes, "frames": frames, "errors": errors,
                      "fps": round(frames / (args.minutes * 60), 1), "mem_first_mb": round(mem[0], 1),
                      "mem_last_mb": round(mem[-1], 1), "mem_max_mb": round(max(mem), 1),
                      "slope_second_half_mb_per_min": round(slope(*zip(*half)), 2) if len(half) > 1 else None}))
    return 0


# ---- jobs -------------------------------------------------------------------------------------
def run_jobs(n: int, malloc_defaults: bool) -> dict:
    video = MEDIA / "single_face.mp4"
    os.environ.pop("FACIAL_FEEDBACK_MALLOC_DEFAULTS", None)
    if malloc_defaults:
        os.environ["FACIAL_FEEDBACK_MALLOC_DEFAULTS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        server = Server(instance)
        try:
            mem = [rss_mb(server.worker_pid)]
            statuses = []
            for _ in range(n):
                j = wait_job(server, upload_video(server, video)["id"])
                statuses.append(j["status"])
                time.sleep(0.3)
                mem.append(rss_mb(server.worker_pid))
            left = leftovers(instance)
        finally:
            server.close()
            os.environ.pop("FACIAL_FEEDBACK_MALLOC_DEFAULTS", None)
    xs = list(range(5, n + 1))
    return {"malloc": "glibc defaults" if malloc_defaults else "2 arenas + trim", "jobs": n,
            "done": statuses.count("done"), "mem_before_mb": round(mem[0], 1), "mem_after_1_mb": round(mem[1], 1),
            "mem_after_all_mb": round(mem[-1], 1), "max_mb": round(max(mem), 1),
            "growth_per_job_mb_5_to_n": round(slope(xs, [mem[x] for x in xs]), 2) if n >= 6 else None,
            "mem_per_job": [round(m) for m in mem], "upload_leftovers": left}


def cmd_jobs(args) -> int:
    print(f"load before: {loadavg()}", flush=True)
    rows = []
    if args.compare:
        rows.append(run_jobs(args.jobs, True))
        print(json.dumps(rows[-1]), flush=True)
    rows.append(run_jobs(args.jobs, False))
    print(json.dumps(rows[-1]), flush=True)
    print(f"load after: {loadavg()}")
    return 0 if all(r["done"] == r["jobs"] and not r["upload_leftovers"] for r in rows) else 1


# ---- faults -----------------------------------------------------------------------------------
def kill9(server) -> None:
    """SIGKILL the whole server (master and worker), as a crash or power loss would."""
    pids = [server.worker_pid, server.proc.pid]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    server.proc.wait()
    server.close()


def cmd_faults(args) -> int:
    from tests.ws_client import ws_connect  # simple_websocket's Client, minus its handshake race

    print(f"load before: {loadavg()}", flush=True)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        # 1. kill -9 during a video job
        server = Server(instance)
        big = MEDIA / "WolfgangLanger_Pexels.mp4"
        job = upload_video(server, big)
        while api(server, "GET", f"/api/v1/jobs/{job['id']}")["status"] != "running":
            time.sleep(0.1)
        time.sleep(1.0)
        kill9(server)
        server = Server(instance)
        j = api(server, "GET", f"/api/v1/jobs/{job['id']}")
        left = leftovers(instance)
        r1 = {"case": "kill -9 during a video job", "status_after_restart": j["status"], "error": j["error"],
              "upload_leftovers": left}
        print(json.dumps(r1), flush=True)
        ok &= j["status"] == "failed" and bool(j["error"]) and not left
        server.close()
        # 2. kill -9 during wellbeing writes
        jpegs = clip_jpegs(60)
        db = instance / "wellbeing.sqlite3"
        for rnd in range(args.rounds):
            server = Server(instance)
            before = _rows(db)
            stop = threading.Event()

            def stream():
                try:
                    c = ws_connect(server.url.replace("http", "ws") + "/ws/wellbeing", headers=server.headers)
                    c.receive(timeout=30)
                    i = 0
                    while not stop.is_set():
                        c.send(jpegs[i % len(jpegs)])
                        c.receive(timeout=30)
                        i += 1
                        if i % 10 == 0:
                            c.send(json.dumps({"type": "tick"}))
                            c.receive(timeout=30)
                except Exception:
                    pass  # the server was killed under it

            th = threading.Thread(target=stream, daemon=True)
            th.start()
            time.sleep(random.uniform(12, 25))
            kill9(server)
            stop.set()
            th.join(timeout=30)
            with sqlite3.connect(db) as con:
                integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            after = _rows(db)
            r = {"case": f"kill -9 during wellbeing writes, round {rnd + 1}", "integrity_check": integrity,
                 "rows_before": before, "rows_after": after}
            print(json.dumps(r), flush=True)
            ok &= integrity == "ok" and after >= before
        server = Server(instance)
        hist = api(server, "GET", "/api/v1/wellbeing/export.json")
        print(json.dumps({"case": "after the rounds", "minutes_in_export": len(hist.get("minutes", []))}))
        server.close()
    print(f"load after: {loadavg()}")
    return 0 if ok else 1


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("live")
    a.add_argument("--minutes", type=float, default=10.0)
    a.add_argument("--fps", type=float, default=10.0)
    b = sub.add_parser("jobs")
    b.add_argument("--jobs", type=int, default=20)
    b.add_argument("--compare", action="store_true")
    c = sub.add_parser("faults")
    c.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    return {"live": cmd_live, "jobs": cmd_jobs, "faults": cmd_faults}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
