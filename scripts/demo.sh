#!/usr/bin/env bash
# make demo: mount mapdirectfs over a temporary backing dir, show that the
# mount is the backing (bytes and mmap), then the lease story: a holder,
# the xattrs, a write that breaks the lease, the holder's events, the
# stats. Unmounts and leaves nothing behind.
set -euo pipefail
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo/$build/fuse/mapdirectfs"
cli="$repo/$build/client/mapdirect"
mapshow="$repo/$build/tests/tools/mapshow"

tmp=$(mktemp -d /tmp/mdfs-demo.XXXXXX)
backing=$tmp/backing mnt=$tmp/mnt
mkdir "$backing" "$mnt"
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	umount -l "$mnt" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
xattr() { getfattr --absolute-names --only-values -n "user.mapdirect.$1" "$2"; }

step "mount: mapdirectfs -o lease_break_time=5 $backing $mnt"
"$bin" -o lease_break_time=5 "$backing" "$mnt"
grep " $mnt " /proc/self/mounts

step "write 4 MiB through the mount, compare with the backing file"
head -c 4M /dev/urandom > "$mnt/data"
sha256sum "$mnt/data" "$backing/data" | sed "s|$tmp/||"
cmp "$mnt/data" "$backing/data" && echo "identical: the mount's file is the backing file, byte for byte"

step "mmap the file in the mount: the mapping is the backing file itself"
"$mapshow" "$mnt/data"
echo "backing inode: $(stat -c %i "$backing/data")   ($backing/data)"
echo "first byte in the backing file after a store through the mapping: $(head -c 1 "$backing/data")"

step "a holder takes a layout lease and maps the file (mapdirect hold, in the background)"
"$cli" hold --signal SIGUSR1 "$mnt/data" > "$tmp/hold.log" 2>&1 &
holder=$!
for _ in $(seq 100); do grep -q mapped "$tmp/hold.log" && break; sleep 0.05; done
cat "$tmp/hold.log"

step "the lease, seen through the xattrs and the CLI"
echo "user.mapdirect.state    = $(xattr state "$mnt/data")"
echo "user.mapdirect.eligible = $(xattr eligible "$mnt/data")"
echo "user.mapdirect.dax      = $(xattr dax "$mnt/data")   (no pmem on this machine)"
echo "user.mapdirect.leases (mount root):"
xattr leases "$mnt" | sed 's/^/    /'
"$cli" status "$mnt/data"

step "another process writes to the file: the write waits for the lease break"
start=$(date +%s.%N)
printf 'breaker was here' | dd of="$mnt/data" bs=16 count=1 conv=notrunc status=none
awk -v s="$start" -v e="$(date +%s.%N)" \
	'BEGIN { printf "the write returned after %.3f s: the holder released at once\n", e - s }'
wait "$holder" || true
holder=
echo "the holder's events:"
sed 's/^/    /' "$tmp/hold.log"
echo "user.mapdirect.state    = $(xattr state "$mnt/data")"

step "counters on the mount root (user.mapdirect.stats)"
xattr stats "$mnt" | grep -E 'leases_granted|leases_active|leases_unleased|breaks_started|breaks_resolved|parked_total|leases_revoked' | sed 's/^/    /'

step "unmount"
umount "$mnt"
grep -q " $mnt " /proc/self/mounts && { echo "still mounted!"; exit 1; }
echo "unmounted; temp dir removed on exit"
