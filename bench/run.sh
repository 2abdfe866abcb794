#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run.sh: every benchmark of mapdirectfs in one session, on the same two
# backings (a tmpfs, and an ext4 image on a loop device), then one table,
# bench/results/bench.json, bench/results/bench.png and
# bench/results/README-table.md (`make bench` runs it; bench/README.md).
#
#   bench/run.sh [--quick] [--only PARTS] [--out DIR]
#
# Parts (--only fio,mmap,gate,sandbox,latency,scale,hostile reruns some and
# reuses the others' results from DIR/parts/):
#   fio      bench/fio-compare.sh: psync I/O, mount (mediate=leased and
#            mediate=all) vs raw backing vs passthrough_hp, both transports,
#            both backings
#   mmap     bench/fio-compare.sh: fio's mmap engine, mount (a file without
#            a lease, and a mediated open) vs raw backing, both backings
#   gate     4 KiB pwrite IOPS, mediate=all, io_uring: the daemon vs the
#            same daemon built -Dlease_gate=false (build-nogate/, made here),
#            with an A/A pair of the first for the noise
#   sandbox  4 KiB psync randwrite and randread IOPS, mediate=all (every
#            write and read reaches the daemon), tmpfs, each transport:
#            sandbox=auto (seccomp filter, mount namespace) vs sandbox=off,
#            with an A/A pair of the first for the noise; and
#            bench/seccomp_cost: ns per system call with the daemon's
#            filter and without
#   latency  bench/lease_latency: break notification and cooperative round
#            trip, each transport, each backing
#   scale    bench/lease_scale: 1 .. 100k leases on one file and across
#            files: break cost, joins, writes elsewhere, daemon memory
#   hostile  bench/hostile: an innocent uid's stat/read/write latency, quiet
#            and while uid 1000 attacks with every attack of issue 13 at
#            once (and, as a reference, while it only writes heavily),
#            each transport, mediate=all, ext4
#
# --quick: a smoke run of every part (about 2 minutes). Counts can be set
# from the environment (defaults, then --quick's):
#   BENCH_RUNTIME=1/1 BENCH_REPEAT=4/1 BENCH_SIZE=256M/64M   fio part
#   BENCH_WORKLOADS=(all 8)/(3 of them)
#   BENCH_MMAP_RUNTIME=1/1 BENCH_MMAP_REPEAT=6/1              mmap part
#   BENCH_MMAP_WORKLOADS=(all 4)/mmap-randwrite-4k
#   BENCH_GATE_RUNTIME=2/1 BENCH_GATE_REPEAT=12/3             gate part
#   BENCH_SB_RUNTIME=2/1 BENCH_SB_REPEAT=8/2                  sandbox part
#   BENCH_LAT_COUNT=2000/1000                                 latency part
#   BENCH_SCALE_FD="1 1000 8000 100000"/"1 1000"              scale part,
#   BENCH_SCALE_MAP="1 1000 8000 100000"/"1 1000 10000"        leases held
#                                      by open files (fd) or by a mapping
#   BENCH_HOSTILE_ROUNDS=3/1 BENCH_HOSTILE_S=10/3             hostile part:
#                                      rounds of S s quiet, S s attacked
#
# Needs root; installs fio, jq, python3-matplotlib with apt-get where
# missing. Everything it mounts, starts or creates is undone on exit, error
# or Ctrl-C.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$root/build}
NOGATE_BUILD=${NOGATE_BUILD:-$root/build-nogate}
MDFS_BIN=$BUILD/fuse/mapdirectfs
NOGATE_BIN=$NOGATE_BUILD/fuse/mapdirectfs
PTHP_BIN=$root/.deps/libfuse/bin/passthrough_hp
PY=/usr/bin/python3	# Debian's, where python3-matplotlib goes

quick=0
all_parts=fio,mmap,gate,sandbox,latency,scale,hostile
only=$all_parts
out=$here/results

usage() {
	sed -n '3,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" | sed '/^$/d' >&2
	exit "${1:-2}"
}

while (($#)); do
	case $1 in
	--quick) quick=1; shift ;;
	--only) only=${2:?}; shift 2 ;;
	--only=*) only=${1#*=}; shift ;;
	--out) out=${2:?}; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	-h | --help) usage 0 ;;
	*) echo "bench: unknown argument: $1" >&2; usage ;;
	esac
done

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] bench: $*" >&2; }

((EUID == 0)) || die "must run as root (mounts, loop devices, FUSE)"
for p in ${only//,/ }; do
	[[ $p =~ ^(fio|mmap|gate|sandbox|latency|scale|hostile)$ ]] ||
		die "unknown part: $p"
done
wants() { [[ ,$only, == *,$1,* ]]; }

if ((quick)); then
	: "${BENCH_RUNTIME:=1}" "${BENCH_REPEAT:=1}" "${BENCH_SIZE:=64M}"
	: "${BENCH_WORKLOADS:=randwrite-4k-j1,randread-4k-j2,seqwrite-1M}"
	: "${BENCH_MMAP_RUNTIME:=1}" "${BENCH_MMAP_REPEAT:=1}"
	: "${BENCH_MMAP_WORKLOADS:=mmap-randwrite-4k}"
	: "${BENCH_GATE_RUNTIME:=1}" "${BENCH_GATE_REPEAT:=3}"
	: "${BENCH_SB_RUNTIME:=1}" "${BENCH_SB_REPEAT:=2}"
	: "${BENCH_LAT_COUNT:=1000}"
	: "${BENCH_SCALE_FD:=1 1000}" "${BENCH_SCALE_MAP:=1 1000 10000}"
	: "${BENCH_HOSTILE_ROUNDS:=1}" "${BENCH_HOSTILE_S:=3}"
else
	: "${BENCH_RUNTIME:=1}" "${BENCH_REPEAT:=4}" "${BENCH_SIZE:=256M}"
	: "${BENCH_WORKLOADS:=randwrite-4k-j1,randwrite-4k-j2,randwrite-4k-j2-1file,randread-4k-j1,randread-4k-j2,randread-4k-j2-1file,seqwrite-1M,seqread-1M}"
	: "${BENCH_MMAP_RUNTIME:=1}" "${BENCH_MMAP_REPEAT:=6}"
	: "${BENCH_MMAP_WORKLOADS:=mmap-seqread-1M,mmap-seqwrite-1M,mmap-randread-4k,mmap-randwrite-4k}"
	: "${BENCH_GATE_RUNTIME:=2}" "${BENCH_GATE_REPEAT:=12}"
	: "${BENCH_SB_RUNTIME:=2}" "${BENCH_SB_REPEAT:=8}"
	: "${BENCH_LAT_COUNT:=2000}"
	: "${BENCH_SCALE_FD:=1 1000 8000 100000}"
	: "${BENCH_SCALE_MAP:=1 1000 8000 100000}"
	: "${BENCH_HOSTILE_ROUNDS:=3}" "${BENCH_HOSTILE_S:=10}"
fi

# ------------------------------------------------------------ what we need --

need=()
command -v fio >/dev/null || need+=(fio)
command -v jq >/dev/null || need+=(jq)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
"$PY" -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
if ((${#need[@]})); then
	log "installing ${need[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >&2
fi

export PKG_CONFIG_PATH=$root/.deps/libfuse/lib/pkgconfig
[[ -x $PTHP_BIN ]] || die "no $PTHP_BIN: run make build first (it provisions libfuse)"
[[ -f $BUILD/build.ninja ]] || die "no meson build in $BUILD: run make build first"
log "building $BUILD (daemon, bench programs) and $NOGATE_BUILD (-Dlease_gate=false)"
ninja -C "$BUILD" >&2
if [[ ! -f $NOGATE_BUILD/build.ninja ]]; then
	meson setup "$NOGATE_BUILD" -Dlease_gate=false >&2
fi
ninja -C "$NOGATE_BUILD" fuse/mapdirectfs >&2
grep -q 'MDFS_LEASE_GATE 0' "$NOGATE_BUILD/buildconf.h" ||
	die "$NOGATE_BUILD is not configured -Dlease_gate=false"
LAT_BIN=$BUILD/bench/lease_latency
SCALE_BIN=$BUILD/bench/lease_scale
SC_BIN=$BUILD/bench/seccomp_cost
HOSTILE_BIN=$BUILD/bench/hostile
[[ -x $LAT_BIN && -x $SCALE_BIN && -x $HOSTILE_BIN ]] ||
	die "bench programs not built in $BUILD/bench"

# ---------------------------------------------------------------- cleanup --

work=""
loopdev=""
declare -a mounted=()	# our mounts, to undo last first
declare -A dpid=()	# daemons we started: mountpoint -> pid
child=""		# the part running now (fio-compare, a lease program)
uring_param=/sys/module/fuse/parameters/enable_uring
uring_orig=""

alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r _ _ st _ 2>/dev/null </proc/"$1"/stat || return 1
	[[ $st != Z ]]
}

stop_daemon() { # mountpoint
	local m=$1 pid=${dpid[$1]:-} dev i
	[[ -n $pid ]] || return 0
	dev=$(stat -c %d "$m" 2>/dev/null || true)
	umount -l "$m" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "daemon $pid ignores SIGTERM: aborting its connection"
		[[ -n $dev && -w /sys/fs/fuse/connections/$dev/abort ]] &&
			echo 1 >"/sys/fs/fuse/connections/$dev/abort"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	unset "dpid[$m]"
}

cleanup() {
	local rc=$? m i
	set +e
	trap - EXIT INT TERM HUP
	if [[ -n $child ]] && alive "$child"; then
		# fio-compare and lease_scale clean up after themselves on TERM
		kill -TERM "$child" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			alive "$child" || break
			sleep 0.1
		done
		alive "$child" && kill -KILL "$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	for m in "${!dpid[@]}"; do
		stop_daemon "$m"
	done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[$i]}
		umount "$m" 2>/dev/null || umount -l "$m"
		if [[ $m == "$work/ext4" && -n $loopdev ]]; then
			losetup -d "$loopdev" 2>/dev/null
			loopdev=""
		fi
	done
	[[ -n $loopdev ]] && losetup -d "$loopdev" 2>/dev/null
	if [[ -n $work && $work == /tmp/mdfs-bench.* && -d $work ]]; then
		rm -rf --one-file-system "$work"
	fi
	if [[ -n $uring_orig && $uring_orig != Y && $uring_orig != 1 ]]; then
		echo 0 >"$uring_param" 2>/dev/null
	fi
	((rc == 0)) || log "failed (exit $rc); everything set up was undone"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Run a part in the background, so that a signal reaches our trap at once;
# its output goes to files (redirecting the call itself would redirect the
# trap's output too).
run_child() { # stdout-file stderr-file|- command...
	local o=$1 e=$2
	shift 2
	if [[ $e == - ]]; then
		"$@" >>"$o" &
	else
		"$@" >>"$o" 2>>"$e" &
	fi
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

# ----------------------------------------------------------------- set-up --

t0=$(date +%s)
parts=$out/parts
# a full run starts afresh; --only keeps the other parts' results
if [[ $only == "$all_parts" ]]; then
	rm -rf "$parts"
fi
mkdir -p "$parts"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

if [[ -e $uring_param ]]; then
	uring_orig=$(<"$uring_param")
	echo 1 >"$uring_param" 2>/dev/null ||
		log "WARNING: cannot enable $uring_param: io_uring runs skipped"
fi
uring_on=0
[[ -e $uring_param && $(<"$uring_param") =~ ^(Y|1)$ ]] && uring_on=1

# the daemons get as many descriptors as the machine lets us have
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)

# size: the fio part's files (6 targets) plus slack; scale's small files
fio_mib=$((${BENCH_SIZE%M} * 8 + 256))
[[ $BENCH_SIZE == *M ]] || fio_mib=2304
work=$(mktemp -d /tmp/mdfs-bench.XXXXXX)
mkdir "$work/tmpfs" "$work/img" "$work/ext4" "$work/mnt"
mount -t tmpfs -o size=$((fio_mib + 1024))m,mode=0755 mdfs-bench "$work/tmpfs"
mounted+=("$work/tmpfs")
mount --make-private "$work/tmpfs"
mount -t tmpfs -o size=$((fio_mib + 128))m,mode=0700 mdfs-bench-img "$work/img"
mounted+=("$work/img")
mount --make-private "$work/img"
truncate -s "${fio_mib}M" "$work/img/ext4.img"
# initialised now, not by a background thread during the runs
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/img/ext4.img" >&2
loopdev=$(losetup --find --show "$work/img/ext4.img")
mount -t ext4 "$loopdev" "$work/ext4"
mounted+=("$work/ext4")
mount --make-private "$work/ext4"
log "backings: tmpfs $work/tmpfs, ext4 $work/ext4 ($loopdev, ${fio_mib} MiB image on tmpfs)"

# Mount mapdirectfs in the foreground as our child: sets $mnt_pid.
mnt_pid=""
mount_mdfs() { # backing-dir mountpoint options
	local b=$1 m=$2 opts=$3 i
	mkdir -p "$b" "$m"
	"$MDFS_BIN" -f -o "$opts" "$b" "$m" >>"$parts/daemons.log" 2>&1 </dev/null &
	mnt_pid=$!
	dpid[$m]=$mnt_pid
	for ((i = 0; i < 100; i++)); do
		awk -v m="$m" '$2 == m && $3 ~ /^fuse/ { f = 1 } END { exit !f }' \
			/proc/self/mounts && break
		alive "$mnt_pid" || die "mapdirectfs -o $opts exited: $(tail -3 "$parts/daemons.log")"
		sleep 0.1
	done
	((i < 100)) || die "mapdirectfs -o $opts: not mounted after 10 s"
	timeout 10 stat "$m/." >/dev/null || die "mount $m does not answer"
}

# --------------------------------------------------------------- the parts --

# a part that fails is reported, and the others still run
failed=()
part_failed() { # what exit-status
	log "FAILED: $1 (exit $2); see $parts/"
	failed+=("$1 (exit $2)")
}

: >"$parts/daemons.log"
transports=(devfuse)
((uring_on)) && transports+=(uring)

if wants fio; then
	log "part fio: $BENCH_REPEAT round(s) x ${BENCH_RUNTIME}s, $BENCH_SIZE files"
	tg=raw,mdfs-uring,mdfsall-devfuse,mdfsall-uring,pthp-devfuse,pthp-uring
	((uring_on)) || tg=raw,mdfs-devfuse,mdfsall-devfuse,pthp-devfuse
	: >"$parts/fio.stdout"
	run_child "$parts/fio.stdout" - \
		env MAPDIRECTFS="$MDFS_BIN" PASSTHROUGH_HP="$PTHP_BIN" \
		bash "$here/fio-compare.sh" --runtime "$BENCH_RUNTIME" \
		--repeat "$BENCH_REPEAT" --size "$BENCH_SIZE" \
		--backings tmpfs,ext4 --targets "$tg" \
		--workloads "$BENCH_WORKLOADS" \
		--backing-dir tmpfs="$work/tmpfs" --backing-dir ext4="$work/ext4" \
		--out "$parts/fio.json" || part_failed fio $?
fi

if wants mmap; then
	tr=uring
	((uring_on)) || tr=devfuse
	log "part mmap: $BENCH_MMAP_REPEAT round(s) x ${BENCH_MMAP_RUNTIME}s, $BENCH_SIZE files"
	: >"$parts/mmap.stdout"
	run_child "$parts/mmap.stdout" - \
		env MAPDIRECTFS="$MDFS_BIN" \
		bash "$here/fio-compare.sh" --runtime "$BENCH_MMAP_RUNTIME" \
		--repeat "$BENCH_MMAP_REPEAT" --size "$BENCH_SIZE" \
		--backings tmpfs,ext4 --targets "raw,mdfs-$tr,mdfsall-$tr" \
		--workloads "$BENCH_MMAP_WORKLOADS" \
		--backing-dir tmpfs="$work/tmpfs" --backing-dir ext4="$work/ext4" \
		--out "$parts/mmap.json" || part_failed mmap $?
fi

if wants gate; then
	tr=uring
	((uring_on)) || tr=devfuse
	log "part gate: $BENCH_GATE_REPEAT round(s) x ${BENCH_GATE_RUNTIME}s, $tr"
	: >"$parts/gate.stdout"
	run_child "$parts/gate.stdout" - \
		env MAPDIRECTFS="$MDFS_BIN" NOGATE_BIN="$NOGATE_BIN" \
		bash "$here/fio-compare.sh" --runtime "$BENCH_GATE_RUNTIME" \
		--repeat "$BENCH_GATE_REPEAT" --size 64M --backings tmpfs \
		--targets "mdfsall-$tr,nogate-$tr,mdfsall-$tr.2" \
		--workloads randwrite-4k-j1 \
		--backing-dir tmpfs="$work/tmpfs" \
		--out "$parts/gate.json" || part_failed gate $?
fi

if wants sandbox; then
	sbt=()
	for tr in "${transports[@]}"; do
		sbt+=("mdfsall-$tr" "nosandbox-$tr" "mdfsall-$tr.2")
	done
	log "part sandbox: $BENCH_SB_REPEAT round(s) x ${BENCH_SB_RUNTIME}s, ${transports[*]}"
	: >"$parts/sandbox.stdout"
	run_child "$parts/sandbox.stdout" - \
		env MAPDIRECTFS="$MDFS_BIN" \
		bash "$here/fio-compare.sh" --runtime "$BENCH_SB_RUNTIME" \
		--repeat "$BENCH_SB_REPEAT" --size 64M --backings tmpfs \
		--targets "$(IFS=,; echo "${sbt[*]}")" \
		--workloads randwrite-4k-j1,randread-4k-j1 \
		--backing-dir tmpfs="$work/tmpfs" \
		--out "$parts/sandbox.json" || part_failed sandbox $?
	log "part sandbox: seccomp_cost, $BENCH_SB_REPEAT round(s)"
	: >"$parts/seccomp.json"
	run_child "$parts/seccomp.json" - taskset -c 0 "$SC_BIN" \
		--rounds "$((BENCH_SB_REPEAT * 2))" || part_failed seccomp_cost $?
fi

if wants latency; then
	for b in tmpfs ext4; do
		for tr in "${transports[@]}"; do
			u=off
			[[ $tr == uring ]] && u=on
			m=$work/mnt/lat-$b-$tr
			log "part latency: $b, $tr, $BENCH_LAT_COUNT breaks"
			mount_mdfs "$work/$b/lat-$tr" "$m" \
				"io_uring=$u,passthrough=on,lease_break_time=60"
			: >"$parts/latency-$b-$tr.json"
			run_child "$parts/latency-$b-$tr.json" - \
				"$LAT_BIN" --file "$m/lat.dat" \
				--count "$BENCH_LAT_COUNT" \
				--samples "$parts/latency-$b-$tr.samples" ||
				part_failed "latency $b $tr" $?
			stop_daemon "$m"
		done
	done
fi

if wants scale; then
	tr=uring
	((uring_on)) || tr=devfuse
	u=off
	[[ $tr == uring ]] && u=on
	sb=$work/tmpfs/scale-backing
	mkdir -p "$sb"
	: >"$parts/scale.jsonl"
	run_scale() { # layout hold n
		local reps=5 m=$work/mnt/scale
		(($3 > 1000)) && reps=3
		(($3 > 10000)) && reps=1
		((quick)) && reps=2
		log "part scale: $1/$2 n=$3 ($reps reps, fresh daemon)"
		# a fresh daemon per point: its memory is measured
		mount_mdfs "$sb" "$m" \
			"io_uring=$u,passthrough=on,mediate=all,lease_break_time=60,revoke=none"
		run_child "$parts/scale.jsonl" "$parts/scale.log" \
			"$SCALE_BIN" --mount "$m" --backing "$sb" \
			--pid "$mnt_pid" --layout "$1" --hold "$2" --count "$3" \
			--reps "$reps" || part_failed "scale $1/$2 n=$3" $?
		stop_daemon "$m"
	}
	for n in $BENCH_SCALE_FD; do
		run_scale one fd "$n"
		run_scale files fd "$n"
	done
	for n in $BENCH_SCALE_MAP; do
		run_scale one map "$n"
	done
fi

if wants hostile; then
	for tr in "${transports[@]}"; do
		u=off
		[[ $tr == uring ]] && u=on
		m=$work/mnt/hostile-$tr
		# mediate=all: the innocent's reads and writes reach the daemon;
		# a short break time: breaks end in revocations within a round
		mount_mdfs "$work/ext4/hostile-$tr" "$m" \
			"io_uring=$u,passthrough=on,allow_other,mediate=all,lease_break_time=1"
		# every attack, then an honest heavy writer for reference
		for run in all ref; do
			x=abcdefg
			[[ $run == ref ]] && x=h
			log "part hostile: $tr, attacks $x, $BENCH_HOSTILE_ROUNDS round(s) x ${BENCH_HOSTILE_S}s quiet + attacked"
			: >"$parts/hostile-$tr-$run.jsonl"
			run_child "$parts/hostile-$tr-$run.jsonl" \
				"$parts/hostile-$tr-$run.log" \
				"$HOSTILE_BIN" --mount "$m" --pid "$mnt_pid" \
				--rounds "$BENCH_HOSTILE_ROUNDS" \
				--attack-s "$BENCH_HOSTILE_S" \
				--quiet-s "$BENCH_HOSTILE_S" --attacks "$x" \
				--samples "$parts/hostile-$tr-$run.samples" ||
				part_failed "hostile $tr $x" $?
		done
		stop_daemon "$m"
	done
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
t1=$(date +%s)

# ---------------------------------------------------------------- report --

libfuse=$(sed -n 's/^version=//p' "$root/.deps/libfuse/VERSION" 2>/dev/null)
[[ -n $libfuse ]] || libfuse=unknown
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(GIT_OPTIONAL_LOCKS=0 git -C "$root" status --porcelain \
	--untracked-files=no 2>/dev/null) ]]; then
	commit="$commit+local changes"
fi
jq -n --arg date "$(date -Is)" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson nproc "$(nproc)" \
	--arg mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" \
	--arg libfuse "$libfuse" --arg fio "$(fio --version)" \
	--arg commit "$commit" --arg load_before "$load_before" \
	--arg load_after "$load_after" --argjson elapsed "$((t1 - t0))" \
	--argjson quick "$quick" --arg only "$only" --argjson nofile "$nofile" \
	--arg uring "$uring_on" \
	--argjson failed "$(printf '%s\n' "${failed[@]}" | jq -Rn '[inputs | select(length > 0)]')" \
	'{date: $date, kernel: $kernel, cpu: $cpu, nproc: $nproc, memory: $mem,
	  libfuse: $libfuse, fio: $fio, commit: $commit,
	  loadavg_before: $load_before, loadavg_after: $load_after,
	  elapsed_s: $elapsed, quick: ($quick == 1), parts_run: $only,
	  rlimit_nofile: $nofile, io_uring: ($uring == "1"),
	  failed_parts: $failed}' \
	>"$parts/meta.$(date +%s).json"
log "report ($((t1 - t0)) s so far)"
"$PY" "$here/report.py" --parts "$parts" --out "$out"
if ((${#failed[@]})); then
	log "${#failed[@]} part(s) failed: ${failed[*]}"
	exit 1
fi
