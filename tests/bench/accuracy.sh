#!/usr/bin/env bash
# accuracy.sh - the accuracy comparison of issue 16: the notebook's recipe
# (Adam 1e-3, batch 256, 5 epochs, all 50,000 images; validation on the test
# batch) with `sweep train` and with PyTorch (accuracy_torch.py) on the same
# CIFAR-10 files, for each seed of ACC_SEEDS (default "0 1 2") and each
# precise-BatchNorm setting of ACC_PRECISE_BN (default "true"; "false true"
# for both), then the mean and spread of the final val_accuracy per tool.
# Long (about half an hour on 2 cores), so it runs only with BENCH_ACCURACY=1.
# Smaller identical recipes: ACC_EPOCHS, ACC_TRAIN_LIMIT, ACC_VAL_LIMIT.
# Data: DATA (default $SWEEP_DATA, then /work/shared/data/cifar-10-batches-bin).
# Threads: BENCH_THREADS (2). Output files: ACC_OUT (/tmp/sweep-accuracy).
set -eu
if [ "${BENCH_ACCURACY:-0}" != 1 ]; then
	echo "accuracy.sh: skipped (set BENCH_ACCURACY=1; takes about half an hour)"
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
bin=${SWEEP_BIN:-bin/sweep}
data=${DATA:-${SWEEP_DATA:-/work/shared/data/cifar-10-batches-bin}}
epochs=${ACC_EPOCHS:-5}
tl=${ACC_TRAIN_LIMIT:-0}
vl=${ACC_VAL_LIMIT:-0}
threads=${BENCH_THREADS:-2}
seeds=${ACC_SEEDS:-0 1 2}
pbns=${ACC_PRECISE_BN:-true}
out=${ACC_OUT:-/tmp/sweep-accuracy}
mkdir -p "$out"

. "$here/lib/torch_python.sh"
bench_torch_python
[ -n "$py" ] || echo "accuracy.sh: no python3 with torch: PyTorch side skipped (apt-get install python3-torch)"

recipe="learning_rate=1e-3 batch_size=256 epochs=$epochs train_limit=$tl val_limit=$vl"
echo "recipe: $recipe (threads $threads, seeds $seeds, precise_bn $pbns, data $data)"
for pbn in $pbns; do
	for seed in $seeds; do
		"$bin" train --data "$data" --threads "$threads" --json $recipe \
			precise_bn=$pbn seed=$seed | tee "$out/sweep_pbn_${pbn}_seed_$seed.jsonl"
		[ -n "$py" ] || continue
		flag=""
		[ "$pbn" = true ] && flag=--precise-bn
		"$py" "$here/accuracy_torch.py" "$data" --epochs "$epochs" --batch 256 --lr 1e-3 \
			--train-limit "$tl" --val-limit "$vl" --threads "$threads" --seed "$seed" $flag \
			| tee "$out/pytorch_pbn_${pbn}_seed_$seed.jsonl"
	done
done

# final val_accuracy of each run: the last per-epoch line's value
final_acc() { grep -v summary "$1" | grep -o '"val_accuracy": *[0-9.]*' | tail -1 | sed 's/.*: *//'; }
echo "final val_accuracy over seeds ($seeds):"
for pbn in $pbns; do
	for tool in sweep pytorch; do
		vals=""
		for seed in $seeds; do
			f="$out/${tool}_pbn_${pbn}_seed_$seed.jsonl"
			[ -s "$f" ] && vals="$vals $(final_acc "$f")"
		done
		[ -n "$vals" ] || continue
		echo "$vals" | tr ' ' '\n' | grep . | awk -v t="$tool" -v p="$pbn" '
			{ v[NR] = $1; s += $1 }
			END { m = s / NR; lo = v[1]; hi = v[1]; q = 0
			      for (i = 1; i <= NR; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i]; q += (v[i] - m)^2 }
			      sd = NR > 1 ? sqrt(q / (NR - 1)) : 0
			      printf "%-8s precise_bn=%-5s mean %.4f  sd %.4f  range %.4f-%.4f  (n=%d)\n", t, p, m, sd, lo, hi, NR }'
	done
done
