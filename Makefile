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

# Build and pass all tests.
check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test: check

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD)
