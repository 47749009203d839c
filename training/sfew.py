"""SFEW 2.0 Train (859 colour film stills, aligned faces, ../shared/datasets/sfew/Train/<Class>/*.png).

- `load_sfew()`: RGB images, labels (EMOTIONS order), file names, the film each still comes from
  (the file name's prefix) and a 5-fold split grouped by film, so no film is on both sides of a
  fold (the same actor in the same light would otherwise leak).
- `shipped_crops(model, sfew)`: the faces cut the way the pipeline cuts them: MediaPipe's mesh of
  the whole still (FaceMesher, as for a detected face filling the frame), then EmotionModel.crops
  (eye-levelled crop from the manifest); a still the mesh misses is cut from its whole frame (the
  box rule of the same crop). Meshes are cached in runs/cache/ (they do not depend on the model).

Research-only data: nothing read here is written into the repository.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from . import data as D

FOLDS = 5


@dataclass
class SFEW:
    images: list            # RGB uint8 arrays (143x181 mostly)
    labels: np.ndarray      # (N,) EMOTIONS index
    names: np.ndarray       # "Class/file.png"
    films: np.ndarray       # film id (file-name prefix)
    folds: np.ndarray       # (N,) 0..FOLDS-1, grouped by film

    def __len__(self):
        return len(self.images)


def sfew_root(root: Optional[Path] = None) -> Path:
    return (Path(root) if root else D.default_dataset_root()) / "sfew" / "Train"


def group_folds(groups: np.ndarray, labels: np.ndarray, k: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Assign whole groups to k folds, greedily balancing the per-class counts (largest groups first)."""
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(uniq)
    count = {g: np.bincount(labels[groups == g], minlength=7) for g in uniq}
    uniq.sort(key=lambda g: -count[g].sum())
    fold_counts = np.zeros((k, 7))
    target = np.bincount(labels, minlength=7) / k
    assign = {}
    for g in uniq:
        cost = [np.abs(fold_counts[f] + count[g] - target).sum() - np.abs(fold_counts[f] - target).sum()
                for f in range(k)]
        f = int(np.argmin(cost))
        assign[g] = f
        fold_counts[f] += count[g]
    return np.array([assign[g] for g in groups])


def load_sfew(root: Optional[Path] = None) -> SFEW:
    base = sfew_root(root)
    if not base.is_dir():
        raise FileNotFoundError(f"SFEW Train not found at {base}")
    imgs, labels, names, films = [], [], [], []
    for cls_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        lab = D.EMOTIONS.index(cls_dir.name.lower())
        for f in sorted(cls_dir.glob("*.png")):
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                continue
            imgs.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            labels.append(lab)
            names.append(f"{cls_dir.name}/{f.name}")
            films.append(f.name.split("_")[0])
    labels = np.array(labels)
    films = np.array(films)
    return SFEW(imgs, labels, np.array(names), films, group_folds(films, labels))


def film_index(root: Optional[Path] = None) -> tuple:
    """(labels, films) of SFEW Train in load_sfew's order, from the file names alone (no image is read): for
    re-drawing the film-grouped folds with another seed."""
    base = sfew_root(root)
    labels, films = [], []
    for cls_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        lab = D.EMOTIONS.index(cls_dir.name.lower())
        for f in sorted(cls_dir.glob("*.png")):
            labels.append(lab)
            films.append(f.name.split("_")[0])
    return np.array(labels), np.array(films)


def meshes(sfew: SFEW, cache_dir: Optional[Path] = None) -> list:
    """MediaPipe mesh (478x3) of each whole still, or None; cached."""
    from facial_feedback.landmarks import FaceMesher
    from facial_feedback.types import Box
    cache_dir = Path(cache_dir or D.repo_root() / "runs" / "cache")
    key = hashlib.sha1("\n".join(sfew.names).encode()).hexdigest()[:12]
    path = cache_dir / f"sfew_meshes_{key}.npz"
    if path.exists():
        z = np.load(path)
        ok = z["ok"]
        return [z["lm"][i] if ok[i] else None for i in range(len(ok))]
    mesher = FaceMesher()
    out = []
    try:
        for im in sfew.images:
            h, w = im.shape[:2]
            out.append(mesher.mesh_face(im, Box(0, 0, w, h)))
    finally:
        mesher.close()
    cache_dir.mkdir(parents=True, exist_ok=True)
    ok = np.array([m is not None for m in out])
    lm = np.stack([m if m is not None else np.zeros((478, 3), np.float32) for m in out])
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, ok=ok, lm=lm)
    tmp.replace(path)
    return out


def shipped_crops(model, sfew: SFEW, mesh_list: Optional[list] = None, size: Optional[int] = None,
                  grey: Optional[bool] = None) -> tuple:
    """(crops uint8 (N,S,S[,3]), meshed mask): the pipeline's crop of each still (see module doc).
    size / grey default to the model's manifest (crop_size, channels)."""
    from facial_feedback.emotion import face_crop
    from facial_feedback.types import Box
    m = model.manifest
    size = size or m.crop_size
    grey = (m.channels == 1) if grey is None else grey
    mesh_list = mesh_list if mesh_list is not None else meshes(sfew)
    crops = []
    for im, lm in zip(sfew.images, mesh_list):
        h, w = im.shape[:2]
        crops.append(face_crop(im, lm, Box(0, 0, w, h), m.crop, size, grey=grey))
    return np.stack(crops), np.array([lm is not None for lm in mesh_list])
