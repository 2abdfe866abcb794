#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fio-compare.sh: data-path cost of mapdirectfs against the raw backing
# directory and against libfuse's passthrough_hp (the anchor), over both FUSE
# transports (/dev/fuse and io_uring), on tmpfs and on ext4.
#
#   bench/fio-compare.sh [--runtime S] [--repeat N] [--out FILE.json]
#                        [--size SIZE] [--ramp S] [--backings LIST]
#                        [--targets LIST] [--workloads LIST]
#                        [--backing-dir NAME=DIR]... [--no-pin]
#                        [--separate-files]
#
# Backings (--backings, default tmpfs,ext4), each private to the run:
#   tmpfs    a tmpfs
#   ext4     an ext4 image on a loop device (the image lives on a tmpfs:
#            the filesystem's code path, no device latency)
# or, with --backing-dir tmpfs=DIR / ext4=DIR, a fresh directory in DIR (a
# filesystem of that type the caller set up: bench/run.sh does).
# Every target of a backing reads and writes the same file (raw directly,
# every daemon mounting the directory that holds it), so that they all meet
# the same page cache: two files laid out alike can differ by 40 % in
# bandwidth (tmpfs, 1M reads) for reasons of their own. --separate-files
# gives each target its own subdirectory and file instead. Targets
# (--targets, KIND-TRANSPORT, TRANSPORT devfuse or uring; default
# raw,mdfs-uring,mdfsall-devfuse,mdfsall-uring,pthp-devfuse,pthp-uring):
#   raw            the backing directory itself
#   mdfs-T         mapdirectfs -o io_uring=on|off,passthrough=on,mediate=leased
#                  (the default mode: a file without a lease is read and
#                  written straight through to the backing, SPEC 3.1)
#   mdfsall-T      the same with mediate=all: every writable open goes
#                  through the daemon (reads and writes), mmap still maps
#                  the backing file
#   nogate-T       mediate=all with the daemon built -Dlease_gate=false
#   nosandbox-T    mediate=all with sandbox=off (no seccomp filter, no mount
#                  namespace; the same capabilities)
#                  (the write path without the lease check; $NOGATE_BIN)
#   pthp-T         passthrough_hp --foreground --direct-io --nosplice [-o io_uring]:
#                  passthrough on, every read and write through the daemon
# A target may carry a tag to run it twice (A/A): mdfsall-uring.2.
#
# Workloads (--workloads, default all; fio, files of --size laid out
# beforehand, time_based): psync 4k randwrite and randread with numjobs 1
# and 2 (IOPS), each job on a file of its own (fio's usual layout), and
# the same with 2 jobs on one file (-1file: what the kernel's per-inode
# locking costs), psync 1M sequential write and read (MiB/s), and the mmap
# engine's 4k random and 1M sequential read and write (MiB/s; on raw,
# mdfs-* and mdfsall-* only). Reads open the file O_RDWR (fio randrw/rw with
# rwmixread=100), so that mediate=all mediates them too: a read-only open
# is never mediated, which is the mdfs-* column's path. Each round runs every
# workload on every target of every backing, interleaved (the order rotates),
# so drift hits all alike; the table shows median and [min-max] over the
# rounds. fio's jobs are pinned, one per CPU (cpus_allowed_policy=split;
# --no-pin leaves them free): libfuse pins its io_uring ring threads one per
# CPU, and a job the scheduler moves between CPUs makes every io_uring
# figure swing by 2x from run to run.
#
# Needs root. Installs jq (and fio) with apt-get when missing. Everything it
# mounts, starts or creates is undone on exit, error or Ctrl-C.
#
# Environment: MAPDIRECTFS, NOGATE_BIN, PASSTHROUGH_HP override the binaries.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

MDFS_BIN=${MAPDIRECTFS:-$root/build/fuse/mapdirectfs}
NOGATE_BIN=${NOGATE_BIN:-$root/build-nogate/fuse/mapdirectfs}
PTHP_BIN=${PASSTHROUGH_HP:-$root/.deps/libfuse/bin/passthrough_hp}

runtime=5
repeat=3
size=256M
ramp=0
backings=tmpfs,ext4
targets_arg=raw,mdfs-uring,mdfsall-devfuse,mdfsall-uring,pthp-devfuse,pthp-uring
workloads_arg=all
pin=1
shared=1
foreign_limit=5 # % of all CPUs used by other processes that flags a run
out=$here/results/fio-compare.json
declare -A given_dir=()	# backing -> a directory on it the caller provides

usage() {
	sed -n '3,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" | sed '/^$/d' >&2
	exit "${1:-2}"
}

while (($#)); do
	case $1 in
	--runtime) runtime=${2:?}; shift 2 ;;
	--runtime=*) runtime=${1#*=}; shift ;;
	--repeat) repeat=${2:?}; shift 2 ;;
	--repeat=*) repeat=${1#*=}; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	--size) size=${2:?}; shift 2 ;;
	--size=*) size=${1#*=}; shift ;;
	--ramp) ramp=${2:?}; shift 2 ;;
	--ramp=*) ramp=${1#*=}; shift ;;
	--backings) backings=${2:?}; shift 2 ;;
	--backings=*) backings=${1#*=}; shift ;;
	--targets) targets_arg=${2:?}; shift 2 ;;
	--targets=*) targets_arg=${1#*=}; shift ;;
	--workloads) workloads_arg=${2:?}; shift 2 ;;
	--workloads=*) workloads_arg=${1#*=}; shift ;;
	--no-pin) pin=0; shift ;;
	--separate-files) shared=0; shift ;;
	--backing-dir) given_dir[${2%%=*}]=${2#*=}; shift 2 ;;
	--backing-dir=*) v=${1#*=}; given_dir[${v%%=*}]=${v#*=}; shift ;;
	-h | --help) usage 0 ;;
	*) echo "fio-compare: unknown argument: $1" >&2; usage ;;
	esac
done

die() { echo "fio-compare: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*" >&2; }

[[ $runtime =~ ^[1-9][0-9]*$ ]] || die "--runtime wants whole seconds > 0"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a count > 0"
[[ $ramp =~ ^[0-9]+$ ]] || die "--ramp wants whole seconds"
[[ $size =~ ^[1-9][0-9]*[KMG]?$ ]] || die "--size wants e.g. 256M"
((EUID == 0)) || die "must run as root (mounts a tmpfs and FUSE filesystems)"

IFS=, read -r -a backing_list <<<"$backings"
for b in "${backing_list[@]}"; do
	[[ $b == tmpfs || $b == ext4 ]] || die "unknown backing: $b (tmpfs, ext4)"
done
for b in "${!given_dir[@]}"; do
	[[ $b == tmpfs || $b == ext4 ]] || die "--backing-dir: unknown backing $b"
	[[ -d ${given_dir[$b]} ]] || die "--backing-dir $b: no directory ${given_dir[$b]}"
	fstype=$(stat -f -c %T "${given_dir[$b]}")
	[[ $fstype == "$b" || ($b == ext4 && $fstype == ext2/ext3) ]] ||
		die "--backing-dir $b: ${given_dir[$b]} is on $fstype"
done
IFS=, read -r -a kinds <<<"$targets_arg"
need_mdfs=0 need_nogate=0 need_pthp=0
for k in "${kinds[@]}"; do
	[[ $k =~ ^(raw|(mdfs|mdfsall|nogate|nosandbox|pthp)-(devfuse|uring))(\.[a-z0-9]+)?$ ]] ||
		die "bad target: $k (raw, or mdfs|mdfsall|nogate|nosandbox|pthp-devfuse|uring[.TAG])"
	case $k in
	mdfs* | nosandbox*) need_mdfs=1 ;;
	nogate*) need_nogate=1 ;;
	pthp*) need_pthp=1 ;;
	esac
done
((!need_mdfs)) || [[ -x $MDFS_BIN ]] ||
	die "no mapdirectfs binary at $MDFS_BIN (build it first)"
((!need_nogate)) || [[ -x $NOGATE_BIN ]] ||
	die "no -Dlease_gate=false build at $NOGATE_BIN (bench/run.sh makes it)"
((!need_pthp)) || [[ -x $PTHP_BIN ]] ||
	die "no passthrough_hp binary at $PTHP_BIN (make build provisions it)"

need=()
command -v jq >/dev/null || need+=(jq)
command -v fio >/dev/null || need+=(fio)
if ((${#need[@]})); then
	log "installing ${need[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

case $out in /*) ;; *) out=$PWD/$out ;; esac
mkdir -p "$(dirname "$out")"
logdir=${out%.json}.logs

# ---------------------------------------------------------------- cleanup --

work=""          # temp dir: tmpfs/, img/, ext4/ (backings), mnt/<target>/
declare -a mounted=()	# backing mounts to undo, in order
declare -a made=()	# directories made in --backing-dir DIRs
loopdev=""
declare -A dpid=() dmnt=() ddev=() dead=()
fio_pid=""
uring_param=/sys/module/fuse/parameters/enable_uring
uring_orig=""

alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r _ _ st _ 2>/dev/null </proc/"$1"/stat || return 1
	[[ $st != Z ]]
}

cleanup() {
	local rc=$? t pid i m
	set +e
	trap - EXIT INT TERM HUP
	if [[ -n $fio_pid ]] && alive "$fio_pid"; then
		kill -TERM "$fio_pid" 2>/dev/null
		sleep 0.5
		alive "$fio_pid" && kill -KILL "$fio_pid" 2>/dev/null
	fi
	for t in "${!dmnt[@]}"; do
		umount -l "${dmnt[$t]}" 2>/dev/null
	done
	for t in "${!dpid[@]}"; do
		kill -TERM "${dpid[$t]}" 2>/dev/null
	done
	for t in "${!dpid[@]}"; do
		pid=${dpid[$t]}
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			echo "fio-compare: $t (pid $pid) ignores SIGTERM: aborting its connection" >&2
			[[ -n ${ddev[$t]:-} && -w /sys/fs/fuse/connections/${ddev[$t]}/abort ]] &&
				echo 1 >"/sys/fs/fuse/connections/${ddev[$t]}/abort"
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	wait 2>/dev/null
	# backings, last mounted first (ext4 before the tmpfs its image is on)
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[$i]}
		umount "$m" 2>/dev/null || umount -l "$m"
		if [[ $m == "$work/ext4" && -n $loopdev ]]; then
			losetup -d "$loopdev" 2>/dev/null
			loopdev=""
		fi
	done
	[[ -n $loopdev ]] && losetup -d "$loopdev" 2>/dev/null
	for m in "${made[@]}"; do
		[[ $m == */fio-compare.* ]] && rm -rf --one-file-system "$m"
	done
	if [[ -n $work && $work == /tmp/fio-compare.* && -d $work ]]; then
		cp "$work/samples.tsv" "$work/anomalies.txt" "$work/logs/" 2>/dev/null
		if [[ -d $work/logs ]] && compgen -G "$work/logs/*" >/dev/null; then
			rm -rf "$logdir"
			cp -r "$work/logs" "$logdir" 2>/dev/null
		fi
		rm -rf --one-file-system "$work"
	fi
	if [[ -n $uring_orig && $uring_orig != Y && $uring_orig != 1 ]]; then
		echo 0 >"$uring_param" 2>/dev/null
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ----------------------------------------------------------------- set-up --

t_start=$(date +%s)
# which build was measured (the daemons run from these for the whole run)
bin_id() {
	[[ -x $1 ]] || { echo "absent"; return; }
	echo "sha256 $(sha256sum <"$1" | cut -c1-16), $(date -r "$1" -Is)"
}
mdfs_id=$(bin_id "$MDFS_BIN")
nogate_id=$(bin_id "$NOGATE_BIN")
pthp_id=$(bin_id "$PTHP_BIN")

uring_ok=0
if [[ -e $uring_param ]]; then
	uring_orig=$(<"$uring_param")
	if echo 1 >"$uring_param" 2>/dev/null; then
		uring_ok=1
	else
		log "WARNING: cannot enable $uring_param: io_uring targets skipped"
	fi
else
	log "WARNING: kernel has no fuse-over-io-uring: io_uring targets skipped"
fi
targets=()
for k in "${kinds[@]}"; do
	if [[ $k == *-uring* ]] && ((!uring_ok)); then
		continue
	fi
	targets+=("$k")
done
((${#targets[@]})) || die "no target left to measure"

# size in MiB, to lay out the file and to size the backings
case $size in
*K) size_mib=$(((${size%K} + 1023) / 1024)) ;;
*M) size_mib=${size%M} ;;
*G) size_mib=$((${size%G} * 1024)) ;;
*) size_mib=$(((size + 1048575) / 1048576)) ;;
esac
# room for every target's file, plus slack for the filesystem
maxjobs=2	# files per target directory: bench.0.dat, bench.1.dat
if ((shared)); then
	back_mib=$((size_mib * maxjobs + 256))
else
	back_mib=$((size_mib * maxjobs * ${#targets[@]} + 256))
fi

work=$(mktemp -d /tmp/fio-compare.XXXXXX)
mkdir -p "$work/mnt" "$work/logs" "$work/fio"
declare -A bdir=()	# backing -> where its target subdirectories go
for b in "${backing_list[@]}"; do
	if [[ -n ${given_dir[$b]:-} ]]; then
		bdir[$b]=$(mktemp -d "${given_dir[$b]}/fio-compare.XXXXXX")
		made+=("${bdir[$b]}")
		avail=$(df -Pm "${bdir[$b]}" | awk 'NR == 2 { print $4 }')
		((avail > back_mib - 128)) ||
			die "$b: ${given_dir[$b]} has $avail MiB free, $((back_mib - 128)) MiB needed"
		continue
	fi
	case $b in
	tmpfs)
		mkdir "$work/tmpfs"
		mount -t tmpfs -o size=${back_mib}m,mode=0755 fio-compare "$work/tmpfs"
		mounted+=("$work/tmpfs")
		mount --make-private "$work/tmpfs"
		;;
	ext4)
		command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 missing (e2fsprogs)"
		mkdir "$work/img" "$work/ext4"
		mount -t tmpfs -o size=$((back_mib + 128))m,mode=0700 fio-compare-img "$work/img"
		mounted+=("$work/img")
		mount --make-private "$work/img"
		truncate -s ${back_mib}M "$work/img/ext4.img"
		# initialised now, not by a background thread during the runs
		mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
			"$work/img/ext4.img" >&2
		loopdev=$(losetup --find --show "$work/img/ext4.img")
		mount -t ext4 "$loopdev" "$work/ext4"
		mounted+=("$work/ext4")
		mount --make-private "$work/ext4"
		log "ext4: $loopdev ($back_mib MiB image on tmpfs) on $work/ext4"
		;;
	esac
	bdir[$b]=$work/$b
done

# target ids: BACKING:KIND-TRANSPORT[.TAG]
tids=()
declare -A tdir=() tcmd=() tdaemon=() ttransport=() tmode=() tkind=() tback=()
declare -A tsrc=()	# the backing directory a target reads and writes
for b in "${backing_list[@]}"; do
	for k in "${targets[@]}"; do
		id=$b:$k
		tids+=("$id")
		tback[$id]=$b
		tkind[$id]=${k%%-*}
		if ((shared)); then
			tsrc[$id]=${bdir[$b]}/data
		else
			tsrc[$id]=${bdir[$b]}/$k
		fi
		[[ -e ${tsrc[$id]}/bench.0.dat ]] && continue
		mkdir "${tsrc[$id]}"
		# the files the workloads use (job N: bench.N.dat), laid out
		# once on the backing
		for ((j = 0; j < maxjobs; j++)); do
			dd if=/dev/zero of="${tsrc[$id]}/bench.$j.dat" bs=1M \
				count="$size_mib" conv=fsync status=none
		done
	done
done

mdfs_cmd() { # bin transport mediate backing mnt [more options]
	local u=off
	[[ $2 == uring ]] && u=on
	echo "$1" -f -o "io_uring=$u,passthrough=on,mediate=$3${6:+,$6}" "$4" "$5"
}
pthp_cmd() { # transport backing mnt
	local extra=""
	[[ $1 == uring ]] && extra="-o io_uring "
	# --nosplice: its fastest (splicing requests from /dev/fuse costs 1.7x
	# at 4 KiB here); io_uring does not splice either way
	echo "$PTHP_BIN" --foreground --direct-io --nosplice "$extra$2" "$3"
}

# Start a daemon in the foreground (as our child, so we hold its pid and its
# stderr), wait for the mount and INIT, check the transport it ended up on.
start_daemon() { # target id
	local t=$1 b=${tback[$1]} k=${1#*:} kind=${tkind[$1]} tr mnt cmd i n
	tr=${k#*-}
	tr=${tr%%.*}
	mnt=$work/mnt/$b-$k
	mkdir -p "$mnt"
	case $kind in
	mdfs)
		cmd=$(mdfs_cmd "$MDFS_BIN" "$tr" leased "${tsrc[$t]}" "$mnt")
		tdaemon[$t]=mapdirectfs tmode[$t]=leased ;;
	mdfsall)
		cmd=$(mdfs_cmd "$MDFS_BIN" "$tr" all "${tsrc[$t]}" "$mnt")
		tdaemon[$t]=mapdirectfs tmode[$t]=all ;;
	nogate)
		cmd=$(mdfs_cmd "$NOGATE_BIN" "$tr" all "${tsrc[$t]}" "$mnt")
		tdaemon[$t]=mapdirectfs-nogate tmode[$t]=all ;;
	nosandbox)
		cmd=$(mdfs_cmd "$MDFS_BIN" "$tr" all "${tsrc[$t]}" "$mnt" \
			sandbox=off)
		tdaemon[$t]=mapdirectfs-nosandbox tmode[$t]=all ;;
	pthp)
		cmd=$(pthp_cmd "$tr" "${tsrc[$t]}" "$mnt")
		tdaemon[$t]=passthrough_hp tmode[$t]=direct-io ;;
	esac
	ttransport[$t]=$([[ $tr == uring ]] && echo io_uring || echo /dev/fuse)
	tcmd[$t]=$cmd
	tdir[$t]=$mnt
	log "mount $t: $cmd"
	# word splitting is intended: no path here has blanks (mktemp, repo path
	# checked below)
	$cmd >"$work/logs/$b-$k.log" 2>&1 </dev/null &
	dpid[$t]=$!
	dmnt[$t]=$mnt
	for ((i = 0; i < 100; i++)); do
		if awk -v m="$mnt" '$2 == m && $3 ~ /^fuse/ { f = 1 } END { exit !f }' \
			/proc/self/mounts; then
			break
		fi
		alive "${dpid[$t]}" || break
		sleep 0.1
	done
	if ! alive "${dpid[$t]}"; then
		die "$t: daemon exited before mounting: $(head -c 2000 "$work/logs/$b-$k.log")"
	fi
	((i < 100)) || die "$t: not mounted after 10 s"
	# the first access waits for INIT
	timeout 10 stat "$mnt/bench.0.dat" >/dev/null ||
		die "$t: mount does not answer (INIT?)"
	ddev[$t]=$(stat -c %d "$mnt")
	# transport check: io_uring rings in the daemon's fd table
	for ((i = 0; i < 50; i++)); do
		n=$({ find /proc/"${dpid[$t]}"/fd -lname 'anon_inode:*io_uring*' \
			2>/dev/null || true; } | wc -l)
		[[ $tr == uring && $n -gt 0 ]] && break
		[[ $tr != uring ]] && break
		sleep 0.1
	done
	if [[ $tr == uring && $n -eq 0 ]]; then
		die "$t: asked for io_uring but the daemon holds no io_uring ring"
	fi
	if [[ $tr != uring && $n -ne 0 ]]; then
		die "$t: asked for /dev/fuse but the daemon holds $n io_uring rings"
	fi
	log "  $t: pid ${dpid[$t]}, $n io_uring ring(s)"
}

[[ $work$(printf '%s' "${bdir[@]}")$MDFS_BIN$NOGATE_BIN$PTHP_BIN != *[[:space:]]* ]] ||
	die "paths with blanks are not supported"

for t in "${tids[@]}"; do
	if [[ ${tkind[$t]} == raw ]]; then
		tdir[$t]=${tsrc[$t]}
		tdaemon[$t]=none ttransport[$t]=none tcmd[$t]="" tmode[$t]=none
	else
		start_daemon "$t"
	fi
done

# --------------------------------------------------------------- workloads --

# files: job (a file per job) or one (every job on bench.0.dat)
#  name                  rw         bs  jobs files metric engine kinds (targets)
all_workloads=(
	"randwrite-4k-j1       randwrite  4k  1    job   iops   psync  *"
	"randwrite-4k-j2       randwrite  4k  2    job   iops   psync  *"
	"randwrite-4k-j2-1file randwrite  4k  2    one   iops   psync  *"
	"randread-4k-j1        randread   4k  1    job   iops   psync  *"
	"randread-4k-j2        randread   4k  2    job   iops   psync  *"
	"randread-4k-j2-1file  randread   4k  2    one   iops   psync  *"
	"seqwrite-1M           write      1M  1    job   bw     psync  *"
	"seqread-1M            read       1M  1    job   bw     psync  *"
	"mmap-randwrite-4k     randwrite  4k  1    job   bw     mmap   raw,mdfs,mdfsall"
	"mmap-randread-4k      randread   4k  1    job   bw     mmap   raw,mdfs,mdfsall"
	"mmap-seqwrite-1M      write      1M  1    job   bw     mmap   raw,mdfs,mdfsall"
	"mmap-seqread-1M       read       1M  1    job   bw     mmap   raw,mdfs,mdfsall"
)
workloads=()
if [[ $workloads_arg == all ]]; then
	workloads=("${all_workloads[@]}")
else
	IFS=, read -r -a wanted <<<"$workloads_arg"
	for w in "${wanted[@]}"; do
		found=0
		for line in "${all_workloads[@]}"; do
			[[ ${line%% *} == "$w" ]] && { workloads+=("$line"); found=1; }
		done
		((found)) || die "unknown workload: $w"
	done
fi

runs_on() { # kinds-list target-id
	[[ $1 == "*" ]] && return 0
	[[ ,$1, == *,${tkind[$2]},* ]]
}

samples=$work/samples.tsv
: >"$samples"
anomalies=$work/anomalies.txt
: >"$anomalies"
loadavg=()

anomaly() {
	echo "$*" >>"$anomalies"
	log "ANOMALY: $*"
}

# CPU time of every thread of a target's daemon, ns (0 for raw)
daemon_cpu_ns() { # target
	local pid=${dpid[$1]:-}
	[[ -n $pid ]] || { echo 0; return; }
	cat /proc/"$pid"/task/*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# one fio run; sets fio_val to the result (IOPS or MiB/s) and fio_cpu to
# the daemon's CPU time per I/O (us). Not run in a subshell, so that the
# wait below is what a signal interrupts.
fio_val=""
fio_cpu=""
run_fio() { # target name rw bs jobs files metric engine round
	local t=$1 name=$2 rw=$3 bs=$4 jobs=$5 files=$6 metric=$7 engine=$8 r=$9
	local js dir v err tag d0 d1 ios mix=() cpus=() where=()
	fio_val="" fio_cpu=""
	tag=${t//:/-}
	js=$work/fio/$name.$tag.$r.json
	dir="read"
	[[ $rw == *write ]] && dir="write"
	# reads through an O_RDWR open: mediated under mediate=all
	case $rw in
	randread) rw=randrw mix=(--rwmixread=100) ;;
	read) rw=rw mix=(--rwmixread=100) ;;
	esac
	# one job per CPU (see the top)
	((pin)) && cpus=(--cpus_allowed=0-$(($(nproc) - 1)) --cpus_allowed_policy=split)
	if [[ $files == one ]]; then
		where=(--filename="${tdir[$t]}/bench.0.dat")
	else
		where=(--directory="${tdir[$t]}" --filename_format='bench.$jobnum.dat')
	fi
	d0=$(daemon_cpu_ns "$t")
	fio --name="$name" "${where[@]}" --size="$size" \
		--allow_file_create=0 --ioengine="$engine" --rw="$rw" "${mix[@]}" \
		--bs="$bs" --numjobs="$jobs" "${cpus[@]}" --group_reporting --time_based \
		--runtime="$runtime" --ramp_time="$ramp" --invalidate=0 \
		--norandommap --randrepeat=0 \
		--output-format=json --output="$js" \
		>"$js.stderr" 2>&1 </dev/null &
	fio_pid=$!
	if ! wait "$fio_pid"; then
		fio_pid=""
		anomaly "round $r $name $t: fio failed: $(tr '\n' ' ' <"$js.stderr" | head -c 500)"
		return 1
	fi
	fio_pid=""
	d1=$(daemon_cpu_ns "$t")
	err=$(jq -r '.jobs[0].error' "$js" 2>/dev/null) || err=parse
	if [[ $err != 0 ]]; then
		anomaly "round $r $name $t: fio error $err: $(tr '\n' ' ' <"$js.stderr" | head -c 500)"
		return 1
	fi
	if [[ ${#mix[@]} -gt 0 && $(jq -r '.jobs[0].write.io_bytes' "$js") != 0 ]]; then
		anomaly "round $r $name $t: a read workload wrote"
	fi
	if [[ $metric == iops ]]; then
		v=$(jq -r ".jobs[0].$dir.iops" "$js") || return 1
	else
		v=$(jq -r ".jobs[0].$dir.bw_bytes / 1048576" "$js") || return 1
	fi
	if [[ -s $js.stderr ]]; then
		anomaly "round $r $name $t: fio stderr: $(tr '\n' ' ' <"$js.stderr" | head -c 300)"
	fi
	ios=$(jq -r '.jobs[0].read.total_ios + .jobs[0].write.total_ios' "$js")
	fio_cpu=$(awk -v a="$d0" -v b="$d1" -v n="$ios" \
		'BEGIN { printf "%.4f", (n > 0 ? (b - a) / 1000 / n : 0) }')
	fio_val=$v
}

# CPU used outside this benchmark's processes during a run, in % of all
# CPUs: /proc/stat busy time minus the daemons' time and our children's (fio
# is reaped by us, so its time lands in our cutime/cstime). Other jobs on the
# machine show up here; kernel threads too (on ext4: writeback through the
# loop device, which is this benchmark's own doing).
cpu_sample() { # prints: total busy ours
	local ours=0 pid v
	for pid in "${dpid[@]}"; do
		v=$(awk '{ print $14 + $15 }' /proc/"$pid"/stat 2>/dev/null) || v=0
		ours=$((ours + ${v:-0}))
	done
	v=$(awk '{ print $16 + $17 }' /proc/$$/stat)
	ours=$((ours + v))
	# user nice system idle iowait irq softirq steal [guest guest_nice,
	# already counted in user and nice]
	awk -v o="$ours" '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i
		print t, t - $5 - $6, o; exit }' /proc/stat
}
foreign_pct() { # "before" "after" samples
	local t0 b0 o0 t1 b1 o1
	read -r t0 b0 o0 <<<"$1"
	read -r t1 b1 o1 <<<"$2"
	awk -v t=$((t1 - t0)) -v f=$(((b1 - b0) - (o1 - o0))) \
		'BEGIN { if (f < 0) f = 0; printf "%.1f", (t > 0 ? 100 * f / t : 0) }'
}

ntg=${#tids[@]}
nwl=${#workloads[@]}
nruns=0
for line in "${workloads[@]}"; do
	read -r _ _ _ _ _ _ _ kl <<<"$line"
	for t in "${tids[@]}"; do runs_on "$kl" "$t" && nruns=$((nruns + 1)); done
done
log "$repeat round(s) x $nruns runs (${nwl} workloads x up to $ntg targets) x ${runtime}s" \
	"(~$((repeat * nruns * (runtime + ramp + 1) / 60 + 1)) min)"

for ((r = 1; r <= repeat; r++)); do
	loadavg+=("$(cut -d' ' -f1-3 /proc/loadavg)")
	for ((w = 0; w < nwl; w++)); do
		read -r name rw bs jobs files metric engine kl <<<"${workloads[$w]}"
		for ((k = 0; k < ntg; k++)); do
			t=${tids[$(((k + r - 1 + w) % ntg))]}
			runs_on "$kl" "$t" || continue
			[[ -n ${dead[$t]:-} ]] && continue
			if [[ ${tkind[$t]} != raw ]] && ! alive "${dpid[$t]}"; then
				dead[$t]=1
				anomaly "round $r: $t daemon (pid ${dpid[$t]}) died: $(tail -c 500 "$work/logs/${t//:/-}.log" | tr '\n' ' ')"
				continue
			fi
			c0=$(cpu_sample)
			if run_fio "$t" "$name" "$rw" "$bs" "$jobs" "$files" "$metric" "$engine" "$r"; then
				fpct=$(foreign_pct "$c0" "$(cpu_sample)")
				printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$t" "$r" \
					"$fio_val" "$fpct" "$fio_cpu" >>"$samples"
				log "round $r/$repeat $name $t: $fio_val" \
					"$([[ $metric == iops ]] && echo IOPS || echo MiB/s)," \
					"foreign CPU $fpct%"
				if awk -v f="$fpct" -v l="$foreign_limit" 'BEGIN { exit !(f > l) }'; then
					anomaly "round $r $name $t: other processes used $fpct% of the CPUs during the run"
				fi
			fi
		done
	done
done
loadavg+=("$(cut -d' ' -f1-3 /proc/loadavg)")

for t in "${tids[@]}"; do
	[[ ${tkind[$t]} == raw ]] && continue
	lf=$work/logs/${t//:/-}.log
	alive "${dpid[$t]}" || { [[ -n ${dead[$t]:-} ]] || anomaly "$t daemon died during the last round"; }
	# mapdirectfs -f says where it mounted and how; anything else is news
	if grep -qv '^mapdirectfs: mounted .*: passthrough on, transport ' "$lf"; then
		anomaly "$t daemon stderr: $(grep -v '^mapdirectfs: mounted .*: passthrough on, transport ' \
			"$lf" | head -c 1000 | tr '\n' ' ')"
	fi
done

t_end=$(date +%s)

# ---------------------------------------------------------------- results --

wl_json=$(printf '%s\n' "${workloads[@]}" | jq -Rn '[inputs | [splits(" +")] |
	{name: .[0], rw: .[1], bs: .[2], numjobs: (.[3] | tonumber),
	 files: (if .[4] == "one" then "one file" else "a file per job" end),
	 metric: .[5], engine: .[6], kinds: .[7],
	 unit: (if .[5] == "iops" then "IOPS" else "MiB/s" end)}]')
tg_json=$(for t in "${tids[@]}"; do
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${tback[$t]}" "${tkind[$t]}" \
		"${tdaemon[$t]}" "${ttransport[$t]}" "${tmode[$t]}" "${tcmd[$t]}"
done | jq -Rn '[inputs | split("\t") |
	{key: .[0], value: {backing: .[1], kind: .[2],
	 daemon: (if .[3] == "none" then null else .[3] end),
	 transport: (if .[4] == "none" then null else .[4] end),
	 mode: (if .[5] == "none" then null else .[5] end),
	 command: (if .[6] == "" then null else .[6] end)}}] | from_entries')
bk_json=$(printf '%s\n' "${backing_list[@]}" | jq -Rn '[inputs]')
bd_json=$(for b in "${backing_list[@]}"; do
	printf '%s\t%s\t%s\n' "$b" "${bdir[$b]}" "$([[ -n ${given_dir[$b]:-} ]] && echo given || echo own)"
done | jq -Rn '[inputs | split("\t") | {key: .[0], value: {dir: .[1], set_up_by: (if .[2] == "given" then "caller" else "fio-compare" end)}}] | from_entries')
la_json=$(printf '%s\n' "${loadavg[@]}" | jq -Rn '[inputs]')
an_json=$(jq -Rn '[inputs]' <"$anomalies")

jq -Rn \
	--arg date "$(date -Is)" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson nproc "$(nproc)" --arg fio "$(fio --version)" \
	--arg mdfs "$MDFS_BIN" --arg nogate "$NOGATE_BIN" --arg pthp "$PTHP_BIN" \
	--arg mdfs_id "$mdfs_id" --arg nogate_id "$nogate_id" --arg pthp_id "$pthp_id" \
	--arg size "$size" --argjson runtime "$runtime" --argjson ramp "$ramp" \
	--argjson repeat "$repeat" --argjson elapsed "$((t_end - t_start))" \
	--argjson pin "$pin" --argjson shared "$shared" \
	--argjson workloads "$wl_json" --argjson targets "$tg_json" \
	--argjson backings "$bk_json" --argjson bdirs "$bd_json" \
	--argjson loadavg "$la_json" \
	--argjson anomalies "$an_json" '
def median: sort | length as $n |
	if $n == 0 then null
	elif $n % 2 == 1 then .[($n - 1) / 2]
	else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
def stats: {median: median, min: min, max: max, n: length, samples: .};
def ratio($a; $b): if $a == null or $b == null or $b.median == 0 then null
	else $a.median / $b.median end;
[inputs | split("\t") | {w: .[0], t: .[1], r: (.[2] | tonumber),
	v: (.[3] | tonumber), f: (.[4] | tonumber), c: (.[5] | tonumber)}] as $s
| ($s | group_by(.w) | map({key: .[0].w, value:
	(group_by(.t) | map({key: .[0].t, value: (sort_by(.r) |
		(map(.v) | stats) + {rounds: map(.r),
		 foreign_cpu_pct: map(.f),
		 daemon_cpu_us_per_io: (map(.c) | {median: median, min: min,
			max: max, samples: .})})})
	 | from_entries)}) | from_entries) as $res
| {
	meta: {date: $date, kernel: $kernel, cpu: $cpu, nproc: $nproc, fio: $fio,
	       mapdirectfs: $mdfs, mapdirectfs_nogate: $nogate,
	       passthrough_hp: $pthp, file_size: $size,
	       mapdirectfs_binary: $mdfs_id, nogate_binary: $nogate_id,
	       passthrough_hp_binary: $pthp_id,
	       runtime_s: $runtime, ramp_s: $ramp, repeat: $repeat,
	       elapsed_s: $elapsed, fio_jobs_pinned: ($pin == 1),
	       one_file_per_backing: ($shared == 1),
	       reads: "O_RDWR open (fio randrw/rw, rwmixread=100)",
	       foreign_cpu_pct: "CPU used by processes other than fio and the daemons during each run, % of all CPUs",
	       daemon_cpu_us_per_io: "CPU time of the daemon (every thread, schedstat) per I/O fio completed, us",
	       backings: $backings, backing_dirs: $bdirs,
	       backing_notes: {tmpfs: "private tmpfs",
		ext4: "ext4 image (on a private tmpfs) on a loop device"},
	       loadavg_per_round: $loadavg},
	workloads: $workloads,
	targets: $targets,
	results: $res,
	table: [$workloads[] as $w | $targets | to_entries[] |
		.key as $t | .value as $tv |
		($res[$w.name] // {}) as $x | select($x[$t] != null) |
		($tv.transport | if . == "io_uring" then "uring"
		 elif . == "/dev/fuse" then "devfuse" else null end) as $tr |
		{workload: $w.name, unit: $w.unit, target: $t,
		 backing: $tv.backing, kind: $tv.kind, transport: $tv.transport,
		 value: $x[$t],
		 over_raw: ratio($x[$t]; $x[$tv.backing + ":raw"]),
		 over_pthp: (if $tr == null then null else
			ratio($x[$t]; $x[$tv.backing + ":pthp-" + $tr]) end)}],
	anomalies: $anomalies
}' <"$samples" >"$out.tmp"
mv "$out.tmp" "$out"

# table: median [min-max]; IOPS in thousands, bandwidth in MiB/s
{
	printf '\nfio-compare: %s, %s x %s, fio, %s file, %ss x %s rounds, %ss total\n' \
		"$(uname -r)" "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$size" "$runtime" "$repeat" "$((t_end - t_start))"
	printf 'cells: median [min-max] over %s rounds; IOPS rows in kIOPS, MiB/s rows in MiB/s\n\n' "$repeat"
	jq -r '.table[] | [.workload, .backing, (.target | sub("^[^:]*:"; "")),
		.unit, .value.median, .value.min, .value.max,
		(.over_raw, .over_pthp | if . == null then "-" else . end)] | @tsv' "$out" |
	awk -F'\t' '
	function rat(x) { return x == "-" ? "-" : sprintf("%.2f", x) }
	BEGIN {
		fmt = "%-18s %-6s %-17s %-26s %8s %8s\n"
		printf fmt, "workload", "fs", "target", "median [min-max]", \
			"/raw", "/pthp"
	}
	{
		d = ($4 == "IOPS") ? 1000 : 1
		cell = sprintf("%.1f [%.1f-%.1f]", $5 / d, $6 / d, $7 / d)
		printf fmt, $1, $2, $3, cell, rat($8), rat($9)
	}'
	jq -r '[.results[][] | .foreign_cpu_pct[]] | sort |
		if length == 0 then empty else
		"\nCPU used by other processes during a run (% of all CPUs): median \(.[(length / 2) | floor]), max \(.[-1])" end' "$out"
	if [[ -s $anomalies ]]; then
		printf '\nanomalies:\n'
		sed 's/^/  /' "$anomalies"
	fi
	printf '\njson: %s\n' "$out"
	compgen -G "$work/logs/*" >/dev/null && printf 'daemon logs: %s/\n' "$logdir"
	printf 'commands:\n'
	for t in "${tids[@]}"; do
		[[ ${tkind[$t]} == raw ]] || printf '  %-24s %s\n' "$t" "${tcmd[$t]}"
	done
} | tee "${out%.json}.txt"
