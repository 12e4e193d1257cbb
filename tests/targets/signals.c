// SPDX-License-Identifier: MIT
/*
 * Allocation in signal handlers: a SIGALRM timer fires while the main loop allocates and
 * frees; the handler leaks one 77-byte block per signal and frees a temporary one. glibc's
 * malloc is not async-signal-safe, so the handler allocates only when the main loop is not
 * inside an allocation function (the program alone would crash otherwise). The program
 * prints how many signals it handled; heapscope must count exactly that many leaks.
 * See tests/integration/t0210-signals.py.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t handled, in_malloc;
static volatile long work;
static void *volatile leaks[100000];

__attribute__((noinline)) static void handler_alloc(void)
{
	void *t = malloc(1000);

	__asm__ volatile("" : : "r"(t) : "memory");
	leaks[handled] = malloc(77);
	free(t);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (!in_malloc && handled < 100000) {
		handler_alloc();
		handled++;
	}
}

__attribute__((noinline)) static void busy_loop(long n)
{
	for (long i = 0; i < n; i++) {
		char *p;

		in_malloc = 1;
		p = malloc(32 + (size_t)(i & 255));
		in_malloc = 0;
		for (int j = 0; j < 64; j++)
			work += j ^ i;	/* time outside malloc, for the signal to land in */
		p[0] = 1;
		__asm__ volatile("" : : "r"(p) : "memory");
		in_malloc = 1;
		free(p);
		in_malloc = 0;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	long n = argc > 1 ? atol(argv[1]) : 3000000;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	busy_loop(n);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	printf("handled %d\n", (int)handled);
	return 0;
}
