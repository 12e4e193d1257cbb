// SPDX-License-Identifier: MIT
/*
 * Signals in the middle of malloc, with handlers that allocate. NW workers call malloc,
 * calloc, realloc and free in a loop (OPS each, in work_malloc/work_calloc/work_realloc)
 * while a sender thread fires SIGUSR1 at them as fast as it can and a SIGALRM timer fires
 * every 100 us; both handlers allocate on every signal, wherever it lands: sig_churn()
 * does malloc(33), realloc to 66 and free, sig_leak() leaks 11 bytes, and SIGALRM may
 * interrupt the SIGUSR1 handler. The allocator is libtorture_bump (async-signal-safe), so
 * the program alone cannot deadlock. Prints "signals done NW x OPS" on stdout and
 * "handled H" on stderr. Usage: torture_signals [OPS].
 * See tests/integration/t1000-torture-signals.py.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define NW 4
#define MAX_LEAKS 2000000

static long ops = 50000;
static atomic_long handled;
static atomic_int finished;
static void *leaks[MAX_LEAKS];
static void *volatile sink;

__attribute__((noinline)) static void sig_churn(void)
{
	char *p = malloc(33), *q;

	p[0] = 1;
	q = realloc(p, 66);
	free(q);
}

__attribute__((noinline)) static void sig_leak(void)
{
	long i = atomic_fetch_add(&handled, 1);

	leaks[i < MAX_LEAKS ? i : 0] = malloc(11);
}

static void on_signal(int sig)
{
	(void)sig;
	sig_churn();
	sig_leak();
}

__attribute__((noinline)) static void *work_malloc(long i)
{
	return malloc(16 + (size_t)(i % 100));
}

__attribute__((noinline)) static void *work_calloc(long i)
{
	return calloc(1 + (size_t)(i % 10), 8);
}

__attribute__((noinline)) static void *work_realloc(void *p, long i)
{
	return realloc(p, 200 + (size_t)(i % 50));
}

static void *worker(void *arg)
{
	for (long i = 0; i < ops; i++) {
		void *a = work_malloc(i), *b = work_calloc(i);

		a = work_realloc(a, i);
		free(b);
		free(a);
	}
	atomic_fetch_add(&finished, 1);
	return arg;
}

static void *sender(void *arg)
{
	pthread_t *w = arg;

	/* A worker that has returned but is not joined yet may still be named. */
	for (unsigned long n = 0; atomic_load(&finished) < NW; n++)
		pthread_kill(w[n % NW], SIGUSR1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t w[NW], s;
	struct sigaction sa;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };

	if (argc > 1)
		ops = atol(argv[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < NW; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&s, NULL, sender, w);
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_join(s, NULL);
	for (int i = 0; i < NW; i++)
		pthread_join(w[i], NULL);
	it.it_value.tv_usec = it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	sink = leaks;
	printf("signals done %d x %ld\n", NW, ops);
	fprintf(stderr, "handled %ld\n", atomic_load(&handled));
	return 0;
}
