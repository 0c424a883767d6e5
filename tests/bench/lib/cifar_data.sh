# Sourced by the benchmarks that train: picks the CIFAR-10 they use.
#
#   bench_cifar_data DIR N
#
# sets real to the real CIFAR-10 directory ($SWEEP_TEST_REAL_DATA, then the
# shared copy) or "" when there is none, and data to what to train on: the
# real data, or else official-size files generated in DIR (the loader wants
# 10,000 records each) whose first N records of data_batch_1 and test_batch
# hold random images. Returns non-zero when the files cannot be written.
# Lives in lib/ so that `make bench` (tests/bench/*.sh) does not run it.
bench_cifar_data() {
	local dir=$1 n=$2 d
	real=""
	for d in "${SWEEP_TEST_REAL_DATA:-}" ../shared/data/cifar-10-batches-bin \
		/work/shared/data/cifar-10-batches-bin; do
		if [ -n "$d" ] && [ -f "$d/data_batch_1.bin" ]; then real=$d; break; fi
	done
	if [ -n "$real" ]; then
		data=$real
		return 0
	fi
	data=$dir
	mkdir -p "$data" || return 1
	python3 - "$data" "$n" <<'PY'
import os, sys
d, N = sys.argv[1], int(sys.argv[2])
R = 3073
for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(d, name), "wb") as f:
        if name in ("data_batch_1.bin", "test_batch.bin"):
            b = bytearray(os.urandom(N * R))
            for r in range(N):
                b[r * R] %= 10
            f.write(b)
        f.truncate(10000 * R)
with open(os.path.join(d, "batches.meta.txt"), "w") as f:
    f.write("\n".join("class%d" % i for i in range(10)) + "\n")
PY
}
