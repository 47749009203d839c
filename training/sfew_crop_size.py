"""Does a sharper film-still crop help? The pipeline cuts every face at the manifest's crop_size (48 px,
what FER's crops are) and upsamples it to the network's input; a photo or webcam face has more pixels than
that. This cuts the SFEW 2.0 Train stills at other sizes (area-resized from the still, then to the
network's size, as `facial_feedback.emotion.resize_crops` would), re-fits the heads as `training.sfew_heads`
does (mirrored stills, the given weight and balance) and prints the SFEW 5-fold CV by film for each size.
Validation data only (FER2013 Training, PublicTest, SFEW Train).

    python -m training.sfew_crop_size --ckpt runs/faceres_s9_160/best.pt --sizes 48 96 160
    python -m training.sfew_crop_size --ckpt training/weights/faceres_s12_160.pt --sizes 48 --colour both

`--colour both` also cuts the stills in colour (RGB, what the pipeline sees; faceres was pretrained on colour
and takes RGB): FER's images are grey, so the heads' FER half is unchanged and only the film stills differ.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from . import sfew_heads as SH


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[48, 96, 160])
    ap.add_argument("--w-sfew", type=float, default=10.0)
    ap.add_argument("--balance", type=float, default=1.0)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--colour", choices=["grey", "rgb", "both"], default="grey")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    from facial_feedback.emotion import CropSpec
    from .export import load_net
    from .sfew import load_sfew, meshes, shipped_crops
    g = SH.gather(Path(a.ckpt), views=1)
    net, ck = load_net(Path(a.ckpt))
    net = net.to(memory_format=torch.channels_last)
    size = int(ck["config"].get("input_size", 48))
    sf = load_sfew(None)
    ms = meshes(sf)
    c = g["crop"]
    channels = {"grey": [1], "rgb": [3], "both": [1, 3]}[a.colour]
    for s, ch in [(s, ch) for s in a.sizes for ch in channels]:
        model = SimpleNamespace(manifest=SimpleNamespace(crop=CropSpec(c["scale"], c["offset_y"], c["align"]),
                                                         crop_size=s, channels=ch))
        crops, _ = shipped_crops(model, sf, ms)
        f = np.stack([SH.features(net, crops, size), SH.features(net, crops, size, True)])
        g2 = dict(g, sf=f[:1], sf_fit=f)
        cv = SH.cross_validate(g2, a.w_sfew, a.wd, a.balance, mirror=True)
        print(json.dumps({"crop_size": s, "input": "grey" if ch == 1 else "rgb",
                          "sfew_cv": round(100 * cv["accuracy"], 2),
                          "sfew_cv_balanced": round(100 * cv["balanced_accuracy"], 2),
                          "recall": {k: round(100 * v, 1) for k, v in cv["recall"].items()}}), flush=True)


if __name__ == "__main__":
    main()

