#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate the stored recording of golden.c and the files the golden tests compare with:
#   tests/data/golden/make.sh BUILD_DIR
# Builds golden.c, stores the binary by build-id under debug/ (where `report --debug-dir`
# finds it), records one run from a fixed path, and rewrites expected/* from that recording.
# Review the diff of expected/ before committing: the tests trust these files.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: make.sh BUILD_DIR}" && pwd)
work=/tmp/hs-golden
rm -rf "$work" && mkdir -p "$work"
gcc -g -O1 -fno-omit-frame-pointer -fno-inline-functions-called-once -nostartfiles \
	-Wl,--build-id -o "$work/golden" "$here/golden.c"
id=$(readelf -n "$work/golden" | sed -n 's/.*Build ID: *//p')
rm -rf "$here/debug" && mkdir -p "$here/debug/.build-id/$(echo "$id" | cut -c1-2)"
cp "$work/golden" "$here/debug/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug"
(cd "$work" && "$build/bin/heapscope" run -o golden.hsr -- ./golden >/dev/null 2>&1)
cp "$work/golden.hsr" "$here/golden.hsr"
python3 "$here/../../integration/t0510-folded-svg.py" "$build" --regenerate
