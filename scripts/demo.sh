#!/usr/bin/env bash
# make demo: mount mapdirectfs over a temporary backing dir, show that the
# mount is the backing (bytes and mmap), then the lease story: a holder,
# the xattrs, a write that breaks the lease, the holder's events; a holder
# that ignores the break and is revoked; the stats. Unmounts and leaves
# nothing behind.
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
stat_of() { xattr stats "$mnt" | sed -n "s/^$1=//p"; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.3f", e - s }'; }
# start `mapdirect hold ARGS` in the background, wait until it has mapped
hold() {
	"$cli" hold "$@" > "$tmp/hold.log" 2>&1 &
	holder=$!
	for _ in $(seq 100); do grep -q mapped "$tmp/hold.log" && break; sleep 0.05; done
	cat "$tmp/hold.log"
}

step "mount: mapdirectfs -o lease_break_time=2 $backing $mnt"
"$bin" -o lease_break_time=2 "$backing" "$mnt"
grep " $mnt " /proc/self/mounts
echo "in effect (user.mapdirect.config on the mount root):"
xattr config "$mnt" | grep -E '^(lease_break_time|mediate|transport|passthrough_active|mediate_active|dax_active)=' | sed 's/^/    /'

step "write 4 MiB through the mount, compare with the backing file"
head -c 4M /dev/urandom > "$mnt/data"
sha256sum "$mnt/data" "$backing/data" | sed "s|$tmp/||"
cmp "$mnt/data" "$backing/data" && echo "identical: the mount's file is the backing file, byte for byte"

step "mmap the file in the mount: the mapping is the backing file itself"
"$mapshow" "$mnt/data"
echo "backing inode: $(stat -c %i "$backing/data")   ($backing/data)"
echo "mapshow stored 'M' at offset 0 through its mapping; the backing file's first byte is now: $(head -c 1 "$backing/data")"

step "a holder takes a layout lease and maps the file (mapdirect hold, in the background)"
hold --signal SIGUSR1 "$mnt/data"

step "the lease, seen through the xattrs and the CLI"
echo "user.mapdirect.state    = $(xattr state "$mnt/data")"
echo "user.mapdirect.eligible = $(xattr eligible "$mnt/data")"
dax=$(xattr dax "$mnt/data")
if [ "$dax" = 1 ]; then
	echo "user.mapdirect.dax      = 1   (DAX: the mapping is the pmem itself)"
else
	echo "user.mapdirect.dax      = $dax   (not DAX: no pmem behind $backing; the mapping is page cache)"
fi
echo "user.mapdirect.leases (mount root):"
xattr leases "$mnt" | sed 's/^/    /'
"$cli" status "$mnt/data"

step "another process writes to the file: the write waits for the lease break"
parked=$(stat_of parked_total) start=$(now)
printf 'breaker was here' | dd of="$mnt/data" bs=16 count=1 conv=notrunc status=none
echo "the write returned after $(since "$start") s; the daemon parked it" \
	"(parked_total $parked -> $(stat_of parked_total)) until the holder had unmapped and unleased"
wait "$holder" || true
holder=
echo "the holder's events:"
sed 's/^/    /' "$tmp/hold.log"
echo "user.mapdirect.state    = $(xattr state "$mnt/data")"

step "a holder that ignores breaks (mapdirect hold --ignore-breaks)"
hold --ignore-breaks "$mnt/data"
start=$(now)
printf 'second breaker' | dd of="$mnt/data" bs=14 count=1 conv=notrunc status=none
echo "the write returned after $(since "$start") s: lease_break_time (2 s) passed," \
	"the lease was revoked (leases_revoked=$(stat_of leases_revoked)), then the write ran"
rc=0
wait "$holder" || rc=$?
holder=
echo "the holder's events (exit status $rc: 4 = revoked, SIGBUS):"
sed 's/^/    /' "$tmp/hold.log"
echo "the backing file begins: $(head -c 14 "$backing/data")"

step "counters on the mount root (user.mapdirect.stats)"
xattr stats "$mnt" | grep -E 'leases_granted|leases_active|leases_unleased|breaks_started|breaks_resolved|parked_total|leases_revoked' | sed 's/^/    /'

step "unmount"
umount "$mnt"
grep -q " $mnt " /proc/self/mounts && { echo "still mounted!"; exit 1; }
echo "unmounted; temp dir removed on exit"
