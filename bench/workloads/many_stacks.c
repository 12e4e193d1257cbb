// SPDX-License-Identifier: MIT
/*
 * many_stacks: a workload that makes a big recording, for timing `heapscope report`.
 *
 * Usage: many_stacks CALLS [LEVELS]
 *
 * Every allocation comes from a recursion LEVELS deep (default 17) that, at each level,
 * goes through one of two functions (left or right) chosen by one bit of a counter, so
 * the counter's low LEVELS bits pick one of 2^LEVELS distinct call stacks (131,072 for
 * 17 levels). The frames are real calls: the functions are noinline and store to a
 * volatile after each call, so no call becomes a tail call. The first allocation of each
 * stack stays live to the end (reachable from a global array); the others go through a
 * window of live blocks, so the peak and the leaks view both hold every stack. Prints one
 * checksum line that depends only on the arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	WINDOW = 4096,		/* churning live blocks */
	MAX_LEVELS = 24,
};

static volatile unsigned sink;
static void **kept;		/* one block per stack, live to the end */
static void *window[WINDOW];

static void *level(unsigned bits, int depth, size_t size);

__attribute__((noinline)) static void *left(unsigned bits, int depth, size_t size)
{
	void *p = level(bits >> 1, depth - 1, size);

	sink += 1;
	return p;
}

__attribute__((noinline)) static void *right(unsigned bits, int depth, size_t size)
{
	void *p = level(bits >> 1, depth - 1, size + 8);

	sink += 2;
	return p;
}

__attribute__((noinline)) static void *level(unsigned bits, int depth, size_t size)
{
	void *p;

	if (depth == 0) {
		p = malloc(size);
		sink += 3;
		return p;
	}
	p = (bits & 1) ? left(bits, depth, size) : right(bits, depth, size);
	sink += 4;
	return p;
}

/* Allocate call i from stack (i mod 2^levels); keep it or put it in the window. */
static unsigned long step(unsigned long i, int levels, unsigned long nstacks)
{
	unsigned bits = (unsigned)(i & (nstacks - 1));
	char *p = level(bits, levels, 16 + (i % 32) * 4);

	if (!p)
		exit(1);
	p[0] = (char)i;
	if (i < nstacks) {
		kept[i] = p;
		return (unsigned char)p[0];
	}
	free(window[i % WINDOW]);
	window[i % WINDOW] = p;
	return (unsigned char)p[0];
}

int main(int argc, char **argv)
{
	unsigned long calls, nstacks, sum = 0;
	int levels = 17;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: many_stacks CALLS [LEVELS]\n");
		return 2;
	}
	calls = strtoul(argv[1], NULL, 10);
	if (argc == 3)
		levels = atoi(argv[2]);
	if (levels < 1 || levels > MAX_LEVELS) {
		fprintf(stderr, "many_stacks: LEVELS must be 1..%d\n", MAX_LEVELS);
		return 2;
	}
	nstacks = 1UL << levels;
	kept = calloc(nstacks, sizeof(*kept));
	if (!kept)
		return 1;
	for (unsigned long i = 0; i < calls; i++)
		sum += step(i, levels, nstacks);
	for (unsigned long i = 0; i < WINDOW; i++)
		free(window[i]);
	printf("many_stacks: %lu calls over %lu stacks, checksum %lu\n", calls, nstacks, sum);
	return 0;
}
