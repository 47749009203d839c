"""`facial-feedback batch --ray` on a real Ray cluster on this machine: a head and a second node
started with `ray start` on 127.0.0.1 (token authentication on), actors in their own processes on
both nodes, the real models, actors killed with SIGKILL. Skipped only where Ray is not installed
(`make test` installs it: facial-feedback[cluster])."""
from __future__ import annotations

import filecmp
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facial_feedback.batch import analyze_many
from facial_feedback.cli import main

from .batch_clips import make_clip, make_collection
from .test_batch import check_kill_results, kill_on_progress, read_summary

# Not imported here: Ray reads its authentication mode once per process, and the fixture sets it first.
if importlib.util.find_spec("ray") is None:
    pytest.skip("make test installs Ray (pip install -e '.[cluster]')", allow_module_level=True)
pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_node(args, env):
    """`ray start --block ...` in its own process group; returns once the node is up."""
    p = subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
                          "--num-cpus=1", "--object-store-memory=100000000", *args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    deadline = time.monotonic() + 180
    for line in p.stdout:
        lines.append(line)
        if "Ray runtime started" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise RuntimeError("ray start failed:\n" + "".join(lines[-30:]))
    # keep draining its output so it never blocks on a full pipe
    import threading

    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    return p


def _stop_node(p) -> None:
    """SIGTERM to `ray start --block`: it stops its node's processes; then anything left in its
    process group is killed."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    p.wait(timeout=10)


@pytest.fixture(scope="module")
def ray_cluster():
    """Head + one worker node on 127.0.0.1, one CPU each; yields the head's address."""
    port = _free_port()
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS")}
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    os.environ.pop("RAY_ADDRESS", None)
    env = dict(os.environ)
    nodes = []
    try:
        nodes.append(_start_node(["--head", f"--port={port}", "--include-dashboard=false"], env))
        nodes.append(_start_node([f"--address=127.0.0.1:{port}", "--dashboard-agent-listen-port=0"], env))
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both nodes registered with the head
            out = subprocess.run([RAY, "status", f"--address={address}"], env=env, capture_output=True, text=True)
            if out.stdout.count(" node_") >= 2 and "2.0 CPU" in out.stdout:
                break
            time.sleep(1)
        else:
            raise RuntimeError("the second node did not join:\n" + out.stdout + out.stderr)
        yield address
    finally:
        for p in reversed(nodes):
            _stop_node(p)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    return make_collection(tmp_path_factory.mktemp("rbatch") / "in")


@pytest.fixture(scope="module")
def local_out(collection, tmp_path_factory):
    """The same collection on the local pool, to compare Ray's outputs with."""
    out = tmp_path_factory.mktemp("rlocal") / "out"
    analyze_many([collection], out=out, workers=1, as_frame=False)
    return out


def _same_outputs(a: Path, b: Path, keys):
    for k in keys:
        for suffix in (".csv", ".events.csv", ".states.csv") if k.endswith(".mp4") else (".json",):
            assert filecmp.cmp(a / (k + suffix), b / (k + suffix), shallow=False), k + suffix


def test_ray_without_address_starts_a_local_instance(collection, tmp_path, local_out):
    """In a process of its own: Ray keeps per-process state (its auth token among it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["HOME"] = str(tmp_path / "home")  # the token a new local instance makes goes to ~/.ray: not the user's
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "facial_feedback.cli", "batch", str(collection / "b"), "--out",
                          str(out), "--workers", "1", "--ray"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = read_summary(out)
    assert [(k, r["status"]) for k, r in rows.items()] == [("clip.mp4", "ok"), ("photo.jpg", "ok")]
    _same_outputs(out, local_out / "b", ["clip.mp4", "photo.jpg"])


def test_cli_on_the_cluster_matches_the_local_pool(ray_cluster, collection, local_out, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_cluster)  # `--ray` alone joins RAY_ADDRESS
    out = tmp_path / "out"
    code = main(["batch", str(collection), "--out", str(out), "--ray"])
    err = capsys.readouterr().err
    assert code == 1 and "broken.mp4: cannot open" in err
    rows = read_summary(out)
    ok = [k for k, r in rows.items() if r["status"] == "ok"]
    assert sorted(ok) == ["a/clip.mp4", "b/clip.mp4", "b/photo.jpg"]
    assert len({rows[k]["worker"] for k in ok}) == 2  # two actors, one per node's CPU, both used
    _same_outputs(out, local_out, ok)  # the driver wrote exactly what the local pool writes
    local_rows = read_summary(local_out)
    for k in ok:
        for col in ("frames", "face_frames", "tracks", "share_happy", "blinks_per_min", "perclos"):
            assert rows[k][col] == local_rows[k][col]


def test_ship_through_the_object_store(ray_cluster, collection, local_out, tmp_path):
    rows = analyze_many([collection], out=tmp_path / "out", ray=ray_cluster, ship=True, as_frame=False)
    ok = [r["output"] for r in rows if r["status"] == "ok"]
    assert sorted(ok) == ["a/clip.mp4", "b/clip.mp4", "b/photo.jpg"]
    _same_outputs(tmp_path / "out", local_out, ok)


def test_actor_killed_mid_video_is_retried_and_twice_fails(ray_cluster, tmp_path):
    root = tmp_path / "in"
    make_clip(root / "once.mp4", 150)
    make_clip(root / "always.mp4", 300)  # long enough to be seen in progress twice
    make_clip(root / "short.mp4", 10)
    (root / "bad.mov").write_bytes(b"\0" * 100)
    hook = kill_on_progress({"once.mp4": 1, "always.mp4": 2})
    rows = analyze_many([root], out=tmp_path / "out", ray=ray_cluster, on_event=hook, as_frame=False)
    check_kill_results(rows, hook)
    assert "Ray actor" in {r["output"]: r for r in rows}["always.mp4"]["error"]
    shutil.rmtree(root)


def test_cluster_yaml_is_a_valid_ray_up_config():
    """deploy/ray-cluster.yaml (docs/cluster.md) passes the checks `ray up` runs first."""
    import yaml
    from ray.autoscaler._private.util import prepare_config, validate_config

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "deploy" / "ray-cluster.yaml").read_text())
    full = prepare_config(cfg)
    validate_config(full)
    assert cfg["provider"]["type"] == "local" and len(cfg["provider"]["worker_ips"]) == cfg["max_workers"]
    starts = " ".join(cfg["head_start_ray_commands"] + cfg["worker_start_ray_commands"])
    assert starts.count("RAY_AUTH_MODE=token") == 2 and "[cluster]" in " ".join(cfg["setup_commands"])
