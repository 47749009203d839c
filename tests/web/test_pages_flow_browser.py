"""One walk through each page's main flow, as a person does it, in headless Debian Chromium with a
real face video as the camera (the fixtures of conftest.py): Live, Photos, Video, Wellbeing and
the API page, plus the app's 404 page and its favicon. A change to the guard, the headers or the
templates that breaks a feature fails here. Screenshots go to $FF_ARTIFACTS."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import time

import pytest

from .conftest import LiveServer, media_or_skip, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

def _watch_failures(page):
    """What the page fetched and was refused or not found (a 404 for favicon.ico on every page
    was one; a guard or header change refusing the page's own requests would be another)."""
    bad = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status in (403, 404, 421, 500) else None)
    return bad


def _count_mesh_pixels(page, selector):
    """Pixels of the mesh's colour (overlay.js: rgb(120, 230, 255)) on a canvas."""
    return page.evaluate("""sel => { const c = document.querySelector(sel);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (Math.abs(d[i] - 120) < 30 && Math.abs(d[i + 1] - 230) < 30 && d[i + 2] > 220) n++;
        return n; }""", selector)


def test_live_flow_start_see_a_face_stop_and_it_says_stopped(page, live_server):
    bad = _watch_failures(page)
    page.goto(live_server.url + "/")
    page.click("#start")
    item = page.wait_for_selector("#faces-list li.face-item", timeout=30000)
    assert any(e in item.inner_text() for e in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"))
    page.wait_for_function("() => document.getElementById('fps').textContent !== '–'", timeout=20000)
    assert page.is_hidden("#stopped-note")
    # the blendshapes' explanation is a page the app serves, not a file name
    page.wait_for_selector("#blendshapes:not([hidden]) a", timeout=30000)
    href = page.get_attribute("#blendshapes a", "href")
    page.click("#stop")
    assert page.inner_text("#status") == "Stopped."
    # nothing looks as if it were still running: the numbers are blank, the last faces greyed
    # under a note that says so
    for stat in ("#fps", "#latency", "#server", "#nfaces"):
        assert page.inner_text(stat) == "–", stat
    assert page.is_visible("#stopped-note") and "Stopped" in page.inner_text("#stopped-note")
    assert page.evaluate("() => document.getElementById('stage').parentElement.classList.contains('stopped')")
    page.wait_for_timeout(1200)   # the stats timer (500 ms) must not bring the numbers back
    assert page.inner_text("#fps") == "–"
    shot(page, "flow-live-stopped")
    page.goto(live_server.url + href)
    assert "browDownLeft" in page.inner_text("table") and "brow down (left)" in page.inner_text("table")
    # the table is the 51 ARKit movements the model scores; its rest-face score is explained under it
    assert page.locator("table tbody tr").count() == 51
    assert "_neutral" not in page.inner_text("table") and "_neutral" in page.inner_text("main")
    shot(page, "flow-blendshapes")
    assert not bad, bad
    assert not page.js_errors, page.js_errors


def test_photos_flow_good_and_bad_photo_downloads_and_enlarge(page, live_server, tmp_path):
    multi = media_or_skip("multi_face.jpg")
    bad_file = tmp_path / "holiday.jpg"
    bad_file.write_text("this is not a picture\n")
    failures = _watch_failures(page)
    page.goto(live_server.url + "/photos")
    page.check("#mesh")
    page.set_input_files("#files", [str(multi), str(bad_file)])
    page.wait_for_function("() => document.querySelectorAll('.card.done').length === 2", timeout=60000)
    good = page.query_selector('.card:not(.failed)')
    bad = page.query_selector(".card.failed")
    assert good.get_attribute("data-faces") == "5"
    # the failed file: one compact card, its name once, the reason
    text = bad.inner_text()
    assert text.count("holiday.jpg") == 1, text
    assert "image" in text.lower() and len(text) < 300, text
    hb, hg = bad.bounding_box()["height"], good.bounding_box()["height"]
    assert hb < 120 < hg, (hb, hg)
    # the mesh of faces this small in a 300 px card would be blobs: left out there...
    assert page.get_attribute(".card:not(.failed) canvas", "data-mesh-faces") == "0"
    shot(page, "flow-photos")
    # ...and drawn when the picture is enlarged (click it)
    good.query_selector("canvas").click()
    page.wait_for_selector("#enlarged[open]")
    size = page.evaluate("""() => { const c = document.getElementById('enlarged-canvas');
        return [c.width, c.clientWidth]; }""")
    assert size[0] == 1000 and size[1] > 600, size   # multi_face.jpg is 1000 px wide, shown large
    shot(page, "flow-photos-enlarged")
    assert page.get_attribute("#enlarged-canvas", "data-mesh-faces") == "5"
    assert _count_mesh_pixels(page, "#enlarged-canvas") > 100   # dots of the mesh colour really drawn
    page.keyboard.press("Escape")
    page.wait_for_selector("#enlarged:not([open])", state="attached")
    # the downloads hold both files, the failed one with its error
    with page.expect_download() as dl:
        page.click("#dl-json")
    got = json.loads(open(dl.value.path()).read())
    assert {g["filename"] for g in got} == {"multi_face.jpg", "holiday.jpg"}
    failed = [g for g in got if g.get("error")]
    assert len(failed) == 1 and failed[0]["filename"] == "holiday.jpg"
    with page.expect_download() as dl:
        page.click("#dl-csv")
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    assert not {"frame", "time", "track_id"} & set(rows[0]), list(rows[0])   # meaningless for a photo
    assert [r["face"] for r in rows if r["file"] == "multi_face.jpg"] == ["1", "2", "3", "4", "5"]
    err = [r for r in rows if r["file"] == "holiday.jpg"]
    assert len(err) == 1 and err[0]["error"] and not err[0]["x"]
    assert not failures, failures
    assert not page.js_errors, page.js_errors


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory):
    """single_face.mp4 with a 440 Hz tone as its sound."""
    out = tmp_path_factory.mktemp("video-sound") / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media_or_skip("single_face.mp4")), "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=10", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                    "-c:a", "aac", "-shortest", str(out)], check=True)
    return out


def test_video_flow_options_first_start_and_the_results_open_by_themselves(page, live_server, clip_with_sound, tmp_path):
    failures = _watch_failures(page)
    page.goto(live_server.url + "/video")
    count = "() => fetch('/api/v1/jobs').then(r => r.json()).then(b => b.jobs.length)"
    before = page.evaluate(count)
    page.set_input_files("#file", str(clip_with_sound))
    # choosing a file starts nothing: the options can still be set
    assert "talk.mp4" in page.inner_text("#chosen") and page.is_enabled("#start-job")
    page.wait_for_timeout(800)
    assert page.evaluate(count) == before
    page.fill("#every", "2")
    page.check("#annotate")
    shot(page, "flow-video-chosen")
    page.click("#start-job")
    page.wait_for_function("n => window.ffVideo.jobs().length > n", arg=before, timeout=60000)
    new_id = page.evaluate("() => window.ffVideo.jobs()[0].id")
    # no "Show results" click: the charts and the annotated video appear when the job is done
    page.wait_for_function("id => window.ffVideo.shown() === id", arg=new_id, timeout=120000)
    assert page.inner_text("#result-title") == "Results: talk.mp4"
    page.wait_for_selector('#result:not([hidden]) #charts .chart-card[data-track="1"] canvas', timeout=30000)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=30000)
    job = page.evaluate("id => window.ffVideo.jobs().find(j => j.id === id)", new_id)
    assert job["every"] == 2 and job["status"] == "done"
    # Debian's Chromium plays H.264 and this machine's ffmpeg writes it: MP4, with the sound
    plays_mp4 = page.evaluate("""() => !!document.createElement('video')
        .canPlayType('video/mp4; codecs="avc1.42E01E, mp4a.40.2"')""")
    assert job["urls"]["video"].endswith("annotated.mp4" if plays_mp4 else "annotated.webm"), job
    assert page.evaluate("() => document.getElementById('player').duration") > 2
    # the player really has sound (Chromium's decoded audio bytes grow while it plays)
    page.evaluate("() => { const p = document.getElementById('player'); p.muted = true; return p.play(); }")
    page.wait_for_function("() => document.getElementById('player').webkitAudioDecodedByteCount > 0", timeout=20000)
    shot(page, "flow-video-done")
    r = page.request.get(live_server.url + job["urls"]["video"], headers=live_server.headers)
    saved = tmp_path / job["urls"]["video"].rsplit("/", 1)[1]
    saved.write_bytes(r.body())
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                            str(saved)], capture_output=True, text=True, check=True).stdout.split()
    assert sorted(probe) == ["audio", "video"], probe
    assert not failures, failures
    assert not page.js_errors, page.js_errors
    page.request.delete(live_server.url + job["urls"]["self"], headers=live_server.headers)


def test_wellbeing_flow_monitor_rules_notifications_and_history(browser, web_app, tmp_path):
    """On a fresh instance: start monitoring and see the states come, a bad rule value named as the
    form names it, why notifications cannot be allowed; then the history of a short session
    (a few minutes today) charted on an honest scale."""
    from facial_feedback.web import create_app
    from facial_feedback.web.wellbeing_pages import history

    app = create_app({"TESTING": True, "ANALYZER": web_app.extensions["facial_feedback"].analyzer},
                     instance_path=str(tmp_path / "instance"))
    srv = LiveServer(app)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    # the browser's answer where the user has blocked notifications for the site
    ctx.add_init_script("Object.defineProperty(Notification, 'permission', { get: () => 'denied' });")
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    failures = _watch_failures(page)
    try:
        page.goto(srv.url + "/wellbeing/")
        assert page.is_disabled("#notify-perm")
        assert "blocked" in page.inner_text("#notify-why") and "site settings" in page.inner_text("#notify-why")
        page.click("#start")
        page.wait_for_function("() => window.ffWellbeing.results() > 10", timeout=60000)
        assert page.inner_text("#wb-states").strip() not in ("", "No data yet.")
        # a bad value: the message names the setting as the form does, not its internal name
        page.fill('input[name="fatigue_level"]', "7")
        page.click('#rules-form button[type="submit"]')
        page.wait_for_selector("#rules-status.error")
        msg = page.inner_text("#rules-status")
        assert "fatigue level (0-1) at or above" in msg and "between 0.05 and 1" in msg, msg
        assert "fatigue_level" not in msg, msg
        assert page.get_attribute('input[name="fatigue_level"]', "aria-invalid") == "true"
        shot(page, "flow-wellbeing")
        page.click("#stop")
        # opened from another machine over plain http the browser allows no notifications: say so
        other = browser.new_context()
        other.add_init_script("Object.defineProperty(window, 'isSecureContext', { get: () => false });")
        p2 = other.new_page()
        p2.goto(srv.url + "/wellbeing/")
        assert p2.is_disabled("#notify-perm") and "secure page" in p2.inner_text("#notify-why")
        other.close()

        # a short session today: 3 minutes at the screen, 11:00-11:03 local time
        with app.app_context():
            store = history()
        tz = page.evaluate("() => -new Date().getTimezoneOffset()") * 60
        day0 = (int(time.time()) + tz) // 86400 * 86400 - tz
        store.delete_all()
        store.add([{"minute": day0 + 11 * 3600 + m * 60, "monitored_s": 60, "screen_s": 60, "fatigue_sum": 12,
                    "fatigue_s": 60, "tension_sum": 15, "tension_s": 60, "attention_sum": 40, "attention_s": 60,
                    "blinks": 14, "eye_closures": 0, "yawns": 0, "look_aways": 1, "breaks": 0, "suggestions": 0}
                   for m in range(3)])
        page.goto(srv.url + "/wellbeing/history")
        page.wait_for_selector("body[data-loaded='1']", timeout=30000)
        assert page.inner_text("#day-sum").startswith("3 min at the screen")
        assert page.inner_text("#week-sum").startswith("3 min at the screen")   # not "0.0 h"
        axes = page.evaluate("""() => ['day-chart', 'week-chart'].map(id => {
            const c = Chart.getChart(document.getElementById(id));
            return {max: c.scales.t.max, bins: c.data.labels.length, title: c.options.scales.t.title.text}; })""")
        day, week = axes
        # 3 minutes of a 15-minute bin is a fifth of the axis, not a full bar; the day is zoomed
        # to the hours around the data, so the bars are not slivers among 40 empty bins
        assert day["max"] >= 15 and day["bins"] <= 16, day
        assert week["max"] >= 60 and "minutes" in week["title"], week
        bar = page.evaluate("""() => { const c = Chart.getChart(document.getElementById('day-chart'));
            const els = c.getDatasetMeta(0).data.filter((e, i) => c.data.datasets[0].data[i] > 0);
            return els.map(e => [e.width, Math.abs(e.base - e.y), c.chartArea.height]); }""")
        assert bar and all(w >= 8 and 0.1 < h / H < 0.3 for w, h, H in bar), bar
        shot(page, "flow-wellbeing-history")
        assert not failures, failures
        assert not errors, errors
    finally:
        ctx.close()
        srv.close()
        app.extensions["facial_feedback"].jobs.shutdown()


def test_api_page_404_page_and_favicon(page, live_server):
    failures = _watch_failures(page)
    page.goto(live_server.url + "/photos")
    # the footer's "API" leads to a page a person can read, which links the machine-readable one
    page.click("footer a:text('API')")
    page.wait_for_selector("h1:has-text('The API')")
    assert page.url == live_server.url + "/api"
    op = page.inner_text("#post-api-v1-analyze")
    assert "Analyse one image" in op and "landmarks" in op and "include the 478-point mesh" in op
    assert "Job" in page.inner_text("#schema-Job")
    page.click("#openapi-json")
    assert json.loads(page.inner_text("body"))["openapi"].startswith("3.")
    page.go_back()
    shot(page, "flow-api")
    assert not failures, failures
    # no page asks for something the app does not have; the favicon is the app's own
    r = page.request.get(live_server.url + "/favicon.ico")
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml") and b"<svg" in r.body()
    # a wrong address gets the app's own page, with the way back
    resp = page.goto(live_server.url + "/no-such-page")
    assert resp.status == 404
    assert "Page not found" in page.inner_text("h1") and "/no-such-page" in page.inner_text("main")
    assert page.is_visible("header.topbar nav a:text('Live')")
    shot(page, "flow-404")
    # other errors on pages are the app's page too (a form posted to a page: 405, its Allow header kept)
    r = page.request.post(live_server.url + "/photos", headers={"Origin": live_server.url})
    assert r.status == 405 and "GET" in r.headers.get("allow", "")
    assert "Method Not Allowed" in r.text() and "HTTP 405" in r.text() and 'href="/photos"' in r.text()
    assert not page.js_errors, page.js_errors
