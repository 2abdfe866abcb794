#!/usr/bin/env bash
# make test-dax (issue 12): the whole Criterion suite on real fsdax.
#
#   scripts/test-dax.sh [BUILD]
#
# Provisions the guest (scripts/provision-dax.sh: packages, the pinned
# Debian kernel), boots it with an emulated NVDIMM (scripts/dax-guest.sh)
# and runs BUILD's suite there as scripts/run-tests.sh does (world guard
# included) twice: with the tests' temp dirs, and so every MDFS_DIR
# backing, on the DAX ext4 (MDFS_TMPDIR=/mnt/dax-ext4), then on the DAX xfs.
# Then the crash test of a flush from userspace under a lease (issue 12,
# section 3), four boots: phase 1 on a new NVDIMM (ext4 mounted commit=60)
# starts mapdirectfs -o dax=require on each DAX fs, and tests/tools/
# crash_store makes a sparse 8 MiB file (size fsync'ed), takes an ALLOCATE
# lease with USERFLUSH, stores a seeded pattern in every 4 KiB block with a
# CPU-flush persist each, and crashes the guest (sysrq b); phase 2 boots on
# the same NVDIMM and checks the backing files: every block intact, no hole
# and no unwritten extent (FIEMAP). Run once with the normal daemon, which
# must pass, and once with MDFS_TEST_NO_GRANT_SYNC=1 (grants skip their
# fsync), which must fail the check on both filesystems: the fsync at the
# grant is what makes the blocks findable after a crash. TCG has no CPU
# caches, so this proves the block map's durability, not the flush itself.
# Prints one line per filesystem for the suites, one per filesystem and one
# overall for the crash test, one overall; exits non-zero if anything
# failed (dax-guest.sh selftest still checks the crash bed alone). Nothing
# is left on the host: the guest's images, logs and temp dirs go with it,
# also on Ctrl-C;
# MDFS_DAX_LOGS=DIR keeps the guest's logs there; MDFS_DAX_FILTER=GLOB runs
# only the tests it matches (Criterion --filter), to work on a few.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}

# ---- in the guest: both suites, results into $MDFS_GUEST_OUT ---------------
if [ "${2:-}" = --in-guest ]; then
	rc=0
	for fs in ext4 xfs; do
		dir=$MDFS_DAX_EXT4
		[ $fs = xfs ] && dir=$MDFS_DAX_XFS
		echo "test-dax: suite on DAX $fs ($dir, $(findmnt -no SOURCE,OPTIONS "$dir"))"
		start=$(date +%s)
		MDFS_TMPDIR=$dir bash "$repo/scripts/run-tests.sh" "$build" \
			${3:+--filter "$3"} >"$MDFS_GUEST_OUT/suite-$fs.log" 2>&1
		r=$?
		echo "$r" >"$MDFS_GUEST_OUT/suite-$fs.rc"
		echo "$(( $(date +%s) - start ))" >"$MDFS_GUEST_OUT/suite-$fs.time"
		findmnt -no SOURCE,OPTIONS "$dir" >"$MDFS_GUEST_OUT/suite-$fs.mount"
		tail -n 2 "$MDFS_GUEST_OUT/suite-$fs.log"
		[ $r = 0 ] || rc=1
		# nothing of a test may be left in the DAX fs for the next run
		left=$(find "$dir" -mindepth 1 -maxdepth 1 ! -name lost+found | head -n 5)
		if [ -n "$left" ]; then
			echo "test-dax: the suite left in $dir: $left"
			rc=1
		fi
	done
	exit $rc
fi

# ---- in the guest: the crash test's two phases ----------------------------------
# --crash-store NOSYNC (phase 1): a daemon on each DAX fs (NOSYNC=1: with
# MDFS_TEST_NO_GRANT_SYNC), crash_store stores on ext4 and stays leased, then
# on xfs, which crashes the guest. Everything from the mount to the crash
# takes seconds: ext4 is mounted commit=60 and xfs forces its log every 30 s,
# so nothing but the daemon's fsyncs commits the lease's allocation (a phase
# 1 slow enough for xfs's log worker would let a negative survive: the test
# then fails, it never passes wrongly).
# --crash-check (phase 2): crash_store check on each backing file.
crash_tool=$repo/$build/tests/tools/crash_store
if [ "${2:-}" = --crash-store ]; then
	echo "test-dax: phase 1 starts at uptime $(cut -d' ' -f1 /proc/uptime) s"
	for fs in ext4 xfs; do
		dir=$MDFS_DAX_EXT4
		[ $fs = xfs ] && dir=$MDFS_DAX_XFS
		mkdir -p "$dir/crash" "/tmp/crash-$fs" || exit 1
		# shellcheck disable=SC2046
		env $([ "$3" = 1 ] && echo MDFS_TEST_NO_GRANT_SYNC=1) \
			"$repo/$build/fuse/mapdirectfs" -o dax=require \
			"$dir/crash" "/tmp/crash-$fs" || exit 1
		findmnt -no SOURCE,OPTIONS "$dir"
	done
	"$crash_tool" store -n /tmp/crash-ext4/data "$MDFS_GUEST_OUT/crash-ext4.info" \
		>/tmp/crash-ext4.log 2>&1 &
	pid=$!
	while ! grep -q persisted /tmp/crash-ext4.log; do
		kill -0 $pid 2>/dev/null || { cat /tmp/crash-ext4.log; exit 1; }
		sleep 0.1
	done
	cat /tmp/crash-ext4.log
	echo "test-dax: ext4 stored at uptime $(cut -d' ' -f1 /proc/uptime) s"
	exec "$crash_tool" store /tmp/crash-xfs/data "$MDFS_GUEST_OUT/crash-xfs.info"
fi
if [ "${2:-}" = --crash-check ]; then
	rc=0
	for fs in ext4 xfs; do
		dir=$MDFS_DAX_EXT4
		[ $fs = xfs ] && dir=$MDFS_DAX_XFS
		line=$("$crash_tool" check "$dir/crash/data" "$MDFS_GUEST_OUT/crash-$fs.info")
		echo "$?" >"$MDFS_GUEST_OUT/check-$fs.rc"
		echo "$line" | tee "$MDFS_GUEST_OUT/check-$fs.line"
		filefrag -v "$dir/crash/data" 2>&1 | head -n 8
	done
	exit 0
fi

# ---- on the host ---------------------------------------------------------------
[ "$(id -u)" = 0 ] || { echo "test-dax: must run as root" >&2; exit 2; }
[ -x "$repo/$build/tests/mdfs-tests" ] || { echo "test-dax: no $build/tests/mdfs-tests (make build)" >&2; exit 2; }
t0=$SECONDS
work=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$work" ]; then
		if [ -n "${MDFS_DAX_LOGS:-}" ]; then
			mkdir -p "$MDFS_DAX_LOGS" && cp -r "$work"/. "$MDFS_DAX_LOGS"/ 2>/dev/null
		fi
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
work=$(mktemp -d /tmp/mdfs-test-dax.XXXXXX)

t=$SECONDS
bash "$repo/scripts/provision-dax.sh" || { echo "test-dax: provisioning the guest failed" >&2; exit 1; }
kernel=$(sed -n 's/^kernel=//p' "$repo/.deps/dax/kernel/VERSION")
provision_s=$((SECONDS - t))
accel=${MDFS_GUEST_ACCEL:-$(bash "$repo/scripts/dax-guest.sh" probe)}
export MDFS_GUEST_ACCEL=$accel
echo "test-dax: kernel $kernel, accelerator $accel (KVM only where it boots a guest)"

t=$SECONDS
mkdir -p "$work/suite"
bash "$repo/scripts/dax-guest.sh" --out "$work/suite" --timeout 3000 -- \
	bash "$repo/scripts/test-dax.sh" "$build" --in-guest ${MDFS_DAX_FILTER:+"$MDFS_DAX_FILTER"}
guest_rc=$?
guest_s=$((SECONDS - t))

# crash_run NAME NOSYNC: phase 1 on a new NVDIMM, phase 2 on the same;
# leaves check-FS.rc and check-FS.line in $work/crash-NAME/p2
crash_run() {
	local d=$work/crash-$1
	mkdir -p "$d/p1" "$d/p2"
	bash "$repo/scripts/dax-guest.sh" --quiet --image "$d/nvdimm.img" --new \
		--ext4-opts commit=60 --out "$d/p1" --timeout 900 --expect-crash -- \
		bash "$repo/scripts/test-dax.sh" "$build" --crash-store "$2" \
		2>"$d/p1.err" || { cat "$d/p1.err" "$d/p1/guest.log"; return 1; }
	cp "$d"/p1/crash-*.info "$d/p2/" || return 1
	bash "$repo/scripts/dax-guest.sh" --quiet --image "$d/nvdimm.img" \
		--out "$d/p2" --timeout 900 -- \
		bash "$repo/scripts/test-dax.sh" "$build" --crash-check \
		2>"$d/p2.err" || { cat "$d/p2.err" "$d/p2/guest.log"; return 1; }
	rm -f "$d/nvdimm.img"
}
# crash_says NAME FS: the check's line, or why there is none
crash_says() {
	local f=$work/crash-$1/p2/check-$2.line
	if [ -s "$f" ]; then cat "$f"; else echo "NO RESULT"; fi
}

t=$SECONDS
crash_run positive 0
crash_run negative 1
crash_rc=0
crash_lines=()
for fs in ext4 xfs; do
	pos=$(cat "$work/crash-positive/p2/check-$fs.rc" 2>/dev/null)
	neg=$(cat "$work/crash-negative/p2/check-$fs.rc" 2>/dev/null)
	# the negative must fail the check, not fail to run it (rc 1)
	if [ "$pos" = 0 ] && [ "$neg" = 1 ]; then v=ok; else v=FAILED; crash_rc=1; fi
	l="$fs positive: $(crash_says positive $fs);"
	crash_lines+=("$l negative (no grant fsync): $(crash_says negative $fs) -> $v")
done
crash_s=$((SECONDS - t))

# ---- the summary -------------------------------------------------------------
rc=0 passed=0 failed=0 skipped=0
for fs in ext4 xfs; do
	log=$work/suite/suite-$fs.log
	syn=$(grep -a 'Synthesis:' "$log" 2>/dev/null | tail -n1)
	if [ -z "$syn" ]; then
		echo "test-dax: DAX $fs: NO RESULT (the guest exited $guest_rc)"
		tail -n 20 "$log" 2>/dev/null
		rc=1
		continue
	fi
	read -r t p f c < <(sed -E 's/.*Tested: ([0-9]+) \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3 \4/' <<<"$syn")
	s=$(grep -ac '^\[SKIP\]' "$log")
	frc=$(cat "$work/suite/suite-$fs.rc" 2>/dev/null || echo "?")
	world=$(grep -a '^world guard:' "$log" | head -n1 | cut -c1-60)
	echo "test-dax: DAX $fs ($(cat "$work/suite/suite-$fs.mount" 2>/dev/null)):" \
		"$p passed, $((f + c)) failed, $s skipped of $t" \
		"in $(cat "$work/suite/suite-$fs.time" 2>/dev/null) s; exit $frc; $world"
	passed=$((passed + p)) failed=$((failed + f + c)) skipped=$((skipped + s))
	if [ "$frc" != 0 ]; then
		rc=1
		grep -a -E '^\[FAIL\]|^\[----\] .*(Assertion|:[0-9]+:)|^world guard: CHANGED|^test-dax:' \
			"$log" | head -n 120
	fi
done
[ $guest_rc = 0 ] || rc=1
for l in "${crash_lines[@]}"; do echo "test-dax: crash test: $l"; done
echo "test-dax: crash test: $([ $crash_rc = 0 ] && echo ok || echo FAILED) ($crash_s s, 4 boots)"
[ $crash_rc = 0 ] || rc=1
echo "test-dax: kernel $kernel ($accel); provisioning ${provision_s} s," \
	"guest with both suites ${guest_s} s, crash test ${crash_s} s, total $((SECONDS - t0)) s"
if [ $rc = 0 ]; then verdict=ok; else verdict=FAILED; fi
echo "test-dax: $passed passed, $failed failed, $skipped skipped"
echo "test-dax: $verdict"
exit $rc
