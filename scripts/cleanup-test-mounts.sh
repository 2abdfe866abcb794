#!/usr/bin/env bash
# Lazily unmount whatever a crashed test left under /tmp/mdfs-test.*,
# stop its daemons and remove the temp dirs. Safe to run any time.
set -u
awk '{print $2}' /proc/self/mounts | grep '^/tmp/mdfs-test\.' | sort -r |
while read -r m; do
	umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
done
for d in /tmp/mdfs-test.*; do
	[ -d "$d" ] || continue
	if [ -f "$d/daemon.pid" ]; then kill "$(cat "$d/daemon.pid")" 2>/dev/null; fi
	rm -rf --one-file-system "$d" 2>/dev/null
done
exit 0
