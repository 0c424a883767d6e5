#!/usr/bin/env bash
# Start-up benchmark (issue 17): the whole-process time of the commands an
# ask/tell loop or a shell script runs again and again.
#  - `sweep --version`: floor median < 3 ms
#  - `sweep suggest` (bayes, 200 observed runs, 6 dimensions): floor median
#    < 10 ms
# and the shared libraries each maps (libcurl, libarchive, libnettle and
# OpenBLAS are loaded on first use, base/dl.h). Both are timed alternately
# by bench_search, so they see the same load. SWEEP_BASELINE=/path/to/sweep
# (e.g. a build of the commit before) is measured in alternate rounds in the
# same run, for a ratio. The floors assume a quiet machine: the load
# average is printed beside a failure.
set -u
cd "$(dirname "$0")/../.."
SWEEP_BIN=${SWEEP_BIN:-bin/sweep}
make -s "$SWEEP_BIN" build/tests/bench/bench_search >/dev/null || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cp "$SWEEP_BIN" "$tmp/sweep" && cp build/tests/bench/bench_search "$tmp/" || exit 1
B=$tmp/bench_search
bins="$tmp/sweep"
if [ -n "${SWEEP_BASELINE:-}" ]; then
	cp "$SWEEP_BASELINE" "$tmp/baseline" || exit 1
	bins="$tmp/baseline $tmp/sweep"
fi

libs() {  # shared objects a command maps (the executable's own excluded)
	LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'generating link map'
}

spec=$tmp/spec.yaml
printf 'method: bayes\nprogram: bench.py\nmetric: {name: f, goal: minimize}\nparameters:\n  x: {min: 0.0, max: 1.0}\n' >"$spec"
obs=$tmp/runs.jsonl
for x in 0.1 0.2 0.3 0.5 0.7 0.9; do
	printf '{"params": {"x": %s}, "state": "finished", "summary": {"f": %s}}\n' "$x" "$x"
done >"$obs"
echo "== start-up (whole process, medians of 3 alternating rounds of 15) =="
for b in $bins; do
	echo "$(basename "$b"): libraries mapped: --version $(libs "$b" --version)," \
	     "validate $(libs "$b" validate "$spec"), bayes suggest $(libs "$b" suggest "$spec" --observed "$obs")"
done
for round in 1 2 3; do
	for b in $bins; do
		out=$($B latency "$b" 200 15) || exit 1
		sug=$(echo "$out" | sed -n 's/.*whole process median \([0-9.]*\) ms.*/\1/p')
		ver=$(echo "$out" | sed -n 's/.*--version` alone: \([0-9.]*\) ms.*/\1/p')
		sugc=$(echo "$out" | sed -n 's/.*runs), CPU \([0-9.]*\) ms.*/\1/p')
		verc=$(echo "$out" | sed -n 's/.*alone: [0-9.]* ms, CPU \([0-9.]*\) ms.*/\1/p')
		echo "$(basename "$b") $sug $ver $sugc $verc" >>"$tmp/rounds"
	done
done
med() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
fail=0
for b in $bins; do
	n=$(basename "$b")
	sug=$(awk -v n="$n" '$1 == n {print $2}' "$tmp/rounds" | med)
	ver=$(awk -v n="$n" '$1 == n {print $3}' "$tmp/rounds" | med)
	sugc=$(awk -v n="$n" '$1 == n {print $4}' "$tmp/rounds" | med)
	verc=$(awk -v n="$n" '$1 == n {print $5}' "$tmp/rounds" | med)
	echo "$n: sweep --version ${ver} ms (CPU ${verc} ms); sweep suggest (bayes," \
	     "200 runs, 6-D) ${sug} ms (CPU ${sugc} ms)"
	eval "ver_$n=$ver sug_$n=$sug"
done
if [ -n "${SWEEP_BASELINE:-}" ]; then
	awk -v a="$ver_baseline" -v b="$ver_sweep" -v c="$sug_baseline" -v d="$sug_sweep" \
		'BEGIN { printf "ratio baseline/new: --version %.1fx, suggest %.1fx\n", a / b, c / d }'
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v v="$ver_sweep" 'BEGIN { exit !(v < 3.0) }'; then
	echo "PASS sweep --version: median $ver_sweep ms < 3 ms"
else
	echo "FAIL sweep --version: median $ver_sweep ms >= 3 ms (load average: $load)"
	fail=1
fi
if awk -v v="$sug_sweep" 'BEGIN { exit !(v < 10.0) }'; then
	echo "PASS sweep suggest, 200 observations in 6-D: median $sug_sweep ms < 10 ms"
else
	echo "FAIL sweep suggest, 200 observations in 6-D: median $sug_sweep ms >= 10 ms (load average: $load)"
	fail=1
fi
exit $fail
