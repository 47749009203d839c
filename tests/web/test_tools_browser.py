"""The reading and wellbeing tools end to end in headless Chromium, with the real face video as
the camera (the fixtures of test_browser.py). Screenshots go to $FF_ARTIFACTS."""
from __future__ import annotations

import csv
import io
import json
import time

import pytest

from .conftest import LiveServer, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _demo_week(now: float):
    """Per-minute rows for the 7 days up to now (UTC): 9:00-12:30 and 13:30-17:30 at the screen,
    fatigue rising through each day, a break row every 75 minutes."""
    import math

    rows = []
    day0 = int(now) // 86400 * 86400
    for d in range(7):
        base = day0 - d * 86400
        for m in list(range(9 * 60, 12 * 60 + 30)) + list(range(13 * 60 + 30, 17 * 60 + 30)):
            minute = base + m * 60
            if minute > now - 120:
                continue
            x = (m - 9 * 60) / (8.5 * 60)
            fat = min(1.0, 0.15 + 0.5 * x + 0.05 * math.sin(m / 7 + d))
            ten = min(1.0, 0.2 + 0.15 * math.sin(m / 40 + d) + 0.1 * (d % 3) / 2)
            rows.append({"minute": minute, "monitored_s": 60, "screen_s": 52 + (m % 5), "fatigue_sum": 50 * fat,
                         "fatigue_s": 50, "tension_sum": 50 * ten, "tension_s": 50, "attention_sum": 45,
                         "attention_s": 50, "blinks": 15, "eye_closures": int(fat > 0.6 and m % 9 == 0),
                         "yawns": int(m % 37 == 0), "look_aways": 2, "breaks": int(m % 75 == 0),
                         "suggestions": int(fat > 0.6 and m % 30 == 0)})
    return rows


def _read_paragraph(page, i, dwell_s):
    page.evaluate("""i => { const el = document.querySelector('#text .para[data-i="' + i + '"]');
        window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - window.ffReading.lineY() + 4); }""", i)
    page.wait_for_function("i => window.ffReading.current() === i", arg=i, timeout=30000)  # generous: CI machines may be loaded
    n = page.evaluate("() => window.ffReading.results()")
    t0 = time.monotonic()
    page.wait_for_function(f"() => window.ffReading.results() >= {n + 3}", timeout=30000)  # frames seen there
    rest = dwell_s - (time.monotonic() - t0)
    if rest > 0:
        page.wait_for_timeout(int(rest * 1000))


def test_reading_session_produces_a_report_for_every_paragraph(page, live_server, web_app, tmp_path):
    page.goto(live_server.url + "/reading/")
    assert "not a diagnosis" in page.inner_text("#principles")
    page.click('a[data-sample="bread"]')
    page.wait_for_selector("#text .para")
    # the paragraphs are in the served HTML; reading.js may still be loading after the redirect
    page.wait_for_function("() => window.ffReading !== undefined", timeout=30000)
    n = page.evaluate("() => window.ffReading.paragraphs")
    assert n == 6         # the title is shown above the text, not read as a paragraph
    page.fill("#reader", "Test reader")
    page.click("#start")
    page.wait_for_function("() => window.ffReading.results() > 3", timeout=20000)
    # a gaze calibration (five dots): the video's face does not follow them, so it is refused
    # and the page keeps the reading position
    page.click("#calibrate")
    page.wait_for_selector("#calib:not([hidden])")
    page.wait_for_selector("#calib", state="hidden", timeout=30000)
    page.wait_for_function("() => window.ffReading.calibration() !== null", timeout=30000)
    cal = page.evaluate("() => window.ffReading.calibration()")
    assert not cal["ok"] and "reading position" in cal["message"], cal
    assert "reading position" in page.inner_text("#status")
    assert page.evaluate("() => window.ffReading.source()") == "viewport"
    order = list(range(n)) + [2]          # read through, then go back to paragraph 3: a re-read
    for i in order:
        _read_paragraph(page, i, 1.0)
    page.screenshot(path=str(shot(page, "reading-page")))   # the window as the reader sees it
    page.click("#finish")
    page.wait_for_url("**/report/**", timeout=20000)
    page.wait_for_selector("#heat .hpara")
    rep = page.evaluate("() => JSON.parse(document.getElementById('report-data').textContent)")
    ps = rep["paragraphs"]
    assert len(ps) == n and rep["reader"] == "Test reader"
    # a value for every paragraph
    assert all(p["read"] and p["time_s"] > 0 and p["attention"] is not None and p["confidence"] > 0 for p in ps), ps
    assert ps[2]["rereads"] == 1, [p["rereads"] for p in ps]
    vals = page.evaluate("() => [...document.querySelectorAll('#heat .hpara')].map(e => e.dataset.value)")
    assert len(vals) == n and all(v != "" for v in vals), vals
    page.wait_for_function("() => +document.getElementById('timeline').dataset.points > 5")
    assert "not a diagnosis" in page.inner_text(".notes")
    shot(page, "reading-report")
    page.click('#metric-pick button[data-metric="attention_drop"]')
    assert page.get_attribute("#heat", "data-metric") == "attention_drop"
    # exports: the JSON, and a standalone page with no script
    with page.expect_download() as dl:
        page.click("#dl-json")
    exported = json.loads(open(dl.value.path(), encoding="utf-8").read())
    assert len(exported["paragraphs"]) == n and exported["text"]["hash"] == rep["text"]["hash"]
    with page.expect_download() as dl:
        page.click("#dl-html")
    html = open(dl.value.path(), encoding="utf-8").read()
    assert "<script" not in html and "Why Bread Rises" in html and "Worth rewriting" in html
    standalone = tmp_path / "report.html"
    standalone.write_text(html, encoding="utf-8")
    page.goto(standalone.as_uri())
    shot(page, "reading-report-standalone")

    # a second reader of the same text (stored the way the WebSocket stores it) -> side by side
    from dataclasses import replace

    from facial_feedback.apps.reading import ReadingSession, ReportStore
    from tests import synthetic as S

    store = ReportStore(f"{web_app.instance_path}/reading")
    doc = store.text(rep["text"]["hash"])
    rs = ReadingSession(doc, reader="Second reader")
    for k in range(300):   # 30 s, frames as the camera session sends them: brows lowered on ¶4, away on ¶6
        p = min(n - 1, k // 40)
        signals = replace(S.steady_signals(quality=0.9), brow_height=0.2 if p == 3 else 0.24, head_tilt=2.0,
                          eye_open_left=0.15, eye_open_right=0.15, smile=0.1, iod_px=60.0, on_screen=True)
        face = S.face((100, 100, 200, 200), track_id=1, signals=signals)
        track = S.track(1, on_screen=p != 5 or k % 40 < 20, eyes_closed=False, frowning=p == 3,
                        fatigue=S.state("fatigue", 0.1 + k / 1000, abstain=False))
        rs.update(S.frame(k / 10, [face], tracks=[track]), paragraph=p)
    store.save_report(rs.report())
    page.goto(f"{live_server.url}/reading/{rep['text']['hash']}/compare")
    heads = page.eval_on_selector_all("#cmp thead th a", "els => els.map(e => e.textContent)")
    assert heads == ["Test reader", "Second reader"]
    cells = page.eval_on_selector_all("#cmp td.cell", "els => els.map(e => e.textContent)")
    assert len(cells) == 2 * n and all(c and c != "–" for c in cells), cells
    assert cells[2 * 3 + 1] == "50%"      # the second reader's lowered brows on ¶4
    shot(page, "reading-compare")
    assert not page.js_errors, page.js_errors


def test_wellbeing_monitor_suggests_a_break_naming_the_cue_and_keeps_history(page, live_server, web_app, browser):
    """The clip has the eyes shut for about 5 s from 0.7 s (hand-counted in test_signals_video):
    long eye closures through the live camera session; the rules are set by the user here."""
    from facial_feedback.web.wellbeing_pages import history

    with web_app.app_context():
        store = history()
    before = sum(r["suggestions"] for r in store.rows())   # other tests may have used the same app
    r = page.request.put(live_server.url + "/api/v1/wellbeing/rules",
                         data=json.dumps({"eye_closures": 1, "eye_closure_min_s": 2.0}),
                         headers={"Content-Type": "application/json", **live_server.headers})  # a script: the token
    assert r.ok, r.text()
    # the browser's notifications, recorded (permission granted)
    page.add_init_script("""window.__notes = []; window.Notification = class {
        constructor(title, o) { window.__notes.push([title, o.body]); }
        static get permission() { return 'granted'; }
        static requestPermission() { return Promise.resolve('granted'); } };""")
    page.goto(live_server.url + "/wellbeing/")
    assert "not a diagnosis" in page.inner_text("#principles")
    assert page.input_value('input[name="eye_closures"]') == "1"
    page.click("#start")
    box = page.wait_for_selector('#suggestion[data-rule="eye_closures"]:not([hidden])', timeout=30000)
    text = box.inner_text()
    assert "eyes closed 1 time for over 2 s" in text and "not a diagnosis" in text, text
    assert page.evaluate("() => window.ffWellbeing.shown[0].rule") == "eye_closures"
    notes = page.evaluate("() => window.__notes")
    assert len(notes) == 1 and "eyes are closing" in notes[0][0] and "eyes closed 1 time" in notes[0][1], notes
    page.wait_for_function("() => window.ffWellbeing && window.ffWellbeing.results() > 20", timeout=20000)
    shot(page, "wellbeing-suggestion")
    # snooze: the message goes, the status says so
    page.click("#snooze")
    assert page.is_hidden("#suggestion")
    page.wait_for_function("() => (window.ffWellbeing.latest() || {}).snoozed_for_s > 0", timeout=30000)
    # the rules are the user's: saved from the form, validated
    page.fill('input[name="yawns"]', "500")
    page.click('#rules-form button[type="submit"]')
    page.wait_for_selector("#rules-status.error")
    assert "between 1 and 50" in page.inner_text("#rules-status")
    page.fill('input[name="yawns"]', "4")
    page.click('#rules-form button[type="submit"]')
    page.wait_for_function("() => document.getElementById('rules-status').textContent === 'Saved.'")
    page.click("#stop")

    # history: per-minute rows written when the session ends; a new app on the same instance folder
    from facial_feedback.web import create_app

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(r["suggestions"] for r in store.rows()) < 1 + before:
        time.sleep(0.2)
    rows = store.rows()
    assert sum(r["monitored_s"] for r in rows) > 3 and sum(r["suggestions"] for r in rows) >= 1 + before
    app2 = create_app({"TESTING": True, "ANALYZER": web_app.extensions["facial_feedback"].analyzer},
                      instance_path=web_app.instance_path)
    srv = LiveServer(app2)
    try:
        c = app2.test_client()
        exp = c.get("/api/v1/wellbeing/export.json").get_json()
        assert exp["minutes"] == rows and exp["rules"]["yawns"] == 4 and exp["rules"]["eye_closures"] == 1
        page.goto(srv.url + "/wellbeing/history")
        page.wait_for_selector("body[data-loaded='1']", timeout=30000)
        screen = float(page.get_attribute("#day-chart", "data-screen"))
        assert screen == pytest.approx(sum(r["screen_s"] for r in rows) / 60, abs=0.02)
        assert float(page.get_attribute("#week-chart", "data-screen")) > 0
        assert "breaks" in page.inner_text("#day-sum")
        shot(page, "wellbeing-history")
        with page.expect_download() as dl:
            page.click("#export-csv")
        got = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
        assert len(got) == len(rows) and float(got[0]["monitored_s"]) == rows[0]["monitored_s"]
        with page.expect_download() as dl:
            page.click("#export-json")
        assert json.loads(open(dl.value.path()).read())["minutes"] == rows
        # a week of working days (made-up aggregates, as the monitor writes them) for the charts
        n_demo = store.add(_demo_week(time.time()))
        page.reload()
        page.wait_for_selector("body[data-loaded='1']", timeout=30000)
        assert float(page.get_attribute("#week-chart", "data-screen")) > 60 * 20
        # the day before: a full working day
        page.evaluate("""() => { const d = document.getElementById('day'); const t = new Date(d.value + 'T12:00:00');
            t.setDate(t.getDate() - 1); d.value = t.toISOString().slice(0, 10); delete document.body.dataset.loaded;
            d.dispatchEvent(new Event('change')); }""")
        page.wait_for_selector("body[data-loaded='1']", timeout=30000)
        assert float(page.get_attribute("#day-chart", "data-screen")) > 300
        shot(page, "wellbeing-history-week")
        assert len(c.get("/api/v1/wellbeing/export.json").get_json()["minutes"]) >= n_demo
        page.once("dialog", lambda d: d.accept())
        page.click("#delete-all")
        page.wait_for_function("() => document.getElementById('hist-status').textContent === 'Everything deleted.'")
        assert c.get("/api/v1/wellbeing/export.json").get_json()["minutes"] == []
        assert store.rows() == [] and store.get_rules().yawns == 3
    finally:
        srv.close()
        app2.extensions["facial_feedback"].jobs.shutdown()
    assert not page.js_errors, page.js_errors


def test_tool_pages_fit_a_phone_sized_window(browser, live_server, web_app):
    from facial_feedback.apps.reading import ReadingSession, ReportStore, sample_texts
    from tests import synthetic as S

    doc = sample_texts()[0]["doc"]
    store = ReportStore(f"{web_app.instance_path}/reading")
    store.save_text(doc)
    rs = ReadingSession(doc, reader="phone")
    for k in range(60):
        rs.update(S.frame(k / 10, session=False), paragraph=min(len(doc.paragraphs) - 1, k // 10))
    rid = store.save_report(rs.report())
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path, name in [("/reading/", "reading-index"), (f"/reading/{doc.hash}", "reading-read"),
                       (f"/reading/{doc.hash}/report/{rid}", "reading-report-phone"),
                       (f"/reading/{doc.hash}/compare", None), ("/wellbeing/", "wellbeing-phone"),
                       ("/wellbeing/history", None)]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, path
        if name:
            shot(page, name)
    ctx.close()
    assert not errors, errors
