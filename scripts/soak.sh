#!/usr/bin/env bash
# Long runs of the randomized tests (make soak): the model-based test and
# the syscall fuzz loop on a real mount, in shards small enough for the
# per-test timeout, until MINUTES have passed; then the libFuzzer target.
# Every shard runs each test over both transports (the model test also in
# both mediate= modes). Prints what ran; exits non-zero at the first failure
# with the command that replays it.
# Usage: scripts/soak.sh BUILD [MINUTES] [FUZZ_SECONDS]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
minutes=${2:-30}
fuzz_secs=${3:-300}
steps=${SOAK_STEPS:-1000}
shard_seeds=10		# x 1000 steps x 4 variants: ~8 s here
shard_ops=20000		# per transport

end=$(( $(date +%s) + minutes * 60 ))
seed=1 shard=0 model_runs=0 fuzz_ops=0
run() {
	local out rc
	out=$(env "$@" bash "$repo/scripts/run-tests.sh" "$build" \
		--filter "$filter" 2>&1)
	rc=$?
	# run-tests.sh fails a shard that changed anything outside its
	# temp dirs (scripts/world-guard.sh), whatever Criterion said
	if [ $rc != 0 ] || ! grep -q 'Failing: 0 | Crashing: 0' <<<"$out"; then
		printf '%s\n' "$out" | tail -n 40
		echo "soak: FAILED; replay: $* scripts/run-tests.sh $build --filter '$filter'"
		exit 1
	fi
	grep -o 'Tested: [0-9]*' <<<"$out" | tail -n 1 | cut -d' ' -f2
}
while :; do
	filter='model*/*'
	n=$(run MDFS_MODEL_FIRST=$seed MDFS_MODEL_SEEDS=$shard_seeds \
		MDFS_MODEL_STEPS="$steps") || exit 1
	model_runs=$(( model_runs + n * shard_seeds ))
	seed=$(( seed + shard_seeds ))
	filter='fuzz_mount*/hostile*'
	shard=$(( shard + 1 ))
	n=$(run MDFS_FUZZ_SEED=$shard MDFS_FUZZ_OPS=$shard_ops) || exit 1
	fuzz_ops=$(( fuzz_ops + n * shard_ops ))
	[ "$(date +%s)" -lt "$end" ] || break
done
echo "soak: model test: seeds 1..$(( seed - 1 )), $steps steps each, over" \
	"$model_runs seed runs (transport x mode): $(( model_runs * steps ))" \
	"steps checked, no failure"
echo "soak: syscall fuzz on a mount: $shard seeds, $fuzz_ops calls, no failure"
echo "soak: world guard: /, /etc, \$HOME and every test's canary unchanged" \
	"after each of the $(( shard * 2 )) shards"
bash "$repo/scripts/fuzz.sh" "$fuzz_secs"
