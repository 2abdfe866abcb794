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
# Then checks the crash bed (dax-guest.sh selftest: phase 1 fsyncs a file
# and crashes the guest with sysrq b, phase 2 boots on the same NVDIMM and
# finds it). Prints one line per filesystem, one for the crash bed and one
# overall; exits non-zero if anything failed. Nothing is left on the host:
# the guest's image, logs and temp dirs go with it, also on Ctrl-C;
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

t=$SECONDS
crash_line=$(bash "$repo/scripts/dax-guest.sh" selftest 2>"$work/selftest.err")
crash_rc=$?
crash_s=$((SECONDS - t))
[ $crash_rc = 0 ] || cat "$work/selftest.err"

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
echo "test-dax: crash bed: ${crash_line:-FAILED} ($crash_s s)"
[ $crash_rc = 0 ] || rc=1
echo "test-dax: kernel $kernel ($accel); provisioning ${provision_s} s," \
	"guest with both suites ${guest_s} s, crash bed ${crash_s} s, total $((SECONDS - t0)) s"
if [ $rc = 0 ]; then verdict=ok; else verdict=FAILED; fi
echo "test-dax: $passed passed, $failed failed, $skipped skipped"
echo "test-dax: $verdict"
exit $rc
