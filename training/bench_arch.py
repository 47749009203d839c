"""Speed probe behind the choice of architecture: training ms per batch of 64 (torch, 2 threads,
channels-last, SGD step, both heads) and ONNX Runtime ms per face with the flip TTA (1 thread).

    python -m training.bench_arch

Numbers depend on what else runs on the CPU; the ones in docs/emotion_model.md were taken while
the machine was nearly idle.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .model import EmotionNet, count_params

CANDIDATES = {
    "A (32-256, 7 convs)": ((32, 64, 128, 256), (1, 2, 2, 2)),
    "C (24-192, 7 convs)": ((24, 48, 96, 192), (1, 2, 2, 2)),
    "E (32-256, 4 convs)": ((32, 64, 128, 256), (1, 1, 1, 1)),
    "G (16-256, 5 stages, 9 convs)": ((16, 32, 64, 128, 256), (1, 2, 2, 2, 2)),
    "G4 (16-256, 5 stages, 8 convs) [shipped]": ((16, 32, 64, 128, 256), (1, 1, 2, 2, 2)),
}


def main():
    import onnxruntime as ort
    torch.set_num_threads(2)
    print("| candidate | params | train ms / batch 64 | ORT ms / face, TTA x2, 1 thread |")
    print("| --- | --- | --- | --- |")
    for name, (w, c) in CANDIDATES.items():
        m = EmotionNet(w, c).to(memory_format=torch.channels_last)
        x = torch.randn(64, 1, 48, 48).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 7, (64,))
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True)
        m.train()
        for i in range(25):
            if i == 5:
                t = time.perf_counter()
            a, b = m.forward_both(x)
            loss = F.cross_entropy(a, y) + F.cross_entropy(b, y)
            opt.zero_grad(); loss.backward(); opt.step()
        train_ms = (time.perf_counter() - t) / 20 * 1000
        m.eval()
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "m.onnx"
            torch.onnx.export(m, torch.randn(1, 1, 48, 48), str(p), input_names=["input"], output_names=["logits"],
                              opset_version=17, dynamic_axes={"input": {0: "b"}}, dynamo=False)
            so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
            s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        xi = np.random.randn(2, 1, 48, 48).astype(np.float32)
        for _ in range(50):
            s.run(None, {"input": xi})
        ts = []
        for _ in range(1000):
            t = time.perf_counter(); s.run(None, {"input": xi}); ts.append(time.perf_counter() - t)
        print(f"| {name} | {count_params(m):,} | {train_ms:.0f} | {np.median(ts) * 1000:.2f} |", flush=True)


if __name__ == "__main__":
    main()
