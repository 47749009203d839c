"""Installed size of an environment, and of each distribution in it.

    VENV/bin/python benchmarks/install_size.py [--top 12] [--markdown]

Run it with the environment's own interpreter. The environment itself comes from
`KEEP=DIR scripts/check_wheel.sh` (a fresh venv outside the checkout with the wheel and
requirements.txt's pins; CHECK_PY picks the interpreter), so before/after compare like with
like. Sizes are bytes on disk (st_blocks, as `du` counts them) of every file under the venv,
and per distribution of the files its RECORD lists, in MB (10^6 bytes).
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import sys
from pathlib import Path


def disk_bytes(path: Path) -> int:
    try:
        return os.lstat(path).st_blocks * 512
    except OSError:
        return 0


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            total += disk_bytes(Path(dirpath) / name)
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--markdown", action="store_true")
    ns = ap.parse_args(argv)
    venv = Path(sys.prefix)
    dists = []
    for d in md.distributions():
        files = d.files or []
        size = sum(disk_bytes(Path(d.locate_file(f))) for f in files)
        dists.append((size, d.metadata["Name"], d.version))
    dists.sort(reverse=True)
    total = tree_bytes(venv)
    version = sys.version.split()[0]
    print(f"# {venv} (python {version}): {total / 1e6:.0f} MB in all, {len(dists)} distributions")
    for size, name, ver in dists[:ns.top]:
        print(f"  {name}=={ver:<14} {size / 1e6:8.1f} MB")
    if ns.markdown:
        top = ", ".join(f"{name} {size / 1e6:.0f}" for size, name, _ in dists[:ns.top])
        print(f"\n| {version} | {total / 1e6:.0f} | {len(dists)} | {top} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
