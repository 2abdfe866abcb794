#!/usr/bin/env bash
# mount(8) runs /sbin/mount.fuse.mapdirectfs for "-t fuse.mapdirectfs" (and
# /etc/fstab); fuse3's mount.fuse3 then starts mapdirectfs from PATH.
set -eu
helper=$(command -v mount.fuse3 || echo /sbin/mount.fuse3)
ln -sf "$helper" /sbin/mount.fuse.mapdirectfs
echo "installed /sbin/mount.fuse.mapdirectfs -> $helper"
