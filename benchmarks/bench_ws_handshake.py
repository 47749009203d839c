"""Messages lost by a WebSocket client that ignores what came with the handshake reply.

simple_websocket's Client reads the server's handshake reply with one recv() and handles only
its first event; a message sent at once by the server (the reading socket's answer to an
unknown text: an error, then a close) can come in that same read and is then never handled.
tests/ws_client.ws_connect handles it. This connects N times with each client to
`facial-feedback serve` and counts the connections whose error message arrived, with
optional busy loops to load the machine (the race needs a starved client thread):

    .venv/bin/python benchmarks/bench_ws_handshake.py [--n 300] [--busy 2]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(1, str(REPO))

from facial_feedback.web.server import ServeProcess  # noqa: E402
from tests.ws_client import ws_connect  # noqa: E402


def _busy() -> None:
    while True:
        pass


def plain_connect(url, headers=None):
    from simple_websocket import Client

    return Client.connect(url, headers=headers)


def trial(connect, url, headers) -> str:
    from simple_websocket import ConnectionClosed

    try:
        c = connect(url, headers=headers)
        m = c.receive(timeout=30)
        try:
            c.close()
        except Exception:
            pass
        return "ok" if m is not None and json.loads(m).get("type") == "error" else "no message"
    except ConnectionClosed as e:
        return f"closed {e.reason}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="connections per client (default 300)")
    ap.add_argument("--busy", type=int, default=0, help="busy-loop processes beside it (default 0)")
    args = ap.parse_args()
    busy = [mp.Process(target=_busy, daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, ServeProcess(Path(tmp) / "instance") as srv:
            url = srv.url.replace("http", "ws") + "/ws/reading/0123456789abcdef"
            print(f"load before: {os.getloadavg()[0]:.2f}, busy loops: {args.busy}, {args.n} connections each")
            print("| client | error message received | lost | seconds |")
            print("| --- | --- | --- | --- |")
            for name, connect in (("simple_websocket.Client", plain_connect), ("tests.ws_client.ws_connect", ws_connect)):
                t0 = time.perf_counter()
                seen = [trial(connect, url, srv.headers) for _ in range(args.n)]
                ok = seen.count("ok")
                print(f"| {name} | {ok} | {args.n - ok} | {time.perf_counter() - t0:.1f} |", flush=True)
            print(f"load after: {os.getloadavg()[0]:.2f}")
    finally:
        for p in busy:
            p.terminate()


if __name__ == "__main__":
    main()
