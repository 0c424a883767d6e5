#!/usr/bin/env bash
# Cost of sweep's wandb start-up modules (sweep/offline/wandb_sitecustomize.py and
# sweep/offline/wandb_report.py) per
# wandb.log call (issue 13: "nothing measurable per call"). In one Python
# process with the module loaded, the same rows (3 numbers, one nested) go
# alternately through wandb's Run.log as wrapped by the module and through
# the original (Run.log.__wrapped__), 7 rounds of N calls each: medians and
# their difference, side by side under the same load.
#  - the test stand-in wandb (tests/wandb_standin): its own log is cheap, so
#    the difference is the module's whole cost per call;
#  - WANDB_PKG=DIR, a directory holding the real `wandb` package (offline,
#    WANDB__REQUIRE_CORE=false; python3 must have its dependencies): the
#    same beside the real SDK's log.
# The shared machine makes these differences noisy (whole runs of other
# engineers land in one side or the other), so the module's own work is
# also timed alone: a row through its reporter, no wandb.
# Floor: that work is at most 20 us per row (median).
# Also the start-up of a Python that never imports wandb, with and without.
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/hook" "$tmp/w"
cp sweep/offline/wandb_sitecustomize.py "$tmp/hook/sitecustomize.py" || exit 1
cp sweep/offline/wandb_report.py "$tmp/hook/sweep_wandb_report.py" || exit 1
N=${N:-4000}
cat > "$tmp/log.py" <<PY
import statistics, time, wandb
run = wandb.init(project="bench", config={"lr": 0.1})
Run = type(run)
wrapped = Run.log
orig = getattr(wrapped, "__wrapped__", None)
assert orig is not None, "the module did not wrap Run.log"
n = $N
def go(f):
    t0 = time.perf_counter()
    for i in range(n):
        f(run, {"loss": 1.0 / (i + 1), "acc": i / n, "val": {"loss": 2.0 / (i + 1)}})
    return (time.perf_counter() - t0) / n * 1e6
a, b = [], []
for r in range(7):              # ABBA: neither goes always first
    if r % 2:
        b.append(go(wrapped))
        a.append(go(orig))
    else:
        a.append(go(orig))
        b.append(go(wrapped))
wandb.finish()
ma, mb = statistics.median(a), statistics.median(b)
print("%.2f %.2f %.2f" % (ma, mb, mb - ma))
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# one_case NAME PYTHONPATH -> "name: ..." line, then the difference
one_case() {
	local out a b d
	out=$(cd "$tmp" && WANDB_MODE=offline WANDB_DIR="$tmp/w" WANDB_SILENT=true \
		WANDB__REQUIRE_CORE=false SWEEP_METRICS_FILE="$tmp/m.jsonl" \
		PYTHONPATH="$tmp/hook:$2" python3 log.py 2>"$tmp/err" | tail -1)
	read -r a b d <<<"$out"
	if [ -z "${d:-}" ]; then
		echo "$1: the script failed:"; tail -3 "$tmp/err"; return 1
	fi
	echo "$1: Run.log median $a us/call unwrapped, $b us/call wrapped: +$d us" \
		"($(awk -v a="$a" -v d="$d" 'BEGIN {printf "%.1f", 100 * d / a}')% of its own cost)"
	echo "$d"
}

cat > "$tmp/alone.py" <<PY
import statistics, timeit
ns = {"__name__": "sweep_wandb_report"}
exec(open("$tmp/hook/sweep_wandb_report.py").read(), ns)
from json.encoder import encode_basestring_ascii
rep = ns["_SweepReporter"]("$tmp/alone.jsonl")
rep.key = encode_basestring_ascii
args = ns["_sweep_args"]
class Run: pass
run, d = Run(), {"loss": 0.123, "acc": 0.5, "val": {"loss": 0.3}}
def call():
    data, step, commit = args((d,), {}, ("data", "step", "commit"))
    rep.log(run, data, step, commit)
ts = [t / 20000 * 1e6 for t in timeit.repeat(call, number=20000, repeat=9)]
print("%.2f %.2f" % (min(ts), statistics.median(ts)))
PY

fail=0
echo "== the module's own work per wandb.log row (flatten, encode, write(2)), 9 x 20000 =="
read -r amin amed <<<"$(python3 "$tmp/alone.py")"
echo "min $amin us, median $amed us per row"
if [ -z "${amed:-}" ] || awk -v d="$amed" 'BEGIN {exit !(d > 20)}'; then
	echo "FLOOR: the module's work per row is over 20 us"; fail=1
fi
echo "== wandb.log cost, 7 x $N calls each way, one process =="
out=$(one_case "stand-in wandb" "$PWD/tests/wandb_standin") || { echo "$out"; exit 1; }
echo "$out" | head -1
if [ -n "${WANDB_PKG:-}" ]; then
	rm -rf "$tmp/w"/*
	out=$(one_case "real wandb ($WANDB_PKG)" "$WANDB_PKG") || { echo "$out"; exit 1; }
	echo "$out" | head -1
fi

echo "== start-up of python3 -c pass (no wandb): 5 rounds of 10 starts each way, medians =="
starts() {    # ms per start over 10 starts with PYTHONPATH=$1
	local t0 t1 i
	t0=$(date +%s%N)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		PYTHONPATH="$1" SWEEP_METRICS_FILE="$tmp/m.jsonl" python3 -c pass
	done
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 10000000 ))
}
wo="" wi=""
for r in 1 2 3 4 5; do
	wo="$wo $(starts "$PWD/tests/wandb_standin")"
	wi="$wi $(starts "$tmp/hook:$PWD/tests/wandb_standin")"
done
cache=on
[ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && cache="off: PYTHONDONTWRITEBYTECODE is set"
echo "without the module: $(echo $wo | tr ' ' '\n' | median) ms, with it:" \
	"$(echo $wi | tr ' ' '\n' | median) ms (bytecode cache $cache)"
exit $fail
