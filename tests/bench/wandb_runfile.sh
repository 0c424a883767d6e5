#!/usr/bin/env bash
# Reader speed (issue 13): the real SDK's 1.7 MB, 3,000-step run file
# (tests/wandb_offline/many_steps) must decode in well under 50 ms; the floor
# is a median of 25 ms of CPU time (the machine is shared: wall-clock medians
# are printed too, and swing with the load). A baseline beside it (jansson
# parsing the same rows as JSON text) is timed in the same loop.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make -s "$BUILD/tests/bench/bench_wandb_runfile" >/dev/null || exit 1
echo "== wandb run file reader =="
out=$("$BUILD/tests/bench/bench_wandb_runfile" tests/wandb_offline/many_steps/run.wandb 31) || exit 1
echo "$out"
ms=$(echo "$out" | sed -n 's/^decode in memory, median of [0-9]*: .*), \([0-9.]*\) ms CPU.*/\1/p')
if awk -v v="$ms" 'BEGIN { exit !(v != "" && v <= 25.0) }'; then
	echo "PASS 3,000-step run file decoded in $ms ms CPU (median) <= 25 ms"
else
	echo "FAIL 3,000-step run file decoded in $ms ms CPU (median) > 25 ms (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	exit 1
fi
