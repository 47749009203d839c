"""Readers for the three layouts FER2013 / FER+ users have on disk, into one in-RAM table.

Every loader returns a :class:`FaceTable`: 48x48 uint8 grey images plus, per image,
its FER2013 usage (Training / PublicTest / PrivateTest), the ORIGINAL FER2013 label
(and an alternative label for the 125 pixel-identical duplicates FER2013 labels
differently), the FER+ vote counts (10 columns, Microsoft's order) when known, and the
de-duplication flag. Class order everywhere is ``EMOTIONS`` (facial_feedback.types).

Layouts:
- ``load_ferplus_folders``: Microsoft's FER+ folders ``data/FER2013{Train,Valid,Test}/``
  with ``label.csv`` (+ optional ``ferplus_index.csv`` for original labels / dup flags).
- ``load_kaggle_folders``: ``{train,test}/<emotion>/*.jpg`` (+ optional ``index.csv``).
- ``load_fer2013_csv``: original ``fer2013.csv`` (+ optional ``fer2013new.csv``).

No torch here: this module is plain numpy + OpenCV.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Microsoft's FER+ vote columns, in label.csv / fer2013new.csv order.
FERPLUS_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                   "contempt", "unknown", "NF")
# FER+ column -> EMOTIONS index (contempt, unknown, NF dropped).
FERPLUS_TO_EMOTION = {"neutral": 6, "happiness": 3, "surprise": 5, "sadness": 4, "anger": 0,
                      "disgust": 1, "fear": 2}
# FER+ folder names and FER2013 usage.
FERPLUS_FOLDERS = {"FER2013Train": "Training", "FER2013Valid": "PublicTest",
                   "FER2013Test": "PrivateTest"}
USAGES = ("Training", "PublicTest", "PrivateTest")
_NAME_TO_IDX = {n: i for i, n in enumerate(EMOTIONS)}
_NAME_TO_IDX.update({"happiness": 3, "sadness": 4, "anger": 0})


@dataclass
class FaceTable:
    images: np.ndarray            # (N, 48, 48) uint8
    usage: np.ndarray             # (N,) str: Training / PublicTest / PrivateTest
    fer_label: np.ndarray         # (N,) int8 original FER2013 label, -1 unknown
    fer_label_alt: np.ndarray     # (N,) int8 second label for "a|b" duplicates, else -1
    votes: np.ndarray             # (N, 10) int16 FER+ votes, -1 rows when unknown
    dup_in_training: np.ndarray   # (N,) int8 1 = pixel copy of a Training image, -1 unknown
    names: np.ndarray             # (N,) str: source file / row id
    source: str = ""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, mask: np.ndarray) -> "FaceTable":
        return FaceTable(self.images[mask], self.usage[mask], self.fer_label[mask],
                         self.fer_label_alt[mask], self.votes[mask], self.dup_in_training[mask],
                         self.names[mask], self.source)

    def split(self, usage: str) -> "FaceTable":
        return self.subset(self.usage == usage)

    @property
    def has_votes(self) -> np.ndarray:
        return self.votes[:, 0] >= 0


# ----------------------------------------------------------------------------- targets

def ferplus_distribution(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Microsoft's "probability" target over the 7 basic classes.

    Returns (dist (N,7) float32, valid (N,) bool). Contempt / unknown / NF votes are
    dropped and the rest normalised; an image is invalid (no FER+ target) when it has no
    basic-class votes, when NF holds the majority, or when its votes are unknown.
    """
    votes = np.asarray(votes, dtype=np.float32).reshape(-1, 10)
    dist = np.zeros((votes.shape[0], 7), np.float32)
    for col, idx in FERPLUS_TO_EMOTION.items():
        dist[:, idx] = votes[:, FERPLUS_COLUMNS.index(col)]
    tot = dist.sum(1)
    nf = votes[:, 9]
    valid = (votes[:, 0] >= 0) & (tot > 0) & ~(nf > votes.sum(1) / 2.0)
    dist[valid] /= tot[valid, None]
    dist[~valid] = 0.0
    return dist, valid


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """FER+ majority label in EMOTIONS order, -1 when excluded.

    Microsoft's rule (as in ferplus_index.csv): drop single votes (set counts of 1 to 0),
    the top class needs more than half of the remaining votes; -1 when there is no such
    class or when it is contempt / unknown / NF.
    """
    v = np.asarray(votes, dtype=np.float32).reshape(-1, 10).copy()
    unknown_row = v[:, 0] < 0
    v[v == 1] = 0
    tot = v.sum(1)
    top = v.argmax(1)
    ok = (tot > 0) & (v.max(1) > tot / 2.0) & ~unknown_row
    out = np.full(v.shape[0], -1, np.int64)
    for col, idx in FERPLUS_TO_EMOTION.items():
        out[ok & (top == FERPLUS_COLUMNS.index(col))] = idx
    return out


# ----------------------------------------------------------------------------- helpers

def _read_grey(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise IOError(f"cannot read image {path}")
    if img.shape != (48, 48):
        img = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
    return img


def _parse_label(s: str) -> tuple[int, int]:
    s = (s or "").strip()
    if not s:
        return -1, -1
    parts = s.split("|")
    a = _NAME_TO_IDX.get(parts[0], -1)
    b = _NAME_TO_IDX.get(parts[1], -1) if len(parts) > 1 else -1
    return a, b


def _table(rows_img: List[np.ndarray], usage, lab, alt, votes, dup, names, source) -> FaceTable:
    n = len(rows_img)
    return FaceTable(
        images=np.stack(rows_img).astype(np.uint8) if n else np.zeros((0, 48, 48), np.uint8),
        usage=np.asarray(usage, dtype=object).astype(str),
        fer_label=np.asarray(lab, np.int8), fer_label_alt=np.asarray(alt, np.int8),
        votes=np.asarray(votes, np.int16).reshape(n, 10),
        dup_in_training=np.asarray(dup, np.int8), names=np.asarray(names, dtype=object).astype(str),
        source=source)


def _cache_path(cache_dir: Optional[Path], key: str) -> Optional[Path]:
    if cache_dir is None:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    return cache_dir / f"facetable_{hashlib.sha1(key.encode()).hexdigest()[:12]}.npz"


def _save_cache(path: Optional[Path], t: FaceTable) -> None:
    if path is None:
        return
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=t.images, usage=t.usage, fer_label=t.fer_label,
             fer_label_alt=t.fer_label_alt, votes=t.votes, dup=t.dup_in_training,
             names=t.names, source=np.array(t.source))
    os.replace(tmp, path)


def _load_cache(path: Optional[Path]) -> Optional[FaceTable]:
    if path is None or not path.exists():
        return None
    z = np.load(path, allow_pickle=False)
    return FaceTable(z["images"], z["usage"], z["fer_label"], z["fer_label_alt"], z["votes"],
                     z["dup"], z["names"], str(z["source"]))


# ----------------------------------------------------------------------------- FER+ folders

def load_ferplus_folders(root, index_csv=None, limit_per_split: Optional[int] = None,
                         cache_dir=None, votes_from: str = "label.csv") -> FaceTable:
    """Microsoft's FER+ layout: ``root/data/FER2013{Train,Valid,Test}/label.csv`` + PNGs.

    ``root`` may be the folder holding ``data/`` or ``data/`` itself. ``index_csv`` (default
    ``root/ferplus_index.csv`` if present) supplies the ORIGINAL FER2013 label and the
    de-duplication flag; the PNG number is NOT the fer2013.csv row, so the mapping goes
    through the index, never through the file name.

    ``votes_from``: "label.csv" (the folder's own files) or "index" (the index's votes, which are
    ``fer2013new.csv``'s). In the shared copy the two disagree on 1,602 of 35,710 images; the
    README's majority counts are those of fer2013new.csv, so evaluation uses "index".
    """
    if votes_from not in ("label.csv", "index"):
        raise ValueError(f"votes_from must be 'label.csv' or 'index', not {votes_from!r}")
    root = Path(root)
    data = root / "data" if (root / "data").is_dir() else root
    if index_csv is None and (data.parent / "ferplus_index.csv").exists():
        index_csv = data.parent / "ferplus_index.csv"
    key = f"ferplus|{data.resolve()}|{index_csv}|{limit_per_split}" + ("" if votes_from == "label.csv" else "|index")
    cp = _cache_path(Path(cache_dir) if cache_dir else None, key)
    cached = _load_cache(cp)
    if cached is not None:
        return cached
    index: Dict[str, dict] = {}
    if index_csv is not None:
        with open(index_csv, newline="") as f:
            for r in csv.DictReader(f):
                index[r["path"].replace("\\", "/").split("data/", 1)[-1]] = r
    imgs, usage, lab, alt, votes, dup, names = [], [], [], [], [], [], []
    for folder, use in FERPLUS_FOLDERS.items():
        d = data / folder
        if not d.is_dir():
            continue
        with open(d / "label.csv", newline="") as f:
            rows = [r for r in csv.reader(f) if r]
        if rows and not rows[0][0].lower().endswith(".png"):
            rows = rows[1:]  # header line, if any
        if limit_per_split:
            rows = rows[:limit_per_split]
        for r in rows:
            name = r[0].strip()
            v = [int(float(x)) for x in r[2:12]]
            imgs.append(_read_grey(d / name))
            usage.append(use)
            ix = index.get(f"{folder}/{name}")
            if ix is not None:
                a, b = _parse_label(ix["fer2013_label"])
                dp = int(ix["pixel_dup_in_training"] or 0)
                if votes_from == "index":
                    v = [int(ix["votes_" + c]) for c in FERPLUS_COLUMNS]
            else:
                a, b, dp = -1, -1, -1
            lab.append(a); alt.append(b); votes.append(v); dup.append(dp)
            names.append(f"{folder}/{name}")
    if votes_from == "index" and index_csv is None:
        raise ValueError("votes_from='index' needs ferplus_index.csv")
    return _finish(imgs, usage, lab, alt, votes, dup, names, f"ferplus:{data}", cp)


def _finish(imgs, usage, lab, alt, votes, dup, names, source, cp) -> FaceTable:
    t = _table(imgs, usage, lab, alt, votes, dup, names, source)
    _save_cache(cp, t)
    return t


# ----------------------------------------------------------------------------- Kaggle folders

def load_kaggle_folders(root, index_csv=None, fer2013new_csv=None,
                        limit_per_split: Optional[int] = None, cache_dir=None,
                        splits: Sequence[str] = ("train", "test")) -> FaceTable:
    """The common Kaggle layout: ``root/{train,test}/<emotion>/*.jpg``.

    Usage comes from the file-name prefix (``Training_``, ``PublicTest_``, ``PrivateTest_``;
    files without one take the folder: train -> Training, test -> PrivateTest). The
    ``index.csv`` beside the folders (optional) gives the fer2013.csv row and the
    de-duplication flag; with the row and ``fer2013new.csv`` the FER+ votes are attached.
    """
    root = Path(root)
    if index_csv is None and (root / "index.csv").exists():
        index_csv = root / "index.csv"
    key = f"kaggle|{root.resolve()}|{index_csv}|{fer2013new_csv}|{limit_per_split}|{tuple(splits)}"
    cp = _cache_path(Path(cache_dir) if cache_dir else None, key)
    cached = _load_cache(cp)
    if cached is not None:
        return cached
    index: Dict[str, dict] = {}
    if index_csv is not None:
        with open(index_csv, newline="") as f:
            index = {r["path"]: r for r in csv.DictReader(f)}
    new_votes = _read_fer2013new(fer2013new_csv) if fer2013new_csv else None
    imgs, usage, lab, alt, votes, dup, names = [], [], [], [], [], [], []
    for split in splits:
        d = root / split
        if not d.is_dir():
            continue
        n_split = 0
        for emo_dir in sorted(p for p in d.iterdir() if p.is_dir()):
            if emo_dir.name not in _NAME_TO_IDX:
                continue
            for p in sorted(emo_dir.iterdir()):
                if p.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                    continue
                if limit_per_split and n_split >= limit_per_split:
                    break
                rel = f"{split}/{emo_dir.name}/{p.name}"
                prefix = p.name.split("_", 1)[0]
                use = prefix if prefix in USAGES else ("Training" if split == "train" else "PrivateTest")
                imgs.append(_read_grey(p)); usage.append(use)
                lab.append(_NAME_TO_IDX[emo_dir.name]); alt.append(-1)
                ix = index.get(rel)
                v = [-1] * 10
                dp = -1
                if ix is not None:
                    dp = int(ix.get("pixel_dup_in_training") or 0)
                    rows = [int(x) for x in (ix.get("fer2013_rows_pixel_matched") or "").replace(";", " ").split()]
                    if new_votes is not None and rows and rows[0] < len(new_votes):
                        v = list(new_votes[rows[0]])
                votes.append(v); dup.append(dp); names.append(rel)
                n_split += 1
    return _finish(imgs, usage, lab, alt, votes, dup, names, f"kaggle:{root}", cp)


# ----------------------------------------------------------------------------- fer2013.csv

def _read_fer2013new(path) -> List[List[int]]:
    """fer2013new.csv: ``Usage,Image name,<10 vote columns>``, one row per fer2013.csv row."""
    out = []
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        cols = [c.strip() for c in header]
        pos = [cols.index(c) for c in FERPLUS_COLUMNS]
        for r in rd:
            if not r:
                continue
            out.append([int(float(r[i])) for i in pos])
    return out


def load_fer2013_csv(fer2013_csv, fer2013new_csv=None, limit: Optional[int] = None,
                     cache_dir=None) -> FaceTable:
    """The original Kaggle/ICML file ``fer2013.csv`` (``emotion,pixels,Usage``), with the FER+
    votes from ``fer2013new.csv`` (same row order) when given."""
    key = f"csv|{Path(fer2013_csv).resolve()}|{fer2013new_csv}|{limit}"
    cp = _cache_path(Path(cache_dir) if cache_dir else None, key)
    cached = _load_cache(cp)
    if cached is not None:
        return cached
    new_votes = _read_fer2013new(fer2013new_csv) if fer2013new_csv else None
    imgs, usage, lab, alt, votes, dup, names = [], [], [], [], [], [], []
    with open(fer2013_csv, newline="") as f:
        rd = csv.DictReader(f)
        for i, r in enumerate(rd):
            if limit and i >= limit:
                break
            px = np.asarray(r["pixels"].split(), dtype=np.uint8)
            if px.size != 48 * 48:
                raise ValueError(f"row {i}: expected 2304 pixels, got {px.size}")
            imgs.append(px.reshape(48, 48))
            usage.append(r["Usage"].strip())
            lab.append(int(r["emotion"])); alt.append(-1)
            votes.append(new_votes[i] if new_votes is not None and i < len(new_votes) else [-1] * 10)
            dup.append(-1); names.append(f"row{i}")
    t = _table(imgs, usage, lab, alt, votes, dup, names, f"csv:{fer2013_csv}", )
    # mark pixel copies of Training images (the README's de-duplication flag)
    train_hashes = {hashlib.sha1(im.tobytes()).hexdigest() for im, u in zip(t.images, t.usage)
                    if u == "Training"}
    t.dup_in_training = np.array(
        [int(u != "Training" and hashlib.sha1(im.tobytes()).hexdigest() in train_hashes)
         for im, u in zip(t.images, t.usage)], np.int8)
    _save_cache(cp, t)
    return t


def load_any(path, **kw) -> FaceTable:
    """Pick the loader from what is at ``path`` (a folder or fer2013.csv)."""
    p = Path(path)
    if p.is_file() and p.suffix == ".csv":
        new = p.with_name("fer2013new.csv")
        return load_fer2013_csv(p, new if new.exists() else None, **{k: v for k, v in kw.items() if k in ("cache_dir",)})
    if (p / "data" / "FER2013Train").is_dir() or (p / "FER2013Train").is_dir():
        return load_ferplus_folders(p, **kw)
    if (p / "train").is_dir() or (p / "test").is_dir():
        return load_kaggle_folders(p, **kw)
    if (p / "fer2013.csv").exists():
        return load_any(p / "fer2013.csv", **kw)
    raise FileNotFoundError(f"no FER+ folders, Kaggle folders or fer2013.csv at {p}")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def default_dataset_root() -> Path:
    """``../shared/datasets`` relative to the repo root (not the cwd)."""
    env = os.environ.get("FACIAL_FEEDBACK_DATASETS")
    return Path(env) if env else (repo_root().parent / "shared" / "datasets").resolve()


def build_sets(root: Path, cache: Path, only=None) -> dict:
    """The evaluation sets: PublicTest, FER+ Test (= PrivateTest PNGs) and FER2013 PrivateTest (all 3,589:
    the FER+ PNGs plus the Kaggle JPEGs of the rows without one), with the Kaggle JPEG copy beside it."""
    fp = load_ferplus_folders(root / "ferplus", cache_dir=cache, votes_from="index")
    sets = {"publictest": fp.split("PublicTest"), "ferplus_test": fp.split("PrivateTest")}
    if only is not None and set(only) <= {"publictest"}:
        return {"publictest": sets["publictest"]}
    kg = load_kaggle_folders(root / "fer2013", cache_dir=cache, splits=("test",))
    kg_priv = kg.split("PrivateTest")
    sets["fer2013_private_jpeg"] = kg_priv
    # PrivateTest rows without a FER+ PNG: Kaggle JPEGs whose fer2013 row(s) are not in the FER+ row map
    with open(root / "ferplus" / "fer2013_rowmap.csv", newline="") as f:
        mapped = {int(r["fer2013_row"]) for r in csv.DictReader(f)}
    with open(root / "fer2013" / "index.csv", newline="") as f:
        extra = set()
        for r in csv.DictReader(f):
            rows = [int(x) for x in (r["fer2013_rows_pixel_matched"] or "").replace(";", " ").split()]
            if r["usage"] == "PrivateTest" and not any(x in mapped for x in rows):
                extra.add(r["path"])
    miss = kg_priv.subset(np.isin(kg_priv.names, sorted(extra)))
    t = sets["ferplus_test"]
    sets["fer2013_private"] = FaceTable(
        np.concatenate([t.images, miss.images]), np.concatenate([t.usage, miss.usage]),
        np.concatenate([t.fer_label, miss.fer_label]), np.concatenate([t.fer_label_alt, miss.fer_label_alt]),
        np.concatenate([t.votes, miss.votes]), np.concatenate([t.dup_in_training, miss.dup_in_training]),
        np.concatenate([t.names, miss.names]), "ferplus PNG + kaggle JPEG")
    return sets
