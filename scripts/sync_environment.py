#!/usr/bin/env python3
"""Write environment.yml from requirements.txt: the seed's conda path,

    conda env create -p condaenv/ -f environment.yml

gives Python plus requirements.txt's pip lines, pin for pin (tests/test_packaging.py checks
that the two agree). Run this after changing requirements.txt:

    python3 scripts/sync_environment.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"  # the interpreter CI runs the suite on (make test)

HEADER = """\
# The seed's conda path (conda, not pip, provides Python and Node.js):
#
#   conda env create -p condaenv/ -f environment.yml
#   conda activate ./condaenv
#   facial-feedback serve          # or: flask run, facial-feedback analyze photo.jpg
#
# Written by scripts/sync_environment.py from requirements.txt: the same pip lines, pin for pin
# (tests/test_packaging.py checks). nodejs gives npm, which the package build uses to copy the
# web app's front-end files (package.json) into the package; nothing is fetched at run time.
"""


def pip_lines(requirements: Path = ROOT / "requirements.txt"):
    out = []
    for line in requirements.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def render() -> str:
    lines = [HEADER.rstrip("\n"), "name: facial-feedback", "channels:", "  - conda-forge", "dependencies:",
             f"  - python={PYTHON}", "  - pip", "  - nodejs", "  - pip:"]
    lines += [f"      - {x}" for x in pip_lines()]
    return "\n".join(lines) + "\n"


def main() -> int:
    target = ROOT / "environment.yml"
    text = render()
    if target.exists() and target.read_text() == text:
        print(f"{target.name} is up to date")
        return 0
    tmp = target.with_suffix(".yml.tmp")
    tmp.write_text(text)
    tmp.replace(target)
    print(f"wrote {target.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
