"""Check the PyTorch port of faceres (training/faceres.py) against the original TFJS graph run by
@tensorflow/tfjs under Node (training/node/run_graph.mjs): the pooled 1024-d features on real faces
and on noise, at 224 px (the upstream size) and at the sizes we train at.

    python -m training.faceres_parity            # prints max |diff| / max |feature| per input; exit 1 over 1e-5
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from .faceres import FaceRes, NODE_DIR, default_model_json


def tfjs_features(x_nhwc: np.ndarray, model_json: Path) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "x.f32", Path(d) / "y.f32"
        np.ascontiguousarray(x_nhwc, np.float32).tofile(src)
        n, h, w, c = x_nhwc.shape
        subprocess.run(["node", str(NODE_DIR / "run_graph.mjs"), "graph", str(model_json), str(src),
                        str(n), str(h), str(w), str(c), "global_pooling/Mean", str(dst)],
                       check=True, capture_output=True, text=True, cwd=NODE_DIR)
        return np.fromfile(dst, np.float32).reshape(n, -1)


def real_faces(size: int) -> np.ndarray:
    """RGB faces in 0..255 from scikit-image's samples and the shared photo, (N, size, size, 3)."""
    import cv2
    from skimage import data as skd
    imgs = [skd.astronaut()[0:230, 140:330], skd.chelsea(), skd.coffee()]
    p = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "single_face.jpg"
    if p.exists():
        imgs.append(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
    return np.stack([cv2.resize(i, (size, size), interpolation=cv2.INTER_AREA) for i in imgs]).astype(np.float32)


def check(sizes=(224, 160, 112), model_json: Path | None = None) -> dict:
    model_json = model_json or default_model_json()
    net = FaceRes().eval()
    net.load_tfjs(model_json)
    rng = np.random.default_rng(0)
    res = {}
    for s in sizes:
        rgb = np.concatenate([real_faces(s), rng.uniform(0, 255, (2, s, s, 3)).astype(np.float32)])
        upstream = rgb[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)   # BGR minus Caffe means
        ref = tfjs_features(upstream, model_json)
        with torch.no_grad():
            ours = net.embed(torch.from_numpy(rgb / 255.0).permute(0, 3, 1, 2).contiguous()).numpy()
        res[s] = dict(max_abs=float(np.abs(ours - ref).max()), max_feature=float(np.abs(ref).max()),
                      rel=float(np.abs(ours - ref).max() / np.abs(ref).max()), n=len(rgb))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 160, 112])
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    res = check(a.sizes)
    print(json.dumps(res, indent=1))
    bad = [s for s, r in res.items() if r["rel"] > a.tol]
    if bad:
        print(f"FAIL: sizes {bad} differ by more than {a.tol} of the largest feature", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
