#!/usr/bin/env bash
# Run every test of a build dir; whatever happens, leave no mount behind.
set -uo pipefail
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)

# this run's temp dirs carry its id: cleanup leaves other runs alone
export MDFS_RUN_ID=$$
cleanup() { bash "$repo/scripts/cleanup-test-mounts.sh" "$MDFS_RUN_ID"; }
trap cleanup EXIT

export MDFS_BIN="$repo/$build/fuse/mapdirectfs"
# ASan: the daemon's leaks are reported at exit and fail its run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$repo/$build/tests/mdfs-tests" --jobs 2 "$@"
