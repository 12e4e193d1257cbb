// SPDX-License-Identifier: MIT
/*
 * Crashes on demand, for crash-safety tests. crash_alloc() allocates N blocks of
 * 16 + i % 64 bytes (kept), then, by MODE:
 *   segv   writes through a NULL pointer (SIGSEGV)
 *   abort  calls abort() (SIGABRT)
 *   wait   prints "ready N", then ticks forever: tick() mallocs and frees 32 bytes every
 *          TICK_MS (10), until it is killed
 *   run    the same for TICKS ticks, then prints "done" and exits 0
 * Usage: torture_crash MODE N [TICKS]. See tests/integration/t1020-crash.py.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void **kept;

__attribute__((noinline)) static void crash_alloc(long n)
{
	kept = calloc((size_t)n + 1, sizeof(void *));
	for (long i = 0; i < n; i++)
		kept[i] = malloc(16 + (size_t)(i % 64));
}

__attribute__((noinline)) static void tick(void)
{
	struct timespec ts = { 0, 10000000L };
	void *volatile p = malloc(32);

	free(p);
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "run";
	long n = argc > 2 ? atol(argv[2]) : 1000, ticks = argc > 3 ? atol(argv[3]) : 10;

	crash_alloc(n);
	if (!strcmp(mode, "segv"))
		*(volatile int *)kept[n] = 1;	/* kept[n] is NULL */
	if (!strcmp(mode, "abort"))
		abort();
	if (!strcmp(mode, "wait")) {
		printf("ready %ld\n", n);
		fflush(stdout);
		for (;;)
			tick();
	}
	for (long i = 0; i < ticks; i++)
		tick();
	printf("done\n");
	return 0;
}
