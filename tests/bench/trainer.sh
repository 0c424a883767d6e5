#!/usr/bin/env bash
# trainer.sh - throughput of the built-in trainer (`sweep bench --json`),
# side by side with the PyTorch peer (peer_torch.py) when some python3 can
# import torch: the two alternate for BENCH_ROUNDS rounds in this one run and
# the medians are compared. Environment: SWEEP_BIN (default bin/sweep),
# BENCH_BATCH (256), BENCH_THREADS (2), BENCH_SECONDS (10), BENCH_ROUNDS (3).
# Floors (exit 1 below them): peak RSS <= 300 MB; with the peer, median
# training throughput >= 1.5x PyTorch's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${SWEEP_BIN:-bin/sweep}
batch=${BENCH_BATCH:-256}
threads=${BENCH_THREADS:-2}
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}

py=""
for cand in python3 /usr/bin/python3; do
	if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch' 2>/dev/null; then
		py=$cand
		break
	fi
done
[ -n "$py" ] || echo "trainer.sh: no python3 with torch: PyTorch peer skipped (apt-get install python3-torch)"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p"; }

ours_t="" ours_c="" ours_i="" ours_g="" ours_r="" peer_t="" peer_c="" peer_i="" peer_r=""
for r in $(seq "$rounds"); do
	o=$("$bin" bench --batch "$batch" --threads "$threads" --seconds "$seconds" --json)
	echo "sweep   round $r: $o"
	ours_t="$ours_t $(echo "$o" | field train_images_per_sec)"
	ours_c="$ours_c $(echo "$o" | field train_images_per_cpu_sec)"
	ours_i="$ours_i $(echo "$o" | field infer_images_per_sec)"
	ours_g="$ours_g $(echo "$o" | field gflops)"
	ours_r="$ours_r $(echo "$o" | field peak_rss_mb)"
	if [ -n "$py" ]; then
		p=$("$py" "$here/peer_torch.py" --batch "$batch" --threads "$threads" --seconds "$seconds")
		echo "pytorch round $r: $p"
		peer_t="$peer_t $(echo "$p" | field train_images_per_sec)"
		peer_c="$peer_c $(echo "$p" | field train_images_per_cpu_sec)"
		peer_i="$peer_i $(echo "$p" | field infer_images_per_sec)"
		peer_r="$peer_r $(echo "$p" | field peak_rss_mb)"
	fi
done
mt=$(echo $ours_t | tr ' ' '\n' | median)
mc=$(echo $ours_c | tr ' ' '\n' | median)
mi=$(echo $ours_i | tr ' ' '\n' | median)
mg=$(echo $ours_g | tr ' ' '\n' | median)
mr=$(echo $ours_r | tr ' ' '\n' | sort -g | tail -1)
fail=0
echo "sweep:   train $mt img/s ($mc per CPU-second), infer $mi img/s, $mg GFLOP/s, peak RSS $mr MB (batch $batch, $threads threads, median of $rounds)"
if [ -n "$py" ]; then
	pt=$(echo $peer_t | tr ' ' '\n' | median)
	pc=$(echo $peer_c | tr ' ' '\n' | median)
	pi=$(echo $peer_i | tr ' ' '\n' | median)
	pr=$(echo $peer_r | tr ' ' '\n' | sort -g | tail -1)
	echo "pytorch: train $pt img/s ($pc per CPU-second), infer $pi img/s, peak RSS $pr MB"
	awk -v a="$mt" -v b="$pt" -v c="$mi" -v d="$pi" -v e="$mc" -v f="$pc" \
		'BEGIN {printf "ratio sweep/pytorch: train %.2fx, per CPU-second %.2fx, infer %.2fx (goal: train >= 1.5x)\n", a/b, e/f, c/d}'
	if ! awk -v a="$mt" -v b="$pt" 'BEGIN { exit !(a >= 1.5 * b) }'; then
		echo "trainer.sh: below the floor: training is not 1.5x PyTorch's"
		fail=1
	fi
fi
if ! awk -v r="$mr" 'BEGIN { exit !(r <= 300) }'; then
	echo "trainer.sh: below the floor: peak RSS $mr MB > 300 MB"
	fail=1
fi
exit $fail
