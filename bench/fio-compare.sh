#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fio-compare.sh: data-path cost of mapdirectfs against the raw backing
# directory and against libfuse's passthrough_hp (the anchor), over both FUSE
# transports (/dev/fuse and io_uring).
#
#   bench/fio-compare.sh [--runtime S] [--repeat N] [--out FILE.json]
#                        [--size SIZE] [--ramp S]
#
# One private tmpfs backs every target, each in its own subdirectory:
#   raw            the backing directory itself
#   mdfs-devfuse   mapdirectfs -f -o io_uring=off,passthrough=on
#   mdfs-uring     mapdirectfs -f -o io_uring=on,passthrough=on
#   pthp-devfuse   passthrough_hp --foreground --direct-io
#   pthp-uring     passthrough_hp --foreground --direct-io -o io_uring
# Both daemons reply opens FOPEN_PASSTHROUGH|FOPEN_DIRECT_IO: every read and
# write goes through the daemon, mmap maps the backing file.
#
# Workloads (fio, ioengine=psync, one file of --size laid out beforehand,
# time_based): 4k randwrite/randread IOPS with numjobs 1 and 2, 1M seq
# write/read bandwidth with numjobs 1. Each round runs every workload on
# every target, targets interleaved (the order rotates), so drift hits all
# alike; the table shows median and [min-max] over the rounds.
#
# Needs root. Installs jq (and fio) with apt-get when missing. Everything it
# mounts, starts or creates is undone on exit, error or Ctrl-C.
#
# Environment: MAPDIRECTFS, PASSTHROUGH_HP override the binaries.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

MDFS_BIN=${MAPDIRECTFS:-$root/build/fuse/mapdirectfs}
PTHP_BIN=${PASSTHROUGH_HP:-$root/.deps/libfuse/bin/passthrough_hp}

runtime=5
repeat=3
size=256M
ramp=0
foreign_limit=5 # % of all CPUs used by other processes that flags a run
out=$here/results/fio-compare.json

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
[[ -x $MDFS_BIN ]] || die "no mapdirectfs binary at $MDFS_BIN (build it first)"
[[ -x $PTHP_BIN ]] || die "no passthrough_hp binary at $PTHP_BIN (make test provisions it)"

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

work=""          # temp dir: tmpfs/ (backing), mnt/<target>/ (FUSE mounts)
tmpfs_mounted=0
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
	local rc=$? t pid i
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
	if ((tmpfs_mounted)); then
		umount "$work/tmpfs" 2>/dev/null || umount -l "$work/tmpfs"
	fi
	if [[ -n $work && $work == /tmp/fio-compare.* && -d $work ]]; then
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
bin_id() { echo "sha256 $(sha256sum <"$1" | cut -c1-16), $(date -r "$1" -Is)"; }
mdfs_id=$(bin_id "$MDFS_BIN")
pthp_id=$(bin_id "$PTHP_BIN")

transports=(devfuse)
if [[ -e $uring_param ]]; then
	uring_orig=$(<"$uring_param")
	if echo 1 >"$uring_param" 2>/dev/null; then
		transports+=(uring)
	else
		log "WARNING: cannot enable $uring_param: io_uring transport skipped"
	fi
else
	log "WARNING: kernel has no fuse-over-io-uring: io_uring transport skipped"
fi

targets=(raw)
for tr in "${transports[@]}"; do targets+=("mdfs-$tr" "pthp-$tr"); done

work=$(mktemp -d /tmp/fio-compare.XXXXXX)
mkdir -p "$work/tmpfs" "$work/mnt" "$work/logs" "$work/fio"
tmpfs_bytes=$((2 * 1024 * 1024 * 1024))
mount -t tmpfs -o size=$tmpfs_bytes,mode=0755 fio-compare "$work/tmpfs"
tmpfs_mounted=1
mount --make-private "$work/tmpfs"

# size in MiB, to lay out the file and to check it fits
case $size in
*K) size_mib=$(((${size%K} + 1023) / 1024)) ;;
*M) size_mib=${size%M} ;;
*G) size_mib=$((${size%G} * 1024)) ;;
*) size_mib=$(((size + 1048575) / 1048576)) ;;
esac
((size_mib * ${#targets[@]} < 2048 - 64)) ||
	die "--size $size x ${#targets[@]} targets does not fit the 2 GiB tmpfs"

declare -A tdir=() tcmd=() tdaemon=() ttransport=()
for t in "${targets[@]}"; do
	mkdir "$work/tmpfs/$t"
	# the file every workload uses, laid out once on the backing
	dd if=/dev/zero of="$work/tmpfs/$t/bench.dat" bs=1M count="$size_mib" \
		status=none
done

mdfs_cmd() { # transport backing mnt
	local u=off
	[[ $1 == uring ]] && u=on
	echo "$MDFS_BIN" -f -o "io_uring=$u,passthrough=on" "$2" "$3"
}
pthp_cmd() {
	local extra=""
	[[ $1 == uring ]] && extra="-o io_uring "
	echo "$PTHP_BIN" --foreground --direct-io "$extra$2" "$3"
}

tdir[raw]=$work/tmpfs/raw
tdaemon[raw]=none
ttransport[raw]=none
tcmd[raw]=""

# Start a daemon in the foreground (as our child, so we hold its pid and its
# stderr), wait for the mount and INIT, check the transport it ended up on.
start_daemon() { # target
	local t=$1 kind=${1%%-*} tr=${1#*-} mnt=$work/mnt/$1 cmd i n
	mkdir -p "$mnt"
	if [[ $kind == mdfs ]]; then
		cmd=$(mdfs_cmd "$tr" "$work/tmpfs/$t" "$mnt")
		tdaemon[$t]=mapdirectfs
	else
		cmd=$(pthp_cmd "$tr" "$work/tmpfs/$t" "$mnt")
		tdaemon[$t]=passthrough_hp
	fi
	ttransport[$t]=$([[ $tr == uring ]] && echo io_uring || echo /dev/fuse)
	tcmd[$t]=$cmd
	tdir[$t]=$mnt
	log "mount $t: $cmd"
	# word splitting is intended: no path here has blanks (mktemp, repo path
	# checked below)
	$cmd >"$work/logs/$t.log" 2>&1 </dev/null &
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
		die "$t: daemon exited before mounting: $(head -c 2000 "$work/logs/$t.log")"
	fi
	((i < 100)) || die "$t: not mounted after 10 s"
	# the first access waits for INIT
	timeout 10 stat "$mnt/bench.dat" >/dev/null ||
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

[[ $work$MDFS_BIN$PTHP_BIN != *[[:space:]]* ]] ||
	die "paths with blanks are not supported"

for t in "${targets[@]}"; do
	[[ $t == raw ]] || start_daemon "$t"
done

# --------------------------------------------------------------- workloads --

#         name             rw        bs  jobs metric
workloads=(
	"randwrite-4k-j1 randwrite 4k 1 iops"
	"randwrite-4k-j2 randwrite 4k 2 iops"
	"randread-4k-j1  randread  4k 1 iops"
	"randread-4k-j2  randread  4k 2 iops"
	"seqwrite-1M     write     1M 1 bw"
	"seqread-1M      read      1M 1 bw"
)

samples=$work/samples.tsv
: >"$samples"
anomalies=$work/anomalies.txt
: >"$anomalies"
loadavg=()

anomaly() {
	echo "$*" >>"$anomalies"
	log "ANOMALY: $*"
}

# one fio run; sets fio_val to the result (IOPS or MiB/s). Not run in a
# subshell, so that the wait below is what a signal interrupts.
fio_val=""
run_fio() { # target name rw bs jobs metric round
	local t=$1 name=$2 rw=$3 bs=$4 jobs=$5 metric=$6 r=$7 js dir v err
	fio_val=""
	js=$work/fio/$name.$t.$r.json
	dir="read"
	[[ $rw == *write ]] && dir="write"
	fio --name="$name" --filename="${tdir[$t]}/bench.dat" --size="$size" \
		--allow_file_create=0 --ioengine=psync --rw="$rw" --bs="$bs" \
		--numjobs="$jobs" --group_reporting --time_based \
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
	err=$(jq -r '.jobs[0].error' "$js" 2>/dev/null) || err=parse
	if [[ $err != 0 ]]; then
		anomaly "round $r $name $t: fio error $err: $(tr '\n' ' ' <"$js.stderr" | head -c 500)"
		return 1
	fi
	if [[ $metric == iops ]]; then
		v=$(jq -r ".jobs[0].$dir.iops" "$js") || return 1
	else
		v=$(jq -r ".jobs[0].$dir.bw_bytes / 1048576" "$js") || return 1
	fi
	if [[ -s $js.stderr ]]; then
		anomaly "round $r $name $t: fio stderr: $(tr '\n' ' ' <"$js.stderr" | head -c 300)"
	fi
	fio_val=$v
}

# CPU used outside this benchmark's processes during a run, in % of all
# CPUs: /proc/stat busy time minus the daemons' time and our children's (fio
# is reaped by us, so its time lands in our cutime/cstime). Other jobs on the
# machine show up here; kernel threads too.
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

ntg=${#targets[@]}
nwl=${#workloads[@]}
log "$repeat round(s) x $nwl workloads x $ntg targets x ${runtime}s" \
	"(~$((repeat * nwl * ntg * (runtime + ramp + 1) / 60 + 1)) min)"

for ((r = 1; r <= repeat; r++)); do
	loadavg+=("$(cut -d' ' -f1-3 /proc/loadavg)")
	for ((w = 0; w < nwl; w++)); do
		read -r name rw bs jobs metric <<<"${workloads[$w]}"
		for ((k = 0; k < ntg; k++)); do
			t=${targets[$(((k + r - 1 + w) % ntg))]}
			[[ -n ${dead[$t]:-} ]] && continue
			if [[ $t != raw ]] && ! alive "${dpid[$t]}"; then
				dead[$t]=1
				anomaly "round $r: $t daemon (pid ${dpid[$t]}) died: $(tail -c 500 "$work/logs/$t.log" | tr '\n' ' ')"
				continue
			fi
			c0=$(cpu_sample)
			if run_fio "$t" "$name" "$rw" "$bs" "$jobs" "$metric" "$r"; then
				fpct=$(foreign_pct "$c0" "$(cpu_sample)")
				printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$t" "$r" \
					"$fio_val" "$fpct" >>"$samples"
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

for t in "${targets[@]}"; do
	[[ $t == raw ]] && continue
	alive "${dpid[$t]}" || { [[ -n ${dead[$t]:-} ]] || anomaly "$t daemon died during the last round"; }
	# mapdirectfs -f says where it mounted and how; anything else is news
	if grep -qv '^mapdirectfs: mounted .*: passthrough on, transport ' \
		"$work/logs/$t.log"; then
		anomaly "$t daemon stderr: $(grep -v '^mapdirectfs: mounted .*: passthrough on, transport ' \
			"$work/logs/$t.log" | head -c 1000 | tr '\n' ' ')"
	fi
done

t_end=$(date +%s)

# ---------------------------------------------------------------- results --

wl_json=$(printf '%s\n' "${workloads[@]}" | jq -Rn '[inputs | [splits(" +")] |
	{name: .[0], rw: .[1], bs: .[2], numjobs: (.[3] | tonumber),
	 metric: .[4], unit: (if .[4] == "iops" then "IOPS" else "MiB/s" end)}]')
tg_json=$(for t in "${targets[@]}"; do
	printf '%s\t%s\t%s\t%s\n' "$t" "${tdaemon[$t]}" "${ttransport[$t]}" "${tcmd[$t]}"
done | jq -Rn '[inputs | split("\t") |
	{key: .[0], value: {daemon: (if .[1] == "none" then null else .[1] end),
	 transport: (if .[2] == "none" then null else .[2] end),
	 command: (if .[3] == "" then null else .[3] end)}}] | from_entries')
tr_json=$(printf '%s\n' "${transports[@]}" | jq -Rn '[inputs]')
la_json=$(printf '%s\n' "${loadavg[@]}" | jq -Rn '[inputs]')
an_json=$(jq -Rn '[inputs]' <"$anomalies")

jq -Rn \
	--arg date "$(date -Is)" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson nproc "$(nproc)" --arg fio "$(fio --version)" \
	--arg mdfs "$MDFS_BIN" --arg pthp "$PTHP_BIN" \
	--arg mdfs_id "$mdfs_id" --arg pthp_id "$pthp_id" \
	--arg size "$size" --argjson runtime "$runtime" --argjson ramp "$ramp" \
	--argjson repeat "$repeat" --argjson elapsed "$((t_end - t_start))" \
	--argjson workloads "$wl_json" --argjson targets "$tg_json" \
	--argjson transports "$tr_json" --argjson loadavg "$la_json" \
	--argjson anomalies "$an_json" '
def median: sort | length as $n |
	if $n == 0 then null
	elif $n % 2 == 1 then .[($n - 1) / 2]
	else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
def stats: {median: median, min: min, max: max, n: length, samples: .};
def ratio($a; $b): if $a == null or $b == null or $b.median == 0 then null
	else $a.median / $b.median end;
[inputs | split("\t") | {w: .[0], t: .[1], r: (.[2] | tonumber),
	v: (.[3] | tonumber), f: (.[4] | tonumber)}] as $s
| ($s | group_by(.w) | map({key: .[0].w, value:
	(group_by(.t) | map({key: .[0].t, value: (sort_by(.r) |
		(map(.v) | stats) + {rounds: map(.r),
		 foreign_cpu_pct: map(.f)})})
	 | from_entries)}) | from_entries) as $res
| {
	meta: {date: $date, kernel: $kernel, cpu: $cpu, nproc: $nproc, fio: $fio,
	       mapdirectfs: $mdfs, passthrough_hp: $pthp, file_size: $size,
	       mapdirectfs_binary: $mdfs_id, passthrough_hp_binary: $pthp_id,
	       runtime_s: $runtime, ramp_s: $ramp, repeat: $repeat,
	       elapsed_s: $elapsed, ioengine: "psync",
	       foreign_cpu_pct: "CPU used by processes other than fio and the daemons during each run, % of all CPUs",
	       backing: "private tmpfs, 2 GiB, one subdir per target",
	       loadavg_per_round: $loadavg},
	workloads: $workloads,
	targets: $targets,
	results: $res,
	table: [$workloads[] as $w | $transports[] as $tr |
		($res[$w.name] // {}) as $x |
		($x.raw) as $raw | ($x["mdfs-" + $tr]) as $md |
		($x["pthp-" + $tr]) as $pt |
		{workload: $w.name, unit: $w.unit,
		 transport: (if $tr == "uring" then "io_uring" else "/dev/fuse" end),
		 raw: $raw, mapdirectfs: $md, passthrough_hp: $pt,
		 mapdirectfs_over_raw: ratio($md; $raw),
		 mapdirectfs_over_passthrough_hp: ratio($md; $pt)}],
	anomalies: $anomalies
}' <"$samples" >"$out.tmp"
mv "$out.tmp" "$out"

# table: median [min-max]; IOPS in thousands, bandwidth in MiB/s
{
	printf '\nfio-compare: %s, %s x %s, fio psync, %s file, %ss x %s rounds, %ss total\n' \
		"$(uname -r)" "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$size" "$runtime" "$repeat" "$((t_end - t_start))"
	printf 'cells: median [min-max] over %s rounds; 4k rows in kIOPS, 1M rows in MiB/s\n\n' "$repeat"
	jq -r '.table[] | [.workload, .transport, .unit,
		(.raw, .mapdirectfs, .passthrough_hp | if . == null then "-", "-", "-"
		 else .median, .min, .max end),
		(.mapdirectfs_over_raw, .mapdirectfs_over_passthrough_hp
		 | if . == null then "-" else . end)] | @tsv' "$out" |
	awk -F'\t' '
	function cell(m, lo, hi,   d) {
		if (m == "-") return "-"
		d = (unit == "IOPS") ? 1000 : 1
		return sprintf("%.1f [%.1f-%.1f]", m / d, lo / d, hi / d)
	}
	function rat(x) { return x == "-" ? "-" : sprintf("%.2f", x) }
	BEGIN {
		fmt = "%-16s %-9s %-22s %-22s %-22s %8s %8s\n"
		printf fmt, "workload", "transport", "raw", "mapdirectfs", \
			"passthrough_hp", "mdfs/raw", "mdfs/pthp"
	}
	{
		unit = $3
		printf fmt, $1, $2, cell($4, $5, $6), cell($7, $8, $9), \
			cell($10, $11, $12), rat($13), rat($14)
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
	for t in "${targets[@]}"; do
		[[ $t == raw ]] || printf '  %-13s %s\n' "$t" "${tcmd[$t]}"
	done
} | tee "${out%.json}.txt"
