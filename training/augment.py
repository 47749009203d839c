"""Batched augmentation on float tensors (N,1,48,48) in [0,1], all on the CPU in one pass."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, g: torch.Generator, rot_deg: float = 12.0, scale: float = 0.12,
            shift: float = 0.10, flip: float = 0.5, brightness: float = 0.25,
            contrast: float = 0.3, erase_p: float = 0.5) -> torch.Tensor:
    n = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=g)
    ang = (r(n) * 2 - 1) * math.radians(rot_deg)
    sc = 1.0 + (r(n) * 2 - 1) * scale
    tx, ty = (r(n) * 2 - 1) * shift * 2, (r(n) * 2 - 1) * shift * 2   # grid units: 2 = full width
    fl = torch.where(r(n) < flip, -1.0, 1.0)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos * fl, -sin, tx], 1),
                         torch.stack([sin * fl, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # brightness / contrast around each image's mean
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    c = 1.0 + (r(n, 1, 1, 1) * 2 - 1) * contrast
    b = (r(n, 1, 1, 1) * 2 - 1) * brightness * 0.5
    x = ((x - m) * c + m + b).clamp(0.0, 1.0)
    # random erasing: one rectangle of 2-20 % of the area, filled with noise
    if erase_p > 0:
        H, W = x.shape[-2:]
        do = r(n) < erase_p
        area = (0.02 + r(n) * 0.18) * H * W
        ar = torch.exp((r(n) * 2 - 1) * math.log(3.0))
        h = (area * ar).sqrt().clamp(4, H).long()
        w = (area / ar).sqrt().clamp(4, W).long()
        y0 = (r(n) * (H - h + 1).float()).long()
        x0 = (r(n) * (W - w + 1).float()).long()
        yy = torch.arange(H).view(1, H, 1)
        xx = torch.arange(W).view(1, 1, W)
        mask = ((yy >= y0.view(-1, 1, 1)) & (yy < (y0 + h).view(-1, 1, 1)) &
                (xx >= x0.view(-1, 1, 1)) & (xx < (x0 + w).view(-1, 1, 1)) & do.view(-1, 1, 1))
        noise = r(n, 1, H, W)
        x = torch.where(mask.unsqueeze(1), noise, x)
    return x
