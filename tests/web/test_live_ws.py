"""The live WebSocket protocol against a real server: JPEG frames in, JSON results out."""
from __future__ import annotations

import json
import os

import cv2
import pytest

from .conftest import media_or_skip, ws_connect


def frames(path, n, size=(640, 360)):
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        bgr = cv2.resize(bgr, size)
        out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    cap.release()
    return out


@pytest.fixture()
def ws(server):
    c = ws_connect(server.url.replace("http", "ws") + "/ws/live", headers=server.headers)
    hello = json.loads(c.receive(timeout=60))
    assert hello["type"] == "hello" and len(hello["emotions"]) == 7
    yield c
    c.close()


def ask(ws, msg):
    ws.send(msg)
    return json.loads(ws.receive(timeout=60))


def listing(root):
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def test_frames_get_results_with_stable_track_ids(ws, server):
    before = listing(server.instance_path)
    jpegs = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 20)
    results = [ask(ws, j) for j in jpegs]
    assert all(r["type"] == "result" for r in results), results[0]
    assert [r["seq"] for r in results] == list(range(1, 21))
    faces = [r["result"]["faces"] for r in results]
    assert all(len(f) == 1 for f in faces)
    assert {f[0]["track_id"] for f in faces} == {faces[0][0]["track_id"]}
    assert all(f[0]["emotion"]["label"] for f in faces)
    assert "landmarks" not in faces[0][0]
    times = [r["result"]["time"] for r in results]
    assert times == sorted(times) and (results[0]["result"]["width"], results[0]["result"]["height"]) == (640, 360)
    # the mesh only when asked for
    ws.send(json.dumps({"type": "config", "landmarks": True}))
    r = ask(ws, jpegs[0])
    assert len(r["result"]["faces"][0]["landmarks"]) == 478
    # the live page writes nothing to disk
    assert listing(server.instance_path) == before


def test_bad_messages_get_errors_and_the_session_goes_on(ws):
    assert ask(ws, b"not a jpeg")["type"] == "error"
    assert ask(ws, b"\xff\xd8\xff" + b"\0" * 100)["type"] == "error"
    assert ask(ws, "not json")["type"] == "error"
    assert ask(ws, json.dumps({"type": "dance"}))["type"] == "error"
    jpeg = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 1)[0]
    r = ask(ws, jpeg)
    assert r["type"] == "result" and len(r["result"]["faces"]) == 1


def test_reset_starts_a_fresh_session(ws):
    jpegs = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 3)
    first = ask(ws, jpegs[0])["result"]
    ws.send(json.dumps({"type": "reset"}))
    again = ask(ws, jpegs[1])["result"]
    assert again["time"] < first["time"] + 5 and again["faces"][0]["track_id"] == 1


def test_cross_site_websocket_is_refused(server):
    from simple_websocket import ConnectionError

    with pytest.raises(ConnectionError):
        ws_connect(server.url.replace("http", "ws") + "/ws/live", headers={"Origin": "http://evil.example"})


def test_a_client_that_does_not_wait_gets_frames_dropped_not_queued(ws):
    jpegs = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 12)
    for j in jpegs:            # all at once, without waiting for replies
        ws.send(j)
    replies = []
    # every frame is either answered or counted as dropped in a later answer, and the last one is
    # always answered: read until all are accounted for (a quiet gap is no sign of the end on a
    # loaded machine)
    while len(replies) + sum(r.get("dropped", 0) for r in replies) < len(jpegs):
        m = ws.receive(timeout=60)
        assert m is not None, replies
        replies.append(json.loads(m))
    assert ws.receive(timeout=2) is None   # nothing more comes
    assert replies and all(r["type"] == "result" for r in replies)
    assert len(replies) < len(jpegs)
    assert len(replies) + sum(r["dropped"] for r in replies) == len(jpegs)


def test_two_clients_each_have_their_own_session(server):
    import threading

    jpegs = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 8)
    out = {}

    def client(name):
        c = ws_connect(server.url.replace("http", "ws") + "/ws/live", headers=server.headers)
        c.receive(timeout=60)  # hello
        out[name] = [ask(c, j)["result"] for j in jpegs]
        c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for name in ("a", "b"):
        res = out[name]
        assert len(res) == 8 and all(len(r["faces"]) == 1 for r in res)
        assert {r["faces"][0]["track_id"] for r in res} == {1}  # each session numbers its own tracks
        assert res[0]["time"] < 5.0  # each session's clock starts at its own start


def _rss_mb(pid: int) -> float:
    from pathlib import Path

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise KeyError("VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_live_clients_share_the_models(prod_server):
    """Issue 12: 8 live clients under 500 MB. On `facial-feedback serve`, each client costs its
    own state (the tracked faces' ROIs, tracker, signals), not models of its own: on the LiteRT
    runtime those were 25 MB a client (a tracking mesh and its detector) before live.py shared
    them (Session(tracker_models=...) and the pools)."""
    import threading

    jpegs = frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 6)
    url = prod_server.url.replace("http", "ws") + "/ws/live"
    pid = prod_server.worker_pid

    def connect():
        c = ws_connect(url, headers=prod_server.headers)
        assert json.loads(c.receive(timeout=60))["type"] == "hello"
        return c

    def stream(c, n):
        for j in jpegs[:n]:
            assert ask(c, j)["type"] == "result"

    # warm up with two clients at once, so both analysis slots' models exist
    warm = [connect(), connect()]
    ts = [threading.Thread(target=stream, args=(c, 6)) for c in warm]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    before = _rss_mb(pid)
    more = []
    try:
        for _ in range(6):
            c = connect()
            more.append(c)
            stream(c, 3)
        after = _rss_mb(pid)
    finally:
        for c in warm + more:
            c.close()
    per_client = (after - before) / 6
    assert per_client < 8.0, f"{before:.0f} MB with 2 clients, {after:.0f} MB with 8: {per_client:.1f} MB a client"
