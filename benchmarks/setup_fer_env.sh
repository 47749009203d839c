#!/usr/bin/env bash
# A separate virtual environment with the `fer` package and TensorFlow, used only as the
# speed/accuracy reference in benchmarks (fer needs TensorFlow; ours must not).
# OpenCV < 5: the 5.x wheels ship no Haar cascades, which fer uses to find faces.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv-fer
.venv-fer/bin/pip install -q --upgrade pip
.venv-fer/bin/pip install -q "tensorflow==2.20.0" "setuptools<81" "opencv-contrib-python<5" fer==25.10.3
.venv-fer/bin/python -c "import fer, fer.fer, tensorflow as tf; print('fer', fer.__version__, 'tensorflow', tf.__version__)"
