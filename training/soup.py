"""Average the weights of several checkpoints of one network ("model soup", Wortsman et al. 2022; the
same idea as stochastic weight averaging) and score the average on PublicTest, the validation split.

    python -m training.soup --ckpt training/weights/faceres_s10_160.pt training/weights/faceres_s11_160.pt \
        training/weights/faceres_s12_160.pt --out runs/soup_s10-12/best.pt

Why it is sound here: the checkpoints are fine-tuned from one another (s11 and s12 both start from s10),
so they lie in one basin of the loss and their average is a flatter point than any of them, which tends
to carry better to faces none of them was tuned on. faceres has its batch norm folded into its
convolutions, so there are no running statistics to recompute after averaging. Costs nothing at run time:
the average is one network of the same size.

The output is a checkpoint like train.py's best.pt (weights, config, PublicTest scores): export it or fit its
heads with `training.sfew_heads --ckpt` as any other stage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


def average_state_dicts(states: list[dict], weights: list[float] | None = None) -> dict:
    """Weighted mean of float tensors (in float32); integer tensors must agree and are taken from the first."""
    if not states:
        raise ValueError("no checkpoints to average")
    w = np.asarray(weights if weights is not None else [1.0] * len(states), dtype=np.float64)
    if len(w) != len(states) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights {list(w)} do not fit {len(states)} checkpoints")
    w = w / w.sum()
    keys = list(states[0])
    for i, s in enumerate(states[1:], 1):
        if list(s) != keys:
            raise ValueError(f"checkpoint {i} has other tensors than checkpoint 0: not the same network")
    out = {}
    for k in keys:
        t0 = states[0][k]
        if t0.is_floating_point():
            out[k] = sum(float(wi) * s[k].float() for wi, s in zip(w, states))
        else:
            for s in states[1:]:
                if not torch.equal(s[k], t0):
                    raise ValueError(f"integer tensor {k} differs between checkpoints")
            out[k] = t0.clone()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", nargs="+", required=True, help="checkpoints (best.pt or committed stage files)")
    ap.add_argument("--weights", nargs="+", type=float, help="one weight per checkpoint (default: equal)")
    ap.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)

    from . import data as D
    from .export import load_net
    from .train import predict_logits, score_split, selection_score

    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in a.ckpt]
    avg = average_state_dicts([c["model"] for c in cks], a.weights)
    cfg = dict(cks[0]["config"])
    net, _ = load_net(a.ckpt[0])
    net.load_state_dict(avg)
    net.eval()
    table = D.load_any(D.default_dataset_root() / "ferplus", cache_dir=D.repo_root() / "runs" / "cache")
    va = table.split("PublicTest")
    size = int(cfg.get("input_size", 48))
    sc = score_split(predict_logits(net, va.images, cfg.get("norm_mean", 0.0), cfg.get("norm_std", 1.0), size=size), va)
    rows = [(p, c.get("publictest", {})) for p, c in zip(a.ckpt, cks)]
    for p, s in rows:
        print(f"{p}: score {selection_score(s):.4f} {json.dumps({k: round(v, 4) for k, v in s.items()})}")
    print(f"soup of {len(cks)}: score {selection_score(sc):.4f} {json.dumps({k: round(v, 4) for k, v in sc.items()})}")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg["soup_of"] = [str(p) for p in a.ckpt]
    cfg["soup_weights"] = a.weights
    tmp = out.with_suffix(".tmp")
    torch.save(dict(model=avg, epoch=max(int(c.get("epoch", 0)) for c in cks), config=cfg, publictest=sc), tmp)
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
