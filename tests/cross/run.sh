#!/bin/sh
# SPDX-License-Identifier: MIT
# Cross-build heapscope's agent, test targets and unwinder unit test for ARCH (aarch64 or
# armhf) with Debian's cross compiler, then run them under qemu-user: the unit test, and
# the integration scenarios of tests/cross/check.py, whose recordings are read by the host
# CLI with --sysroot (as a recording from a board is read on a workstation).
#
#   tests/cross/run.sh ARCH [HOST_BUILD [SCENARIO...]]
#
# HOST_BUILD (default: build) must hold the host's CLI (make build). The cross build goes
# to $HEAPSCOPE_CROSS_BUILD, default build-ARCH. Exit status 77 (and a line saying why)
# when the cross compiler or qemu-user is missing. Needs: gcc-TRIPLE g++-TRIPLE qemu-user
# (scripts/install-deps.sh --cross). See docs/CROSS.md.
set -eu
cd "$(dirname "$0")/../.."

[ $# -ge 1 ] || { echo "usage: $0 aarch64|armhf [HOST_BUILD [SCENARIO...]]" >&2; exit 2; }
arch=$1
shift
host=${1:-build}
[ $# -ge 1 ] && shift
case $arch in
aarch64) triple=aarch64-linux-gnu qemu=qemu-aarch64 ;;
armhf) triple=arm-linux-gnueabihf qemu=qemu-arm ;;
*) echo "$0: unknown architecture '$arch' (aarch64 or armhf)" >&2; exit 2 ;;
esac
out=${HEAPSCOPE_CROSS_BUILD:-build-$arch}
root=${HEAPSCOPE_CROSS_ROOT:-/usr/$triple}

for tool in "$triple-gcc" "$triple-g++" "$qemu"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skip: $tool not installed (scripts/install-deps.sh --cross)"
		exit 77
	fi
done
if [ ! -x "$host/bin/heapscope" ]; then
	echo "$0: no host CLI at $host/bin/heapscope (run make build first)" >&2
	exit 2
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$out" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$triple.cmake" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEAPSCOPE_CROSS_ROOT="$root" >/dev/null
cmake --build "$out" -j "$jobs" >/dev/null

echo "== unwinder unit test on $arch (qemu-user)"
"$qemu" -L "$root" "$out/tests/unit/unit_unwind"
python3 tests/cross/check.py "$arch" "$out" "$host" "$@"
