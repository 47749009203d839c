"""`facial-feedback batch` / `ff.analyze_many` on the local process pool: real clips, real
models, real worker processes killed with SIGKILL, a real Ctrl-C and a re-run."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facial_feedback.batch import SUMMARY_COLUMNS, BatchProgress, analyze_many
from facial_feedback.cli import main
from facial_feedback.types import EMOTIONS

from .batch_clips import make_clip, make_collection

pytestmark = pytest.mark.slow


def read_summary(out: Path):
    with open(out / "summary.csv", newline="") as f:
        return {r["output"] or r["path"]: r for r in csv.DictReader(f)}


def final_files(out: Path):
    """Every file under its final name (the scratch folder and temporary names excluded)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if p.is_file() and ".ff-tmp" not in p.parts and not p.name.startswith("."))


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    return make_collection(tmp_path_factory.mktemp("batch") / "in")


def test_cli_batch_mirrors_paths_writes_summary_and_fails_one_alone(collection, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(collection), str(tmp_path / "missing.mp4"), "--out", str(out), "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 1  # one broken input, one missing: named, the others analysed and written
    rows = read_summary(out)
    assert set(rows) == {"a/clip.mp4", "b/clip.mp4", "b/photo.jpg", "a/broken.mp4", str(tmp_path / "missing.mp4")}
    with open(out / "summary.csv", newline="") as f:
        assert tuple(next(csv.reader(f))) == SUMMARY_COLUMNS
    for key, frames in (("a/clip.mp4", 20), ("b/clip.mp4", 16)):
        r = rows[key]
        assert r["status"] == "ok" and r["error"] == "" and r["kind"] == "video"
        assert int(r["frames"]) == frames and int(r["face_frames"]) == frames and int(r["tracks"]) == 1
        assert abs(float(r["duration_s"]) - frames / 30.0) < 0.05
        assert float(r["fps"]) > 0 and float(r["wall_s"]) > 0 and ":" in r["worker"]
        assert abs(sum(float(r["share_" + e]) for e in EMOTIONS) - 1.0) < 1e-3
        assert float(r["blinks_per_min"]) >= 0 and 0 <= float(r["perclos"]) <= 1 and int(r["look_aways"]) >= 0
        # the same outputs as `facial-feedback video -o` writes, at the mirrored path
        with open(out / (key + ".csv"), newline="") as f:
            video_rows = list(csv.DictReader(f))
        assert len({v["frame"] for v in video_rows}) == frames
        assert (out / (key + ".events.csv")).exists() and (out / (key + ".states.csv")).exists()
    photo = rows["b/photo.jpg"]
    assert photo["status"] == "ok" and photo["kind"] == "image" and int(photo["tracks"]) == 1
    result = json.loads((out / "b/photo.jpg.json").read_text())
    assert len(result["faces"]) == 1 and result["faces"][0]["emotion"]["label"] in EMOTIONS
    broken = rows["a/broken.mp4"]
    assert broken["status"] == "failed" and "cannot open" in broken["error"]
    assert rows[str(tmp_path / "missing.mp4")]["error"] == "no such file or folder"
    failures = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(failures) == 2 and any("broken.mp4: cannot open" in f for f in failures)
    assert "2 of 5 inputs failed" in err
    # nothing of the broken input under a final name, and no scratch left behind
    assert not [p for p in final_files(out) if "broken" in p]
    assert not (out / ".ff-tmp").exists()


def test_summary_parquet_matches_csv(collection, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="make test installs pyarrow (summary.parquet)")
    out = tmp_path / "out"
    rows = analyze_many([collection / "b"], out=out, workers=1, as_frame=False)
    table = pq.read_table(out / "summary.parquet").to_pylist()
    assert [r["output"] for r in table] == [r["output"] for r in rows] == ["clip.mp4", "photo.jpg"]
    assert table[0]["frames"] == 16 and table[0]["share_happy"] == rows[0]["share_happy"]
    assert tuple(table[0]) == SUMMARY_COLUMNS


def test_analyze_many_returns_rows_and_never_imports_ray(collection, tmp_path):
    code = ("import sys, facial_feedback as ff\n"
            f"rows = ff.analyze_many([{str(collection / 'b' / 'photo.jpg')!r}], out={str(tmp_path / 'o')!r}, workers=1)\n"
            "try:\n    import pandas\n    rows = rows.to_dict('records')\nexcept ImportError:\n    pass\n"
            "print(rows[0]['status'], rows[0]['tracks'], 'ray' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["ok", "1", "False"]


def test_usage_errors_exit_2(collection, tmp_path, capsys):
    assert main(["batch", str(collection), "--out", str(tmp_path / "o"), "--ship"]) == 2
    assert "--ship needs --ray" in capsys.readouterr().err
    assert main(["batch", str(collection), "--out", str(tmp_path / "o"), "--every", "0"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["batch", str(collection)])  # no --out
    assert e.value.code == 2


def test_progress_bar_shows_inputs_fps_and_eta():
    import io

    s = io.StringIO()
    p = BatchProgress(total_inputs=4, total_frames=400, draw=True, stream=s)
    p.done, p.frames_done = 1, 100
    p.t0 -= 2.0  # two seconds in: 50 fps, 300 frames left
    p.update(force=True)
    line = s.getvalue()
    assert "1/4 inputs" in line and " 50 fps" in line and "ETA 0m06s" in line


def kill_on_progress(key_to_times):
    """An on_event hook that SIGKILLs the worker process analysing `key` once it has done a few
    frames, up to `times` times per key (each kill hits a fresh worker)."""
    killed = []

    def hook(ev):
        if ev["event"] != "progress" or ev["key"] not in key_to_times or not ev.get("frames"):
            return
        pid = int(ev["worker"].rsplit(":", 1)[1])
        if sum(k == ev["key"] for k, _ in killed) < key_to_times[ev["key"]] and (ev["key"], pid) not in killed:
            killed.append((ev["key"], pid))
            os.kill(pid, signal.SIGKILL)
    hook.killed = killed
    return hook


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("long") / "in"
    make_clip(root / "once.mp4", 150)
    make_clip(root / "always.mp4", 300)  # long enough to be seen in progress twice
    make_clip(root / "short.mp4", 10)
    (root / "bad.mov").write_bytes(b"\0" * 100)
    return root


def check_kill_results(rows, hook):
    by = {r["output"]: r for r in rows}
    assert [k for k, _ in hook.killed].count("once.mp4") == 1
    assert [k for k, _ in hook.killed].count("always.mp4") == 2
    once = by["once.mp4"]
    assert once["status"] == "ok" and once["attempts"] == 2 and once["frames"] == 150  # retried, complete
    always = by["always.mp4"]
    assert always["status"] == "failed" and always["attempts"] == 2
    assert "died 2 times" in always["error"]
    assert by["short.mp4"]["status"] == "ok" and by["short.mp4"]["attempts"] == 1
    assert by["bad.mov"]["status"] == "failed" and by["bad.mov"]["attempts"] == 1  # bad input: no retry


def test_worker_killed_mid_video_is_retried_and_twice_fails(long_clips, tmp_path):
    hook = kill_on_progress({"once.mp4": 1, "always.mp4": 2})
    out = tmp_path / "out"
    rows = analyze_many([long_clips], out=out, workers=2, on_event=hook, as_frame=False)
    check_kill_results(rows, hook)
    assert "SIGKILL" in {r["output"]: r for r in rows}["always.mp4"]["error"]
    with open(out / "once.mp4.csv", newline="") as f:
        assert len({r["frame"] for r in csv.DictReader(f)}) == 150  # the retry's complete file
    assert not [p for p in final_files(out) if p.startswith("always")]


@pytest.mark.parametrize("stop", ["ctrl-c", "crash"])
def test_interrupted_then_rerun_redoes_nothing_finished(tmp_path, stop):
    """Ctrl-C at a terminal (SIGINT to the process group), or the driver killed with SIGKILL
    (its workers notice they are orphaned and exit); then the same command again."""
    inputs = tmp_path / "in"
    # The last clip is long, so that on a loaded machine the batch is still running when the
    # signal comes after the first finished input.
    lengths = {f"c{i}.mp4": n for i, n in enumerate((90, 90, 90, 600))}
    for name, n in lengths.items():
        make_clip(inputs / name, n)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "facial_feedback.cli", "batch", str(inputs), "--out", str(out), "--workers", "1", "-q"]
    # Ctrl-C as at a terminal: a suite started in the background by a non-interactive shell
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler (the batch
    # would run on and exit 0), so the driver gets the terminal's default back first.
    interactive = [sys.executable, "-c", "import runpy, signal, sys; signal.signal(signal.SIGINT, "
                   "signal.default_int_handler); sys.argv = ['facial-feedback'] + sys.argv[1:]; "
                   "runpy.run_module('facial_feedback.cli', run_name='__main__')"] + cmd[3:]
    p = subprocess.Popen(interactive, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*.summary.json")) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert p.poll() is None, "the batch ended before it could be interrupted"
        if stop == "ctrl-c":
            os.killpg(p.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole process group
        else:
            p.kill()  # the driver alone dies at once; nothing of it runs any more
        p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == (130 if stop == "ctrl-c" else -signal.SIGKILL), (p.returncode, p.stderr.read()[-2000:])
    done = sorted(m.name[: -len(".summary.json")] for m in out.glob("*.summary.json"))
    worker_pid = int(json.loads((out / (done[0] + ".summary.json")).read_text())["row"]["worker"].rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the worker does not outlive its driver
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(worker_pid, signal.SIGKILL)
        pytest.fail("the worker process outlived its driver")
    assert 1 <= len(done) < 4
    # what sits under a final name belongs to a finished input; no summary yet, no half file
    assert all(f.split(".mp4")[0] + ".mp4" in done for f in final_files(out)), final_files(out)
    stamps = {f: (out / f).stat().st_mtime_ns for f in final_files(out)}
    workers_before = {d: json.loads((out / (d + ".summary.json")).read_text())["row"]["worker"] for d in done}

    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    rows = read_summary(out)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows.values())
    assert {Path(k).name: int(r["frames"]) for k, r in rows.items()} == lengths
    for d in done:  # finished before the interrupt: not redone
        assert rows[d]["worker"] == workers_before[d]
    for f, ns in stamps.items():
        assert (out / f).stat().st_mtime_ns == ns


def test_rerun_redoes_an_input_only_when_its_file_or_settings_change(collection, tmp_path):
    from facial_feedback.pipeline import AnalyzerConfig

    out = tmp_path / "out"
    photo = collection / "b" / "photo.jpg"
    first = analyze_many([photo], out=out, workers=1, as_frame=False)[0]
    again = analyze_many([photo], out=out, workers=1, as_frame=False)[0]
    assert again["worker"] == first["worker"] and again["wall_s"] == first["wall_s"]  # not redone
    other = analyze_many([photo], out=out, workers=1, config=AnalyzerConfig(min_face_score=0.9), as_frame=False)[0]
    assert other["worker"] != first["worker"] and other["status"] == "ok"  # new settings: redone
