#!/usr/bin/env bash
# accuracy.sh - the accuracy comparison: the notebook's recipe (Adam 1e-3,
# batch 256, 5 epochs, all 50,000 images; validation on the test batch) with
# `sweep train` (precise_bn off and on) and with PyTorch (accuracy_torch.py,
# also off and on)
# on the same CIFAR-10 files. Long (tens of minutes on 2 cores), so it runs
# only with BENCH_ACCURACY=1. Smaller identical recipes: ACC_EPOCHS,
# ACC_TRAIN_LIMIT, ACC_VAL_LIMIT. Data: DATA (default $SWEEP_DATA, then
# /work/shared/data/cifar-10-batches-bin). Threads: BENCH_THREADS (2).
set -eu
if [ "${BENCH_ACCURACY:-0}" != 1 ]; then
	echo "accuracy.sh: skipped (set BENCH_ACCURACY=1; takes tens of minutes)"
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
bin=${SWEEP_BIN:-bin/sweep}
data=${DATA:-${SWEEP_DATA:-/work/shared/data/cifar-10-batches-bin}}
epochs=${ACC_EPOCHS:-5}
tl=${ACC_TRAIN_LIMIT:-0}
vl=${ACC_VAL_LIMIT:-0}
threads=${BENCH_THREADS:-2}
out=${ACC_OUT:-/tmp/sweep-accuracy}
mkdir -p "$out"

recipe="learning_rate=1e-3 batch_size=256 epochs=$epochs train_limit=$tl val_limit=$vl"
echo "recipe: $recipe (threads $threads, data $data)"
for pbn in false true; do
	"$bin" train --data "$data" --threads "$threads" --json $recipe precise_bn=$pbn \
		| tee "$out/sweep_precise_bn_$pbn.jsonl"
done
py=""
for cand in python3 /usr/bin/python3; do
	if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch, numpy' 2>/dev/null; then
		py=$cand
		break
	fi
done
if [ -n "$py" ]; then
	"$py" "$here/accuracy_torch.py" "$data" --epochs "$epochs" --batch 256 --lr 1e-3 \
		--train-limit "$tl" --val-limit "$vl" --threads "$threads" | tee "$out/pytorch.jsonl"
	"$py" "$here/accuracy_torch.py" "$data" --epochs "$epochs" --batch 256 --lr 1e-3 \
		--train-limit "$tl" --val-limit "$vl" --threads "$threads" --precise-bn \
		| tee "$out/pytorch_precise_bn.jsonl"
else
	echo "accuracy.sh: no python3 with torch: PyTorch side skipped"
fi
for f in "$out"/*.jsonl; do
	printf '%s: ' "$(basename "$f" .jsonl)"
	grep -o '"val_accuracy": *[0-9.]*' "$f" | sed 's/.*: *//' | tr '\n' ' '
	echo
done
