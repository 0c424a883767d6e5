#!/usr/bin/env bash
# slurm.sh - what `sweep run --launcher slurm` adds per trial over Slurm's
# own latency (issue 14: "no more than a few seconds per trial").
#
# Side by side, interleaved (raw, sweep, raw, sweep) so machine load hits
# both alike, N trials each, one at a time:
#   raw:   the bare Slurm cycle a user script would do: `sbatch --wrap` of
#          the same one-epoch program, then poll `squeue -j` every 0.1 s
#          until the job is gone; time per job.
#   sweep: `sweep run --launcher slurm --parallel 1` of an N-point grid of
#          that program (sbatch, `sweep trial` on the node, metrics read
#          back, run recorded); wall time / N, sweep's start included.
# Prints the better of two rounds for each and the difference per trial. Floor: the difference
# is under 3 s per trial. Uses the cluster $SLURM_CONF names, else starts
# one with tests/slurm/start.sh (root); skipped when there is none.
set -u
cd "$(dirname "$0")/../.."
SWEEP_BIN=${SWEEP_BIN:-bin/sweep}
n=${SLURM_BENCH_TRIALS:-8}
make -s "$SWEEP_BIN" >/dev/null || exit 1
tmp=$(mktemp -d) || exit 1
started=""
trap '[ -n "$started" ] && tests/slurm/stop.sh "$tmp/cluster"; rm -rf "$tmp"' EXIT
cp "$SWEEP_BIN" "$tmp/sweep" || exit 1
if ! { [ -n "${SLURM_CONF:-}" ] && sinfo -h -o %t 2>/dev/null | grep -q idle; }; then
	if ! out=$(tests/slurm/start.sh "$tmp/cluster" 2>&1); then
		echo "slurm.sh: skipped (no Slurm cluster: $out)"
		exit 0
	fi
	eval "$out"
	started=1
fi
now() { date +%s.%N; }

cat > "$tmp/prog.py" <<'PY'
import json, os
with open(os.environ.get('SWEEP_METRICS_FILE', os.devnull), 'a') as f:
    f.write(json.dumps({'epoch': 1, 'loss': 1.0}) + '\n')
PY
{
	echo "program: prog.py"
	echo "method: grid"
	echo "metric: {name: loss, goal: minimize}"
	echo "parameters:"
	printf "  x: {values: [%s]}\n" "$(seq -s, 1 "$n")"
} > "$tmp/bench.yaml"

raw_round() {
	local t0 t1 id per=()
	for _ in $(seq 1 "$n"); do
		t0=$(now)
		id=$(sbatch --parsable --chdir="$tmp" --output=/dev/null \
			--wrap "python3 $tmp/prog.py") || return 1
		while squeue -h -j "$id" 2>/dev/null | grep -q .; do sleep 0.1; done
		t1=$(now)
		per+=("$(awk -v a="$t1" -v b="$t0" "BEGIN {print a - b}")")
	done
	printf '%s\n' "${per[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

sweep_round() {
	local t0 t1
	t0=$(now)
	(cd "$tmp" && ./sweep run bench.yaml --launcher slurm --parallel 1 \
		--results "$tmp/res" >/dev/null 2>"$tmp/sweep.err") ||
		{ cat "$tmp/sweep.err" >&2; return 1; }
	t1=$(now)
	awk -v a="$t1" -v b="$t0" -v n="$n" "BEGIN {print (a - b) / n}"
}

raw=() swp=()
for round in 1 2; do
	raw+=("$(raw_round)") || exit 1
	swp+=("$(sweep_round)") || exit 1
	echo "round $round: raw Slurm ${raw[-1]} s/job, sweep ${swp[-1]} s/trial (load $(cut -d' ' -f1 /proc/loadavg))"
done
r=$(printf '%s\n' "${raw[@]}" | sort -n | head -1)
s=$(printf '%s\n' "${swp[@]}" | sort -n | head -1)
d=$(awk -v a="$s" -v b="$r" "BEGIN {print a - b}")
printf 'slurm: raw Slurm %.2f s per job, sweep --launcher slurm %.2f s per trial: sweep adds %.2f s per trial (floor: < 3 s)\n' "$r" "$s" "$d"
awk -v d="$d" 'BEGIN { exit !(d < 3) }'
