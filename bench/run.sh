#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the benchmark (bench/run.py); `make bench` calls this. Arguments pass through.
cd "$(dirname "$0")/.." || exit 1
exec python3 bench/run.py "$@"
