// SPDX-License-Identifier: MIT
/*
 * 8 threads, each allocating and freeing in a ring shared with its neighbour, so blocks are
 * freed by other threads than the one that allocated them. Every thread leaks exactly
 * LEAKS blocks of 24 bytes from leak_some(). Usage: stress_mt [OPS_PER_THREAD].
 * See tests/integration/t0200-threads.py.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 8
#define RING 1024
#define LEAKS 3

static _Atomic(void *) ring[NTHREADS][RING];
static long ops = 200000;

__attribute__((noinline)) static void *alloc_block(long i)
{
	return malloc(16 + (size_t)(i % 7) * 16);
}

__attribute__((noinline)) static void leak_some(void)
{
	static void *volatile sink;

	for (int i = 0; i < LEAKS; i++)
		sink = malloc(24);
}

static void *worker(void *arg)
{
	long me = (long)arg, next = (me + 1) % NTHREADS;

	for (long i = 0; i < ops; i++) {
		void *p = alloc_block(i);
		/* Put ours in our ring; free whatever sat in the neighbour's slot. */
		void *old = atomic_exchange(&ring[me][i % RING], p);
		void *theirs = atomic_exchange(&ring[next][(i * 7) % RING], NULL);

		free(old);
		free(theirs);
	}
	leak_some();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[NTHREADS];

	if (argc > 1)
		ops = atol(argv[1]);
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		for (int j = 0; j < RING; j++)
			free(atomic_exchange(&ring[i][j], NULL));
	printf("stress done: %ld ops\n", ops * NTHREADS);
	return 0;
}
