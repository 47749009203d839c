"""SFEW Train through the whole photo pipeline, as a user drops a still on the photo page.

    python -m training.sfew_pipeline                 # -> runs/sfew_pipeline.json + a markdown report

For each of the 859 stills: `Analyzer.analyze_image(path)` (detector pyramid, mesh, crop, emotion),
the largest face taken as the answer (what the page shows first). Reports:
- face-finding: stills with at least one face, per class;
- the accuracy a photo-page user sees: correct / all stills (a still with no face counts as wrong),
  and correct / stills with a face; per-class recall;
- failure shapes of the stills where no face is found, measured, not guessed: brightness, contrast,
  sharpness and head pose (from MediaPipe's mesh of the whole still, which does not need the
  detector) against the stills that are found; and how many misses the same detector finds on
  simple variants of the input (a wider border, the still upscaled, a lower score threshold),
  which says where the detector loses them. detection.py is not changed here.
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
from .metrics import confusion, recall_per_class
from .sfew import load_sfew, meshes, sfew_root


def still_stats(rgb: np.ndarray, lm) -> dict:
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    out = {"brightness": float(g.mean()), "contrast": float(g.std()),
           "sharpness": float(cv2.Laplacian(g, cv2.CV_64F).var()),
           "colour": float(np.abs(rgb.astype(float) - g[..., None]).mean())}
    if lm is not None:
        from facial_feedback.landmarks import head_pose
        p = head_pose(lm)
        out.update(yaw=abs(p.yaw), pitch=p.pitch, roll=abs(p.roll))
        x0, y0 = lm[:, :2].min(0)
        x1, y1 = lm[:, :2].max(0)
        out["face_frac"] = float(max(x1 - x0, y1 - y0) / max(rgb.shape[:2]))
    return out


def variant_hits(det, rgb: np.ndarray) -> dict:
    """Does the same detector find a face on simple variants of the still? (raw runs, score >= 0.5 / 0.3)"""
    H, W = rgb.shape[:2]

    def padded(img, frac):
        h, w = img.shape[:2]
        p = int(round(frac * max(h, w)))
        out = np.zeros((h + 2 * p, w + 2 * p, 3), np.uint8)
        out[p:p + h, p:p + w] = img
        return out
    runs = {
        "border 0.25 (as shipped), score >= 0.3": (padded(rgb, 0.25), 0.3),
        "border 0.6": (padded(rgb, 0.6), 0.5),
        "border 1.0": (padded(rgb, 1.0), 0.5),
        "no border": (rgb, 0.5),
        "upscaled 2x, border 0.25": (padded(cv2.resize(rgb, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR), 0.25), 0.5),
        "grey-replicated border 0.25": (padded(np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, 2), 0.25), 0.5),
    }
    # _run gives (x, y, w, h, score, keypoints) per raw detection
    return {k: any(d[4] >= thr for d in det._run(img)) for k, (img, thr) in runs.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--out", default=str(D.repo_root() / "runs" / "sfew_pipeline.json"))
    ap.add_argument("--manifest", default=None, help="emotion model manifest (default: the shipped one)")
    a = ap.parse_args(argv)
    from facial_feedback.pipeline import Analyzer, AnalyzerConfig
    sf = load_sfew(a.data)
    base = sfew_root(a.data)
    mesh_list = meshes(sf)
    kw = {"emotion_manifest": a.manifest} if a.manifest else {}
    an = Analyzer(AnalyzerConfig(signals=False), **kw)
    rows = []
    t0 = time.time()
    try:
        for i, name in enumerate(sf.names):
            fr = an.analyze_image(str(base / name))
            faces = sorted(fr.faces, key=lambda f: -f.box.area)
            row = {"name": str(name), "label": int(sf.labels[i]), "n_faces": len(faces)}
            if faces:
                f = faces[0]
                row.update(pred=int(np.argmax(f.emotion.probs)), score=float(f.score), meshed=f.landmarks is not None,
                           box_frac=float(max(f.box.w, f.box.h) / max(fr.width, fr.height)))
            row["stats"] = still_stats(sf.images[i], mesh_list[i])
            if not faces:
                row["variants"] = variant_hits(an.detector, sf.images[i])
            rows.append(row)
    finally:
        an.close()
    sec = time.time() - t0
    y = np.array([r["label"] for r in rows])
    found = np.array([r["n_faces"] > 0 for r in rows])
    pred = np.array([r.get("pred", -1) for r in rows])
    ok = pred == y
    cm = confusion(np.where(found, pred, 6), y)   # for recall only; a miss is wrong either way
    rec_all = [float(ok[y == c].mean()) for c in range(7)]
    rec_found = recall_per_class(confusion(pred[found], y[found]))
    res = {"command": "python -m training.sfew_pipeline " + " ".join(sys.argv[1:] if argv is None else argv),
           "n": len(rows), "found": int(found.sum()), "seconds": sec,
           "multi_face": int(sum(r["n_faces"] > 1 for r in rows)),
           "accuracy_all": float(ok.mean()), "accuracy_found": float(ok[found].mean()),
           "recall_all": dict(zip(D.EMOTIONS, rec_all)), "recall_found": dict(zip(D.EMOTIONS, map(float, rec_found))),
           "found_per_class": {e: [int(found[y == c].sum()), int((y == c).sum())] for c, e in enumerate(D.EMOTIONS)},
           "confusion_found": confusion(pred[found], y[found]).tolist(), "rows": rows}
    del cm
    # failure shapes: medians of the still statistics, missed vs found
    keys = ("brightness", "contrast", "sharpness", "colour", "yaw", "pitch", "roll", "face_frac")
    shape = {}
    for k in keys:
        miss = [r["stats"][k] for r in rows if r["n_faces"] == 0 and k in r["stats"]]
        hit = [r["stats"][k] for r in rows if r["n_faces"] > 0 and k in r["stats"]]
        if miss and hit:
            shape[k] = {"missed_median": float(np.median(miss)), "found_median": float(np.median(hit)),
                        "missed_n": len(miss), "found_n": len(hit)}
    res["failure_shapes"] = shape
    res["missed_meshed_by_facemesh"] = int(sum(1 for i, r in enumerate(rows) if r["n_faces"] == 0 and mesh_list[i] is not None))
    var = [r["variants"] for r in rows if r["n_faces"] == 0]
    res["missed_found_by_variant"] = {k: int(sum(v[k] for v in var)) for k in (var[0] if var else {})}
    # accuracy by condition (terciles of brightness / sharpness, |yaw|) on all stills, misses counted wrong
    cond = {}
    for k in ("brightness", "sharpness", "yaw"):
        vals = np.array([r["stats"].get(k, np.nan) for r in rows])
        m = ~np.isnan(vals)
        qs = np.nanquantile(vals, [1 / 3, 2 / 3])
        bins = np.digitize(vals, qs)
        cond[k] = [{"range": [float(np.nanmin(vals[m & (bins == b)])), float(np.nanmax(vals[m & (bins == b)]))],
                    "n": int((m & (bins == b)).sum()), "found": float(found[m & (bins == b)].mean()),
                    "accuracy": float(ok[m & (bins == b)].mean())} for b in range(3)]
    res["by_condition"] = cond
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(report(res))


def report(res: dict) -> str:
    L = [f"SFEW Train through `Analyzer.analyze_image` ({res['n']} stills, {res['seconds']:.0f} s): a face found in "
         f"**{res['found']} / {res['n']}** ({100 * res['found'] / res['n']:.1f} %), more than one face in "
         f"{res['multi_face']}; the largest face's label is right for **{100 * res['accuracy_all']:.1f} %** of all stills "
         f"(a still without a face counts as wrong) and {100 * res['accuracy_found']:.1f} % of the stills with a face.",
         "", "| class | stills | face found | recall, all stills | recall, stills with a face |",
         "| --- | --- | --- | --- | --- |"]
    for e in D.EMOTIONS:
        f, n = res["found_per_class"][e]
        L.append(f"| {e} | {n} | {f} | {100 * res['recall_all'][e]:.1f} | {100 * res['recall_found'][e]:.1f} |")
    if res["failure_shapes"]:
        L += ["", "Stills with no face found vs found (medians; pose and face size from the mesh of the whole still):", "",
              "| measure | missed | found |", "| --- | --- | --- |"]
        for k, v in res["failure_shapes"].items():
            L.append(f"| {k} | {v['missed_median']:.2f} (n {v['missed_n']}) | {v['found_median']:.2f} (n {v['found_n']}) |")
        n_miss = res["n"] - res["found"]
        L += ["", f"Of the {n_miss} missed stills, the face mesh (given the whole still as the face box) meshes "
                  f"{res['missed_meshed_by_facemesh']}. The same detector on variants of a missed still finds: " +
              ", ".join(f"{k}: {v}" for k, v in res["missed_found_by_variant"].items()) + "."]
    L += ["", "Accuracy by condition (terciles over all stills; misses count as wrong):", "",
          "| condition | range | n | face found | accuracy |", "| --- | --- | --- | --- | --- |"]
    for k, bins in res["by_condition"].items():
        for b in bins:
            L.append(f"| {k} | {b['range'][0]:.1f}-{b['range'][1]:.1f} | {b['n']} | {100 * b['found']:.1f} % | "
                     f"{100 * b['accuracy']:.1f} % |")
    return "\n".join(L)


if __name__ == "__main__":
    main()
