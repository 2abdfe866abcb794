#!/usr/bin/env bash
# dax-guest.sh - run a command in a guest on real fsdax (issue 12)
#
#   scripts/dax-guest.sh [--image FILE] [--new] [--out DIR] [--timeout SECS]
#                        [--ext4-opts OPTS] [--xfs-opts OPTS] [--expect-crash]
#                        -- COMMAND [ARG...]
#
# Boots the Debian kernel that scripts/provision-dax.sh put in .deps/dax
# under QEMU with an emulated NVDIMM (labels, two fsdax namespaces: ext4 on
# the first, xfs -m reflink=0 on the second, both mounted -o dax=always),
# the host's / over 9p read-only under a tmpfs overlay as the guest's root
# (so this worktree's build runs unchanged), and runs COMMAND as root in
# this repo's directory. Recipe: shared/DAX-NOTES.md, "The guest".
#
# In the guest COMMAND sees
#   MDFS_DAX_EXT4, MDFS_DAX_XFS  the DAX mounts (/mnt/dax-ext4, /mnt/dax-xfs)
#   MDFS_GUEST_OUT               a writable dir that is DIR on the host
#   MDFS_GUEST=1
# and its stdout and stderr go to DIR/guest.log (streamed here as they come
# unless --quiet). The guest has no network; /tmp, /run and /mnt are its own
# tmpfs; fuse-over-io-uring is enabled.
#
# Options:
#   --image FILE   the NVDIMM's backing file, kept after the run; created
#                  (sparse, 4 GiB) if missing. Without it a temp image is
#                  used and removed.
#   --new          label the NVDIMM, create the namespaces and filesystems
#                  (implied for a new or temp image). Without it a second
#                  boot on the same --image finds the same namespaces and
#                  filesystems, with whatever the last boot left in them.
#   --out DIR      where the results go (default: a temp dir, removed)
#   --timeout S    the guest's whole life, boot included (default 3600)
#   --ext4-opts O, --xfs-opts O   extra mount options (e.g. commit=60)
#   --expect-crash COMMAND is to crash the guest (phase 1 of a crash test):
#                  success is the guest resetting after COMMAND started and
#                  before it finished. COMMAND crashes it at once, with no
#                  sync and no unmount, by `echo b > /proc/sysrq-trigger`;
#                  it writes what phase 2 needs into MDFS_GUEST_OUT first.
#   --quiet        do not stream guest.log
#
# Exit status: COMMAND's; with --expect-crash 0 when it crashed the guest as
# it should, 1 when it exited instead; 124 when the guest outlived
# --timeout (killed); 125 when the guest never got to run COMMAND.
# Whatever happens, the guest is killed and every temp file removed, also on
# Ctrl-C. MDFS_GUEST_ACCEL=tcg|kvm skips the KVM probe (see accel_probe);
# `scripts/dax-guest.sh probe` prints what the probe finds.
#
# A crash test (phase 1 stores and crashes, phase 2 checks) is two runs:
#   scripts/dax-guest.sh --image IMG --new --out D1 --expect-crash -- phase1
#   scripts/dax-guest.sh --image IMG --out D2 -- phase2
# `scripts/dax-guest.sh selftest` runs such a pair: a file written and
# fsync'ed in phase 1 on each DAX filesystem is there in phase 2.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/scripts/dax-guest.sh
KDIR=$REPO/.deps/dax/kernel
IMAGE_SIZE=4G
GUEST_SHARE=/mnt/mdfs-share		# the writable 9p share, in the guest
GUEST_EXT4=/mnt/dax-ext4
GUEST_XFS=/mnt/dax-xfs
# modules the guest loads before its root exists (with their dependencies)
MODULES=(9p 9pnet_virtio overlay loop ext4 xfs crc32c-cryptoapi
	 nfit libnvdimm nd_pmem nd_btt dax_pmem device_dax)

log() { echo "dax-guest: $*" >&2; }

# ---------------------------------------------------------------------------
# In the guest, stage 2: PID 1 in the overlay root (the host's / read-only
# with a tmpfs on top). The initramfs (stage 1, below) mounted it all.
# ---------------------------------------------------------------------------
guest_poweroff() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

guest_stage2() {
	local out=$GUEST_SHARE env rc
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root LANG=C.UTF-8
	# shellcheck disable=SC1091
	. "$out/guest.env"
	echo 1 >/proc/sys/kernel/sysrq
	hostname mdfs-guest
	echo 1 >/sys/module/fuse/parameters/enable_uring
	ln -sf /proc/self/fd /dev/fd 2>/dev/null
	mkdir -p /dev/pts /dev/shm "$GUEST_EXT4" "$GUEST_XFS"
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
	mount -t tmpfs -o mode=1777 shm /dev/shm
	# The root is the host's, live: what others on the host change in
	# /etc or $HOME (an apt-get install) would look like the tests' work
	# to the world guard. A copy of /etc and an empty $HOME instead.
	mkdir -p /run/mdfs-etc
	cp -a /etc/. /run/mdfs-etc/ && mount --bind /run/mdfs-etc /etc
	mount -t tmpfs -o mode=0700 guest-home /root
	# the NVDIMM: two fsdax namespaces, ext4 and xfs
	if ! guest_pmem "$GUEST_NEW" >>"$out/guest.setup.log" 2>&1; then
		echo "dax-guest: pmem setup failed:" >&2
		cat "$out/guest.setup.log" >&2
		guest_poweroff
	fi
	: >"$out/guest.started"
	(
		cd "$GUEST_REPO" || exit 125
		export MDFS_DAX_EXT4=$GUEST_EXT4 MDFS_DAX_XFS=$GUEST_XFS
		export MDFS_GUEST_OUT=$out MDFS_GUEST=1
		exec "${GUEST_CMD[@]}" </dev/null
	) >>"$out/guest.log" 2>&1 &
	wait $!
	rc=$?
	# PID 1 reaps whatever the command left (orphans, daemons)
	echo "$rc" >"$out/guest.rc"
	umount "$GUEST_EXT4" "$GUEST_XFS" 2>>"$out/guest.setup.log"
	guest_poweroff
}

# guest_pmem NEW: set up (NEW=1) or find the namespaces and mount them
guest_pmem() {
	local new=$1 i dev
	for i in $(seq 50); do
		[ -e /sys/bus/nd/devices/region0 ] && break
		sleep 0.1
	done
	if [ "$new" = 1 ]; then
		ndctl disable-region all &&
		ndctl init-labels -f all &&
		ndctl enable-region all &&
		# about half each, 2 MiB aligned (PMD faults)
		ndctl create-namespace -r region0 -m fsdax -a 2M -s 2000M &&
		ndctl create-namespace -r region0 -m fsdax -a 2M || return 1
	fi
	ndctl list -N
	for i in $(seq 50); do
		[ -b /dev/pmem0 ] && [ -b /dev/pmem0.1 ] && break
		sleep 0.1
	done
	if [ "$new" = 1 ]; then
		mkfs.ext4 -q -F -L mdfs-dax-ext4 /dev/pmem0 || return 1
		mkfs.xfs -q -f -m reflink=0 -L mdfs-dax-xfs /dev/pmem0.1 || return 1
	fi
	mount -t ext4 -o "dax=always${GUEST_EXT4_OPTS:+,$GUEST_EXT4_OPTS}" \
		/dev/pmem0 "$GUEST_EXT4" || return 1
	mount -t xfs -o "dax=always${GUEST_XFS_OPTS:+,$GUEST_XFS_OPTS}" \
		/dev/pmem0.1 "$GUEST_XFS" || return 1
	chmod 0755 "$GUEST_EXT4" "$GUEST_XFS"
	grep pmem /proc/mounts
	grep -i "persistent memory" /proc/iomem
}

# ---------------------------------------------------------------------------
# On the host
# ---------------------------------------------------------------------------
tmp="" qemu_pid="" tail_pid=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -TERM "$qemu_pid" 2>/dev/null
		sleep 1
		kill -KILL "$qemu_pid" 2>/dev/null
	fi
	[ -n "$qemu_pid" ] && wait "$qemu_pid" 2>/dev/null
	[ -n "$tail_pid" ] && wait "$tail_pid" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}

kernel_paths() {
	[ -f "$KDIR/VERSION" ] || { log "no kernel in $KDIR: run scripts/provision-dax.sh"; exit 125; }
	KVER=$(sed -n 's/^kernel=//p' "$KDIR/VERSION")
	KMODS=$(sed -n 's/^modules=//p' "$KDIR/VERSION")
	VMLINUZ=$KDIR/boot/vmlinuz-$KVER
	[ -f "$VMLINUZ" ] && [ -d "$KMODS" ] || { log "kernel $KVER incomplete in $KDIR"; exit 125; }
	# the modules dir may have moved with .deps: resolve it from here
	KMODS=$(ls -d "$KDIR"/usr/lib/modules/"$KVER" "$KDIR"/lib/modules/"$KVER" 2>/dev/null | head -n1)
}

# build_initramfs OUT: busybox-static, the modules decompressed with their
# own modules.dep, and stage 1's /init
build_initramfs() {
	local out=$1 root base m p rel list=()
	root=$(mktemp -d "$tmp/initramfs.XXXXXX")
	base=${KMODS%/lib/modules/*}
	mkdir -p "$root"/{bin,dev,proc,sys,lower,upper,newroot,lib/modules/"$KVER"}
	cp /bin/busybox "$root/bin/busybox"
	file -b /bin/busybox 2>/dev/null | grep -q static ||
		ldd /bin/busybox 2>&1 | grep -q "not a dynamic" ||
		{ log "/bin/busybox is not static (install busybox-static)"; return 1; }
	for m in "${MODULES[@]}"; do
		p=$(modprobe -C /dev/null -d "$base" -S "$KVER" --show-depends "$m" 2>&1) ||
			{ log "module $m: $p"; return 1; }
		while read -r _ p _; do
			[ -n "$p" ] && list+=("$p")
		done <<<"$(grep '^insmod ' <<<"$p")"
	done
	for p in "${list[@]}"; do
		rel=${p#"$KMODS"/}
		[ -f "$root/lib/modules/$KVER/${rel%.xz}" ] && continue
		mkdir -p "$root/lib/modules/$KVER/$(dirname "$rel")"
		case $p in
		*.xz) xz -dc "$p" >"$root/lib/modules/$KVER/${rel%.xz}" ;;
		*.zst) zstd -qdc "$p" >"$root/lib/modules/$KVER/${rel%.zst}" ;;
		*) cp "$p" "$root/lib/modules/$KVER/$rel" ;;
		esac || return 1
	done
	cp "$KMODS"/modules.builtin* "$KMODS"/modules.order "$root/lib/modules/$KVER/" 2>/dev/null
	depmod -b "$root" "$KVER" || return 1
	printf '%s\n' "${MODULES[@]}" >"$root/modules.load"
	stage1 >"$root/init"
	chmod 0755 "$root/init"
	(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out" || return 1
	rm -rf "$root"
}

# Stage 1, the initramfs's /init (busybox sh): modules, the overlay root,
# the share, then stage 2 of this script as PID 1. mdfs.probe=1 on the
# command line only says it got here (accel_probe).
stage1() {
	cat <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 >/proc/sys/kernel/sysrq
fail() { echo "dax-guest stage 1: \$*"; echo o >/proc/sysrq-trigger; sleep 30; }
if grep -q mdfs.probe=1 /proc/cmdline; then echo MDFS-PROBE-OK; fail probe done; fi
for m in \$(cat /modules.load); do modprobe "\$m" || fail "modprobe \$m"; done
mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,ro hostroot /lower || fail "9p hostroot"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w,xino=on root /newroot || fail overlay
# the guest's own /tmp, /run, /mnt: the host's files there are not seen
for d in tmp run mnt; do mount -t tmpfs -o mode=0755 "guest-\$d" "/newroot/\$d" || fail "tmpfs /\$d"; done
chmod 1777 /newroot/tmp
mkdir -p /newroot$GUEST_SHARE
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 mdfsout /newroot$GUEST_SHARE || fail "9p share"
for d in dev proc sys; do mount --move "/\$d" "/newroot/\$d"; done
exec switch_root /newroot /bin/bash $SELF --guest-stage2
EOF
}

# Does KVM really boot a guest here? A /dev/kvm can be a software PVM
# that creates VMs but cannot run a stock kernel (DAX-NOTES.md): boot the
# kernel to the initramfs's first line under KVM, bounded by 30 s.
accel_probe() {
	local c="$tmp/probe.console" p
	[ -w /dev/kvm ] || { echo tcg; return; }
	qemu-system-x86_64 -machine pc,accel=kvm -cpu host -smp 1 -m 512M \
		-kernel "$VMLINUZ" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 mdfs.probe=1" \
		-display none -monitor none -serial "file:$c" -nic none \
		-no-reboot >"$tmp/probe.qemu" 2>&1 &
	p=$!
	for _ in $(seq 300); do
		kill -0 "$p" 2>/dev/null || break
		grep -q MDFS-PROBE-OK "$c" 2>/dev/null && break
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	if grep -q MDFS-PROBE-OK "$c" 2>/dev/null; then echo kvm; else echo tcg; fi
}

# boot: run the guest once with the options parsed into globals
boot() {
	local accel cpu append start end rc
	accel=${MDFS_GUEST_ACCEL:-}
	[ -n "$accel" ] || accel=$(accel_probe 2>/dev/null)
	if [ "$accel" = kvm ]; then
		accel_opt="kvm"; cpu=host
	else
		accel_opt="tcg,thread=multi,tb-size=512"; cpu=max
	fi
	append="console=ttyS0 panic=-1 quiet loglevel=4"
	: >"$OUT/console.log"
	: >"$OUT/guest.log"
	rm -f "$OUT/guest.rc" "$OUT/guest.started" "$OUT/guest.setup.log"
	{
		printf 'GUEST_REPO=%q\nGUEST_NEW=%q\n' "$REPO" "$NEW"
		printf 'GUEST_EXT4_OPTS=%q\nGUEST_XFS_OPTS=%q\n' "$EXT4_OPTS" "$XFS_OPTS"
		printf 'GUEST_CMD=('; printf '%q ' "${CMD[@]}"; printf ')\n'
	} >"$OUT/guest.env"
	log "booting $KVER ($accel, $( [ "$NEW" = 1 ] && echo new || echo existing) NVDIMM $IMAGE)"
	start=$(date +%s.%N)
	qemu-system-x86_64 -machine pc,nvdimm=on -accel "$accel_opt" -cpu "$cpu" \
		-smp 2 -m 4G,slots=4,maxmem=16G \
		-object memory-backend-file,id=mem1,share=on,mem-path="$IMAGE",size=$IMAGE_SIZE,align=2M \
		-device nvdimm,id=nv1,memdev=mem1,label-size=128K \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$OUT",mount_tag=mdfsout,security_model=none \
		-display none -monitor none -serial "file:$OUT/console.log" -nic none \
		-no-reboot >"$OUT/qemu.log" 2>&1 &
	qemu_pid=$!
	if [ "$QUIET" = 0 ]; then
		tail -n +1 -F --pid="$qemu_pid" "$OUT/guest.log" 2>/dev/null &
		tail_pid=$!
	fi
	end=$(( $(date +%s) + TIMEOUT ))
	booted=""
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ -z "$booted" ] && [ -e "$OUT/guest.started" ]; then
			booted=$(date +%s.%N)
			log "guest up after $(elapsed "$start" "$booted") s"
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			log "TIMEOUT: the guest ran longer than $TIMEOUT s; killed"
			kill -KILL "$qemu_pid"
			wait "$qemu_pid" 2>/dev/null
			qemu_pid=""
			console_tail
			return 124
		fi
		sleep 0.5
	done
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=""
	[ -n "$tail_pid" ] && { sleep 0.3; kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null; tail_pid=""; }
	log "guest ran $(elapsed "$start" "$(date +%s.%N)") s"
	if [ ! -e "$OUT/guest.started" ]; then
		log "the guest never ran the command"
		console_tail
		return 125
	fi
	if [ "$EXPECT_CRASH" = 1 ]; then
		if [ -e "$OUT/guest.rc" ]; then
			log "the command exited $(cat "$OUT/guest.rc") instead of crashing the guest"
			return 1
		fi
		log "the guest crashed as the command asked"
		return 0
	fi
	if [ ! -e "$OUT/guest.rc" ]; then
		log "the guest went down before the command finished"
		console_tail
		return 1
	fi
	rc=$(cat "$OUT/guest.rc")
	return "$rc"
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
console_tail() {
	log "--- tail of the guest's console ---"
	tail -n 30 "$OUT/console.log" >&2
	[ -s "$OUT/qemu.log" ] && { log "--- qemu ---"; tail -n 10 "$OUT/qemu.log" >&2; }
}

# selftest: the two-phase crash interface works. Phase 1 writes and
# fsyncs a file on each DAX fs, then writes one more without any sync and
# crashes the guest at once (ext4 with commit=60: its journal commits only
# when asked); phase 2 boots on the same NVDIMM: the fsync'ed files are
# there byte for byte, and the unsynced ones are not (the crash lost what
# was only in the guest's RAM, so nothing was synced behind our back).
selftest() {
	local img="$tmp/selftest.img" rc1 rc2
	mkdir -p "$tmp/p1" "$tmp/p2"
	"$SELF" --quiet --image "$img" --new --out "$tmp/p1" --timeout 900 \
		--ext4-opts commit=60 --expect-crash -- bash -c '
		for d in "$MDFS_DAX_EXT4" "$MDFS_DAX_XFS"; do
			head -c 1048576 /dev/urandom >"$d/fsynced" &&
			sync "$d/fsynced" || exit 1	# fsync(2) of the file
			sha256sum "$d/fsynced" >>"$MDFS_GUEST_OUT/sums"
		done
		for d in "$MDFS_DAX_EXT4" "$MDFS_DAX_XFS"; do
			head -c 1048576 /dev/urandom >"$d/unsynced" || exit 1
		done
		echo b >/proc/sysrq-trigger; sleep 30'
	rc1=$?
	cp "$tmp/p1/sums" "$tmp/p2/sums" 2>/dev/null
	"$SELF" --quiet --image "$img" --out "$tmp/p2" --timeout 900 -- \
		bash -c 'test -s "$MDFS_GUEST_OUT/sums" &&
			 sha256sum -c "$MDFS_GUEST_OUT/sums" || exit 1
			 for d in "$MDFS_DAX_EXT4" "$MDFS_DAX_XFS"; do
				 if [ -s "$d/unsynced" ]; then
					 echo "$d/unsynced survived the crash"
					 exit 1
				 fi
			 done'
	rc2=$?
	if [ $rc1 = 0 ] && [ $rc2 = 0 ]; then
		echo "dax-guest selftest: phase 1 crashed the guest (sysrq b);" \
			"phase 2 found the fsync'ed files on ext4 and xfs" \
			"intact and the unsynced ones lost: ok"
		return 0
	fi
	echo "dax-guest selftest: FAILED (phase 1 exit $rc1, phase 2 exit $rc2)"
	cat "$tmp/p1/guest.log" "$tmp/p2/guest.log" 2>/dev/null
	return 1
}

main() {
	IMAGE="" NEW=0 OUT="" TIMEOUT=3600 EXT4_OPTS="" XFS_OPTS="" EXPECT_CRASH=0 QUIET=0
	while [ $# -gt 0 ]; do
		case $1 in
		--guest-stage2) guest_stage2; exit 0 ;;
		--image) IMAGE=$2; shift ;;
		--new) NEW=1 ;;
		--out) OUT=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--ext4-opts) EXT4_OPTS=$2; shift ;;
		--xfs-opts) XFS_OPTS=$2; shift ;;
		--expect-crash) EXPECT_CRASH=1 ;;
		--quiet) QUIET=1 ;;
		--) shift; break ;;
		selftest|probe) break ;;
		-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
		*) log "unknown argument $1 (--help)"; exit 2 ;;
		esac
		shift
	done
	[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
	tmp=$(mktemp -d /tmp/mdfs-guest.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM HUP
	if [ "${1:-}" = selftest ]; then
		selftest
		exit
	fi
	[ $# -gt 0 ] || { log "no COMMAND (--help)"; exit 2; }
	CMD=("$@")
	kernel_paths
	if [ "$1" = probe ]; then	# print the accelerator boot would use
		INITRD=$tmp/initramfs.gz
		build_initramfs "$INITRD" || exit 125
		accel_probe 2>/dev/null
		exit 0
	fi
	if [ -z "$OUT" ]; then OUT=$tmp/out; fi
	mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
	if [ -z "$IMAGE" ]; then IMAGE=$tmp/nvdimm.img; fi
	if [ ! -e "$IMAGE" ]; then
		truncate -s "$IMAGE_SIZE" "$IMAGE" || exit 125
		NEW=1
	fi
	INITRD=$tmp/initramfs.gz
	local t0=$SECONDS
	build_initramfs "$INITRD" || { log "initramfs build failed"; exit 125; }
	log "initramfs built in $((SECONDS - t0)) s ($(du -k "$INITRD" | cut -f1) KiB)"
	boot
}

main "$@"
