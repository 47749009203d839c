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
.reference/venv/bin/python -c "import mediapipe, numpy, facial_feedback; print('reference', '$REF', 'mediapipe', mediapipe.__version__, 'numpy', numpy.__version__, facial_feedback.__file__)"
