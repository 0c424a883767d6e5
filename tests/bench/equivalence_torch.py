#!/usr/bin/env python3
"""equivalence_torch.py - does sweep's trainer compute what accuracy_torch.py
computes? Runs build/tests/bench/equivalence_dump (sweep's initial weights,
one fixed batch with dropout off, its forward, gradients, Adam steps,
BatchNorm and precise-BN statistics, eval logits), loads the same weights
into accuracy_torch.py's model and prints, per quantity and layer, the
largest absolute difference and that difference relative to the largest
value (float rounding gives ~1e-6..1e-4; a real difference gives more).

usage: equivalence_torch.py [DATA_DIR] [--seed S] [--n 256] [--steps 5]
                            [--no-precise-bn] [--dump FILE] [--strict]
Build the dumper first: make build/tests/bench/equivalence_dump.
The optimizer steps are compared twice: against torch.optim.Adam (eps 1e-7
added to the bias-corrected sqrt(v), what accuracy_torch.py trains with) and
against Keras's formula (eps added to the raw sqrt(v), the step size carrying
the bias correction), which sweep implements.
A control run (Keras's formula from weights one float32 rounding apart)
shows how far rounding alone carries two runs apart after K steps: Adam's
first steps are nearly sign steps, so tiny gradients amplify rounding.
--strict exits 1 when the forward pass or a gradient differs by more than
1e-4 relative, a parameter after one step by more than 1e-2 (rounding of
near-zero gradients), or the eval logits after K steps by more than 3x the
control's difference.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accuracy_torch import KerasAdam, build_model, precise_bn  # noqa: E402

# sweep layer name -> index in accuracy_torch's nn.Sequential
LAYERS = {"conv1": 0, "bn1": 2, "conv2": 3, "bn2": 5, "conv3": 8, "bn3": 10,
          "conv4": 11, "bn4": 13, "dense1": 17, "bn5": 19, "dense2": 21}
# sweep tensor suffix -> torch attribute
ATTR = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias",
        "moving_mean": "running_mean", "moving_var": "running_var"}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen])
    base = 8 + hlen
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        out[name] = np.frombuffer(raw[base + lo:base + hi], dtype=np.float32).reshape(e["shape"])
    return out, header.get("__metadata__", {})


def to_torch_layout(name, a):
    """sweep's dense kernel is Keras's (in, out); torch's Linear is (out, in).
    Convs are (out, in, kh, kw) on both sides; flatten is C,H,W on both."""
    if name.startswith("dense") and name.endswith(".weight"):
        return a.T
    return a


def tensor_of(model, name):
    layer, what = name.split(".", 1)
    return getattr(model[LAYERS[layer]], ATTR[what])


def load_into(model, d, prefix):
    with torch.no_grad():
        for key, a in d.items():
            if key.startswith(prefix + "."):
                name = key[len(prefix) + 1:]
                tensor_of(model, name).copy_(torch.from_numpy(to_torch_layout(name, a).copy()))


class Table:
    def __init__(self):
        self.rows = []

    def add(self, quantity, name, sweep, ref, keras_side=True):
        ref = np.asarray(ref, dtype=np.float64)
        diff = np.abs(np.asarray(sweep, dtype=np.float64) - ref)
        scale = max(np.abs(ref).max(), 1e-30)
        self.rows.append((quantity, name, diff.max(), diff.max() / scale, keras_side))

    def print(self):
        print(f"{'quantity':<22} {'tensor':<20} {'max abs diff':>13} {'rel to max':>11}")
        for q, n, a, r, _ in self.rows:
            print(f"{q:<22} {n:<20} {a:13.3e} {r:11.3e}")

    def worst(self, prefix):
        return max((r for q, _, _, r, k in self.rows if k and q.startswith(prefix)),
                   default=0.0)

    def get(self, quantity, name):
        return next(r for q, n, _, r, _ in self.rows if q == quantity and n == name)


def windows(h):
    """(N,C,H,W) -> (N,C,H/2,W/2,4), window element r*2+c as sweep numbers them"""
    n, c, hh, ww = h.shape
    return h.reshape(n, c, hh // 2, 2, ww // 2, 2).permute(0, 1, 2, 4, 3, 5) \
        .reshape(n, c, hh // 2, ww // 2, 4)


def routed_gradients(d, x, y, dtype):
    """Gradients with max pooling replaced by sweep's choices (fwd.pool1/2):
    a tie (uniform image regions give exactly equal values, which Winograd's
    rounding tells apart) or near tie then routes the gradient where sweep
    routed it. Also returns how many of sweep's choices differ from the
    argmax in dtype."""
    model = build_model(0.0, 0.0)
    load_into(model, d, "init")
    model = model.to(dtype)
    model.train()
    h, k, flips = x.to(dtype), 0, 0
    for layer in model:
        if isinstance(layer, nn.MaxPool2d):
            k += 1
            idx = torch.from_numpy(d[f"fwd.pool{k}"].astype(np.int64))
            w = windows(h)
            flips += int((w.argmax(-1) != idx).sum())
            h = w.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        else:
            h = layer(h)
    nn.CrossEntropyLoss()(h, y).backward()
    return {key[5:]: tensor_of(model, key[5:]).grad.numpy()
            for key in d if key.startswith("grad.")}, flips


def train_steps(model, x, y, steps, optimizer, pbn, table_cb):
    """steps optimizer steps on the whole batch (one per sweep epoch), precise
    BN after each when pbn; table_cb(step) after each."""
    loss_fn = nn.CrossEntropyLoss()
    params = list(model.parameters())
    opt = (torch.optim.Adam if optimizer == "torch" else KerasAdam)(
        params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    for t in range(1, steps + 1):
        model.train()
        for p in params:
            p.grad = None
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if pbn:
            precise_bn(model, [x])
        table_cb(t)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.environ.get(
        "SWEEP_DATA", "/work/shared/data/cifar-10-batches-bin"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--no-precise-bn", action="store_true")
    ap.add_argument("--dump", default="/tmp/sweep-equivalence.safetensors")
    ap.add_argument("--dumper", default=os.path.join(root, "build/tests/bench/equivalence_dump"))
    ap.add_argument("--strict", action="store_true")
    a = ap.parse_args()
    pbn = 0 if a.no_precise_bn else 1
    subprocess.run([a.dumper, a.data, a.dump, str(a.seed), str(a.n), str(a.steps), str(pbn)],
                   check=True)
    d, meta = read_safetensors(a.dump)
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False   # plain float32 kernels
    x = torch.from_numpy(d["batch.input"].copy())
    y = torch.from_numpy(d["batch.labels"].astype(np.int64))
    xv = torch.from_numpy(d["val.input"].copy())
    yv = d["val.labels"].astype(np.int64)
    table = Table()

    # the input: sweep's pipeline against accuracy_torch's x / 255 of the raw files
    raw = np.fromfile(os.path.join(a.data, "data_batch_1.bin"), dtype=np.uint8)
    raw = raw[:a.n * 3073].reshape(a.n, 3073)
    table.add("input", "x/255", d["batch.input"], raw[:, 1:].reshape(-1, 3, 32, 32) / np.float32(255))
    table.add("input", "labels", d["batch.labels"], raw[:, 0])

    model = build_model(0.0, 0.0)
    load_into(model, d, "init")
    # initial weights: Glorot limits are sqrt(6/(fan_in+fan_out)) on both sides
    for name, idx in LAYERS.items():
        m = model[idx]
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fi, fo = nn.init._calculate_fan_in_and_fan_out(m.weight)
            lim = np.sqrt(6 / (fi + fo))
            w = m.weight.detach().numpy()
            print(f"init {name}: |w| max {np.abs(w).max():.5f} limit {lim:.5f}, "
                  f"std {w.std():.5f} (uniform {lim / np.sqrt(3):.5f}), bias max {m.bias.abs().max():.1e}")

    # one training-mode forward and backward
    model.train()
    out = model(x)
    loss = nn.CrossEntropyLoss()(out, y)
    loss.backward()
    table.add("forward (train)", "logits", d["fwd.logits"], out.detach().numpy())
    table.add("forward (train)", "loss", d["fwd.loss"], [loss.item()])
    # against torch's float32 gradients: a pooling near tie that rounding
    # resolves the other way moves one gradient value (a whole output
    # channel of the conv before shows it), so these may differ by 1e-3;
    # against float64 with sweep's own pooling choices they must not
    for key, a_ in d.items():
        if key.startswith("grad."):
            name = key[5:]
            table.add("gradient", name, to_torch_layout(name, a_),
                      tensor_of(model, name).grad.numpy(), False)
    # float64 shows how well conditioned each gradient is (a BatchNorm
    # channel with a variance near 0 makes float32 lose digits on both sides)
    for dtype, tag, strict in ((torch.float32, "f32", True), (torch.float64, "f64", False)):
        routed, flips = routed_gradients(d, x, y, dtype)
        print(f"pooling choices of sweep that differ from the {tag} argmax (ties): {flips}")
        for key, a_ in d.items():
            if key.startswith("grad."):
                name = key[5:]
                table.add(f"gradient, {tag} routed", name, to_torch_layout(name, a_),
                          routed[name], strict)
    for key, a_ in d.items():
        if key.startswith("fwd.") and "moving" in key:
            name = key[4:]
            # torch's running_var takes the unbiased batch variance
            table.add("BN stats, 1 fwd", name, a_, tensor_of(model, name).detach().numpy(),
                      keras_side=False)

    # optimizer steps, both Adam formulas; the control reruns Keras's formula
    # from weights moved by one float32 rounding (relative 2^-24, random
    # signs): how far rounding alone carries the runs apart after K steps
    runs = {}
    for opt in ("keras", "torch", "control"):
        model = build_model(0.0, 0.0)
        load_into(model, d, "init")
        if opt == "control":
            g = torch.Generator().manual_seed(1)
            with torch.no_grad():
                for p in model.parameters():
                    sign = torch.randint(0, 2, p.shape, generator=g) * 2 - 1
                    p.mul_(1 + sign * 2.0 ** -24)
        snaps = runs[opt] = {}

        def after(t, model=model, snaps=snaps):
            if t in (1, a.steps):
                model.eval()
                with torch.no_grad():
                    snaps[t] = {"eval logits": model(xv).numpy()}
                for key in d:
                    if key.startswith("step1.") and not key.endswith(".eval"):
                        name = key[6:]
                        snaps[t][name] = tensor_of(model, name).detach().numpy().copy()
        train_steps(model, x, y, a.steps, "keras" if opt == "control" else opt, pbn, after)

    for t in sorted({1, a.steps}):
        tag = "step1" if t == 1 else "stepK"
        sweep = {k[len(tag) + 1:]: to_torch_layout(k[len(tag) + 1:], v)
                 for k, v in d.items() if k.startswith(tag + ".")}
        sweep["eval logits"] = sweep.pop("eval")
        for name in runs["keras"][t]:
            table.add(f"keras Adam, step {t}", name, sweep[name], runs["keras"][t][name])
            table.add(f"torch Adam, step {t}", name, sweep[name], runs["torch"][t][name], False)
            table.add(f"control, step {t}", name, runs["control"][t][name],
                      runs["keras"][t][name], False)
        for who, ev in (("sweep", sweep["eval logits"]), ("keras", runs["keras"][t]["eval logits"]),
                        ("torch", runs["torch"][t]["eval logits"]),
                        ("control", runs["control"][t]["eval logits"])):
            print(f"step {t}: eval accuracy on {len(yv)} test images, {who}: "
                  f"{(ev.argmax(1) == yv).mean():.4f}")

    table.print()
    fwd = max(table.worst("forward"), table.worst("gradient"), table.worst("input"))
    step1 = table.worst("keras Adam, step 1")
    ev = table.get(f"keras Adam, step {a.steps}", "eval logits")
    ctl = table.get(f"control, step {a.steps}", "eval logits")
    print(f"worst relative difference: forward and gradients {fwd:.3e}, after one Keras "
          f"Adam step {step1:.3e}; eval logits after {a.steps} steps {ev:.3e} against "
          f"{ctl:.3e} between two torch runs one rounding apart")
    bad = fwd > 1e-4 or step1 > 1e-2 or ev > 3 * ctl + 1e-4
    if bad:
        print("equivalence_torch: sweep differs from PyTorch beyond rounding")
    return 1 if a.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
