#!/usr/bin/env python3
"""Copy the web app's front-end libraries from npm into a static/vendor folder.

    python3 scripts/vendor_web.py [DEST]     # default DEST: src/facial_feedback/web/static/vendor

One list, used by both ways in: `scripts/setup_web.sh` (a checkout, `make run`) and the wheel
build (`setup.py`'s build_py copies the files into the built package, so an installed wheel
serves them without npm and without any download at run time). The files to copy are the
"vendorFiles" map of package.json (path under node_modules -> name in DEST); the versions are
the ones package-lock.json pins. `npm ci` runs when node_modules is missing or older than the
lock file. Standard library only: it runs inside the isolated build environment.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = Path("src") / "facial_feedback" / "web" / "static" / "vendor"


class VendorError(RuntimeError):
    pass


def vendor_files(root: Path = ROOT) -> Dict[str, str]:
    """package.json's "vendorFiles": {path under node_modules: file name in static/vendor}."""
    with open(root / "package.json", encoding="utf-8") as f:
        files = json.load(f).get("vendorFiles")
    if not files:
        raise VendorError(f"{root / 'package.json'} has no \"vendorFiles\" map")
    return dict(files)


def _stale(root: Path, files: Dict[str, str]) -> bool:
    nm = root / "node_modules"
    if not all((nm / src).is_file() for src in files):
        return True
    installed = nm / ".package-lock.json"  # written by npm ci / npm install
    lock = root / "package-lock.json"
    return not installed.exists() or lock.stat().st_mtime > installed.stat().st_mtime


def find_npm():
    """npm on PATH, else beside this interpreter (a conda env's nodejs while `conda env create`
    installs the pip part, before the env is activated)."""
    return shutil.which("npm") or shutil.which("npm", path=os.path.dirname(sys.executable)) \
        or shutil.which("npm", path=os.path.join(sys.prefix, "bin"))


def npm_ci(root: Path = ROOT) -> None:
    npm = find_npm()
    if npm is None:
        raise VendorError("npm not found: the web app's front-end libraries (package.json) come from npm; "
                          "install Node.js and npm (Debian: apt-get install -y nodejs npm) and build again")
    cmd = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline"]
    print(f"vendor_web: {' '.join(cmd[1:])} in {root}", file=sys.stderr, flush=True)
    env = dict(os.environ)  # npm's own `#!/usr/bin/env node` finds the node beside it
    env["PATH"] = os.path.dirname(npm) + os.pathsep + env.get("PATH", "")
    r = subprocess.run(cmd, cwd=root, env=env)
    if r.returncode != 0:
        raise VendorError(f"`npm ci` failed in {root} (exit status {r.returncode})")


def vendor(dest: Path, root: Path = ROOT, install: bool = True) -> List[Path]:
    """Copy every vendor file into ``dest`` (each through a temporary file and a rename);
    run ``npm ci`` first when node_modules is missing or stale and ``install`` is true."""
    files = vendor_files(root)
    if _stale(root, files):
        if not install:
            raise VendorError(f"node_modules in {root} is missing or older than package-lock.json")
        npm_ci(root)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for src, name in sorted(files.items()):
        s = root / "node_modules" / src
        if not s.is_file():
            raise VendorError(f"{s} is missing after npm ci: is \"{src}\" right in package.json's vendorFiles?")
        target = dest / name
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(s, tmp)
        os.replace(tmp, target)
        written.append(target)
    return written


def main(argv: List[str]) -> int:
    dest = Path(argv[0]) if argv else ROOT / DEFAULT_DEST
    try:
        written = vendor(dest)
    except VendorError as e:
        print(f"vendor_web: {e}", file=sys.stderr)
        return 1
    print(f"vendor_web: vendor files in {dest}: {' '.join(p.name for p in written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
