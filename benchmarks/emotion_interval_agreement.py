"""Same label with emotion_interval 0.1 s (the default) as reading every frame, on the shared clips.

    .venv/bin/python benchmarks/emotion_interval_agreement.py
"""
import numpy as np
from dataclasses import replace
from facial_feedback.pipeline import Analyzer, Session
from facial_feedback.io import iter_frames
from pathlib import Path
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
a = Analyzer()
for v in ("WolfgangLanger_Pexels.mp4", "single_face.mp4"):
    frames = list(iter_frames(str(MEDIA / v)))
    out = {}
    for gap in (0.0, 0.1):
        s = Session(a, replace(a.config, emotion_interval=gap))
        out[gap] = [tuple((f.emotion.label, f.emotion.probs) for f in s.process(rgb, t).faces) for _, t, rgb in frames]
        s.close()
    same = [x[0][0] == y[0][0] for x, y in zip(out[0.0], out[0.1]) if x and y]
    l1 = [np.abs(x[0][1] - y[0][1]).sum() / 2 for x, y in zip(out[0.0], out[0.1]) if x and y]
    print(f"{v}: {len(same)} face-frames, same label {100*np.mean(same):.1f}%, mean total-variation distance {np.mean(l1):.3f}")
