#!/usr/bin/env bash
# Lazily unmount whatever a crashed test left under the tests' temp dirs
# ($MDFS_TMPDIR or /tmp, mdfs-test.*), stop its daemon (SIGKILL if SIGTERM
# is not enough: a deadlocked daemon reads no signal) and remove the temp
# dir, after checking the canary beside its mount (issue 11; reported to
# $MDFS_WORLD_LOG). With a run id (scripts/run-tests.sh passes its own),
# only that run's dirs; without one, only dirs whose run is over (its id is
# the pid of a process that is gone). Safe any time.
set -u
only=${1:-}
base=${MDFS_TMPDIR:-/tmp}
mine() {
	local d=$1 id
	id=$(cat "$d/run.id" 2>/dev/null) || id=
	if [ -n "$only" ]; then
		[ "$id" = "$only" ]
	else
		[ -z "$id" ] || ! kill -0 "$id" 2>/dev/null
	fi
}
# A test's guard may be removing the dir meanwhile: a canary that is gone
# by the end of the look was torn down, not changed.
canary_intact() {
	local c=$1/canary
	[ -f "$c" ] && [ ! -L "$c" ] &&
		[ "$(stat -c %Y "$c" 2>/dev/null)" = 1000000000 ] &&
		grep -qx 'mapdirectfs test canary: nothing may change this file' \
			"$c" 2>/dev/null && return 0
	[ ! -e "$c" ] && [ ! -L "$c" ]
}
for d in "$base"/mdfs-test.*; do
	[ -d "$d" ] || continue
	mine "$d" || continue
	awk '{print $2}' /proc/self/mounts | grep "^$d/" | sort -r |
	while read -r m; do
		umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
	done
	if [ -f "$d/daemon.pid" ]; then
		pid=$(cat "$d/daemon.pid")
		kill "$pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null
	fi
	if ! canary_intact "$d"; then
		echo "cleanup: the canary beside the mount in $d changed" >&2
		[ -n "${MDFS_WORLD_LOG:-}" ] &&
			echo "$d: its canary changed (test ended without teardown)" \
				>>"$MDFS_WORLD_LOG"
	fi
	rm -rf --one-file-system "$d" 2>/dev/null
done
exit 0
