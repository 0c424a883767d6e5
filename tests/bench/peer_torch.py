#!/usr/bin/env python3
"""peer_torch.py - the PyTorch peer of `sweep bench`: the same CIFAR-10 CNN
(conv1/conv2 filters, dense units, dropouts, BatchNorm momentum 0.99 as Keras
means it), the same batch and thread count, synthetic data, a training step
of forward + cross-entropy + backward + Adam. Measures both memory layouts
(default NCHW and channels_last) and reports the faster, as the issue asks.

usage: peer_torch.py [--batch N] [--threads T] [--seconds S] [--conv1 N]
                     [--conv2 N] [--units N]
prints one JSON object: train_images_per_sec, infer_images_per_sec (and
per CPU-second, of the faster layout),
train_default, train_channels_last, batch, threads, peak_rss_mb, torch
"""
import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn


def make_model(c1=32, c2=64, units=64, d1=0.3, d=0.5):
    # BatchNorm momentum: Keras 0.99 is PyTorch 0.01; eps 1e-3 as Keras
    bn = dict(eps=1e-3, momentum=0.01)
    return nn.Sequential(
        nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c1, **bn),
        nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c1, **bn),
        nn.MaxPool2d(2), nn.Dropout(d1),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c2, **bn),
        nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c2, **bn),
        nn.MaxPool2d(2), nn.Dropout(d),
        nn.Flatten(), nn.Linear(c2 * 8 * 8, units), nn.ReLU(),
        nn.BatchNorm1d(units, **bn), nn.Dropout(d), nn.Linear(units, 10))


def measure(fn, batch, seconds, cpu=None):
    fn()  # warm-up
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        steps += 1
        el = time.perf_counter() - t0
        if el >= seconds and steps >= 3:
            if cpu is not None:
                cpu.append(steps * batch / (time.process_time() - c0))
            return steps * batch / el


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--conv1", type=int, default=32)
    ap.add_argument("--conv2", type=int, default=64)
    ap.add_argument("--units", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    res = {}
    for fmt in ("default", "channels_last"):
        model = make_model(a.conv1, a.conv2, a.units)
        xx = x
        if fmt == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            xx = x.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xx), y)
            loss.backward()
            opt.step()

        model.train()
        cpu = []
        res["train_" + fmt] = measure(step, a.batch, a.seconds, cpu)
        res["train_cpu_" + fmt] = cpu[0]
        model.eval()

        def infer():
            with torch.no_grad():
                model(xx)

        cpu = []
        res["infer_" + fmt] = measure(infer, a.batch, a.seconds, cpu)
        res["infer_cpu_" + fmt] = cpu[0]
    best = max(("default", "channels_last"), key=lambda f: res["train_" + f])
    ibest = max(("default", "channels_last"), key=lambda f: res["infer_" + f])
    out = {
        "train_images_per_sec": res["train_" + best],
        "train_images_per_cpu_sec": res["train_cpu_" + best],
        "infer_images_per_sec": res["infer_" + ibest],
        "infer_images_per_cpu_sec": res["infer_cpu_" + ibest],
        "batch": a.batch, "threads": a.threads,
        "conv1_filters": a.conv1, "conv2_filters": a.conv2,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "torch": torch.__version__,
    }
    out.update(res)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
