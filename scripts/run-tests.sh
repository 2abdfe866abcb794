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
"$repo/$build/tests/mdfs-tests" --jobs 2 "$@"
rc=$?
# what a timed-out test left (its guard may still be at it): torn down,
# and its canary looked at, before the world is
bash "$repo/scripts/cleanup-test-mounts.sh" "$MDFS_RUN_ID"
bash "$repo/scripts/world-guard.sh" check "$world" || rc=1
exit $rc
