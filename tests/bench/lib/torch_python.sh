# Sourced by the benchmarks with a PyTorch side: finds the interpreter.
#
#   bench_torch_python
#
# sets py to the first of python3 (PATH) and /usr/bin/python3 that can
# import torch and numpy (Debian: python3-torch), or "" when none can.
# Lives in lib/ so that `make bench` (tests/bench/*.sh) does not run it.
bench_torch_python() {
	local cand
	py=""
	for cand in python3 /usr/bin/python3; do
		if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import torch, numpy' 2>/dev/null; then
			py=$cand
			return 0
		fi
	done
	return 0
}
