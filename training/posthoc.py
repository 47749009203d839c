"""The shipped output of a two-head model: a mix of the heads plus a per-class prior correction,
chosen on validation data only (FER2013 PublicTest and SFEW Train folds), baked into the ONNX graph.

    python -m training.posthoc                      # choose on validation, print the SFEW cross-validation
    python -m training.posthoc --bake               # ... and write it into the shipped model + manifest

Shipped logits = w * log_softmax(z_ferplus) + (1 - w) * log_softmax(z_fer2013) + b   (b_neutral = 0)

- z_ferplus: the head trained on FER+ vote distributions (leans to neutral, as FER+ majorities do);
  z_fer2013: the head trained on the original FER2013 labels (more angry / fear / sad).
- w and b maximise, on validation data only,
  J = mean(PublicTest FER+ majority accuracy, PublicTest FER2013 accuracy, SFEW accuracy,
  SFEW balanced accuracy) - 0.5 * sum over classes of max(0, 0.5 - PublicTest FER+ recall),
  (w on a 0.1 grid, b by coordinate search on a 0.1 grid in [-2, 2], three sweeps).
- The SFEW estimate is cross-validated: 5 folds grouped by film; for each fold, w and b are chosen
  on PublicTest + the other 4 folds and the held-out fold is scored; the pooled out-of-fold
  predictions give the number. The shipped w, b use all of SFEW Train + PublicTest.
- PrivateTest / FER+ Test are never read here.

The graph keeps the raw heads as extra outputs `logits_ferplus` and `logits_fer2013` (evaluation
and this re-selection only); the pipeline reads `logits`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import data as D
from .metrics import confusion, recall_per_class

MODELS_DIR = D.repo_root() / "src" / "facial_feedback" / "models"
RAW = ("logits_ferplus", "logits_fer2013")
W_GRID = np.round(np.linspace(0, 1, 11), 2)
B_GRID = np.round(np.arange(-2.0, 2.0001, 0.1), 2)
NEUTRAL = D.EMOTIONS.index("neutral")


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def head_logprobs(views: np.ndarray) -> np.ndarray:
    """(V,N,7) raw head outputs -> (N,7) mean over views of log-probabilities."""
    return log_softmax(views).mean(0)


class Part:
    """One validation component: per-head log-probabilities, labels, what to measure."""

    def __init__(self, name, lf, le, y, kind):
        self.name, self.lf, self.le, self.y, self.kind = name, lf, le, y, kind

    def subset(self, m):
        return Part(self.name, self.lf[m], self.le[m], self.y[m], self.kind)


def predict(part: Part, w: float, b: np.ndarray) -> np.ndarray:
    return (w * part.lf + (1 - w) * part.le + b).argmax(1)


FERPLUS_FLOOR = [None]   # (accuracy floor on PublicTest FER+) set by choose(..., ferplus_drop=)


def objective(parts, w, b, detail=False):
    terms, penalty, out = [], 0.0, {}
    for p in parts:
        pred = predict(p, w, b)
        acc = float((pred == p.y).mean())
        if p.kind == "ferplus" and FERPLUS_FLOOR[0] is not None:
            penalty += 4.0 * max(0.0, FERPLUS_FLOOR[0] - acc)
        rec = recall_per_class(confusion(pred, p.y))
        present = np.bincount(p.y, minlength=7) > 0
        out[p.name] = {"accuracy": acc, "balanced_accuracy": float(rec[present].mean())}
        terms.append(acc)
        if p.kind == "sfew":
            terms.append(out[p.name]["balanced_accuracy"])
        if p.kind == "ferplus":
            penalty += float(np.clip(0.5 - rec[present], 0, None).sum())
    j = float(np.mean(terms)) - 0.5 * penalty
    return (j, out) if detail else j


def choose(parts, ferplus_drop=None) -> dict:
    """ferplus_drop: if given, PublicTest FER+ accuracy may fall at most this much below the FER+ head's own."""
    if ferplus_drop is not None:
        fp = next(p for p in parts if p.kind == "ferplus")
        FERPLUS_FLOOR[0] = float((fp.lf.argmax(1) == fp.y).mean()) - ferplus_drop
    best = (-1e9, None, None)
    for w in W_GRID:
        b = np.zeros(7)
        cur = objective(parts, w, b)
        for _ in range(3):
            moved = False
            for c in range(7):
                if c == NEUTRAL:
                    continue
                vals = []
                for v in B_GRID:
                    bb = b.copy(); bb[c] = v
                    vals.append(objective(parts, w, bb))
                k = int(np.argmax(vals))
                if vals[k] > cur + 1e-12:
                    b[c], cur, moved = B_GRID[k], vals[k], True
            if not moved:
                break
        if cur > best[0]:
            best = (cur, float(w), b.copy())
    j, detail = objective(parts, best[1], best[2], detail=True)
    return {"w_ferplus": best[1], "bias": [float(x) for x in best[2]], "objective": j, "validation": detail}


def validation_parts(pub: D.FaceTable, pub_views: dict, sfew_y: np.ndarray, sfew_views: dict):
    """pub_views / sfew_views: {"logits_ferplus": (V,N,7), "logits_fer2013": (V,N,7)}."""
    lf, le = head_logprobs(pub_views[RAW[0]]), head_logprobs(pub_views[RAW[1]])
    maj = D.ferplus_majority(pub.votes)
    m = maj >= 0
    fp = Part("PublicTest FER+ majority", lf[m], le[m], maj[m], "ferplus")
    lab = pub.fer_label.astype(np.int64)
    ok = lab >= 0
    fe = Part("PublicTest FER2013 original", lf[ok], le[ok], lab[ok], "fer2013")
    sf = Part("SFEW Train", head_logprobs(sfew_views[RAW[0]]), head_logprobs(sfew_views[RAW[1]]), sfew_y, "sfew")
    return fp, fe, sf


def cross_validate(fp: Part, fe: Part, sf: Part, folds: np.ndarray, ferplus_drop=None) -> dict:
    """Out-of-fold SFEW predictions of the selection procedure (see module doc)."""
    pred = np.full(len(sf.y), -1)
    per_fold = []
    for k in sorted(set(folds)):
        tr, te = folds != k, folds == k
        ch = choose([fp, fe, sf.subset(tr)], ferplus_drop)
        pred[te] = predict(sf.subset(te), ch["w_ferplus"], np.array(ch["bias"]))
        per_fold.append({"fold": int(k), "n": int(te.sum()), "w_ferplus": ch["w_ferplus"], "bias": ch["bias"],
                         "accuracy": float((pred[te] == sf.y[te]).mean())})
    cm = confusion(pred, sf.y)
    rec = recall_per_class(cm)
    return {"accuracy": float((pred == sf.y).mean()), "balanced_accuracy": float(rec.mean()),
            "recall": dict(zip(D.EMOTIONS, map(float, rec))), "confusion": cm.tolist(), "folds": per_fold,
            "pred": pred.tolist()}


# ----------------------------------------------------------------------------- the ONNX graph

def bake(onnx_path: Path, out_path: Path, w: float, bias, shipped: str = "logits", other: str = "logits_other"):
    """Rewrite the graph: its two head outputs become logits_ferplus / logits_fer2013, and `logits` is the mix.
    A graph that already has the raw outputs is re-mixed from them."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(str(onnx_path))
    g = m.graph
    names = [o.name for o in g.output]
    if RAW[0] in names:      # already baked: drop the old mix, keep the raw heads
        keep = {RAW[0], RAW[1]}
        mix_nodes = [n for n in g.node if n.name.startswith("posthoc_")]
        for n in mix_nodes:
            g.node.remove(n)
        for init in [i for i in g.initializer if i.name.startswith("posthoc_")]:
            g.initializer.remove(init)
        for o in [o for o in g.output if o.name not in keep]:
            g.output.remove(o)
    else:                     # a fresh export: outputs (shipped = FER+ head, other = FER2013 head)
        rename = {shipped: RAW[0], other: RAW[1]}
        for n in g.node:
            n.output[:] = [rename.get(x, x) for x in n.output]
            n.input[:] = [rename.get(x, x) for x in n.input]
        for o in g.output:
            o.name = rename.get(o.name, o.name)
    f32 = lambda name, arr: numpy_helper.from_array(np.asarray(arr, np.float32), name)
    g.initializer.extend([f32("posthoc_w", [w]), f32("posthoc_1mw", [1 - w]), f32("posthoc_bias", np.asarray(bias)[None])])
    g.node.extend([
        helper.make_node("LogSoftmax", [RAW[0]], ["posthoc_lf"], axis=1, name="posthoc_lsf"),
        helper.make_node("LogSoftmax", [RAW[1]], ["posthoc_le"], axis=1, name="posthoc_lse"),
        helper.make_node("Mul", ["posthoc_lf", "posthoc_w"], ["posthoc_a"], name="posthoc_mul_a"),
        helper.make_node("Mul", ["posthoc_le", "posthoc_1mw"], ["posthoc_b"], name="posthoc_mul_b"),
        helper.make_node("Add", ["posthoc_a", "posthoc_b"], ["posthoc_ab"], name="posthoc_add"),
        helper.make_node("Add", ["posthoc_ab", "posthoc_bias"], ["logits"], name="posthoc_bias_add"),
    ])
    batch = g.output[0].type.tensor_type.shape.dim[0]
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch.dim_param or "batch", 7])
    g.output.insert(0, out)
    onnx.checker.check_model(m)
    tmp = out_path.with_suffix(".tmp")
    onnx.save(m, str(tmp))
    tmp.replace(out_path)


def gather(manifest_path: Path, root: Path | None = None):
    """Raw-head outputs of the model on PublicTest and SFEW Train, through EmotionModel."""
    from .predictors import Shipped
    from .sfew import load_sfew, shipped_crops
    sh = Shipped(manifest_path)
    outs = [o for o in RAW if o in sh.outputs]
    if len(outs) < 2:
        legacy = {"logits": RAW[0], "logits_other": RAW[1]}
        outs = [o for o in ("logits", "logits_other") if o in sh.outputs]
        assert len(outs) == 2, f"the model needs two head outputs, has {sh.outputs}"
    else:
        legacy = {o: o for o in outs}
    sets = D.build_sets(Path(root) if root else D.default_dataset_root(), D.repo_root() / "runs" / "cache",
                      only=("publictest",))
    pub = sets["publictest"]
    sf = load_sfew(root)
    crops, meshed = shipped_crops(sh.model, sf)
    pv = {legacy[o]: sh.views(pub.images, o) for o in outs}
    sv = {legacy[o]: sh.views(crops, o) for o in outs}
    return pub, pv, sf, sv, meshed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", default=str(MODELS_DIR / "emotion.json"))
    ap.add_argument("--data", default=None)
    ap.add_argument("--bake", action="store_true", help="write the chosen mix into the model + manifest")
    ap.add_argument("--out", default=str(D.repo_root() / "runs" / "posthoc.json"))
    ap.add_argument("--ferplus-drop", type=float, default=None,
                    help="constraint: PublicTest FER+ accuracy at most this far below the FER+ head's own (e.g. 0.02)")
    a = ap.parse_args(argv)
    man_path = Path(a.manifest)
    cache = D.repo_root() / "runs" / "cache" / f"posthoc_{json.loads(man_path.read_text())['sha256'][:12]}.npz"
    if cache.exists():
        import pickle
        pub, pv, sf, sv, meshed = pickle.loads(np.load(cache)["blob"].tobytes())
    else:
        import pickle
        pub, pv, sf, sv, meshed = gather(man_path, a.data)
        sf = SimpleNamespace(labels=sf.labels, folds=sf.folds, n=len(sf))
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, blob=np.frombuffer(pickle.dumps((pub, pv, sf, sv, meshed)), np.uint8))
    fp, fe, sfp = validation_parts(pub, pv, sf.labels, sv)
    base = {name: objective([fp, fe, sfp], w, np.zeros(7), detail=True) for name, w in
            (("FER+ head alone", 1.0), ("FER2013 head alone", 0.0))}
    cv = cross_validate(fp, fe, sfp, sf.folds, a.ferplus_drop)
    final = choose([fp, fe, sfp], a.ferplus_drop)
    res = {"command": "python -m training.posthoc " + " ".join(sys.argv[1:] if argv is None else argv),
           "baselines": {k: {"objective": v[0], "validation": v[1]} for k, v in base.items()},
           "chosen": final, "sfew_cv": {k: v for k, v in cv.items() if k != "pred"},
           "sfew_meshed": int(meshed.sum()), "sfew_n": int(sf.n)}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=2))
    for k, v in res["baselines"].items():
        print(f"{k}: J {v['objective']:.4f} " + ", ".join(f"{n} {100 * d['accuracy']:.2f}% (bal {100 * d['balanced_accuracy']:.2f}%)"
                                                           for n, d in v["validation"].items()))
    print(f"chosen: w_ferplus {final['w_ferplus']}, bias {final['bias']}, J {final['objective']:.4f} " +
          ", ".join(f"{n} {100 * d['accuracy']:.2f}% (bal {100 * d['balanced_accuracy']:.2f}%)"
                    for n, d in final["validation"].items()))
    print(f"SFEW Train 5-fold CV (grouped by film) of the selection: accuracy {100 * cv['accuracy']:.2f}%, "
          f"balanced {100 * cv['balanced_accuracy']:.2f}%; per fold " +
          ", ".join(f"{100 * f['accuracy']:.1f}% (w {f['w_ferplus']})" for f in cv["folds"]))
    if a.bake:
        man = json.loads(man_path.read_text())
        onnx_path = man_path.parent / man["file"]
        other = next((k for k in man.get("extra_outputs", {}) if k not in RAW), "logits_other")
        bake(onnx_path, onnx_path, final["w_ferplus"], final["bias"], other=other)
        from .export import sha256
        man["sha256"] = sha256(onnx_path)
        man["output"] = {"name": "logits", "kind": "logits"}
        man["extra_outputs"] = {RAW[0]: "the FER+ head's raw logits (evaluation / re-selection only)",
                                RAW[1]: "the FER2013 head's raw logits (evaluation / re-selection only)"}
        man["head"] = (f"mix: {final['w_ferplus']} x log_softmax(FER+ head) + {1 - final['w_ferplus']:.1f} x "
                       "log_softmax(FER2013 head) + per-class bias, chosen on PublicTest + SFEW Train "
                       "(python -m training.posthoc --bake)")
        man["posthoc"] = {"w_ferplus": final["w_ferplus"], "bias": dict(zip(D.EMOTIONS, final["bias"])),
                          "objective": final["objective"], "validation": final["validation"],
                          "sfew_cv_accuracy": cv["accuracy"], "sfew_cv_balanced_accuracy": cv["balanced_accuracy"],
                          "ferplus_drop": a.ferplus_drop,
                          "command": res["command"]}
        man_path.write_text(json.dumps(man, indent=2) + "\n")
        print(f"baked into {onnx_path}; manifest {man_path} updated (re-fit T: python -m training.evaluate "
              "--write-manifest)", file=sys.stderr)


if __name__ == "__main__":
    main()
