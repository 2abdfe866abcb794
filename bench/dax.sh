#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# dax.sh: the benchmarks on real fsdax (issue 12): `make bench-dax`.
#
#   bench/dax.sh [--out DIR] [--no-xfs] [--no-fio]
#
# Provisions the guest (scripts/provision-dax.sh), boots it once with an
# emulated NVDIMM (scripts/dax-guest.sh) and runs there, on the DAX ext4
# (and the DAX xfs, unless --no-xfs):
#   persist  bench/dax_persist: a random 4 KiB store + persist, the raw DAX
#            file (MAP_SYNC + pmem_persist) against a file of a mapdirectfs
#            mount of a dir on the same fs (mapdirect_map_file +
#            mapdirect_persist), and the msync variants that explain the
#            msync path, interleaved, ratios per round
#   fio      bench/fio-compare.sh --backing-dir ext4=DIR on the DAX ext4:
#            psync 4k randwrite and randread, mmap 1 MiB write and read,
#            raw against mdfs-uring (ext4 only: fio-compare knows no xfs)
# Writes DIR/dax.json (every sample), DIR/dax.txt (the table, printed)
# and DIR/dax-README-table.md; DIR defaults to bench/results. Under TCG
# (no usable KVM here) only the ratios mean anything. Needs root; leaves
# nothing behind (the guest, its image and temp dirs go on exit).
#
# Environment: DAX_ROUNDS=7 DAX_MS=300 DAX_SIZE_MIB=256 (persist part),
# DAX_FIO_RUNTIME=1 DAX_FIO_REPEAT=3 (fio part), BUILD=build.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
BUILD=${BUILD:-build}
: "${DAX_ROUNDS:=7}" "${DAX_MS:=300}" "${DAX_SIZE_MIB:=256}"
: "${DAX_FIO_RUNTIME:=1}" "${DAX_FIO_REPEAT:=3}"
export DAX_ROUNDS DAX_MS DAX_SIZE_MIB DAX_FIO_RUNTIME DAX_FIO_REPEAT BUILD

log() { echo "[$(date +%T)] bench-dax: $*" >&2; }

# ---- in the guest ------------------------------------------------------------
# the kernel's path of one op of raw-msync and of mount-msync, call by
# call (function_graph under msync(2) and the page fault, this process
# only): which functions run, how often per op, and which differ
guest_trace() {
	local fs=$1 raw=$2 mnt=$3 back=$4 T=/sys/kernel/tracing c ops=20 f
	[[ -e $T/tracing_on ]] || mount -t tracefs nodev "$T" || return 1
	echo 0 >"$T/tracing_on"
	echo 8192 >"$T/buffer_size_kb"
	echo function_graph >"$T/current_tracer"
	echo __x64_sys_msync >"$T/set_graph_function"
	echo handle_mm_fault >>"$T/set_graph_function"
	echo 1 >"$T/options/function-fork"
	# timer ticks land in whichever op runs longer: leave interrupts out
	echo 0 >"$T/options/funcgraph-irqs"
	for c in raw-msync mount-msync same-msync; do
		f=$MDFS_GUEST_OUT/trace-$fs-$c.txt
		echo >"$T/trace"
		T=$T bash -c 'echo $$ >"$T/set_ftrace_pid"; exec "$@"' trace \
			"$root/$BUILD/bench/dax_persist" --raw "$raw" --mount "$mnt" \
			--backing "$back" --size "$DAX_SIZE_MIB" --trace "$c" --ops $ops || return 1
		cat "$T/trace" >"$f"
		# function name -> calls per op
		grep -oE '[|] +[A-Za-z0-9_.]+\(\)' "$f" | sed -E 's/[| ]+//; s/\(\)//' |
			sort | uniq -c | awk -v n=$ops '{ printf "%s %.2f\n", $2, $1 / n }' \
			>"$MDFS_GUEST_OUT/calls-$fs-$c.txt"
	done
	echo 1 >"$T/options/funcgraph-irqs"
	echo nop >"$T/current_tracer"
	echo >"$T/set_ftrace_pid"
	echo >"$T/set_graph_function"
	join -a1 -a2 -e 0 -o 0,1.2,2.2 "$MDFS_GUEST_OUT/calls-$fs-raw-msync.txt" \
		"$MDFS_GUEST_OUT/calls-$fs-mount-msync.txt" >"$MDFS_GUEST_OUT/calls-$fs.txt"
	awk '$2 != $3' "$MDFS_GUEST_OUT/calls-$fs.txt" >"$MDFS_GUEST_OUT/calls-$fs-differ.txt"
	awk -v fs=$fs '{ r += $2; m += $3; d += ($2 != $3) }
		END { printf "kernel calls per op on %s (function_graph, msync + fault): raw-msync %.1f, mount-msync %.1f; %d functions differ (dax-trace/calls-%s-differ.txt)\n",
			fs, r, m, d, fs }' "$MDFS_GUEST_OUT/calls-$fs.txt" |
		tee "$MDFS_GUEST_OUT/calls-$fs.summary"
	# how each case's write faults were served: a 2 MiB entry (whose
	# msync writes back all of it) or a 4 KiB one
	for c in raw-msync mount-msync same-msync; do
		awk -v c=$c '$1 == "handle_mm_fault" { f = $2 }
			$1 ~ /^insert_pmd/ { p = $2 } $1 == "insert_page" { q = $2 }
			$1 == "dax_iomap_pmd_fault" { t = $2 }
			END { printf "  %s: per op %.2f faults, %.2f PMD fault tries, %.2f 2 MiB entries mapped, %.2f 4 KiB pages mapped\n",
				c, f, t, p, q }' "$MDFS_GUEST_OUT/calls-$fs-$c.txt"
	done | tee -a "$MDFS_GUEST_OUT/calls-$fs.summary"
}

# one persist run on the DAX fs at $1 (ext4|xfs) mounted at $2
guest_persist() {
	local fs=$1 fsdir=$2 w mnt dpid jbd2=() dev rc
	w=$(mktemp -d "$fsdir/bench-dax.XXXXXX")
	mnt=$(mktemp -d /tmp/bench-dax-mnt.XXXXXX)
	mkdir "$w/raw" "$w/src"
	"$root/$BUILD/fuse/mapdirectfs" -f -o io_uring=on,passthrough=on,dax=require \
		"$w/src" "$mnt" 2>"$MDFS_GUEST_OUT/daemon-$fs.log" &
	dpid=$!
	for _ in $(seq 100); do
		grep -q " $mnt fuse" /proc/mounts && break
		sleep 0.1
	done
	if grep -q " $mnt fuse" /proc/mounts; then
		dev=$(basename "$(findmnt -no SOURCE "$fsdir")")
		[[ $fs == ext4 && -r /proc/fs/jbd2/$dev-8/info ]] &&
			jbd2=(--jbd2 "/proc/fs/jbd2/$dev-8/info")
		echo "== persist on DAX $fs ($(findmnt -no SOURCE,OPTIONS "$fsdir"))"
		"$root/$BUILD/bench/dax_persist" --raw "$w/raw" --mount "$mnt" \
			--backing "$w/src" --size "$DAX_SIZE_MIB" --rounds "$DAX_ROUNDS" --ms "$DAX_MS" \
			"${jbd2[@]}" --json "$MDFS_GUEST_OUT/persist-$fs.json"
		rc=$?
		guest_trace "$fs" "$w/raw" "$mnt" "$w/src" || rc=1
		umount "$mnt"
	else
		echo "bench-dax: mapdirectfs did not mount $w/src on $fs:" \
			"$(cat "$MDFS_GUEST_OUT/daemon-$fs.log")"
		rc=1
	fi
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	rmdir "$mnt"
	rm -rf "$w"
	return $rc
}

if [[ ${1:-} == --in-guest ]]; then
	rc=0
	uname -r >"$MDFS_GUEST_OUT/kernel"
	nproc >"$MDFS_GUEST_OUT/nproc"
	guest_persist ext4 "$MDFS_DAX_EXT4" || rc=1
	if [[ " $* " != *" --no-xfs "* ]]; then
		guest_persist xfs "$MDFS_DAX_XFS" || rc=1
	fi
	[[ " $* " == *" --no-fio "* ]] && exit $rc
	echo "== fio on DAX ext4"
	MAPDIRECTFS=$root/$BUILD/fuse/mapdirectfs bash "$here/fio-compare.sh" \
		--backings ext4 --backing-dir "ext4=$MDFS_DAX_EXT4" \
		--targets raw,mdfs-uring \
		--workloads randwrite-4k-j1,randread-4k-j1,mmap-seqwrite-1M,mmap-seqread-1M \
		--runtime "$DAX_FIO_RUNTIME" --repeat "$DAX_FIO_REPEAT" --size 256M \
		--out "$MDFS_GUEST_OUT/fio-ext4.json" || rc=1
	exit $rc
fi

# ---- on the host ---------------------------------------------------------------
out=$here/results
flags=()
while (($#)); do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--no-xfs | --no-fio) flags+=("$1"); shift ;;
	*) echo "bench-dax: unknown argument: $1" >&2; exit 2 ;;
	esac
done
((EUID == 0)) || { echo "bench-dax: must run as root" >&2; exit 2; }
[[ -x $root/$BUILD/bench/dax_persist ]] ||
	{ echo "bench-dax: no $BUILD/bench/dax_persist (make build)" >&2; exit 2; }
command -v fio >/dev/null && command -v jq >/dev/null || {
	log "installing fio and jq with apt-get (the guest runs the host's)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fio jq >&2
}

work=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[[ -n $work ]] && rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
work=$(mktemp -d /tmp/mdfs-bench-dax.XXXXXX)
mkdir -p "$out" "$work/g"
t0=$SECONDS

bash "$root/scripts/provision-dax.sh" >&2 || { log "provisioning failed"; exit 1; }
accel=${MDFS_GUEST_ACCEL:-$(bash "$root/scripts/dax-guest.sh" probe)}
export MDFS_GUEST_ACCEL=$accel
others_before=$(pgrep -c qemu-system || true)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "accelerator $accel; other qemu processes running: $others_before; load $load_before"

# the guest starts with an environment of its own: pass the counts
bash "$root/scripts/dax-guest.sh" --out "$work/g" --timeout 900 -- \
	env DAX_ROUNDS="$DAX_ROUNDS" DAX_MS="$DAX_MS" DAX_SIZE_MIB="$DAX_SIZE_MIB" \
	DAX_FIO_RUNTIME="$DAX_FIO_RUNTIME" DAX_FIO_REPEAT="$DAX_FIO_REPEAT" \
	BUILD="$BUILD" bash "$root/bench/dax.sh" --in-guest "${flags[@]}"
grc=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
others_after=$(pgrep -c qemu-system || true)
((grc == 0)) || log "the guest's run exited $grc"

# ---- results -----------------------------------------------------------------
pj() { [[ -s $work/g/$1 ]] && cat "$work/g/$1" || echo null; }
jq -n --arg date "$(date -Is)" --arg accel "$accel" \
	--arg kernel "$(cat "$work/g/kernel" 2>/dev/null)" \
	--arg host_kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg load_before "$load_before" --arg load_after "$load_after" \
	--argjson others "$((others_before > others_after ? others_before : others_after))" \
	--argjson elapsed "$((SECONDS - t0))" --argjson rc "$grc" \
	--argjson ext4 "$(pj persist-ext4.json)" --argjson xfs "$(pj persist-xfs.json)" \
	--argjson fio "$(pj fio-ext4.json)" \
	--arg calls_ext4 "$(cat "$work/g/calls-ext4.summary" 2>/dev/null)" \
	--arg calls_xfs "$(cat "$work/g/calls-xfs.summary" 2>/dev/null)" '
{meta: {date: $date, accelerator: $accel, guest_kernel: $kernel,
	host_kernel: $host_kernel, host_cpu: $cpu,
	note: "QEMU TCG guest with an emulated NVDIMM: only ratios mean anything",
	host_loadavg_before: $load_before, host_loadavg_after: $load_after,
	other_qemu_processes: $others, elapsed_s: $elapsed, guest_rc: $rc},
 persist: {ext4: $ext4, xfs: $xfs},
 msync_kernel_path: {ext4: $calls_ext4, xfs: $calls_xfs},
 fio: (if $fio == null then null else
	{meta: $fio.meta, table: [$fio.table[] | {workload, unit, target,
	 median: .value.median, min: .value.min, max: .value.max, over_raw}],
	 per_round_over_raw: ($fio.results | to_entries | map(.key as $w |
		.value["ext4:raw"] as $r | .value["ext4:mdfs-uring"] as $m |
		select($r != null and $m != null) |
		([range(0; $m.rounds | length) as $i | $m.rounds[$i] as $k |
		  ($r.rounds | index($k)) as $j | select($j != null) |
		  $m.samples[$i] / $r.samples[$j]]) as $v |
		{key: $w, value: {per_round: $v, median: ($v | sort |
		  if length % 2 == 1 then .[(length - 1) / 2]
		  else (.[length / 2 - 1] + .[length / 2]) / 2 end),
		  min: ($v | min), max: ($v | max)}}) | from_entries),
	 results: $fio.results, anomalies: $fio.anomalies} end)}' \
	>"$out/dax.json" || { log "no results"; exit 1; }

# per-round ratio of two fio targets: median [min-max]
table() {
	local j=$out/dax.json
	printf 'bench-dax: %s, guest kernel %s, %s, %s s\n' "$(jq -r .meta.date "$j")" \
		"$(jq -r .meta.guest_kernel "$j")" "$(jq -r .meta.accelerator "$j")" \
		"$(jq -r .meta.elapsed_s "$j")"
	printf 'Under TCG (an emulated CPU and NVDIMM) absolute figures mean nothing for\n'
	printf 'hardware: read the ratios, measured per round in the same run.\n'
	printf 'host load %s -> %s, other qemu processes: %s\n' \
		"$(jq -r .meta.host_loadavg_before "$j")" "$(jq -r .meta.host_loadavg_after "$j")" \
		"$(jq -r .meta.other_qemu_processes "$j")"
	for fs in ext4 xfs; do
		[[ $(jq ".persist.$fs" "$j") == null ]] && continue
		printf '\n4 KiB random store + persist, DAX %s, %s MiB file, %s rounds x %s ms\n' \
			"$fs" "$(jq .persist.$fs.size_mib "$j")" "$(jq .persist.$fs.rounds "$j")" \
			"$(jq .persist.$fs.ms "$j")"
		jq -r ".persist.$fs.cases | to_entries[] | [.key, .value.what,
			(.value.ops_per_s | sort | .[length / 2 | floor]),
			(.value.ops_per_s | min), (.value.ops_per_s | max),
			(.value.faults_per_op | sort | .[length / 2 | floor]),
			(.value.jbd2_commits_per_op | sort | .[length / 2 | floor])] | @tsv" "$j" |
		awk -F'\t' 'BEGIN { printf "%-18s %-44s %22s %7s %8s\n", "case", "what",
				"ops/s median [min-max]", "flt/op", "jbd2/op" }
			{ printf "%-18s %-44s %8.0f [%.0f-%.0f] %7.2f %8s\n", $1, $2, $3, $4, $5, $6,
				($7 < 0 ? "-" : sprintf("%.2f", $7)) }'
		jq -r ".persist.$fs.ratios | to_entries[] | [.key, .value.median, .value.min,
			.value.max, (.value.goal // \"\"), (if .value.goal then
			(if .value.met then \"met\" else \"MISSED\" end) else \"\" end)] | @tsv" "$j" |
		awk -F'\t' 'BEGIN { printf "%-31s %-22s %s\n", "ratio (per round)", "median [min-max]", "goal" }
			{ printf "%-31s %5.2f [%.2f-%.2f]%5s %s\n", $1, $2, $3, $4,
				($5 == "" ? "" : ">= " $5), $6 }'
		jq -r ".msync_kernel_path.$fs" "$j"
	done
	if [[ $(jq .fio "$j") != null ]]; then
		printf '\nfio on DAX ext4, %s s x %s rounds, raw DAX ext4 vs mdfs-uring (mount, io_uring, passthrough)\n' \
			"$(jq .fio.meta.runtime_s "$j")" "$(jq .fio.meta.repeat "$j")"
		jq -r '.fio.per_round_over_raw as $p | .fio.table[] |
			[.workload, .target, .unit, .median, .min, .max,
			 (if .target == "ext4:raw" then "-", "-", "-" else
			  ($p[.workload] | .median, .min, .max) end)] | @tsv' "$j" |
		awk -F'\t' 'BEGIN { printf "%-18s %-16s %-30s %s\n", "workload", "target",
				"median [min-max]", "/raw per round: median [min-max]" }
			{ d = ($3 == "IOPS") ? 1000 : 1; u = ($3 == "IOPS") ? "kIOPS" : "MiB/s"
			  printf "%-18s %-16s %-30s %s\n", $1, $2,
				sprintf("%.1f [%.1f-%.1f] %s", $4 / d, $5 / d, $6 / d, u),
				($7 == "-" ? "-" : sprintf("%.2f [%.2f-%.2f]", $7, $8, $9)) }'
		jq -r '.fio.anomalies[]? | "  fio anomaly: " + .' "$j"
	fi
}
table | tee "$out/dax.txt"
cp "$work/g/guest.log" "$out/dax-guest.log" 2>/dev/null
mkdir -p "$out/dax-trace"
cp "$work/g"/calls-*.txt "$work/g"/trace-*.txt "$out/dax-trace/" 2>/dev/null
log "json: $out/dax.json, table: $out/dax.txt"
exit $grc
