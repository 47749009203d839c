"""The reading and wellbeing WebSockets against a real server, without a browser: the live frame
loop plus each tool's control messages."""
from __future__ import annotations

import json

import pytest

from .conftest import media_or_skip, ws_connect
from .test_live_ws import frames


def connect(live_server, path):
    c = ws_connect(live_server.url.replace("http", "ws") + path, headers=live_server.headers)
    hello = json.loads(c.receive(timeout=60))   # a loaded CI machine may take a while to build the session
    return c, hello


def ask(ws, msg):
    ws.send(msg)
    return json.loads(ws.receive(timeout=60))


@pytest.fixture(scope="module")
def jpegs():
    return frames(media_or_skip("WolfgangLanger_Pexels.mp4"), 24)


def test_reading_socket_tracks_paragraphs_calibrates_and_reports(live_server, web_app, jpegs):
    c = web_app.test_client()
    loc = c.get("/reading/sample/lighthouse").location
    text_hash = loc.rstrip("/").rsplit("/", 1)[-1]
    ws, hello = connect(live_server, f"/ws/reading/{text_hash}")
    try:
        assert hello["type"] == "hello"
        assert ask(ws, json.dumps({"type": "reading", "paragraph": 99}))["type"] == "error"
        for k, j in enumerate(jpegs[:12]):
            if k % 4 == 0:
                ws.send(json.dumps({"type": "reading", "paragraph": k // 4, "source": "viewport"}))
            r = ask(ws, j)
            assert r["type"] == "result" and r["result"]["reading"]["paragraph"] == k // 4
            # the reader's states, as the live snapshot of the same frame has them (one wording)
            live = {t["track_id"]: t for t in r["result"]["session"]["tracks"]}
            face = max(r["result"]["faces"], key=lambda f: f["box"][2] * f["box"][3])
            for name, st in r["result"]["reading"]["states"].items():
                assert {k: st[k] for k in ("shown", "sure", "level")} == {
                    k: live[face["track_id"]][name][k] for k in ("shown", "sure", "level")}
        # a calibration with a face that does not follow the dots: refused, the reading position stays
        for k, pt in enumerate([[0.1, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.9, 0.9]]):
            ws.send(json.dumps({"type": "calibrate", "point": pt}))
            for j in jpegs[12 + 2 * k: 14 + 2 * k]:
                assert ask(ws, j)["type"] == "result"
        cal = ask(ws, json.dumps({"type": "calibrate", "done": True}))
        assert cal["type"] == "calibrated" and isinstance(cal["ok"], bool) and cal["message"]
        rep_msg = ask(ws, json.dumps({"type": "finish", "reader": "ws"}))
        assert rep_msg["type"] == "report" and rep_msg["paragraphs"] == 6   # the title is no paragraph
    finally:
        ws.close()
    rep = c.get(f"/reading/{text_hash}/report/{rep_msg['id']}.json").get_json()
    times = [p["time_s"] for p in rep["paragraphs"]]
    assert all(t > 0 for t in times[:3]) and times[3:] == [0, 0, 0]
    assert rep["reader"] == "ws" and rep["frames"] == 22
    assert c.get(rep_msg["url"]).status_code == 200
    # the API lists it; deleting it works; unknown ones are 404
    lst = c.get(f"/api/v1/reading/texts/{text_hash}/reports").get_json()["reports"]
    assert rep_msg["id"] in [r["id"] for r in lst]
    assert c.delete(f"/api/v1/reading/texts/{text_hash}/reports/{rep_msg['id']}").status_code == 204
    assert c.delete(f"/api/v1/reading/texts/{text_hash}/reports/{rep_msg['id']}").status_code == 404
    assert c.get("/reading/0123456789abcdef").status_code == 404
    ws, hello = connect(live_server, "/ws/reading/0123456789abcdef")
    assert hello["type"] == "error" and "no text" in hello["message"]
    try:
        ws.close()
    except Exception:   # the server already closed it
        pass


def test_reading_api_adds_texts(web_app):
    c = web_app.test_client()
    r = c.post("/api/v1/reading/texts", json={"text": "<p>One</p><p>Two <script>x()</script></p>", "filename": "a.html"})
    assert r.status_code == 201 and [p["text"] for p in r.get_json()["paragraphs"]] == ["One", "Two"]
    assert c.post("/api/v1/reading/texts", json={"text": "x", "filename": "a.pdf"}).status_code == 415
    assert c.post("/api/v1/reading/texts", json={"nope": 1}).status_code == 400
    assert c.post("/api/v1/reading/texts", json={"text": "x"}, headers={"Origin": "http://evil.example"}).status_code == 403


def test_wellbeing_socket_controls(server, jpegs):
    ws, hello = connect(server, "/ws/wellbeing")
    try:
        r = ask(ws, jpegs[0])
        assert r["type"] == "result" and "status" in r["result"]["wellbeing"]
        t = ask(ws, json.dumps({"type": "tick"}))
        assert t["type"] == "wellbeing" and t["status"]["t"] >= r["result"]["wellbeing"]["status"]["t"]
        s = ask(ws, json.dumps({"type": "snooze", "minutes": 10}))
        assert 590 <= s["status"]["snoozed_for_s"] <= 600
        b = ask(ws, json.dumps({"type": "break", "on": True}))
        assert b["status"]["paused"] and b["status"]["breaks"] >= 1
        b = ask(ws, json.dumps({"type": "break", "on": False}))
        assert not b["status"]["paused"] and b["status"]["since_break_s"] < 1
        assert ask(ws, json.dumps({"type": "rules"}))["type"] == "wellbeing"
        r = ask(ws, jpegs[1])
        assert r["type"] == "result" and r["result"]["wellbeing"]["suggestions"] == []
    finally:
        ws.close()


def test_tool_sockets_refuse_other_sites(server):
    from simple_websocket import ConnectionError

    for path in ("/ws/wellbeing", "/ws/reading/0123456789abcdef"):
        with pytest.raises(ConnectionError):
            ws_connect(server.url.replace("http", "ws") + path, headers={"Origin": "http://evil.example"})


def test_gaze_calibration_fit_accepts_a_consistent_gaze():
    from facial_feedback.web.reading_pages import _fit

    class Sess:
        signals = type("S", (), {"calibration": None})()

    pts = [(0.1, 0.1), (0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.9, 0.9)]
    # gaze angles an affine map away from the screen points (yaw right, pitch down the page)
    calib = {"samples": {p: [(40 * p[0] - 20 + d, 12 - 24 * p[1] + d) for d in (-0.3, 0, 0.3)] for p in pts},
             "map": None, "point": None}
    sess = Sess()
    msg = _fit(calib, sess)
    assert msg["ok"] and msg["rms"] < 0.01 and "paragraph under your gaze" in msg["message"]
    x, y = calib["map"].to_screen(40 * 0.3 - 20, 12 - 24 * 0.7)
    assert (round(x, 2), round(y, 2)) == (0.3, 0.7)
    assert sess.signals.calibration is calib["map"]
    # a gaze that does not move with the dots is refused
    calib = {"samples": {p: [(1.0, 2.0)] * 4 for p in pts}, "map": None, "point": None}
    assert not _fit(calib, Sess())["ok"] and calib["map"] is None
