"""ANALYZER_OPTIONS, as documented in facial_feedback.web: AnalyzerConfig fields, from the app's
config or the environment, reach the Analyzer the app builds (real models)."""
from __future__ import annotations

import json

import pytest

from .conftest import media_or_skip


def _close(app):
    st = app.extensions["facial_feedback"]
    st.jobs.shutdown()
    st.analyzer.close()


def test_analyzer_options_reach_the_models(tmp_path):
    from facial_feedback.web import create_app

    app = create_app({"TESTING": True, "ANALYZER_OPTIONS": {"max_faces": 4, "min_face_score": 0.9,
                                                             "detect_interval": 0.5, "emotion_smoothing": 0}},
                     instance_path=str(tmp_path))
    try:
        analyzer = app.extensions["facial_feedback"].analyzer
        assert (analyzer.config.max_faces, analyzer.config.detect_interval, analyzer.config.emotion_smoothing) == (4, 0.5, 0)
        assert analyzer.detector.config.min_score == 0.9
        with analyzer.live_session() as s:
            assert s.config.max_faces == 4 and s.config.detect_interval == 0.5
        r = app.test_client().post("/api/v1/analyze", data=media_or_skip("multi_face.jpg").read_bytes(),
                                   content_type="image/jpeg")
        faces = r.get_json()["faces"]
        assert r.status_code == 200 and faces and all(f["score"] >= 0.9 for f in faces)
    finally:
        _close(app)


def test_analyzer_options_from_the_environment(tmp_path, monkeypatch):
    from facial_feedback.web import create_app

    monkeypatch.setenv("FACIAL_FEEDBACK_ANALYZER_OPTIONS", json.dumps({"max_faces": 2}))
    app = create_app(instance_path=str(tmp_path))
    try:
        assert app.extensions["facial_feedback"].analyzer.config.max_faces == 2
    finally:
        _close(app)


def test_unknown_analyzer_option_stops_the_start(tmp_path):
    from facial_feedback.web import create_app

    with pytest.raises(ValueError, match="unknown analyzer option 'max_face'"):
        create_app({"ANALYZER_OPTIONS": {"max_face": 4}}, instance_path=str(tmp_path))
