#!/usr/bin/env bash
# Lazily unmount whatever a crashed test left under
# ${MDFS_TMPDIR:-/tmp}/mdfs-test.* (the harness's temp dirs), stop its daemon
# and remove the temp dir. With a run id (scripts/run-tests.sh
# passes its own), only that run's dirs; without one, only dirs whose run
# is over (its id is the pid of a process that is gone). Safe any time.
set -u
only=${1:-}
tmpdir=${MDFS_TMPDIR:-/tmp}
mine() {
	local d=$1 id
	id=$(cat "$d/run.id" 2>/dev/null) || id=
	if [ -n "$only" ]; then
		[ "$id" = "$only" ]
	else
		[ -z "$id" ] || ! kill -0 "$id" 2>/dev/null
	fi
}
for d in "$tmpdir"/mdfs-test.*; do
	[ -d "$d" ] || continue
	mine "$d" || continue
	awk '{print $2}' /proc/self/mounts | grep "^$d/" | sort -r |
	while read -r m; do
		umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
	done
	if [ -f "$d/daemon.pid" ]; then kill "$(cat "$d/daemon.pid")" 2>/dev/null; fi
	rm -rf --one-file-system "$d" 2>/dev/null
done
exit 0
