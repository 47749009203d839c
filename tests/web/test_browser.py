"""End to end in headless Debian Chromium, with a real face video as the camera.

Asserts what a person would see; screenshots go to $FF_ARTIFACTS (default /tmp/ff-artifacts/web).
"""
from __future__ import annotations

import csv
import io

import pytest

from .conftest import media_or_skip, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_live_page_shows_a_box_a_label_and_the_timeline(page, live_server):
    page.goto(live_server.url + "/")
    page.click("#start")
    # a face box with an emotion label (how soon is benchmarks/bench_live.py's to measure: a
    # loaded CI machine is no place for a time limit)
    page.wait_for_selector('#stage[data-faces="1"]', timeout=20000)
    item = page.wait_for_selector("#faces-list li.face-item", timeout=20000)
    text = item.inner_text()
    assert any(e in text for e in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")), text
    assert text.startswith("#1 ")
    # the overlay canvas really has something drawn on it
    drawn = page.evaluate("""() => { const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert drawn > 2000
    # the timeline fills: at least 3 s of 250 ms bins
    page.wait_for_function("() => +document.getElementById('timeline').dataset.points >= 12", timeout=20000)
    page.wait_for_function("() => document.getElementById('fps').textContent !== '–'", timeout=20000)
    fps = float(page.inner_text("#fps"))
    assert fps > 1
    assert page.inner_text("#latency").endswith("ms")
    # the signals snapshot, when the core sends one, shows under the video
    if page.evaluate("() => !!window.ffLive.lastResult().session"):
        page.wait_for_selector("#signals:not([hidden]) .signal-row, #signals:not([hidden]) .chip", timeout=20000)
        assert "attention" in page.inner_text("#signals") or "face" in page.inner_text("#signals")
    shot(page, "live")
    # the mesh toggles on
    page.check("#mesh")
    page.wait_for_function("() => { const r = window.ffLive.lastResult(); return r && r.faces.length && r.faces[0].landmarks; }",
                           timeout=20000)
    shot(page, "live-mesh")
    # stop and start again without a reload
    page.click("#stop")
    assert page.inner_text("#status") == "Stopped."
    assert page.evaluate("() => document.getElementById('video').srcObject === null")
    n = page.evaluate("() => window.ffLive.cam.results")
    page.click("#start")
    page.wait_for_function(f"() => window.ffLive.cam.results > {n} + 5", timeout=30000)
    page.click("#stop")
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("error,expect", [("NotAllowedError", "denied"), ("NotFoundError", "No camera")])
def test_live_page_says_when_the_camera_is_denied_or_absent(browser, live_server, error, expect):
    ctx = browser.new_context(viewport={"width": 1000, "height": 700})
    ctx.add_init_script(f"""navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('test', '{error}'));""")
    page = ctx.new_page()
    page.goto(live_server.url + "/")
    page.click("#start")
    page.wait_for_selector("#status.error", timeout=20000)
    assert expect in page.inner_text("#status")
    assert expect in page.inner_text("#stage-empty")
    assert page.is_enabled("#start")
    shot(page, f"live-{error}")
    ctx.close()


def test_live_page_on_a_phone_sized_window(browser, live_server):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    page.goto(live_server.url + "/?autostart=1")
    page.wait_for_selector('#stage[data-faces="1"]', timeout=30000)
    page.wait_for_function("() => +document.getElementById('timeline').dataset.points >= 4", timeout=30000)
    # nothing wider than the screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shot(page, "live-phone")
    ctx.close()


def test_photos_show_the_right_number_of_faces(page, live_server, tmp_path):
    multi, single = media_or_skip("multi_face.jpg"), media_or_skip("single_face.jpg")
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture\n")
    page.goto(live_server.url + "/photos")
    page.set_input_files("#files", [str(multi), str(single), str(bad)])
    page.wait_for_function("() => document.querySelectorAll('.card.done').length === 3", timeout=30000)
    counts = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.card')]
        .map(c => [c.querySelector('.name').textContent, c.dataset.faces || c.querySelector('.meta').textContent]))""")
    assert counts["multi_face.jpg"] == "5" and counts["single_face.jpg"] == "1", counts
    assert "notes.jpg" in counts["notes.jpg"] or "image" in counts["notes.jpg"].lower(), counts
    page.wait_for_function("() => !document.getElementById('summary').textContent.includes('waiting')",
                           timeout=30000)
    assert "2 analysed, 6 faces, 1 failed" in page.inner_text("#summary")
    with page.expect_download() as dl:
        page.click("#dl-csv")
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    faces = [r for r in rows if not r["error"]]
    assert len(faces) == 6 and {r["file"] for r in faces} == {"multi_face.jpg", "single_face.jpg"}
    assert [r["file"] for r in rows if r["error"]] == ["notes.jpg"]   # the failed file, with its error
    with page.expect_download() as dl:
        page.click("#dl-json")
    assert dl.value.suggested_filename == "photos.json"
    shot(page, "photos")
    assert not page.js_errors, page.js_errors


def test_video_job_reaches_100_percent_and_offers_its_csv(page, live_server):
    src = media_or_skip("single_face.mp4")
    page.goto(live_server.url + "/video")
    page.fill("#every", "2")
    page.set_input_files("#file", str(src))
    # the server is shared by the module's tests: follow the job this test starts, not an older one
    page.wait_for_function("() => window.ffVideo && document.getElementById('no-jobs') !== null")
    before = page.evaluate("() => window.ffVideo.jobs().map(j => j.id)")
    page.click("#start-job")
    page.wait_for_function("before => window.ffVideo.jobs().some(j => !before.includes(j.id))", arg=before,
                           timeout=30000)
    new_id = page.evaluate("before => window.ffVideo.jobs().find(j => !before.includes(j.id)).id", before)
    try:  # catch the bar part-way (the clip is short: this may miss, and that is fine)
        page.wait_for_function("""() => { const b = document.querySelector('li.job .progress');
            const v = b && +b.getAttribute('aria-valuenow'); return v > 0 && v < 100; }""", timeout=30000)
    except Exception:
        pass
    shot(page, "video-running")
    job = page.wait_for_selector(f'li.job[data-id="{new_id}"][data-status="done"]', timeout=120000)
    assert "100%" in job.inner_text() and "fps" in job.inner_text()
    csv_link = job.query_selector("a.dl-csv")
    assert csv_link is not None
    with page.expect_download() as dl:
        csv_link.click()
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    assert len(rows) == 36
    # the results open by themselves when the job is done
    page.wait_for_selector('#charts .chart-card[data-track="1"] canvas', timeout=30000)
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=30000)
    shot(page, "video-done")
    # the job list survives a reload
    job_id = job.get_attribute("data-id")
    page.reload()
    page.wait_for_selector(f'li.job[data-id="{job_id}"][data-status="done"]', timeout=30000)
    assert not page.js_errors, page.js_errors


def test_failed_video_job_says_why(page, live_server, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(media_or_skip("single_face.mp4").read_bytes()[:3000])
    page.goto(live_server.url + "/video")
    page.set_input_files("#file", str(broken))
    page.click("#start-job")
    job = page.wait_for_selector('li.job[data-status="failed"]', timeout=30000)
    assert "Failed:" in job.inner_text()
    shot(page, "video-failed")


def test_too_large_uploads_are_refused_with_a_message(page, live_server, web_app, tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(media_or_skip("single_face.jpg").read_bytes())
    old = web_app.config["MAX_IMAGE_BYTES"], web_app.config["MAX_CONTENT_LENGTH"]
    web_app.config["MAX_IMAGE_BYTES"] = web_app.config["MAX_CONTENT_LENGTH"] = 10_000
    try:
        page.goto(live_server.url + "/photos")
        page.set_input_files("#files", str(big))
        page.wait_for_selector(".card.failed", timeout=30000)
        assert "too large" in page.inner_text(".card.failed .meta").lower()
        page.goto(live_server.url + "/video")
        page.set_input_files("#file", str(media_or_skip("single_face.mp4")))
        page.click("#start-job")
        page.wait_for_selector("#upload-status.error", timeout=30000)
        assert "too large" in page.inner_text("#upload-status")
    finally:
        web_app.config["MAX_IMAGE_BYTES"], web_app.config["MAX_CONTENT_LENGTH"] = old


def test_a_phone_photo_with_exif_rotation_is_drawn_upright(page, live_server, tmp_path):
    from PIL import Image

    src = Image.open(media_or_skip("single_face.jpg")).convert("RGB")
    # stored lying on its side, with EXIF orientation 6 saying "turn 90 degrees clockwise to view"
    stored = src.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "phone.jpg"
    stored.save(p, quality=92, exif=exif.tobytes())
    page.goto(live_server.url + "/photos")
    page.set_input_files("#files", str(p))
    page.wait_for_selector(".card.done", timeout=20000)
    it = page.evaluate("""() => { const it = window.ffPhotos.items[0];
        return {faces: it.result.faces.length, rw: it.result.width, rh: it.result.height,
                bw: it.bitmap.width, bh: it.bitmap.height}; }""")
    assert it["faces"] == 1
    assert (it["rw"], it["rh"]) == (src.width, src.height) == (it["bw"], it["bh"])
    shot(page, "photos-exif")


def test_live_page_follows_several_faces(playwright, live_server, tmp_path):
    """A group photo as the camera: several boxes, each with its own track id."""
    import subprocess

    from .conftest import launch

    clip = tmp_path / "group.y4m"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", str(media_or_skip("multi_face.jpg")),
                    "-t", "2", "-vf", "fps=15,scale=960:640", "-pix_fmt", "yuv420p", str(clip)], check=True)
    b = launch(playwright, clip)
    try:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_server.url + "/?autostart=1")
        page.wait_for_function("() => +document.getElementById('stage').dataset.faces >= 3", timeout=40000)
        page.wait_for_timeout(1500)  # let the timeline start
        shot(page, "live-group")
        page.click("#stop")  # freeze what is shown, then compare the overlay's faces with the list
        ids = page.evaluate("() => window.ffLive.lastResult().faces.map(f => f.track_id)")
        assert len(ids) == len(set(ids)) >= 3
        assert len(page.query_selector_all("#faces-list li.face-item")) == len(ids)
    finally:
        b.close()


def test_live_page_gaze_without_calibration_is_relative_and_agrees_with_attention(playwright, live_server, tmp_path):
    """The Pexels clip's open-eyed part (she faces the camera, head tilted back) as the camera:
    the attention chip's cue says how much of the time she looked at the screen, that this is
    relative to her usual gaze (no calibration), and its level agrees with that share."""
    import re
    import subprocess

    from .conftest import launch

    src = media_or_skip("WolfgangLanger_Pexels.mp4")
    clip = tmp_path / "facing.y4m"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "6", "-i", str(src), "-t", "8", "-vf",
                    "fps=30,scale=640:360", "-pix_fmt", "yuv420p", str(clip)], check=True)
    b = launch(playwright, clip)
    try:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.goto(live_server.url + "/?autostart=1")
        # states abstain for the first 5 s a face is seen; then the attention chip has cues
        page.wait_for_function("""() => { const r = window.ffLive && window.ffLive.lastResult();
            const t = r && r.session && r.session.tracks && r.session.tracks[0];
            return t && t.attention && !t.attention.abstain && t.attention.cues.length; }""", timeout=60000)
        page.wait_for_timeout(3000)
        # the chip and the result it was drawn from, read in one go: the page renders each
        # result as it sets it, so a later frame cannot slip in between the two reads
        seen = page.evaluate("""() => {
            const chip = document.querySelector("#signal-states .chip[title*='looking at the screen']");
            return {att: window.ffLive.lastResult().session.tracks[0].attention,
                    title: chip && chip.getAttribute('title'), text: chip && chip.innerText}; }""")
        att, title, text = seen["att"], seen["title"], seen["text"]
        assert title is not None, seen
        shot(page, "live-gaze-relative")
        m = re.search(r"looking at the screen (\d+)% of the last 30 s, baseline (\d+)%", title)
        assert m and "not calibrated: relative to the person's usual gaze" in title, title
        share = int(m.group(1)) / 100
        assert share >= 0.5, title
        assert text.startswith("attention: " + att["level"])
        if att["level"] == "high":
            assert att["value"] >= 0.65
        if share * att["metrics"]["present_share"] >= max(att["baseline"], 0.75) - 0.1:
            assert att["level"] == "high"
    finally:
        b.close()
