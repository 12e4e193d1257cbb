#!/bin/sh
# SPDX-License-Identifier: MIT
# Build heapscope's libFuzzer targets with clang and run each for SECONDS.
#   fuzz/run.sh [-b BUILD_DIR] SECONDS [reader|options|suppress ...]
# Targets: reader (the recording reader), options (the agent's HEAPSCOPE_* parser),
# suppress (the suppression parser and matcher). Seeds come from fuzz/corpus/NAME (read,
# never written); new inputs go to BUILD_DIR/corpus/NAME, crashes to BUILD_DIR/crashes.
# Prints "NAME: N runs, no crash" per target. Exit 0: no crash; 1: a crash (the input is
# kept); 77: clang's libFuzzer is not available (CTest reports a skip).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build-fuzz
if [ "${1:-}" = "-b" ]; then
	build=$2
	shift 2
fi
secs=${1:?usage: fuzz/run.sh [-b BUILD_DIR] SECONDS [TARGET...]}
shift
targets=${*:-reader options suppress}
cc=${CC_FUZZ:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found (apt-get install clang libclang-rt-dev)" >&2
	exit 77
fi
mkdir -p "$build/crashes"
probe=$build/probe.c
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$probe"
if ! "$cc" -fsanitize=fuzzer "$probe" -o "$build/probe" 2>/dev/null; then
	echo "fuzz: $cc cannot link -fsanitize=fuzzer (apt-get install libclang-rt-dev)" >&2
	exit 77
fi

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
flags="$flags -I$root/src/record -I$root/src/analyze -I$root/src/agent -I$root/include"
srcs_reader=$(echo "$root"/src/record/hsr_reader*.c "$root/src/record/hsr_kind.c" \
	"$root/src/record/hsr_compress.c")
srcs_options="$root/src/agent/fmt.c"
srcs_suppress="$root/src/analyze/suppress.c"

build_one() {
	case $1 in
	reader) extra="$srcs_reader -lzstd" ;;
	options)
		# options.c reads the fake environment of fuzz_options.c.
		"$cc" $flags -Dgetenv=fuzz_getenv -c "$root/src/agent/options.c" \
			-o "$build/options_lib.o"
		extra="$srcs_options $build/options_lib.o" ;;
	suppress) extra=$srcs_suppress ;;
	*) echo "fuzz: unknown target $1" >&2; exit 2 ;;
	esac
	# shellcheck disable=SC2086
	"$cc" $flags "$here/fuzz_$1.c" $extra -o "$build/fuzz_$1"
}

status=0
for t in $targets; do
	build_one "$t"
	mkdir -p "$build/corpus/$t"
	log=$build/fuzz_$t.log
	if "$build/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$build/crashes/$t-" \
		"$build/corpus/$t" "$here/corpus/$t" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "$t: ${runs:-?} runs in ${secs}s, no crash"
	else
		echo "$t: CRASH, see $log and $build/crashes/" >&2
		tail -40 "$log" >&2
		status=1
	fi
done
exit $status
