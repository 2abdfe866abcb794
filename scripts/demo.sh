#!/usr/bin/env bash
# make demo: mount mapdirectfs over a temporary backing dir, show that the
# mount is the backing (bytes and mmap), unmount. Leaves nothing behind.
set -euo pipefail
build=${1:-build}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo/$build/fuse/mapdirectfs"
mapshow="$repo/$build/tests/tools/mapshow"

tmp=$(mktemp -d /tmp/mdfs-demo.XXXXXX)
backing=$tmp/backing mnt=$tmp/mnt
mkdir "$backing" "$mnt"
cleanup() {
	umount -l "$mnt" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "mount: mapdirectfs $backing $mnt"
"$bin" "$backing" "$mnt"
grep " $mnt " /proc/self/mounts

step "write 4 MiB through the mount, compare with the backing file"
head -c 4M /dev/urandom > "$mnt/data"
sha256sum "$mnt/data" "$backing/data" | sed "s|$tmp/||"
cmp "$mnt/data" "$backing/data" && echo "identical: the mount's file is the backing file, byte for byte"

step "mmap the file in the mount: the mapping is the backing file itself"
"$mapshow" "$mnt/data"
echo "backing inode: $(stat -c %i "$backing/data")   ($backing/data)"
echo "first byte in the backing file after a store through the mapping: $(head -c 1 "$backing/data")"

step "unmount"
umount "$mnt"
grep -q " $mnt " /proc/self/mounts && { echo "still mounted!"; exit 1; }
echo "unmounted; temp dir removed on exit"
