# SPDX-License-Identifier: MIT
# A thin wrapper over CMake for the README's commands.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build demo check test clean deps bench

all: build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps.sh

# Build, then run heapscope on the bundled example program end to end.
demo: build
	$(BUILD)/bin/heapscope run -o $(BUILD)/example.hsr -- $(BUILD)/tests/targets/example_service 3
	$(BUILD)/bin/heapscope report $(BUILD)/example.hsr --leaks --top 3

# Build and pass all tests; then the unit tests and the report side's tests again with the
# CLI built with AddressSanitizer and UBSan (HEAPSCOPE_SANITIZE, label "sanitize").
SAN_BUILD ?= $(BUILD)-sanitize

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHEAPSCOPE_SANITIZE=ON >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -L sanitize

test: check

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
