#!/usr/bin/env bash
# Search benchmark (issue 3 §4): drives the engine through `sweep suggest`,
# one process per suggestion, as an ask/tell loop.
#  - Branin, 30 sequential trials, seeds 0-9: median best of bayes must be
#    <= 0.410 (wandb's engine: 0.425); random search beside it.
#  - Hartmann-6, 60 trials, seeds 0-9: bayes against random search.
#  - Whole-process time of one bayes suggestion with 200 observed runs in 6
#    dimensions (floor: median <= 20 ms) and with 1,000.
# The machine is shared: the latency lines also give the CPU time, and the
# process start-up alone (`sweep --version`, timed alternately under the same
# load) for reference.
set -u
cd "$(dirname "$0")/../.."
SWEEP_BIN=${SWEEP_BIN:-bin/sweep}
make -s "$SWEEP_BIN" build/tests/bench/bench_search >/dev/null || exit 1
# a private copy: other builds in the same tree may relink bin/sweep meanwhile
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cp "$SWEEP_BIN" "$tmp/sweep" && cp build/tests/bench/bench_search "$tmp/" || exit 1
SWEEP_BIN=$tmp/sweep
B=$tmp/bench_search
fail=0

echo "== search quality (sweep suggest ask/tell loop) =="
out=$($B quality "$SWEEP_BIN" branin bayes 30 10) || exit 1
echo "$out"
branin=$(echo "$out" | sed -n 's/.*median best over seeds 0-9: //p')
$B quality "$SWEEP_BIN" branin random 30 10 | tail -1 || exit 1
$B quality "$SWEEP_BIN" hartmann6 bayes 60 10 | tail -1 || exit 1
$B quality "$SWEEP_BIN" hartmann6 random 60 10 | tail -1 || exit 1
if awk -v v="$branin" 'BEGIN { exit !(v <= 0.410) }'; then
	echo "PASS branin median best $branin <= 0.410"
else
	echo "FAIL branin median best $branin > 0.410"
	fail=1
fi

echo "== suggestion latency (whole process) =="
out=$($B latency "$SWEEP_BIN" 200 31) || exit 1
echo "$out"
lat=$(echo "$out" | sed -n 's/.*whole process median \([0-9.]*\) ms.*/\1/p')
$B latency "$SWEEP_BIN" 1000 11 || exit 1
if awk -v v="$lat" 'BEGIN { exit !(v <= 20.0) }'; then
	echo "PASS bayes suggestion with 200 observations: median $lat ms <= 20 ms"
else
	echo "FAIL bayes suggestion with 200 observations: median $lat ms > 20 ms (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	fail=1
fi
exit $fail
