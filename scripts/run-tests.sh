#!/usr/bin/env bash
# Run every test of a build dir; whatever happens, leave no mount behind,
# and fail if anything outside the tests' temp dirs changed (issue 11).
set -uo pipefail
build=${1:-build}
shift
repo=$(cd "$(dirname "$0")/.." && pwd)

# this run's temp dirs carry its id: cleanup leaves other runs alone
export MDFS_RUN_ID=$$
# the tests' temp dirs go to $MDFS_TMPDIR (tests/integration/harness.h),
# and so does the world guard's canary, beside them
export MDFS_TMPDIR=${MDFS_TMPDIR:-/tmp}
world=$(mktemp -d "$MDFS_TMPDIR/mdfs-world.XXXXXX")
cleanup() {
	bash "$repo/scripts/cleanup-test-mounts.sh" "$MDFS_RUN_ID"
	rm -rf "$world"
}
trap cleanup EXIT
bash "$repo/scripts/world-guard.sh" snapshot "$world"
# a test's teardown writes here what it found changed beside its mount
export MDFS_WORLD_LOG=$world/changed

export MDFS_BIN="$repo/$build/fuse/mapdirectfs"
# ASan: the daemon's leaks are reported at exit and fail its run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A test's daemon lives at most its test's 30 s (Criterion's timeout); one
# that hangs a FUSE request leaves its test in an unkillable wait that
# Criterion never ends. Past WATCHDOG_S it is killed, which fails the
# request (ENOTCONN) and so the test, with this line to say why.
WATCHDOG_S=${MDFS_WATCHDOG_S:-180}
watchdog() {
	local pid age args s
	trap 'kill $s 2>/dev/null; exit 0' TERM
	while :; do
		sleep 2 & s=$!
		wait $s
		while read -r pid age args; do
			[[ $args == *"$MDFS_TMPDIR/mdfs-test."* && $age -gt $WATCHDOG_S ]] || continue
			echo "run-tests: watchdog: a daemon lived ${age} s, killed: $args" >&2
			kill -9 "$pid" 2>/dev/null
		done < <(ps -C mapdirectfs -o pid=,etimes=,args=)
	done
}
watchdog &
dog=$!
"$repo/$build/tests/mdfs-tests" --jobs 2 "$@"
rc=$?
kill "$dog" 2>/dev/null
wait "$dog" 2>/dev/null
# what a timed-out test left (its guard may still be at it): torn down,
# and its canary looked at, before the world is
bash "$repo/scripts/cleanup-test-mounts.sh" "$MDFS_RUN_ID"
bash "$repo/scripts/world-guard.sh" check "$world" || rc=1
exit $rc
