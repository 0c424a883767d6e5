#!/usr/bin/env bash
# Runs each cmocka test binary given on the command line, shows its output,
# and ends with one total line over all of them. A binary that crashes or
# exits non-zero without a cmocka summary counts as one failure.
set -u
passed=0 failed=0 broken=""
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		broken="$broken $t(exit $rc)"
	fi
done
[ -n "$broken" ] && echo "broken test binaries:$broken"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
