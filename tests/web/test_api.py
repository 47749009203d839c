"""The JSON API through app.test_client(): real photos and videos, every error status."""
from __future__ import annotations

import csv
import io
import json
import os

import pytest

from facial_feedback.types import CSV_COLUMNS, EMOTIONS, PHOTO_CSV_COLUMNS

from .conftest import media_or_skip


def post_image(client, data: bytes, name="x.jpg", mimetype="image/jpeg", query=""):
    return client.post("/api/v1/analyze" + query, content_type="multipart/form-data",
                       data={"image": (io.BytesIO(data), name, mimetype)})


def assert_error(resp, status):
    assert resp.status_code == status, resp.data[:300]
    assert resp.is_json, resp.data[:300]
    err = resp.get_json()["error"]
    assert err["status"] == status and err["message"]
    return err["message"]


# ---- images ---------------------------------------------------------------------------
def test_multi_face_photo(client):
    data = media_or_skip("multi_face.jpg").read_bytes()
    r = post_image(client, data, "multi_face.jpg")
    assert r.status_code == 200, r.data[:300]
    body = r.get_json()
    assert body["filename"] == "multi_face.jpg"
    assert (body["width"], body["height"]) == (1000, 667)
    assert len(body["faces"]) == 5
    for f in body["faces"]:
        assert len(f["box"]) == 4 and f["emotion"]["label"] in EMOTIONS
        assert set(f["emotion"]["scores"]) == set(EMOTIONS)
        assert "landmarks" not in f


def test_single_face_photo_raw_body_and_landmarks(client):
    data = media_or_skip("single_face.jpg").read_bytes()
    r = client.post("/api/v1/analyze?landmarks=1&filename=me.jpg", data=data, content_type="image/jpeg")
    assert r.status_code == 200, r.data[:300]
    body = r.get_json()
    assert body["filename"] == "me.jpg" and len(body["faces"]) == 1
    assert len(body["faces"][0]["landmarks"]) == 478


def test_photo_as_csv(client):
    data = media_or_skip("multi_face.jpg").read_bytes()
    r = post_image(client, data, "group.jpg", query="?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 5 and rows[0]["file"] == "group.jpg"
    assert list(rows[0]) == list(PHOTO_CSV_COLUMNS)   # no frame/time/track: a photo has none
    assert [r["face"] for r in rows] == ["1", "2", "3", "4", "5"] and {r["error"] for r in rows} == {""}


def test_no_face_is_an_empty_list(client):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 200)).save(buf, "PNG")
    r = post_image(client, buf.getvalue(), "sky.png", "image/png")
    assert r.status_code == 200 and r.get_json()["faces"] == []


@pytest.mark.parametrize("data,name,why", [
    (b"", "empty.jpg", "empty"),
    (b"hello, I am text\n" * 20, "notes.jpg", "text named .jpg"),
])
def test_bad_image_is_400(client, data, name, why):
    msg = assert_error(post_image(client, data, name), 400)
    assert name in msg or "empty" in msg, (why, msg)


def test_truncated_jpeg_is_400(client):
    data = media_or_skip("single_face.jpg").read_bytes()
    assert_error(post_image(client, data[: len(data) // 3], "cut.jpg"), 400)


def test_no_file_field_is_400(client):
    r = client.post("/api/v1/analyze", content_type="multipart/form-data", data={"other": "x"})
    assert "multipart field 'image'" in assert_error(r, 400)


def test_empty_raw_body_is_400(client):
    assert_error(client.post("/api/v1/analyze", data=b"", content_type="image/jpeg"), 400)


@pytest.mark.parametrize("kwargs", [
    dict(data=b"just text", content_type="text/plain"),
    dict(json={"path": "/etc/passwd"}),
    dict(json={"url": "http://example.invalid/a.jpg"}),
    dict(data={"url": "http://example.invalid/a.jpg"}, content_type="application/x-www-form-urlencoded"),
])
def test_wrong_type_or_a_reference_is_415(client, kwargs):
    assert_error(client.post("/api/v1/analyze", **kwargs), 415)


def test_multipart_part_of_the_wrong_type_is_415(client):
    assert_error(post_image(client, b"a,b\n1,2\n", "table.csv", "text/csv"), 415)


def test_image_over_the_image_limit_is_413(web_app):
    limit = web_app.config["MAX_IMAGE_BYTES"]
    web_app.config["MAX_IMAGE_BYTES"] = 1000
    try:
        data = media_or_skip("single_face.jpg").read_bytes()
        msg = assert_error(post_image(web_app.test_client(), data), 413)
        assert "too large" in msg and "limit" in msg
    finally:
        web_app.config["MAX_IMAGE_BYTES"] = limit


def test_request_over_max_content_length_is_413(web_app):
    limit = web_app.config["MAX_CONTENT_LENGTH"]
    web_app.config["MAX_CONTENT_LENGTH"] = 50_000
    try:
        data = media_or_skip("single_face.mp4").read_bytes()
        r = web_app.test_client().post("/api/v1/jobs", content_type="multipart/form-data",
                                       data={"video": (io.BytesIO(data), "v.mp4", "video/mp4")})
        msg = assert_error(r, 413)
        assert "too large" in msg and "49 KB" in msg
    finally:
        web_app.config["MAX_CONTENT_LENGTH"] = limit


def test_unknown_routes_under_api_are_json_404(client):
    assert_error(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_json_405(client):
    assert_error(client.get("/api/v1/analyze"), 405)


# ---- video jobs -----------------------------------------------------------------------
def upload_video(client, path, name=None, mimetype="video/mp4", **fields):
    data = {"video": (io.BytesIO(path.read_bytes() if hasattr(path, "read_bytes") else path),
                      name or getattr(path, "name", "v.mp4"), mimetype)}
    data.update({k: str(v) for k, v in fields.items()})
    return client.post("/api/v1/jobs", content_type="multipart/form-data", data=data)


def test_video_job_runs_to_done(client, web_app):
    src = media_or_skip("single_face.mp4")
    r = upload_video(client, src, every=2)
    assert r.status_code == 202, r.data[:300]
    job = r.get_json()
    assert r.headers["Location"] == job["urls"]["self"]
    assert job["status"] in ("queued", "running")
    jobs = web_app.extensions["facial_feedback"].jobs
    done = jobs.wait(job["id"], timeout=120)
    assert done["status"] == "done", done
    j = client.get(job["urls"]["self"]).get_json()
    assert j["progress"] == 1.0 and j["fps"] > 0 and j["faces"] == 1
    assert j["frames_done"] == 36 and j["frames_total"] == 72
    assert {"csv", "json", "video", "timeline"} <= set(j["urls"])
    # the upload is gone, the outputs are there
    folder = os.path.join(jobs.root, job["id"])
    assert not any(n.startswith("upload") for n in os.listdir(folder))
    assert j["upload_kept"] is False

    r = client.get(j["urls"]["csv"] + "?download=1")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 36 and list(rows[0]) == list(CSV_COLUMNS)
    assert {row["track_id"] for row in rows} == {"1"}

    lines = client.get(j["urls"]["json"]).get_data(as_text=True).splitlines()
    assert len(lines) == 36 and json.loads(lines[0])["faces"][0]["track_id"] == 1

    # MP4 (H.264 + AAC, with the clip's sound) where this machine's ffmpeg writes it (jobs.py)
    r = client.get(j["urls"]["video"])
    if j["video_file"] == "annotated.mp4":
        assert r.status_code == 200 and r.mimetype == "video/mp4" and r.data[4:8] == b"ftyp"
        assert j["video_note"] is None
    else:
        assert r.status_code == 200 and r.mimetype == "video/webm" and r.data[:4] == b"\x1a\x45\xdf\xa3"
        assert "WebM" in j["video_note"]

    tl = client.get(j["urls"]["timeline"] + "?points=20").get_json()
    assert client.get(j["urls"]["timeline"] + "?points=20").get_json() == tl  # the cached copy
    assert [t["track_id"] for t in tl["tracks"]] == [1]
    tr = tl["tracks"][0]
    assert 1 <= len(tr["time"]) <= 21 and set(tr["emotions"]) == set(EMOTIONS)
    assert all(abs(sum(tr["emotions"][k][i] for k in EMOTIONS) - 1) < 0.02 for i in range(len(tr["time"])))

    listed = client.get("/api/v1/jobs").get_json()["jobs"]
    assert job["id"] in [x["id"] for x in listed]
    assert client.delete(job["urls"]["self"]).status_code == 204
    assert not os.path.exists(folder)
    assert_error(client.get(job["urls"]["self"]), 404)
    assert_error(client.delete(job["urls"]["self"]), 404)


def test_a_browser_without_h264_gets_webm_and_is_told_why(client, web_app, monkeypatch):
    """The page asks for WebM where the browser plays no H.264; without ffmpeg's H.264 encoder
    the job falls back to WebM, and video_note says why in both cases."""
    import facial_feedback.video as video
    from facial_feedback.web.jobs import annotated_video_choice

    src = media_or_skip("single_face.mp4")
    job = upload_video(client, src, every=8, video_format="webm").get_json()
    done = web_app.extensions["facial_feedback"].jobs.wait(job["id"], timeout=120)
    assert done["status"] == "done" and done["video_file"] == "annotated.webm"
    assert "does not play H.264" in done["video_note"]
    r = client.get(f"/api/v1/jobs/{job['id']}/annotated.webm")
    assert r.status_code == 200 and r.mimetype == "video/webm"
    assert_error(client.get(f"/api/v1/jobs/{job['id']}/annotated.mp4"), 404)
    client.delete(f"/api/v1/jobs/{job['id']}")
    assert_error(upload_video(client, src, video_format="avi"), 400)

    monkeypatch.setattr(video, "_ffmpeg_encoders", lambda: frozenset())
    name, note = annotated_video_choice("mp4")
    assert name == "annotated.webm" and "ffmpeg is not installed" in note


def test_kept_upload_stays(client, web_app):
    src = media_or_skip("single_face.mp4")
    job = upload_video(client, src, every=6, keep=1, annotate=0).get_json()
    done = web_app.extensions["facial_feedback"].jobs.wait(job["id"], timeout=120)
    assert done["status"] == "done" and done["outputs"] == ["csv", "json"]
    folder = os.path.join(web_app.extensions["facial_feedback"].jobs.root, job["id"])
    assert "upload.mp4" in os.listdir(folder)
    assert client.get(f"/api/v1/jobs/{job['id']}").get_json()["upload_kept"] is True
    assert_error(client.get(f"/api/v1/jobs/{job['id']}/annotated.webm"), 404)
    client.delete(f"/api/v1/jobs/{job['id']}")


def test_corrupt_video_job_fails_and_says_why(client, web_app):
    data = media_or_skip("single_face.mp4").read_bytes()[:3000]
    job = upload_video(client, data, "broken.mp4").get_json()
    done = web_app.extensions["facial_feedback"].jobs.wait(job["id"], timeout=60)
    assert done["status"] == "failed"
    j = client.get(f"/api/v1/jobs/{job['id']}").get_json()
    assert j["error"] and "video" in j["error"].lower(), j["error"]
    assert_error(client.get(f"/api/v1/jobs/{job['id']}/results.csv"), 404)
    client.delete(f"/api/v1/jobs/{job['id']}")


def test_video_job_errors(client):
    assert_error(upload_video(client, b"", "empty.mp4"), 400)
    assert_error(upload_video(client, b"not a video", "notes.txt", "text/plain"), 415)
    assert_error(upload_video(client, b"x" * 100, "v.mp4", every=0), 400)
    assert_error(upload_video(client, b"x" * 100, "v.mp4", every="lots"), 400)
    assert_error(client.post("/api/v1/jobs", json={"path": "/work/shared/media/single_face.mp4"}), 415)
    r = client.post("/api/v1/jobs", content_type="multipart/form-data", data={"every": "1"})
    assert_error(r, 400)
    assert_error(client.get("/api/v1/jobs/0123456789ab"), 404)
    assert_error(client.get("/api/v1/jobs/0123456789ab/results.csv"), 404)
    assert_error(client.get("/api/v1/jobs/0123456789ab/timeline"), 404)


def test_jobs_survive_a_restart(web_analyzer, tmp_path):
    from facial_feedback.web import create_app

    src = media_or_skip("single_face.mp4")
    app = create_app({"TESTING": True, "ANALYZER": web_analyzer}, instance_path=str(tmp_path))
    job = upload_video(app.test_client(), src, every=8, annotate=0).get_json()
    assert app.extensions["facial_feedback"].jobs.wait(job["id"], 120)["status"] == "done"
    app.extensions["facial_feedback"].jobs.shutdown()
    # a second app on the same instance folder (a server restart) lists the job and its results
    app2 = create_app({"TESTING": True, "ANALYZER": web_analyzer}, instance_path=str(tmp_path))
    c2 = app2.test_client()
    jobs = c2.get("/api/v1/jobs").get_json()["jobs"]
    assert [j["id"] for j in jobs] == [job["id"]] and jobs[0]["status"] == "done"
    assert c2.get(f"/api/v1/jobs/{job['id']}/results.csv").status_code == 200
    app2.extensions["facial_feedback"].jobs.shutdown()


def test_a_job_interrupted_by_a_restart_is_marked_failed(web_analyzer, tmp_path):
    from facial_feedback.web import create_app

    d = tmp_path / "jobs" / "abcabcabcabc"
    d.mkdir(parents=True)
    (d / "upload.mp4").write_bytes(b"x")
    (d / "job.json").write_text(json.dumps({"id": "abcabcabcabc", "filename": "v.mp4", "status": "running",
                                            "created": 1.0, "upload": "upload.mp4", "keep_upload": False,
                                            "outputs": []}))
    app = create_app({"TESTING": True, "ANALYZER": web_analyzer}, instance_path=str(tmp_path))
    j = app.test_client().get("/api/v1/jobs/abcabcabcabc").get_json()
    assert j["status"] == "failed" and "server stopped" in j["error"]
    assert not (d / "upload.mp4").exists()
    app.extensions["facial_feedback"].jobs.shutdown()


# ---- the OpenAPI document -------------------------------------------------------------
def test_openapi_describes_every_api_route(client, web_app):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops if m != "parameters"}
    served, core = set(), set()
    for rule in web_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for m in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, m))
            if rule.endpoint.startswith("api."):
                core.add((path, m))
    assert served == documented
    # the core API is described by hand, not generated
    generated = {(p, m.upper()) for p, ops in doc["paths"].items() for m, op in ops.items()
                 if isinstance(op, dict) and op.get("x-generated")}
    assert core and not (core & generated)


def test_other_blueprints_can_describe_their_routes(web_analyzer, tmp_path):
    from flask import Blueprint

    from facial_feedback.web import add_openapi_paths, create_app

    app = create_app({"TESTING": True, "ANALYZER": web_analyzer}, instance_path=str(tmp_path))
    bp = Blueprint("extra", __name__, url_prefix="/api/v1/extra")

    @bp.get("/things")
    def things():
        """List the things."""
        return {"things": []}

    @bp.post("/things")
    def add_thing():
        """Add a thing."""
        return {}, 201

    app.register_blueprint(bp)
    add_openapi_paths(app, {"/api/v1/extra/things": {"get": {"summary": "All things", "responses": {"200": {"description": "ok"}}}}})
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    ops = doc["paths"]["/api/v1/extra/things"]
    assert ops["get"]["summary"] == "All things" and "x-generated" not in ops["get"]
    assert ops["post"]["summary"] == "Add a thing." and ops["post"]["x-generated"] is True
    app.extensions["facial_feedback"].jobs.shutdown()


def test_pages_render(client):
    for url, marker in [("/", b'id="overlay"'), ("/photos", b'id="dropzone"'), ("/video", b'id="jobs"')]:
        r = client.get(url)
        assert r.status_code == 200 and marker in r.data
        assert b"chart.umd.min.js" in r.data or url == "/photos"
        assert b"http://" not in r.data and b"https://" not in r.data  # no CDN, nothing remote


def test_cross_site_posts_are_refused(client):
    data = media_or_skip("single_face.jpg").read_bytes()
    r = client.post("/api/v1/analyze", data=data, content_type="image/jpeg",
                    headers={"Origin": "http://evil.example"})
    assert_error(r, 403)
    r = client.post("/api/v1/analyze", data=data, content_type="image/jpeg",
                    headers={"Origin": "http://localhost"})  # the test client's own host
    assert r.status_code == 200
    assert_error(client.delete("/api/v1/jobs/0123456789ab", headers={"Origin": "http://evil.example"}), 403)


def test_deleting_a_running_job_cancels_it(client, web_app):
    import time

    jobs = web_app.extensions["facial_feedback"].jobs
    src = media_or_skip("WolfgangLanger_Pexels.mp4")
    job = upload_video(client, src, annotate=0).get_json()
    end = time.time() + 60
    while time.time() < end and (jobs.get(job["id"]) or {}).get("frames_done", 0) < 5:
        time.sleep(0.05)
    j = jobs.get(job["id"])
    assert j["status"] == "running" and j["frames_done"] < j["frames_total"]
    # results of an unfinished job: 409, saying so
    assert "not ready" in assert_error(client.get(f"/api/v1/jobs/{job['id']}/results.csv"), 409)
    assert_error(client.get(f"/api/v1/jobs/{job['id']}/timeline"), 409)
    assert client.delete(f"/api/v1/jobs/{job['id']}").status_code == 204
    assert not os.path.exists(os.path.join(jobs.root, job["id"]))
    # the worker is free again: the next job runs to the end
    nxt = upload_video(client, media_or_skip("single_face.mp4"), every=12, annotate=0).get_json()
    assert jobs.wait(nxt["id"], timeout=60)["status"] == "done"
    assert not os.path.exists(os.path.join(jobs.root, job["id"]))
    client.delete(f"/api/v1/jobs/{nxt['id']}")


def test_upload_names_never_reach_the_disk(client, web_app):
    jobs = web_app.extensions["facial_feedback"].jobs
    data = media_or_skip("single_face.mp4").read_bytes()
    for name, stored in [("../../etc/x.mp4", "upload.mp4"), ("clip.m p4;rm", "upload.bin")]:
        job = upload_video(client, data, name, every=24, keep=1, annotate=0).get_json()
        assert "/" not in job["filename"]
        jobs.wait(job["id"], timeout=60)
        assert os.listdir(os.path.join(jobs.root, job["id"])).count(stored) == 1
        client.delete(f"/api/v1/jobs/{job['id']}")
