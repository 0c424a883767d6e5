#!/usr/bin/env bash
# equivalence.sh - sweep's trainer against accuracy_torch.py's model on
# identical inputs (equivalence_torch.py): forward, gradients, Adam steps,
# BatchNorm and precise-BN statistics, eval logits, with sweep's initial
# weights and one batch of real CIFAR-10 images, dropout off. About a minute.
# Fails when a difference goes beyond float rounding. Needs python3 with
# torch and numpy, and the data (DATA, default $SWEEP_DATA, then
# /work/shared/data/cifar-10-batches-bin); skipped without them.
# EQ_SEEDS (default "0") runs several initialisations. Runs only with
# BENCH_EQUIVALENCE=1 (a diagnostic, not a floor).
set -eu
if [ "${BENCH_EQUIVALENCE:-0}" != 1 ]; then
	echo "equivalence.sh: skipped (set BENCH_EQUIVALENCE=1; about a minute per seed)"
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
data=${DATA:-${SWEEP_DATA:-/work/shared/data/cifar-10-batches-bin}}
if [ ! -f "$data/data_batch_1.bin" ]; then
	echo "equivalence.sh: skipped (no CIFAR-10 binary files in $data)"
	exit 0
fi
. "$here/lib/torch_python.sh"
bench_torch_python
if [ -z "$py" ]; then
	echo "equivalence.sh: skipped (no python3 with torch; apt-get install python3-torch)"
	exit 0
fi
${MAKE:-make} -s build/tests/bench/equivalence_dump
for seed in ${EQ_SEEDS:-0}; do
	echo "== seed $seed"
	"$py" "$here/equivalence_torch.py" "$data" --seed "$seed" --strict
done
