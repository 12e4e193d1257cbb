// SPDX-License-Identifier: MIT
/*
 * A program with its own libunwind (the nongnu one, -lunwind) that walks its own stack
 * while the agent walks it too: at the bottom of a DEPTH-deep recursion, uw_leaf() calls
 * unw_backtrace() and a manual unw_step() loop, then allocates (one 64-byte block leaked
 * per call). libunwind maps and caches for itself; neither may disturb the other.
 * Prints "libunwind: N calls, stacks deep enough". Usage: torture_libunwind [N].
 * See tests/integration/t1000-torture-allocators.py.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>

#define DEPTH 20

static void *volatile kept[100000];
static int shallow;
static void *volatile sink;

__attribute__((noinline)) static void uw_leaf(long i)
{
	void *pcs[128];
	unw_context_t ctx;
	unw_cursor_t cur;
	int n = unw_backtrace(pcs, 128), steps = 0;

	unw_getcontext(&ctx);
	unw_init_local(&cur, &ctx);
	while (unw_step(&cur) > 0 && steps < 128)
		steps++;
	if (n < DEPTH || steps < DEPTH)
		shallow++;
	kept[i % 100000] = malloc(64);
	sink = malloc(32);
	free(sink);
}

__attribute__((noinline)) static void uw_recurse(int d, long i)
{
	if (d == 0)
		uw_leaf(i);
	else
		uw_recurse(d - 1, i);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;

	for (long i = 0; i < n; i++)
		uw_recurse(DEPTH, i);
	printf("libunwind: %ld calls, %s\n", n, shallow ? "stacks too shallow" : "stacks deep enough");
	return shallow != 0;
}
