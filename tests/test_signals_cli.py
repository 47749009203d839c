"""`facial-feedback video` writes the events and the states once a second, and a summary."""
from __future__ import annotations

import csv
import json

from facial_feedback.cli import main

from .conftest import media


def test_video_writes_events_and_states(tmp_path, capsys):
    out = tmp_path / "sf.csv"
    assert main(["video", str(media("single_face.mp4")), "-o", str(out)]) == 0
    events = list(csv.DictReader(open(tmp_path / "sf.events.csv")))
    assert [e["type"] for e in events if e["type"] == "blink"] == ["blink"]
    b = next(e for e in events if e["type"] == "blink")
    assert b["track"] == "1" and 0.7 < float(b["onset"]) < 1.0 and 0 < float(b["duration"]) < 0.3
    json.loads(b["details"])
    states = list(csv.DictReader(open(tmp_path / "sf.states.csv")))
    assert [int(float(s["time"])) for s in states] == [0, 1, 2]  # 2.4 s of video: one row per second
    assert {s["attention_level"] for s in states} <= {"low", "moderate", "high"}
    err = capsys.readouterr().err
    assert "1 blinks" in err and "PERCLOS" in err and "sf.events.csv" in err


def test_no_signals(tmp_path):
    out = tmp_path / "sf.csv"
    assert main(["video", str(media("single_face.mp4")), "-o", str(out), "--no-signals", "-q"]) == 0
    assert out.exists() and not (tmp_path / "sf.events.csv").exists()
