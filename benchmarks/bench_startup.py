"""Start-up of `facial-feedback analyze photo.jpg`: imports, model loading, first face.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5] [--python PY] [--photo IMG] [--markdown]

Every run is a fresh process of PY (default: this interpreter), so nothing is cached in
memory between runs (the OS file cache is warm after the first: that is what a user running
the command in a loop over files sees). Per run:

- reference: `PY -c pass`, the interpreter's own start, measured in the same run; the other
  figures are also given as a ratio to it, because this machine is shared and noisy;
- phases, timed inside one process with time.perf_counter():
  `import facial_feedback.cli` (what every subcommand pays), `from facial_feedback.pipeline
  import Analyzer` (the modules `analyze` needs), `Analyzer()` (model files read, runtimes
  built, including the imports they trigger), the first `analyze_image` (includes any work
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
a = Analyzer()
t3 = time.perf_counter()
r1 = a.analyze_image(sys.argv[1])
t4 = time.perf_counter()
r2 = a.analyze_image(sys.argv[1])
t5 = time.perf_counter()
assert len(r1.faces) >= 1, "no face found"
print("PHASES " + json.dumps({"import_cli": t1 - t0, "import_pipeline": t2 - t1, "analyzer": t3 - t2,
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--python", default=sys.executable, help="interpreter with facial_feedback installed")
    ap.add_argument("--photo", type=Path, default=PHOTO)
    ap.add_argument("--top", type=int, default=8, help="packages listed by import time")
    ap.add_argument("--markdown", action="store_true", help="print table rows for docs/benchmarks.md")
    ns = ap.parse_args(argv)
    if not ns.photo.exists():
        print(f"error: {ns.photo} not found", file=sys.stderr)
        return 1
    py = ns.python
    load0 = os.getloadavg()
    wall([py, "-c", "pass"])  # warm the file cache once
    wall([py, "-m", "facial_feedback.cli", "analyze", str(ns.photo)])
    ref, e2e, ph, imp = [], [], [], []
    for _ in range(ns.repeat):
        ref.append(wall([py, "-c", "pass"]))
        ph.append(phases(py, ns.photo))
        imp.append(imports(py, ns.photo))
        e2e.append(wall([py, "-m", "facial_feedback.cli", "analyze", str(ns.photo)]))
    load1 = os.getloadavg()
    med = statistics.median
    version = subprocess.run([py, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    r = med(ref)
    rows = [("interpreter start (`-c pass`, reference)", r)]
    for k, label in [("import_cli", "import facial_feedback.cli"), ("import_pipeline", "import the pipeline modules"),
                     ("analyzer", "Analyzer() (models loaded)"), ("first_image", "first analyze_image"),
                     ("second_image", "second analyze_image (steady state)")]:
        rows.append((label, med([p[k] for p in ph])))
    total_imp = [sum(d.values()) for d in imp]
    rows.append(("all imports (-X importtime, self times summed)", med(total_imp)))
    rows.append(("`analyze IMG` end to end (process wall)", med(e2e)))
    pkgs = sorted({k for d in imp for k in d}, key=lambda k: -med([d.get(k, 0.0) for d in imp]))
    print(f"# python {version} ({py}), {ns.photo.name}, {ns.repeat} runs, "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after")
    print(f"{'phase':<52} {'median s':>9} {'x ref':>7}")
    for label, v in rows:
        print(f"{label:<52} {v:9.3f} {v / r:7.1f}")
    print("imports by top-level package (median s):")
    for k in pkgs[:ns.top]:
        print(f"  {k:<30} {med([d.get(k, 0.0) for d in imp]):.3f}")
    if ns.markdown:
        top = ", ".join(f"{k} {med([d.get(k, 0.0) for d in imp]):.2f}" for k in pkgs[:ns.top])
        print("\n| python | ref `-c pass` s | import cli s | all imports s | Analyzer() s | first image s | "
              "second image s | end to end s (x ref) | largest imports (s) |")
        ph_med = {k: med([p[k] for p in ph]) for k in ph[0] if k != "faces"}
        print(f"| {version} | {r:.3f} | {ph_med['import_cli']:.3f} | {med(total_imp):.3f} | {ph_med['analyzer']:.3f} | "
              f"{ph_med['first_image']:.3f} | {ph_med['second_image']:.3f} | {med(e2e):.2f} ({med(e2e) / r:.0f}x) | {top} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
