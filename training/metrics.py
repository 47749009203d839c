"""Metrics on numpy arrays (no torch): accuracy, macro-F1, recall, ECE, temperature fit."""
from __future__ import annotations

from typing import Optional

import numpy as np


def softmax(z: np.ndarray, t: float = 1.0) -> np.ndarray:
    z = np.asarray(z, np.float64) / t
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def correct(pred: np.ndarray, label: np.ndarray, alt: Optional[np.ndarray] = None) -> np.ndarray:
    ok = pred == label
    if alt is not None:
        ok |= (alt >= 0) & (pred == alt)
    return ok


def confusion(pred: np.ndarray, label: np.ndarray, k: int = 7) -> np.ndarray:
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (label, pred), 1)
    return cm


def recall_per_class(cm: np.ndarray) -> np.ndarray:
    return cm.diagonal() / np.maximum(cm.sum(1), 1)


def macro_f1(cm: np.ndarray) -> float:
    tp = cm.diagonal().astype(float)
    prec = tp / np.maximum(cm.sum(0), 1)
    rec = tp / np.maximum(cm.sum(1), 1)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
    present = cm.sum(1) > 0
    return float(f1[present].mean())


def ece(probs: np.ndarray, ok: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence (equal-width bins)."""
    conf = probs.max(1)
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(ok[m].mean() - conf[m].mean())
    return float(e)


def nll(logits: np.ndarray, target: np.ndarray, t: float) -> float:
    """Cross-entropy against hard labels (int) or distributions (float, rows sum to 1)."""
    p = softmax(logits, t)
    if target.ndim == 1:
        return float(-np.log(p[np.arange(len(target)), target] + 1e-12).mean())
    return float(-(target * np.log(p + 1e-12)).sum(1).mean())


def fit_temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """1-D search for T minimising NLL (golden section on log T in [0.05, 20])."""
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(logits, target, np.exp(a)), nll(logits, target, np.exp(b))
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(logits, target, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(logits, target, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def tta_logits_to_probs(logit_list, t: float = 1.0) -> np.ndarray:
    """Average the probabilities over test-time views (what the pipeline does)."""
    return np.mean([softmax(z, t) for z in logit_list], axis=0)
