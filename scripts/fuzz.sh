#!/usr/bin/env bash
# Build and run the libFuzzer target of core/'s parsers (clang; ASan and
# UBSan included). Usage: scripts/fuzz.sh [SECONDS]  (default 30)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
out=$repo/build-fuzz
mkdir -p "$out/corpus"
clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined \
	-I"$repo/core" -I"$repo/include" -I"$repo/build" \
	"$repo/core/config.c" "$repo/core/abi.c" \
	"$repo/tests/fuzz/fuzz_parsers.c" -o "$out/fuzz_parsers"
# seeds: every option we know, and each ioctl struct well-formed
if [ -z "$(ls -A "$out/corpus")" ]; then
	i=0
	for o in lease_break_time=0.5 revoke=kill dax=require io_uring=on \
		 passthrough=off mediate=all lease_break_time=86400; do
		printf '\0%s' "$o" > "$out/corpus/opt$((i++))"
	done
	printf '\001%s' 1.250 > "$out/corpus/secs"
	printf '\002\000\070\000\000\000%*s' 52 '' | tr ' ' '\0' > "$out/corpus/lease"
fi
"$out/fuzz_parsers" -max_total_time="$secs" -print_final_stats=1 \
	"$out/corpus" 2>&1 | tail -n 15
