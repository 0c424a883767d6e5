# sweep - hyperparameter sweeps in C.
#
#   make            build bin/sweep (runs `make deps` first on a fresh machine: no)
#   make deps       apt-install the Debian packages the build and tests need
#   make run        deps + build + bin/sweep run sweeps/cifar_lr.yaml
#   make test       deps + build + every unit and end-to-end test
#   make bench      benchmarks (tests/bench/*.sh)
#   make fuzz       libFuzzer targets (clang) under build/fuzz/
#   make install PREFIX=/usr/local
#
# Toggles: SAN=1 (address+undefined sanitizers), DEBUG=1 (-O0 -g), WERROR=1.
# Each toggle builds into its own directory, so they never mix objects.

CC ?= cc
PREFIX ?= /usr/local
# Compiled against all of PKGS; bin/sweep links only LINK_PKGS. libcurl,
# libarchive, libnettle (MD5) and OpenBLAS are loaded on first use
# (base/dl.h), so a command maps them only when it talks to a server, fetches
# the dataset or computes (start-up: tests/bench/startup.sh). Their runtime packages come
# with the -dev ones below (libcurl4, libarchive13, libnettle8,
# libopenblas0-openmp).
PKGS := yaml-0.1 libcurl openblas lapacke jansson libarchive nettle
LINK_PKGS := yaml-0.1 jansson
DEB_PKGS := gcc make pkg-config libyaml-dev libcurl4-openssl-dev \
	libopenblas-openmp-dev liblapacke-dev libjansson-dev libarchive-dev \
	nettle-dev libcmocka-dev python3 chromium clang libclang-rt-dev libomp-dev \
	slurmctld slurmd slurm-client munge

BUILD := build
BIN := bin/sweep
OPT := -O2
ifeq ($(DEBUG),1)
BUILD := build/debug
BIN := build/debug/bin/sweep
OPT := -O0 -g
endif
ifeq ($(SAN),1)
BUILD := build/san
BIN := build/san/bin/sweep
OPT += -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null)
# the tests also build tarballs with libarchive (test_download)
TEST_LIBS = $(shell pkg-config --libs libarchive 2>/dev/null)
# the OpenMP OpenBLAS compiled against, tried first by base/blas.c
OPENBLAS_DIR = $(shell pkg-config --variable=libdir openblas 2>/dev/null)

CFLAGS ?= $(OPT)
CFLAGS += -std=gnu11 -Wall -Wextra -Wshadow -fopenmp -MMD -MP -Iinclude -Itests $(SANFLAGS)
ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
CPPFLAGS += $(PKG_CFLAGS)
ifneq ($(OPENBLAS_DIR),)
CPPFLAGS += -DSW_OPENBLAS_SO='"$(OPENBLAS_DIR:%/=%)/libopenblas.so.0"'
endif
LDFLAGS += -fopenmp $(SANFLAGS)
LDLIBS += $(PKG_LIBS) -lm -ldl

LIB_SRCS := $(filter-out sweep/commands/main.c,$(wildcard base/*.c sweep/*/*.c)) \
	$(wildcard trainer/*.c) $(wildcard trainer/kernels/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libsweep.a

TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_SRCS := $(wildcard tests/support/*.c)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all deps run test bench fuzz install clean
.SECONDARY:
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The Gaussian process's loops (sweep/search/gp_linalg.c) run 2-4x faster
# vectorised, which -O2 leaves to -O3; no fused multiply-adds there, so its
# AVX2 and plain x86-64 versions agree to the bit.
$(BUILD)/sweep/search/gp_linalg.o: CFLAGS += -ffp-contract=off
ifneq ($(DEBUG),1)
$(BUILD)/sweep/search/gp_linalg.o: CFLAGS += -O3
endif

# The wandb start-up modules are embedded with .incbin (sweep/offline/wandb_hook.c).
$(BUILD)/sweep/offline/wandb_hook.o build/fuzz/obj/sweep/offline/wandb_hook.o: sweep/offline/wandb_sitecustomize.py \
	sweep/offline/wandb_report.py

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/sweep/commands/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS) -lcmocka

# Installs only what is missing; needs root (or sudo) the first time.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
			missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null; then sudo=sudo; \
		else echo "sweep: error: missing packages:$$missing (run as root: apt-get install$$missing)" >&2; exit 1; fi; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# DATA: the CIFAR-10 binary directory; by default the team's shared copy
# when it is there, else $SWEEP_DATA or the cache (downloaded if absent).
DATA ?= $(if $(SWEEP_DATA),,$(firstword $(wildcard ../shared/data/cifar-10-batches-bin)))
run: deps
	$(MAKE) all
	$(BIN) run sweeps/cifar_lr.yaml $(if $(DATA),--data $(DATA))

# Runs every test binary (unit tests and end-to-end tests of $(BIN)), then a
# total over all of them. SWEEP_BIN tells the end-to-end tests what to run.
# tests/check_layout.py: includes point down the layout, no call circles.
test: deps
	$(MAKE) $(BIN) $(TEST_BINS)
	@python3 tests/check_layout.py $(BUILD)
	@SWEEP_BIN=$(BIN) BUILD=$(BUILD) tests/run_tests.sh $(TEST_BINS)

bench: deps
	$(MAKE) all
	@failed=""; for b in tests/bench/*.sh; do \
		[ -f "$$b" ] || continue; \
		SWEEP_BIN=$(BIN) bash "$$b" || failed="$$failed $$b"; \
	done; \
	if [ -n "$$failed" ]; then echo "bench: below a floor:$$failed"; exit 1; fi

# The library is compiled with clang's coverage instrumentation into its own
# archive, so a target links only the modules it uses (not main.c's table).
FUZZ_SRCS := $(wildcard tests/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/%.c=build/fuzz/%)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fopenmp -Iinclude
FUZZ_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
fuzz: $(FUZZ_BINS)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c $< -o $@
build/fuzz/libsweep.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^
build/fuzz/%: tests/%.c build/fuzz/libsweep.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CPPFLAGS) -o $@ $^ $(PKG_LIBS) -lm -ldl

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sweep

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
