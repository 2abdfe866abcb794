# Thin wrapper around meson; every target provisions what it needs first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
export PKG_CONFIG_PATH := $(CURDIR)/.deps/libfuse/lib/pkgconfig

.PHONY: all deps build test test-asan test-dax demo install uninstall clean uring fuzz bench bench-dax soak

all: build

deps:
	@bash scripts/provision.sh

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_OPTS)
	@ninja -C $(BUILD)

# Tests run over /dev/fuse and over io_uring: switch the kernel's io_uring
# transport on (root only; the io_uring variants skip where it is off).
uring:
	@f=/sys/module/fuse/parameters/enable_uring; \
	 if [ -w $$f ]; then echo 1 > $$f; else echo "note: $$f not writable; io_uring tests will skip"; fi

test: build uring
	@bash scripts/run-tests.sh $(BUILD)

test-asan: deps uring
	@test -f $(ASAN_BUILD)/build.ninja || \
	  meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)
	@ninja -C $(ASAN_BUILD)
	@bash scripts/run-tests.sh $(ASAN_BUILD)

# The whole suite in a QEMU guest on real fsdax (an emulated NVDIMM), on
# DAX ext4 and on DAX xfs, plus the crash test of a flush from userspace
# under a lease (scripts/test-dax.sh)
test-dax: build
	@bash scripts/test-dax.sh $(BUILD)

# libFuzzer on core/'s option and ioctl parsers; FUZZ_SECONDS=N to run longer
FUZZ_SECONDS ?= 30
fuzz: build
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

# long runs of the randomized tests (scripts/soak.sh), then the parsers' fuzzer
SOAK_MINUTES ?= 30
SOAK_FUZZ_SECONDS ?= 300
soak: build uring
	@bash scripts/soak.sh $(BUILD) $(SOAK_MINUTES) $(SOAK_FUZZ_SECONDS)

# Every benchmark in one session (bench/README.md); BENCH_ARGS=--quick
bench: build uring
	@bash bench/run.sh $(BENCH_ARGS)

# The DAX benchmarks in a QEMU guest on real fsdax (bench/dax.sh): persist
# raw vs mount, the msync path, fio; JSON and table into bench/results/
bench-dax: build
	@bash bench/dax.sh

demo: build uring
	@bash scripts/demo.sh $(BUILD)

install: build
	@meson install -C $(BUILD)
	@ldconfig	# libmapdirect.so.0 in /usr/local/lib/<triplet>
	@bash scripts/install-mount-helper.sh

uninstall:
	@ninja -C $(BUILD) uninstall
	@rm -f /sbin/mount.fuse.mapdirectfs
	@ldconfig

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
