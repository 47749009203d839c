"""The package as users get it (issue 15): the wheel's contents, start-up imports, environment.yml.

The full install-and-run check (a fresh Python 3.13 venv outside the checkout, `analyze` and
`serve`) is scripts/check_wheel.sh, which CI runs after the suite.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

PKG = REPO / "src" / "facial_feedback"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_files():
    """The checkout as git sees it: tracked files plus new ones that are not ignored."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built the way a user builds one (`pip wheel .`, build isolation, the setup.py hook
    running npm) from a clean copy of the checkout: no node_modules, no static/vendor."""
    if shutil.which("npm") is None:
        pytest.skip("needs npm (the wheel build copies the front-end files from npm)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    for f in _git_files():
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, src / f)
    assert not (src / "node_modules").exists() and not (src / PKG.relative_to(REPO) / "web/static/vendor").exists()
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), "."],
                       cwd=src, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = (tmp / "dist").glob("facial_feedback-*.whl")
    return whl, src


@pytest.mark.slow
def test_wheel_carries_templates_static_vendor_and_models(wheel):
    whl, src = wheel
    z = zipfile.ZipFile(whl)
    names = set(z.namelist())
    # every file of the package that git has is in the wheel, byte for byte (templates, static,
    # models, samples, code)
    for f in _git_files():
        if f.startswith("src/facial_feedback/") and not f.endswith((".gitignore", ".pyc")):
            arc = f[len("src/"):]
            assert arc in names, f"{arc} is missing from {whl.name}"
            assert _sha(z.read(arc)) == _sha((REPO / f).read_bytes()), f"{arc} differs from the checkout"
    for needed in ("facial_feedback/web/templates/base.html", "facial_feedback/web/templates/live.html",
                   "facial_feedback/web/static/js/overlay.js", "facial_feedback/web/static/css/app.css",
                   "facial_feedback/models/emotion.onnx", "facial_feedback/models/emotion.json"):
        assert needed in names
    # the front-end files from npm: package.json's vendorFiles, as npm ci installed them in the copy
    vendor = json.loads((REPO / "package.json").read_text())["vendorFiles"]
    assert "chart.js/dist/chart.umd.min.js" in vendor
    for npm_path, name in vendor.items():
        arc = f"facial_feedback/web/static/vendor/{name}"
        assert arc in names, f"{arc} (from npm) is missing from {whl.name}"
        assert _sha(z.read(arc)) == _sha((src / "node_modules" / npm_path).read_bytes())
    lock = json.loads((REPO / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/chart.js"]["version"]
    assert f"v{version}" in z.read("facial_feedback/web/static/vendor/chart.umd.min.js")[:400].decode()
    # nothing from outside the package
    assert not [n for n in names if n.startswith(("tests/", "node_modules/", "training/", "benchmarks/"))]
    meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Python:" in meta
    entry = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "facial-feedback = facial_feedback.cli:main" in entry


def test_vendor_without_npm_install_names_what_is_missing(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import vendor_web
    finally:
        sys.path.pop(0)
    shutil.copy(REPO / "package.json", tmp_path)
    shutil.copy(REPO / "package-lock.json", tmp_path)
    with pytest.raises(vendor_web.VendorError, match="node_modules"):
        vendor_web.vendor(tmp_path / "out", root=tmp_path, install=False)
    assert not (tmp_path / "out").exists()


HEAVY = ("numpy", "cv2", "PIL", "onnxruntime", "mediapipe", "ai_edge_litert", "tflite_runtime", "flask",
         "werkzeug", "torch", "ray", "matplotlib", "skimage")


@pytest.mark.parametrize("code", [
    "import facial_feedback",
    "import facial_feedback.cli",
    "from facial_feedback.cli import build_parser; build_parser().parse_args(['analyze', 'x.jpg'])",
])
def test_start_up_imports_nothing_heavy(code):
    """`import facial_feedback` and the CLI's start-up import the standard library only: each
    subcommand imports its runtimes when it runs (start-up times: benchmarks/bench_startup.py)."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == []


def test_lazy_names_resolve():
    import facial_feedback as ff

    assert ff.Box(0, 0, 2, 3).w == 2 and "happy" in ff.EMOTIONS
    assert callable(ff.annotate) and callable(ff.load_image) and ff.Analyzer.__name__ == "Analyzer"
    assert set(ff.__all__) <= set(dir(ff))
    with pytest.raises(AttributeError):
        ff.no_such_name


# ---- environment.yml (the seed's `conda env create -p condaenv/ -f environment.yml`) ---------------

def _parse_environment_yml(text: str) -> dict:
    """The YAML subset environment.yml uses (a mapping of scalars and lists, one nested pip list),
    parsed strictly: anything else is an error. PyYAML, where installed, must agree."""
    doc: dict = {}
    key = None
    pip = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if indent == 0:
            m = re.fullmatch(r"([A-Za-z_]+):\s*(.*)", body)
            assert m, f"line {n}: expected 'key: value', got {raw!r}"
            key, value = m.groups()
            doc[key] = value if value else []
            pip = None
        elif indent == 2 and body.startswith("- "):
            item = body[2:].strip()
            if item == "pip:":
                pip = []
                doc[key].append({"pip": pip})
            else:
                doc[key].append(item)
                pip = None
        elif indent == 6 and body.startswith("- ") and pip is not None:
            pip.append(body[2:].strip())
        else:
            raise AssertionError(f"line {n}: unexpected {raw!r}")
    return doc


def test_environment_yml_parses_and_matches_requirements():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import sync_environment
    finally:
        sys.path.pop(0)
    text = (REPO / "environment.yml").read_text()
    env = _parse_environment_yml(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == env
    hint = "environment.yml is out of date with requirements.txt: run python3 scripts/sync_environment.py"
    assert env["name"] == "facial-feedback" and "conda-forge" in env["channels"]
    deps = env["dependencies"]
    (python,) = [d for d in deps if isinstance(d, str) and re.match(r"python[=<>]", d)]
    assert "pip" in deps and "nodejs" in deps
    (pip,) = [d["pip"] for d in deps if isinstance(d, dict)]
    assert pip == sync_environment.pip_lines(), hint
    # every runtime pin of requirements.txt, exactly
    pins = [x for x in sync_environment.pip_lines() if "==" in x]
    assert pins and all(p in pip for p in pins), hint
    # the conda Python is one the package allows (pyproject's requires-python)
    m = re.search(r'^requires-python\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    version = tuple(int(x) for x in python.split("=")[-1].split(".")[:2])
    for spec in m.group(1).split(","):
        op, v = re.fullmatch(r"\s*(>=|<=|==|<|>)\s*([\d.]+)\s*", spec).groups()
        w = tuple(int(x) for x in v.split(".")[:2])
        assert {">=": version >= w, "<=": version <= w, "==": version == w, "<": version < w,
                ">": version > w}[op], f"environment.yml's {python} is outside requires-python {m.group(1)}"
    assert text == sync_environment.render(), hint
