"""Speed probe for the pretrained MobileNetV2 candidates: training ms per batch of 64 (torch, channels-last,
SGD step, both heads) and ONNX Runtime ms per face, flip TTA (2 views) and without, 1 thread.

    python -m training.bench_mobilenet [--sizes 64 80 96] [--threads 2]

The CPU is shared: run it on a quiet machine for the docs, and read the ratio to the shipped
48-px CNN (measured in the same run, first row) rather than the absolute numbers.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .mobilenet import EmotionMobileNet
from .model import EmotionNet, count_params


def ort_ms(m, size, views, n=400):
    import onnxruntime as ort
    m.eval()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.onnx"
        torch.onnx.export(m, torch.randn(1, 1, size, size), str(p), input_names=["input"], output_names=["logits"],
                          opset_version=17, dynamic_axes={"input": {0: "b"}}, dynamo=False)
        so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
        s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        mb = p.stat().st_size / 1e6
    xi = np.random.randn(views, 1, size, size).astype(np.float32)
    for _ in range(30):
        s.run(None, {"input": xi})
    ts = []
    for _ in range(n):
        t = time.perf_counter(); s.run(None, {"input": xi}); ts.append(time.perf_counter() - t)
    ts = np.array(ts) * 1000
    return float(np.median(ts)), float(np.median(ts.reshape(10, -1), 1).min()), mb


def train_ms(m, size, steps=8):
    x = torch.randn(64, 1, size, size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 7, (64,))
    m = m.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    m.train()
    for i in range(steps + 2):
        if i == 2:
            t = time.perf_counter()
        a, b = m.forward_both(x)
        loss = F.cross_entropy(a, y) + F.cross_entropy(b, y)
        opt.zero_grad(); loss.backward(); opt.step()
    return (time.perf_counter() - t) / steps * 1000


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 80, 96])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-train", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = [("shipped CNN G4, 48 px", EmotionNet((16, 32, 64, 128, 256), (1, 1, 2, 2, 2)), 48)]
    for s in a.sizes:
        rows.append((f"MobileNetV2 (no 1280 layer), {s} px", EmotionMobileNet(0), s))
    print("| candidate | params | ONNX MB | train ms / batch 64 | ORT ms / face, 2 views (quietest tenth) | 1 view |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, m, s in rows:
        tm = "-" if a.no_train else f"{train_ms(m, s):.0f}"
        m2, q2, mb = ort_ms(m, s, 2)
        m1, q1, _ = ort_ms(m, s, 1)
        print(f"| {name} | {count_params(m):,} | {mb:.1f} | {tm} | {m2:.2f} ({q2:.2f}) | {m1:.2f} ({q1:.2f}) |",
              flush=True)


if __name__ == "__main__":
    main()
