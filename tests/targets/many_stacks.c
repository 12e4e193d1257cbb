// SPDX-License-Identifier: MIT
/*
 * many_stacks: allocations from 2^LEVELS distinct call stacks, for tests that need a big
 * recording (t0540-progress: a report long enough to show its progress line). The program
 * is the benchmark's workload (bench/workloads/many_stacks.c), built here as a test target.
 */
#include "../../bench/workloads/many_stacks.c"
