"""Tune the live pipeline's face crop so it looks like a FER2013 crop.

    python -m training.tune_crop                     # grid search, prints the best (scale, offset_y)
    python -m training.tune_crop --write-manifest    # also store it in src/facial_feedback/models/emotion.json

Faces: scikit-image's astronaut, ../shared/media/single_face.jpg and multi_face.jpg, and frames of
../shared/media/*.mp4. Each gets MediaPipe's 478-point mesh (FaceMesh, static_image_mode=True,
refine_landmarks=True); each (scale, offset_y) of the grid is cut with the pipeline's own
``facial_feedback.emotion.face_crop`` (roll-aligned on the eyes, square of side
scale * max(mesh bbox width, height), centred on the mesh box centre moved down offset_y * side,
grey, 48x48 INTER_AREA) and scored by its normalised correlation with the mean face of FER2013
Training. The pair with the best mean correlation wins (each photo, and each video's frames
together, weigh the same).
Outputs: runs/tune_crop/result.json and a montage PNG.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from . import data as D

SCALES = np.round(np.arange(0.7, 1.61, 0.05), 3)
OFFSETS = np.round(np.arange(-0.3, 0.201, 0.025), 3)
BAD_CROP = (2.0, 0.25)   # a deliberately poor crop: far too loose and shifted down


def fer_mean_face(limit: int | None = 4000, cache=None) -> np.ndarray:
    """Mean 48x48 face of FER2013 Training (first `limit` images of the FER+ Train folder)."""
    root = D.default_dataset_root() / "ferplus"
    t = D.load_ferplus_folders(root, limit_per_split=limit, cache_dir=cache)
    return t.split("Training").images.astype(np.float64).mean(0)


def ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel(); b = b.astype(np.float64).ravel()
    a = a - a.mean(); b = b - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def media_dir() -> Path:
    return D.repo_root().parent / "shared" / "media"


def face_images(frames_per_video: int = 8) -> list[tuple[str, np.ndarray]]:
    """(name, RGB uint8) photos and video frames with faces."""
    out = []
    try:
        from skimage import data as skd
        out.append(("skimage.astronaut", skd.astronaut()))
    except ImportError:
        pass
    md = media_dir()
    for name in ("single_face.jpg", "multi_face.jpg"):
        p = md / name
        if p.exists():
            out.append((name, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)))
    for p in sorted(md.glob("*.mp4")):
        cap = cv2.VideoCapture(str(p))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        for k in range(frames_per_video):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int((k + 0.5) * n / frames_per_video))
            ok, fr = cap.read()
            if ok:
                out.append((f"{p.name}#{int((k + 0.5) * n / frames_per_video)}", cv2.cvtColor(fr, cv2.COLOR_BGR2RGB)))
        cap.release()
    return out


def meshes(images, max_faces: int = 4):
    """[(name, rgb, landmarks (478,3) in pixels)] for every face the package's detector and mesh find."""
    from facial_feedback.detection import FaceDetector
    from facial_feedback.landmarks import FaceMesher
    det, mesher = FaceDetector(), FaceMesher()
    res = []
    for name, rgb in images:
        dets = sorted(det.detect(rgb), key=lambda d: -d.score)[:max_faces]
        for i, d in enumerate(dets):
            lm = mesher.mesh_face(rgb, d.box, d.keypoints)
            if lm is not None:
                res.append((f"{name}/{i}", rgb, np.asarray(lm, np.float64)))
    return res


def pipeline_crop(rgb, lm, scale: float, offset_y: float, size: int = 48) -> np.ndarray:
    from facial_feedback.emotion import CropSpec, face_crop
    return face_crop(rgb, lm, None, CropSpec(float(scale), float(offset_y), "eyes"), size, grey=True)


def grid_scores(faces, mean_face) -> np.ndarray:
    s = np.zeros((len(SCALES), len(OFFSETS), len(faces)))
    for i, sc in enumerate(SCALES):
        for j, oy in enumerate(OFFSETS):
            for k, (_, rgb, lm) in enumerate(faces):
                s[i, j, k] = ncc(pipeline_crop(rgb, lm, sc, oy), mean_face)
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=8, help="frames sampled per video")
    ap.add_argument("--out", default=str(D.repo_root() / "runs" / "tune_crop"))
    ap.add_argument("--write-manifest", action="store_true")
    a = ap.parse_args(argv)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    mean_face = fer_mean_face(None, cache=D.repo_root() / "runs" / "cache")
    faces = meshes(face_images(a.frames))
    print(f"{len(faces)} faces with a mesh", file=sys.stderr)
    s = grid_scores(faces, mean_face)
    # weight every source (a photo, or all frames of one video) equally
    src = np.array([n.split("#")[0].split("/")[0] for n, _, _ in faces])
    m = np.mean([s[:, :, src == u].mean(2) for u in np.unique(src)], axis=0)
    i, j = np.unravel_index(np.argmax(m), m.shape)
    best = (float(SCALES[i]), float(OFFSETS[j]))
    d_i, d_j = int(np.argmin(np.abs(SCALES - 1.2))), int(np.argmin(np.abs(OFFSETS - 0.0)))
    bad = [ncc(pipeline_crop(rgb, lm, *BAD_CROP), mean_face) for _, rgb, lm in faces]
    res = {
        "best": {"scale": best[0], "offset_y": best[1], "mean_ncc": float(m[i, j]),
                 "min_ncc": float(s[i, j].min())},
        "default_1.2_0.0": {"mean_ncc": float(m[d_i, d_j]), "min_ncc": float(s[d_i, d_j].min())},
        "sources": sorted(set(src.tolist())),
        "bad_crop": {"scale": BAD_CROP[0], "offset_y": BAD_CROP[1], "mean_ncc": float(np.mean(bad)),
                     "max_ncc": float(np.max(bad))},
        "per_face_at_best": {n: float(v) for (n, _, _), v in zip(faces, s[i, j])},
        "grid": {"scales": SCALES.tolist(), "offsets": OFFSETS.tolist(), "mean_ncc": m.round(4).tolist()},
        "n_faces": len(faces),
    }
    (out / "result.json").write_text(json.dumps(res, indent=2))
    # montage: mean face, then each face's crop at the best pair
    tiles = [np.clip(mean_face, 0, 255).astype(np.uint8)] + [pipeline_crop(rgb, lm, *best) for _, rgb, lm in faces]
    cols = 10
    rows = -(-len(tiles) // cols)
    mont = np.zeros((rows * 48, cols * 48), np.uint8)
    for k, t in enumerate(tiles):
        mont[(k // cols) * 48:(k // cols + 1) * 48, (k % cols) * 48:(k % cols + 1) * 48] = t
    cv2.imwrite(str(out / "montage_best.png"), cv2.resize(mont, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST))
    print(json.dumps({k: res[k] for k in ("best", "default_1.2_0.0", "bad_crop", "n_faces")}, indent=2))
    if a.write_manifest:
        p = D.repo_root() / "src" / "facial_feedback" / "models" / "emotion.json"
        man = json.loads(p.read_text())
        man["crop"] = {"scale": best[0], "offset_y": best[1], "align": "eyes",
                       "tuned_by": "python -m training.tune_crop --write-manifest",
                       "mean_ncc_with_fer_mean_face": round(float(m[i, j]), 4)}
        p.write_text(json.dumps(man, indent=2) + "\n")
        print(f"updated {p}", file=sys.stderr)


if __name__ == "__main__":
    main()
