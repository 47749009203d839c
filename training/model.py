"""A small VGG-style CNN for 48x48 grey faces with two heads.

- ``ferplus`` head: 7 logits trained on FER+ vote distributions (the shipped head).
- ``fer2013`` head: 7 logits trained on the original FER2013 labels.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


def _block(cin: int, cout: int, n: int) -> nn.Sequential:
    layers = []
    for i in range(n):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class EmotionNet(nn.Module):
    def __init__(self, widths: Sequence[int] = (32, 64, 128, 256), convs: Sequence[int] = (1, 2, 2, 2),
                 dropout: float = 0.3, n_classes: int = 7):
        super().__init__()
        blocks, cin = [], 1
        for w, n in zip(widths, convs):
            blocks.append(_block(cin, w, n))
            cin = w
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.embed = nn.Sequential(nn.Linear(cin, 256), nn.ReLU(inplace=True))
        self.head_ferplus = nn.Linear(256, n_classes)
        self.head_fer2013 = nn.Linear(256, n_classes)

    def forward_both(self, x: torch.Tensor):
        h = self.pool(self.features(x)).flatten(1)
        h = self.embed(self.drop(h))
        h = self.drop(h)
        return self.head_ferplus(h), self.head_fer2013(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_both(x)[0]


class ExportWrapper(nn.Module):
    """What goes into the ONNX file: input -> (logits [shipped head], logits_other)."""

    def __init__(self, net: EmotionNet, head: str = "ferplus"):
        super().__init__()
        self.net = net
        self.head = head

    def forward(self, x):
        a, b = self.net.forward_both(x)
        return (a, b) if self.head == "ferplus" else (b, a)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
