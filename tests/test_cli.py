"""The `facial-feedback` command as a user runs it: real files, real models, exit codes."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest

from facial_feedback.cli import main

from .conftest import media


@pytest.fixture()
def folder(tmp_path, astronaut):
    """A folder of inputs with bad files among the good ones."""
    from PIL import Image

    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    shutil.copy(media("multi_face.jpg"), d / "multi_face.jpg")
    Image.fromarray(astronaut).save(d / "sub" / "astronaut.png")
    (d / "sub" / "notes.jpg").write_text("not a picture")
    (d / "empty.png").write_bytes(b"")
    data = media("single_face.jpg").read_bytes()
    (d / "sub" / "cut.jpg").write_bytes(data[: len(data) // 3])
    (d / "readme.txt").write_text("ignored: folders are searched for image files only")
    return d


def test_analyze_folder_json_keeps_going_past_bad_files(folder, capsys, tmp_path):
    code = main(["analyze", str(folder), "--json", "--annotate", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    by_name = {r["path"].split("/")[-1]: r for r in rows}
    assert set(by_name) == {"multi_face.jpg", "astronaut.png", "notes.jpg", "empty.png", "cut.jpg"}
    assert code == 1  # some failed, the others were analysed and written
    assert len(by_name["multi_face.jpg"]["faces"]) == 5 and by_name["multi_face.jpg"]["error"] is None
    assert len(by_name["astronaut.png"]["faces"]) == 1
    assert "empty" in by_name["empty.png"]["error"]
    assert "not an image" in by_name["notes.jpg"]["error"]
    assert "truncated" in by_name["cut.jpg"]["error"]
    # one line per failure on stderr, naming the file and the reason
    failures = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failures) == 3 and all(".jpg" in f or ".png" in f for f in failures)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["astronaut.jpg", "multi_face.jpg"]
    face = by_name["astronaut.png"]["faces"][0]
    assert len(face["box"]) == 4 and face["emotion"]["label"] in face["emotion"]["scores"]


def test_analyze_table_glob_and_missing(folder, capsys):
    code = main(["analyze", str(folder / "*.jpg"), str(folder / "nope.jpg")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "multi_face.jpg" in out and "5 faces" in out
    assert "nope.jpg: no such file" in err


def test_analyze_all_good_exits_zero(capsys):
    assert main(["analyze", str(media("single_face.jpg"))]) == 0
    assert "1 face" in capsys.readouterr().out


def test_analyze_with_another_label_set(capsys):
    """--emotion-labels fer2013: the same faces, read by the FER2013 head (its own label convention)."""
    rows = {}
    for labels in ("mixed", "fer2013"):
        assert main(["analyze", str(media("multi_face.jpg")), "--json", "--emotion-labels", labels]) == 0
        rows[labels] = json.loads(capsys.readouterr().out)
    a, b = rows["mixed"]["faces"], rows["fer2013"]["faces"]
    assert len(a) == len(b) == 5 and [f["box"] for f in a] == [f["box"] for f in b]
    assert all(abs(sum(f["emotion"]["scores"].values()) - 1) < 1e-3 for f in b)
    assert [f["emotion"]["scores"] for f in a] != [f["emotion"]["scores"] for f in b]
    assert sum(f["emotion"]["label"] == "happy" for f in b) >= 4   # five people laughing, whichever convention


def test_a_label_set_the_model_lacks_is_one_line(tmp_path, monkeypatch, capsys):
    """A model whose manifest offers no label sets (an older or a user's own model) refuses
    --emotion-labels fer2013 with one line naming what it offers, before reading any input."""
    from facial_feedback.emotion import DEFAULT_MANIFEST
    from facial_feedback.pipeline import Analyzer

    m = json.loads(DEFAULT_MANIFEST.read_text())
    m.pop("label_sets", None)
    (tmp_path / "emotion.json").write_text(json.dumps(m))
    (tmp_path / m["file"]).symlink_to(DEFAULT_MANIFEST.parent / m["file"])
    defaults = Analyzer.__init__.__defaults__
    monkeypatch.setattr(Analyzer.__init__, "__defaults__", (defaults[0], tmp_path / "emotion.json"))
    assert main(["analyze", str(media("single_face.jpg")), "--emotion-labels", "fer2013"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == ("error: emotion labels 'fer2013' are not offered by emotion.json "
                                         "(offered: mixed)")
    assert main(["analyze", str(media("single_face.jpg")), "--json"]) == 0   # the mix it still serves
    assert json.loads(capsys.readouterr().out)["faces"][0]["emotion"]["label"] == "happy"


def test_face_crops_mode(tmp_path, astronaut, capsys):
    from PIL import Image

    p = tmp_path / "crop.png"
    Image.fromarray(astronaut[60:190, 165:290]).resize((48, 48)).convert("L").save(p)
    assert main(["analyze", "--face-crops", "--json", str(p)]) == 0
    (row,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert row["faces"][0]["box"] == [0, 0, 48, 48] and row["faces"][0]["score"] is None


def test_usage_error_exits_two():
    r = subprocess.run([sys.executable, "-m", "facial_feedback.cli", "analyze"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr
    r = subprocess.run([sys.executable, "-m", "facial_feedback.cli", "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2


def test_video_csv_rows_per_face_per_frame(tmp_path, capsys):
    out = tmp_path / "v.csv"
    ann = tmp_path / "v.mp4"
    code = main(["video", str(media("single_face.mp4")), "-o", str(out), "--annotate", str(ann), "--every", "2"])
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 36  # 72 frames, every 2nd, one face each
    assert {r["track_id"] for r in rows} == {"1"}
    assert set(rows[0]) >= {"frame", "time", "track_id", "x", "y", "w", "h", "yaw", "pitch", "roll", "emotion", "p_happy"}
    assert [int(r["frame"]) for r in rows[:3]] == [0, 2, 4]
    assert ann.stat().st_size > 10_000
    import cv2

    cap = cv2.VideoCapture(str(ann))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 36
    cap.release()


def test_video_json_to_stdout_and_no_face_video(capsys):
    assert main(["video", str(media("no_face.mp4")), "--json", "-q", "--every", "5"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines and all(fr["faces"] == [] for fr in lines)
    assert all("time" in fr and "frame" in fr for fr in lines)


def test_video_bad_file_says_why(tmp_path, capsys):
    p = tmp_path / "broken.mp4"
    p.write_bytes(b"garbage" * 1000)
    assert main(["video", str(p)]) == 1
    assert "broken.mp4" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["a folder", "no folder", "annotate into a folder"])
def test_video_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, where):
    """A folder given where a file belongs (or a missing folder) is a usage error named up front,
    not a traceback at the final rename after the whole video was analysed."""
    args = {"a folder": ["-o", str(tmp_path)],
            "no folder": ["-o", str(tmp_path / "missing" / "x.csv")],
            "annotate into a folder": ["-o", str(tmp_path / "x.csv"), "--annotate", str(tmp_path)]}[where]
    assert main(["video", str(media("single_face.mp4")), "-q", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and ("is a directory" in err or "does not exist" in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == []   # nothing written, not even a partial


def test_a_file_where_a_folder_belongs_is_a_usage_error(tmp_path, capsys):
    """analyze --annotate and batch --out name folders: a file there is said, not a traceback."""
    f = tmp_path / "taken.csv"
    f.write_text("mine\n")
    assert main(["analyze", str(media("single_face.jpg")), "--annotate", str(f)]) == 2
    assert "taken.csv" in capsys.readouterr().err
    assert main(["batch", str(media("single_face.jpg")), "--out", str(f), "-q"]) == 2
    assert "is a file" in capsys.readouterr().err
    from facial_feedback.batch import run_batch

    with pytest.raises(ValueError, match="is a file"):   # the Python API: the same check
        run_batch([str(media("single_face.jpg"))], f)
    assert f.read_text() == "mine\n"


def test_webcam_without_display_says_so(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["webcam"]) == 1
    assert "no display" in capsys.readouterr().err
