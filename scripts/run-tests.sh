#!/usr/bin/env bash
# Run every test of a build dir; whatever happens, leave no mount behind.
set -uo pipefail
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)

cleanup() { bash "$repo/scripts/cleanup-test-mounts.sh"; }
trap cleanup EXIT

export MDFS_BIN="$repo/$build/fuse/mapdirectfs"
# ASan: the daemon's leaks are reported at exit and fail its run
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$repo/$build/tests/mdfs-tests" --jobs 2 "$@"
