#!/usr/bin/env bash
# Crash-safe runs benchmark (issue 15):
#  1. checkpoint overhead: `sweep train` of the default model (real
#     CIFAR-10 when present, train_limit 1,000, 5 epochs) with and without
#     --save-every-epoch, interleaved (off, on, off, on, ...) so a change of
#     machine load hits both alike. The save's cost is the median time
#     between two epoch lines outside the epoch's own "seconds", with minus
#     without; also the plain epoch-to-epoch medians and the checkpoint's
#     size. `sweep train` saves synchronously; under `sweep run` the write
#     is done by the store's writer thread, so this is the upper bound.
#     Floor: the save costs at most 5% of an epoch.
#  2. 20 SIGKILLs of a sweep of real runs (4 x 4 epochs, 2 at once) at
#     random moments, `sweep resume` after each, then resumed to its end:
#     epochs of work lost in total (finished epochs trained again plus the
#     part of the epoch in progress at each kill, in epochs), compared with
#     the goal of at most the epoch in progress per run per kill; the
#     final metrics must equal an uninterrupted run's bit for bit.
#     Floors: no finished epoch trained twice beyond one per run per kill
#     (a checkpoint still being written), metrics identical.
# The machine is shared: figures are printed with the load average.
# SWEEP_BENCH_KILLS (default 20) sets the number of kills.
set -u
cd "$(dirname "$0")/../.."
SWEEP_BIN=${SWEEP_BIN:-bin/sweep}
make -s "$SWEEP_BIN" >/dev/null || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cp "$SWEEP_BIN" "$tmp/sweep" || exit 1
S=$tmp/sweep
kills=${SWEEP_BENCH_KILLS:-20}
load() { cut -d' ' -f1-3 /proc/loadavg; }

. tests/bench/lib/cifar_data.sh
bench_cifar_data "$tmp/data" 2000 || exit 1
if [ -n "$real" ]; then
	echo "checkpoint bench: real CIFAR-10 in $real; load $(load)"
else
	echo "checkpoint bench: generated data (no real CIFAR-10 found); load $(load)"
fi

python3 - "$S" "$data" "$tmp" "$kills" <<'PY'
import json, os, random, re, signal, statistics, subprocess, sys, time

S, data, tmp, n_kills = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fail = False

def load():
    return open("/proc/loadavg").read().split()[:3]

# ==== 1. overhead ====
# Per epoch: the interval between two epoch lines, and what of it is not
# the epoch itself (its "seconds": training and evaluation), i.e. the save
# after the previous epoch plus printing. Under load the intervals vary a
# lot; the part outside the epoch is measured on the same epochs.
def epochs(save):
    ck = os.path.join(tmp, "train.ckpt")
    if os.path.exists(ck):
        os.unlink(ck)
    cmd = [S, "train", "--data", data, "--threads", "1", "--json", "epochs=5",
           "train_limit=1000", "val_limit=500", "precise_bn=false"]
    if save:
        cmd[2:2] = ["--save-every-epoch", ck]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stamps, secs = [], []
    for line in p.stdout:
        if line.startswith('{"epoch"'):
            stamps.append(time.monotonic())
            secs.append(json.loads(line)["seconds"])
    p.wait()
    size = os.path.getsize(ck) if save and os.path.exists(ck) else 0
    iv = [b - a for a, b in zip(stamps, stamps[1:])]
    return iv, [i - s for i, s in zip(iv, secs[1:])], secs, size

wall = {False: [], True: []}
outside = {False: [], True: []}
epoch_secs, size = [], 0
for i in range(3):
    for save in (False, True):
        iv, out, secs, sz = epochs(save)
        wall[save] += iv
        outside[save] += out
        epoch_secs += secs
        size = sz or size
m_off, m_on = statistics.median(wall[False]), statistics.median(wall[True])
save_s = statistics.median(outside[True]) - statistics.median(outside[False])
ep = statistics.median(epoch_secs)
share = save_s / ep
print("1. default model, 1,000 images, 1 thread: an epoch takes %.3f s; writing its "
      "checkpoint (%.2f MB, encode + write + fsync + rename) adds %.1f ms = %.1f%%. "
      "Epoch-to-epoch wall time: %.3f s without saving, %.3f s with "
      "--save-every-epoch (ratio %.3f, noisy on a shared machine); load %s"
      % (ep, size / 1e6, save_s * 1e3, share * 100, m_off, m_on, m_on / m_off,
         " ".join(load())))
if share > 0.05:
    print("   below the floor: saving costs more than 5% of an epoch")
    fail = True

# ==== 2. SIGKILLs ====
yaml = os.path.join(tmp, "kill.yaml")
open(yaml, "w").write(
    "method: grid\nmetric: {name: val_loss, goal: minimize}\n"
    "parameters:\n  learning_rate: {values: [0.001, 0.002, 0.003, 0.004]}\n"
    "  epochs: {value: 4}\n  batch_size: {value: 128}\n"
    "  train_limit: {value: 1000}\n  val_limit: {value: 500}\n"
    "  augment: {value: flip_crop}\n  precise_bn: {value: false}\n")
EPOCH = re.compile(r"^run (\S+) epoch (\d+)/(\d+):")
CONT = re.compile(r"^sweep: run (\S+) continues after epoch (\d+)")
FRESH = re.compile(r"^sweep: warning: run ([^:]+): .*training it from the start")
START = re.compile(r"^run (\S+) started:")
END = re.compile(r"^run (\S+) (finished|stopped|failed|killed)")

def sweep(args, kill_after):
    """Runs sweep; returns (exit status, [(t, line)], t0, t_kill)."""
    p = subprocess.Popen([S] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    lines = []
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stderr, selectors.EVENT_READ)
    t_kill = None
    while True:
        left = None if kill_after is None else kill_after - (time.monotonic() - t0)
        if left is not None and left <= 0 and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            t_kill = time.monotonic()
            kill_after = None
        if sel.select(timeout=0.05 if left is None or left > 0.05 else max(left, 0)):
            line = p.stderr.readline()
            if not line:
                break
            lines.append((time.monotonic(), line.rstrip("\n")))
    p.wait()
    return p.returncode, lines, t0, t_kill

ref_root, root = os.path.join(tmp, "ref"), os.path.join(tmp, "crash")
common = ["--data", data, "--seed", "4", "--parallel", "2", "--threads", "1"]
t = time.monotonic()
rc, ref_lines, _, _ = sweep(["run", yaml, "--results", ref_root] + common, None)
ref_wall = time.monotonic() - t
epoch_s = statistics.median(
    [json.loads(l)["epoch_seconds"]
     for d in os.listdir(ref_root)
     for r in os.listdir(os.path.join(ref_root, d, "runs"))
     for l in open(os.path.join(ref_root, d, "runs", r, "history.jsonl"))])
print("2. uninterrupted sweep: %.1f s, %.2f s per epoch" % (ref_wall, epoch_s))

reported = {}          # run -> highest epoch reported so far
retrained = 0          # finished epochs trained again
partial = 0.0          # epochs of the in-progress work lost at the kills
killed = 0
rng = random.Random(int(time.time()))
d = None
for k in range(n_kills + 1):
    last = k == n_kills
    args = ["run", yaml, "--results", root] + common if d is None else ["resume", d]
    at = None if last else rng.uniform(0.3, 1.5) * epoch_s + (1.0 if d is None else 0.5)
    rc, lines, t0, t_kill = sweep(args, at)
    if d is None:
        d = os.path.join(root, os.listdir(root)[0])
    since = {}         # run in flight -> time of its last epoch (or start)
    for ts, line in lines:
        m = CONT.match(line) or FRESH.match(line)
        if m:
            n = int(m.group(2)) if m.re is CONT else 0
            before = reported.get(m.group(1), 0)
            retrained += max(0, before - n)
            since[m.group(1)] = ts
            continue
        m = START.match(line)
        if m:
            since.setdefault(m.group(1), ts)
            continue
        m = EPOCH.match(line)
        if m:
            reported[m.group(1)] = max(reported.get(m.group(1), 0), int(m.group(2)))
            since[m.group(1)] = ts
            continue
        m = END.match(line)
        if m:
            since.pop(m.group(1), None)
    if t_kill is not None and rc == -signal.SIGKILL:
        killed += 1
        partial += sum(min(1.0, (t_kill - s) / epoch_s) for s in since.values())
    if last and rc != 0:
        print("   the final resume failed (exit %d)" % rc)
        fail = True
    if rc == 0 and not last:
        break
lost = retrained + partial
print("   %d SIGKILLs: %d finished epochs trained again, %.2f epochs of "
      "in-progress work lost; %.2f epochs lost in all (%.2f per kill; goal: at "
      "most the epoch in progress of each of the 2 runs); load %s"
      % (killed, retrained, partial, lost, lost / max(killed, 1), " ".join(load())))
if retrained > 2 * killed:
    print("   below the floor: a kill lost more than the epoch in progress")
    fail = True

def metrics(base):
    d0 = os.path.join(base, os.listdir(base)[0]) if base != d else d
    out = {}
    for r in os.listdir(os.path.join(d0, "runs")):
        for l in open(os.path.join(d0, "runs", r, "history.jsonl")):
            row = json.loads(l)
            out[(r, row["_step"])] = tuple(row[k] for k in
                ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"))
    return out

a, b = metrics(ref_root), metrics(d)
same = a == b
print("   final metrics %s the uninterrupted sweep's (%d epochs)"
      % ("bit-identical to" if same else "DIFFERENT from", len(a)))
if not same:
    fail = True
sys.exit(1 if fail else 0)
PY
