// SPDX-License-Identifier: MIT
/*
 * A program that runs for a while (ITER iterations of SLEEP_MS, 20 s by default) with a
 * steady heap: each iteration allocates 100 blocks of 100..199 bytes from long_work(),
 * frees those of the iteration before, and every 10th iteration leaks one 1000-byte block
 * from long_leak(). Stands in, in CI, for programs that run for minutes: periodic
 * snapshots and autosaves happen all along. Prints "long done ITER".
 * Usage: torture_long [ITER [SLEEP_MS]]. See tests/integration/t1000-torture-long.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile kept[1000];

__attribute__((noinline)) static void long_work(void **cur)
{
	for (int k = 0; k < 100; k++)
		cur[k] = malloc(100 + (size_t)k);
}

__attribute__((noinline)) static void long_leak(int i)
{
	kept[(i / 10) % 1000] = malloc(1000);
}

int main(int argc, char **argv)
{
	int iter = argc > 1 ? atoi(argv[1]) : 200, ms = argc > 2 ? atoi(argv[2]) : 100;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	void *a[100] = { 0 }, *b[100] = { 0 }, **cur = a, **prev = b, **t;

	for (int i = 0; i < iter; i++) {
		long_work(cur);
		for (int k = 0; k < 100; k++)
			free(prev[k]);
		if (i % 10 == 0)
			long_leak(i);
		t = prev, prev = cur, cur = t;
		nanosleep(&ts, NULL);
	}
	for (int k = 0; k < 100; k++)
		free(prev[k]);
	printf("long done %d\n", iter);
	return 0;
}
