"""Build hook only; everything else about the package is in pyproject.toml.

The wheel must carry the web app's front-end libraries (chart.js from npm, see package.json's
"vendorFiles"), which are not in git. build_py copies them into the built package, running
`npm ci` when node_modules is missing or stale, so `pip install .`, `pip wheel .` and
`python -m build` from a clean checkout give a wheel that serves them without npm and without
a download at run time. An editable install (`pip install -e .`) puts them into the source
tree's static/vendor instead, as scripts/setup_web.sh does. `python -m build` works too: the
sdist carries package.json, package-lock.json and scripts/vendor_web.py (MANIFEST.in).
"""
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR_IN_PACKAGE = os.path.join("facial_feedback", "web", "static", "vendor")


class build_py_with_web_assets(build_py):
    def run(self):
        super().run()
        sys.path.insert(0, os.path.join(HERE, "scripts"))
        try:
            import vendor_web
        finally:
            sys.path.pop(0)
        editable = getattr(self, "editable_mode", False)
        if editable:
            dest = os.path.join(HERE, "src", VENDOR_IN_PACKAGE)
        else:
            dest = os.path.join(self.build_lib, VENDOR_IN_PACKAGE)
        try:
            written = vendor_web.vendor(Path(dest), root=Path(HERE))
        except vendor_web.VendorError as e:
            if editable:  # a checkout: scripts/setup_web.sh (make run / make test) installs npm and copies them
                self.announce(f"warning: front-end files not copied ({e}); run scripts/setup_web.sh", level=3)
                return
            # An sdist built where npm ran already holds the files: then they are enough.
            have = all(os.path.isfile(os.path.join(dest, n)) for n in vendor_web.vendor_files(Path(HERE)).values())
            if not have:
                raise SystemExit(f"error: the web app's front-end files: {e}")
            self.announce(f"front-end files: using those already in {dest} ({e})", level=3)
            return
        self.announce(f"front-end files from npm: {', '.join(p.name for p in written)} -> {dest}", level=3)


setup(cmdclass={"build_py": build_py_with_web_assets})
