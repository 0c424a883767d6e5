#!/usr/bin/env python3
"""accuracy_torch.py - the notebook's recipe in PyTorch on the same CIFAR-10
binary files `sweep train` reads, for the accuracy comparison: the same
model, Keras initialisation (Glorot-uniform kernels, zero biases), BatchNorm
momentum 0.99 / epsilon 1e-3 (Keras meaning), Adam (beta 0.9/0.999, epsilon
1e-7), pixels rescaled to [0,1], shuffled batches, validation on the test
batch after every epoch.

usage: accuracy_torch.py DATA_DIR [--epochs 5] [--batch 256] [--lr 1e-3]
                         [--train-limit N] [--val-limit N] [--threads T] [--seed S]
                         [--precise-bn] [--adam torch|keras]
prints one JSON object per epoch (epoch, loss, accuracy, val_loss,
val_accuracy, seconds) and a final {"summary": {...}}.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def load(path, limit):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 3073:
        sys.exit(f"{path}: size is not a multiple of 3073")
    raw = raw.reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


BN = dict(eps=1e-3, momentum=0.01)   # Keras momentum 0.99, epsilon 1e-3


def build_model(dropout_1=0.3, dropout=0.5):
    """The notebook's CNN with Keras initialisation (Glorot-uniform kernels,
    zero biases); equivalence_torch.py builds it with rates 0."""
    bn = BN
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32, **bn),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32, **bn),
        nn.MaxPool2d(2), nn.Dropout(dropout_1),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64, **bn),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64, **bn),
        nn.MaxPool2d(2), nn.Dropout(dropout),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 64), nn.ReLU(),
        nn.BatchNorm1d(64, **bn), nn.Dropout(dropout), nn.Linear(64, 10))
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


class KerasAdam(torch.optim.Optimizer):
    """Adam as Keras (and sweep) computes it: epsilon added to the raw
    sqrt(v), the bias correction carried by the step size
    lr*sqrt(1-b2^t)/(1-b1^t). torch.optim.Adam adds epsilon to the
    bias-corrected sqrt(v) instead, a larger effective epsilon early on."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["t"] = 0
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                st["t"] += 1
                t = st["t"]
                alpha = group["lr"] * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
                st["m"].mul_(b1).add_(p.grad, alpha=1 - b1)
                st["v"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.sub_(np.float32(alpha) * st["m"] / (st["v"].sqrt() + group["eps"]))


def precise_bn(model, batches):
    """Recomputes BatchNorm statistics as the plain average of the batch
    statistics of `batches` (tensors), with dropout off, as sweep's
    precise_bn."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.eval()
    for m in bns:
        m.train()
    with torch.no_grad():
        for x in batches:
            model(x)
    for m in bns:
        m.momentum = BN["momentum"]
    model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--val-limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precise-bn", action="store_true",
                    help="before each evaluation, recompute BatchNorm statistics "
                         "over 4096 training images (as sweep's precise_bn)")
    ap.add_argument("--adam", choices=("torch", "keras"), default="torch",
                    help="torch.optim.Adam, or Keras's formula (sweep's)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    xs, ys = zip(*(load(os.path.join(a.data, f"data_batch_{i}.bin"), 0) for i in range(1, 6)))
    xtr, ytr = np.concatenate(xs), np.concatenate(ys)
    xte, yte = load(os.path.join(a.data, "test_batch.bin"), 0)
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    if a.val_limit:
        xte, yte = xte[:a.val_limit], yte[:a.val_limit]
    xte_t = torch.from_numpy(xte.astype(np.float32) / 255.0)
    yte_t = torch.from_numpy(yte)

    model = build_model()
    if a.adam == "keras":
        opt = KerasAdam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n = len(ytr)
    last = {}
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = rng.permutation(n)
        lsum, ok = 0.0, 0
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            x = torch.from_numpy(xtr[idx].astype(np.float32) / 255.0)
            y = torch.from_numpy(ytr[idx])
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            opt.step()
            lsum += loss.item() * len(idx)
            ok += (out.argmax(1) == y).sum().item()
        train_s = time.perf_counter() - t0
        if a.precise_bn:
            # batch statistics of 16 batches, averaged, with dropout off
            top = min(n, 4096)
            precise_bn(model, (torch.from_numpy(xtr[perm[i:min(i + a.batch, top)]]
                                                .astype(np.float32) / 255.0)
                               for i in range(0, top, a.batch)))
        model.eval()
        vl, vok = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(yte_t), 500):
                out = model(xte_t[i:i + 500])
                vl += loss_fn(out, yte_t[i:i + 500]).item() * len(out)
                vok += (out.argmax(1) == yte_t[i:i + 500]).sum().item()
        last = {"epoch": epoch, "loss": lsum / n, "accuracy": ok / n,
                "val_loss": vl / len(yte_t), "val_accuracy": vok / len(yte_t),
                "images_per_sec": n / train_s, "seconds": time.perf_counter() - t0}
        print(json.dumps(last), flush=True)
    print(json.dumps({"summary": dict(last, tool="pytorch", torch=torch.__version__,
                                      precise_bn=a.precise_bn,
                                      train_images=n, val_images=len(yte_t))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
