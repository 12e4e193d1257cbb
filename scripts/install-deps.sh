#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what heapscope's build and tests need on Debian/Ubuntu, if it is missing.
# Quiet and quick when everything is there. Used by the Makefile and by .ci/run.
# The report formats' tests also use valgrind (ms_print reads massif.out), chromium, nodejs
# and npm (pprof-format and playwright-core, which .ci/run installs into tests/node).
# A package whose command is already on the PATH (node, npm from elsewhere) is skipped.
# qemu-system-x86 and busybox-static run t0830-dmabuf-vm (real dma-bufs in a vgem VM,
# docs/HEAPS.md; about 65 MB installed, 15 s per run; the kernel it boots is fetched with
# apt-get download into the build directory, not installed).
set -eu

need="gcc g++ make cmake pkg-config python3 libdw-dev libelf-dev zlib1g-dev libzstd-dev
	sqlite3 tmux git valgrind chromium nodejs:node npm:npm qemu-system-x86:qemu-system-x86_64
	busybox-static"
# Cross builds run under qemu-user (tests/cross, docs/CROSS.md): amd64 packages that carry
# their own copy of the target's C library under /usr/TRIPLE; no foreign dpkg architecture.
need="$need gcc-aarch64-linux-gnu g++-aarch64-linux-gnu gcc-arm-linux-gnueabihf
	g++-arm-linux-gnueabihf qemu-user"
# The torture suite (tests/torture): a program with its own allocator, one with its own
# unwinder; the fuzzers (fuzz/run.sh, CTest fuzz.smoke): clang with libFuzzer.
need="$need libjemalloc-dev libunwind-dev clang libclang-rt-14-dev"
missing=""
for entry in $need; do
	p=${entry%%:*}
	cmd=${entry#*:}
	[ "$cmd" != "$entry" ] && command -v "$cmd" >/dev/null 2>&1 && continue
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "heapscope: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
