#!/usr/bin/env bash
# trainer.sh - throughput of the built-in trainer (`sweep bench --json`),
# side by side with the PyTorch peer (peer_torch.py) when some python3 can
# import torch: the two alternate for BENCH_ROUNDS rounds in this one run and
# the medians are compared, for each configuration of BENCH_CONFIGS
# (default "256 64 256:conv1_filters=64:conv2_filters=128": BATCH, then
# model sizes as key=value, ':'-separated). Environment: SWEEP_BIN
# (default bin/sweep), BENCH_THREADS (2), BENCH_SECONDS (10), BENCH_ROUNDS
# (3); BENCH_BATCH alone means that one batch of the default model.
# Goals (issue 16; exit 1 below them): training >= 3x PyTorch's faster
# layout for the default model at batch 256 and >= 2.5x for the others,
# inference >= 2x (default model, batch 256); peak RSS <= 215 MB for the
# default model at batch 256.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${SWEEP_BIN:-bin/sweep}
threads=${BENCH_THREADS:-2}
seconds=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-3}
if [ -n "${BENCH_BATCH:-}" ]; then
	configs=${BENCH_CONFIGS:-$BENCH_BATCH}
else
	configs=${BENCH_CONFIGS:-"256 64 256:conv1_filters=64:conv2_filters=128"}
fi

. "$here/lib/torch_python.sh"
bench_torch_python
[ -n "$py" ] || echo "trainer.sh: no python3 with torch: PyTorch peer skipped (apt-get install python3-torch)"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p"; }
spread() { sort -g | awk '{a[NR]=$1} END {printf "%.0f-%.0f", a[1], a[NR]}'; }

fail=0
for conf in $configs; do
	batch=${conf%%:*}
	model=""
	[ "$conf" = "$batch" ] || model=$(echo "${conf#*:}" | tr ':' ' ')
	c1=32 c2=64
	for kv in $model; do
		case $kv in
		conv1_filters=*) c1=${kv#*=} ;;
		conv2_filters=*) c2=${kv#*=} ;;
		*) echo "trainer.sh: only conv1_filters/conv2_filters are passed to the peer: '$kv'" >&2; exit 2 ;;
		esac
	done
	default=0
	[ "$batch" = 256 ] && [ "$c1" = 32 ] && [ "$c2" = 64 ] && default=1
	echo "== batch $batch, conv $c1/$c2, $threads threads, $rounds rounds of ${seconds}s; load $(cut -d' ' -f1-3 /proc/loadavg)"
	ours_t="" ours_c="" ours_i="" ours_ic="" ours_g="" ours_r="" peer_t="" peer_c="" peer_i="" peer_ic="" peer_r=""
	for r in $(seq "$rounds"); do
		# shellcheck disable=SC2086
		o=$("$bin" bench --batch "$batch" --threads "$threads" --seconds "$seconds" --json $model)
		echo "sweep   round $r: $o"
		ours_t="$ours_t $(echo "$o" | field train_images_per_sec)"
		ours_c="$ours_c $(echo "$o" | field train_images_per_cpu_sec)"
		ours_i="$ours_i $(echo "$o" | field infer_images_per_sec)"
		ours_ic="$ours_ic $(echo "$o" | field infer_images_per_cpu_sec)"
		ours_g="$ours_g $(echo "$o" | field gflops)"
		ours_r="$ours_r $(echo "$o" | field peak_rss_mb)"
		if [ -n "$py" ]; then
			p=$("$py" "$here/peer_torch.py" --batch "$batch" --threads "$threads" \
				--seconds "$seconds" --conv1 "$c1" --conv2 "$c2")
			echo "pytorch round $r: $p"
			peer_t="$peer_t $(echo "$p" | field train_images_per_sec)"
			peer_c="$peer_c $(echo "$p" | field train_images_per_cpu_sec)"
			peer_i="$peer_i $(echo "$p" | field infer_images_per_sec)"
			peer_ic="$peer_ic $(echo "$p" | field infer_images_per_cpu_sec)"
			peer_r="$peer_r $(echo "$p" | field peak_rss_mb)"
		fi
	done
	mt=$(echo $ours_t | tr ' ' '\n' | median)
	mc=$(echo $ours_c | tr ' ' '\n' | median)
	mi=$(echo $ours_i | tr ' ' '\n' | median)
	mic=$(echo $ours_ic | tr ' ' '\n' | median)
	mg=$(echo $ours_g | tr ' ' '\n' | median)
	mr=$(echo $ours_r | tr ' ' '\n' | sort -g | tail -1)
	echo "sweep:   train $mt img/s (rounds $(echo $ours_t | tr ' ' '\n' | spread); $mc per CPU-second), infer $mi img/s (rounds $(echo $ours_i | tr ' ' '\n' | spread); $mic per CPU-second), $mg GFLOP/s, peak RSS $mr MB (batch $batch, conv $c1/$c2, median of $rounds)"
	if [ -n "$py" ]; then
		pt=$(echo $peer_t | tr ' ' '\n' | median)
		pc=$(echo $peer_c | tr ' ' '\n' | median)
		pi=$(echo $peer_i | tr ' ' '\n' | median)
		pic=$(echo $peer_ic | tr ' ' '\n' | median)
		pr=$(echo $peer_r | tr ' ' '\n' | sort -g | tail -1)
		goal=2.5
		[ "$default" = 1 ] && goal=3
		echo "pytorch: train $pt img/s (rounds $(echo $peer_t | tr ' ' '\n' | spread); $pc per CPU-second), infer $pi img/s (rounds $(echo $peer_i | tr ' ' '\n' | spread); $pic per CPU-second), peak RSS $pr MB"
		awk -v a="$mt" -v b="$pt" -v c="$mi" -v d="$pi" -v e="$mc" -v f="$pc" -v g="$goal" -v h="$mic" -v k="$pic" \
			'BEGIN {printf "ratio sweep/pytorch: train %.2fx, per CPU-second %.2fx, infer %.2fx, per CPU-second %.2fx (goal: train >= %sx, infer >= 2x)\n", a/b, e/f, c/d, h/k, g}'
		if ! awk -v a="$mt" -v b="$pt" -v g="$goal" 'BEGIN { exit !(a >= g * b) }'; then
			echo "trainer.sh: below the goal: training is not ${goal}x PyTorch's (batch $batch, conv $c1/$c2)"
			fail=1
		fi
		if [ "$default" = 1 ] && ! awk -v a="$mi" -v b="$pi" 'BEGIN { exit !(a >= 2 * b) }'; then
			echo "trainer.sh: below the goal: inference is not 2x PyTorch's"
			fail=1
		fi
	fi
	if [ "$default" = 1 ] && ! awk -v r="$mr" 'BEGIN { exit !(r <= 215) }'; then
		echo "trainer.sh: below the goal: peak RSS $mr MB > 215 MB"
		fail=1
	fi
done
exit $fail
