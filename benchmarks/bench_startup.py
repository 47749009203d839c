"""Start-up of `facial-feedback analyze photo.jpg`: imports, model loading, first face.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5] [--python PY] [--photo IMG] [--markdown]

Every run is a fresh process of PY (default: this interpreter), so nothing is cached in
memory between runs (the OS file cache is warm after the first: that is what a user running
the command in a loop over files sees). Per run:

- reference: `PY -c pass`, the interpreter's own start, measured in the same run; the other
  figures are also given as a ratio to it, because this machine is shared and noisy;
- phases, timed inside one process with time.perf_counter():
  `import facial_feedback.cli` (what every subcommand pays), `from facial_feedback.pipeline
  import Analyzer` (the modules `analyze` needs), the model runtimes' imports (mediapipe or
  ai_edge_litert, onnxruntime, cv2: those installed; the package imports them on first use),
  `Analyzer()` (model files read, runtimes built), the first `analyze_image` (includes any work
  deferred to first use) and a second one (steady state: first - second = first-use cost);
- imports: the same phases under `-X importtime`, every module's self time summed, and grouped
  by the package that caused it (see imports());
- end to end: the wall time of `PY -m facial_feedback.cli analyze IMG` (the console script's
  code path), until the process exits.

Medians over the runs; the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "media" / "single_face.jpg"

PHASES = r"""
import sys, time, json
t0 = time.perf_counter()
import facial_feedback.cli
t1 = time.perf_counter()
from facial_feedback.pipeline import Analyzer
t2 = time.perf_counter()
import importlib, importlib.util
for m in ("mediapipe", "ai_edge_litert.interpreter", "onnxruntime", "cv2"):  # those installed
    if importlib.util.find_spec(m.split(".")[0]) is not None:
        importlib.import_module(m)
t2r = time.perf_counter()
a = Analyzer()
t3 = time.perf_counter()
r1 = a.analyze_image(sys.argv[1])
t4 = time.perf_counter()
r2 = a.analyze_image(sys.argv[1])
t5 = time.perf_counter()
assert len(r1.faces) >= 1, "no face found"
print("PHASES " + json.dumps({"import_cli": t1 - t0, "import_pipeline": t2 - t1, "import_runtimes": t2r - t2,
      "analyzer": t3 - t2r,
      "first_image": t4 - t3, "second_image": t5 - t4, "faces": len(r1.faces)}))
"""

IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _env():
    env = dict(os.environ)
    env["FACIAL_FEEDBACK_NATIVE_LOGS"] = "1"  # keep fd 2: -X importtime writes there
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def wall(cmd) -> float:
    t = time.perf_counter()
    # outside the checkout, so an installed package is measured as installed
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(), cwd=PHOTO.parent)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr.decode()[-2000:]}")
    return dt


def phases(py: str, photo: Path) -> dict:
    r = subprocess.run([py, "-c", PHASES, str(photo)], capture_output=True, text=True, env=_env(),
                       cwd=Path(photo).parent)
    line = [x for x in r.stdout.splitlines() if x.startswith("PHASES ")]
    if r.returncode != 0 or not line:
        raise SystemExit(f"phases failed:\n{r.stderr[-2000:]}")
    return json.loads(line[0][7:])


def imports(py: str, photo: Path) -> dict:
    """Import time while running the phases (s), each module's self time under its own top-level
    package ("stdlib" for the standard library), with "(via X)" when the first package outside
    facial_feedback on its import chain is another one (matplotlib pulled in by mediapipe)."""
    r = subprocess.run([py, "-X", "importtime", "-c", PHASES, str(photo)], capture_output=True, text=True,
                       env=_env(), cwd=Path(photo).parent)
    if r.returncode != 0:
        raise SystemExit(f"importtime run failed:\n{r.stderr[-2000:]}")
    # -X importtime prints a module after the modules it imported, indented one level deeper.
    pending: dict = defaultdict(list)
    for line in r.stderr.splitlines():
        m = IMPORTTIME.match(line)
        if not m:
            continue
        depth = (len(m.group(3)) - 1) // 2
        node = (m.group(4), int(m.group(1)) / 1e6, pending.pop(depth + 1, []))
        pending[depth].append(node)
    stdlib = getattr(sys, "stdlib_module_names", ())
    by_pkg: dict = defaultdict(float)

    def group(top):
        return "stdlib" if top in stdlib or top.startswith("_") else top

    def walk(node, owner):
        name, self_s, children = node
        top = group(name.split(".")[0])
        if owner is None and top not in ("facial_feedback", "stdlib"):
            owner = top
        key = top if owner in (None, top) or top == "stdlib" else f"{top} (via {owner})"
        by_pkg[key] += self_s
        for c in children:
            walk(c, owner)

    for root in pending.get(0, []):
        walk(root, None)
    return dict(by_pkg)


def measure_once(py: str, photo: Path) -> dict:
    return {"ref": wall([py, "-c", "pass"]), "phases": phases(py, photo), "imports": imports(py, photo),
            "e2e": wall([py, "-m", "facial_feedback.cli", "analyze", str(photo)])}


def summarise(py: str, runs: list) -> dict:
    med = statistics.median
    imp = [r["imports"] for r in runs]
    out = {"python": py, "ref": med([r["ref"] for r in runs]), "e2e": med([r["e2e"] for r in runs]),
           "imports": med([sum(d.values()) for d in imp])}
    for k in runs[0]["phases"]:
        if k != "faces":
            out[k] = med([r["phases"][k] for r in runs])
    pkgs = sorted({k for d in imp for k in d}, key=lambda k: -med([d.get(k, 0.0) for d in imp]))
    out["by_package"] = [(k, med([d.get(k, 0.0) for d in imp])) for k in pkgs]
    out["version"] = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                                    text=True).stdout.strip()
    return out


ROWS = [("ref", "interpreter start (`-c pass`, reference)"), ("import_cli", "import facial_feedback.cli"),
        ("import_pipeline", "import the pipeline modules"),
        ("import_runtimes", "import the model runtimes (mediapipe / ai_edge_litert, onnxruntime, cv2)"),
        ("analyzer", "Analyzer() (model files read, runtimes built)"),
        ("first_image", "first analyze_image"), ("second_image", "second analyze_image (steady state)"),
        ("imports", "all imports (-X importtime, self times summed)"),
        ("e2e", "`analyze IMG` end to end (process wall)")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--python", action="append", help="interpreter with facial_feedback installed (default: this "
                    "one); give several to compare them, run for run interleaved, the first as the baseline")
    ap.add_argument("--photo", type=Path, default=PHOTO)
    ap.add_argument("--top", type=int, default=8, help="packages listed by import time")
    ap.add_argument("--markdown", action="store_true", help="print table rows for docs/benchmarks.md")
    ns = ap.parse_args(argv)
    if not ns.photo.exists():
        print(f"error: {ns.photo} not found", file=sys.stderr)
        return 1
    pys = ns.python or [sys.executable]
    load0 = os.getloadavg()
    for py in pys:  # warm the file cache once
        wall([py, "-c", "pass"])
        wall([py, "-m", "facial_feedback.cli", "analyze", str(ns.photo)])
    runs: dict = {py: [] for py in pys}
    for _ in range(ns.repeat):
        for py in pys:
            runs[py].append(measure_once(py, ns.photo))
    load1 = os.getloadavg()
    res = [summarise(py, runs[py]) for py in pys]
    print(f"# {ns.photo.name}, {ns.repeat} runs each, interleaved; load average {load0[0]:.1f} before, "
          f"{load1[0]:.1f} after (1-minute)")
    for s in res:
        print(f"\n## python {s['version']} ({s['python']})")
        print(f"{'phase':<52} {'median s':>9} {'x ref':>7}")
        for k, label in ROWS:
            print(f"{label:<52} {s[k]:9.3f} {s[k] / s['ref']:7.1f}")
        print("imports by package (median s):")
        for k, v in s["by_package"][:ns.top]:
            print(f"  {k:<34} {v:.3f}")
    if len(res) > 1:
        base = res[0]
        for s in res[1:]:
            print(f"\n{s['python']} vs {base['python']}: imports x{s['imports'] / base['imports']:.2f}, "
                  f"Analyzer() x{s['analyzer'] / base['analyzer']:.2f}, end to end x{s['e2e'] / base['e2e']:.2f}")
    if ns.markdown:
        print("\n| python | `-c pass` s (ref) | import cli s | all imports s | runtimes' imports s | Analyzer() s | "
              "first image s | second image s | end to end s (x ref) | largest imports s |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for s in res:
            top = ", ".join(f"{k} {v:.2f}" for k, v in s["by_package"][:ns.top])
            print(f"| {s['version']} | {s['ref']:.3f} | {s['import_cli']:.3f} | {s['imports']:.3f} | "
                  f"{s['import_runtimes']:.3f} | {s['analyzer']:.3f} | {s['first_image']:.3f} | {s['second_image']:.3f} | "
                  f"{s['e2e']:.2f} ({s['e2e'] / s['ref']:.0f}x) | {top} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
