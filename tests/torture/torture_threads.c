// SPDX-License-Identifier: MIT
/*
 * Many threads, created and ended in waves, allocating and freeing across threads: in each
 * of WAVES waves, NT threads each allocate OPS blocks from mt_alloc(), grow every other
 * one of its neighbour's blocks with realloc() in mt_grow() and free all of the
 * neighbour's blocks, and leak one 40-byte calloc block from mt_leak(). Usage:
 * torture_threads [OPS]. Prints "threads done WAVES x NT x OPS".
 * See tests/integration/t1000-torture-threads.py, which knows these figures.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WAVES 4
#define NT 16

static long ops = 20000;
static void **slots[NT];
static pthread_barrier_t barrier;
static void *volatile leaks[WAVES * NT];

__attribute__((noinline)) static void *mt_alloc(long k)
{
	return malloc(8 + (size_t)(k % 13) * 8);
}

__attribute__((noinline)) static void *mt_grow(void *p, long k)
{
	return realloc(p, 200 + (size_t)(k % 5) * 8);
}

__attribute__((noinline)) static void mt_leak(int wave, int i)
{
	leaks[wave * NT + i] = calloc(5, 8);
}

struct arg {
	int wave, i;
};

static void *worker(void *p)
{
	struct arg *a = p;
	void **mine = slots[a->i], **next = slots[(a->i + 1) % NT];

	for (long k = 0; k < ops; k++)
		mine[k] = mt_alloc(k);
	pthread_barrier_wait(&barrier);
	for (long k = 0; k < ops; k++) {
		void *b = next[k];

		if (k % 2 == 0)
			b = mt_grow(b, k);
		free(b);
	}
	mt_leak(a->wave, a->i);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	struct arg args[NT];

	if (argc > 1)
		ops = atol(argv[1]);
	for (int i = 0; i < NT; i++)
		slots[i] = calloc((size_t)ops, sizeof(void *));
	for (int w = 0; w < WAVES; w++) {
		pthread_barrier_init(&barrier, NULL, NT);
		for (int i = 0; i < NT; i++) {
			args[i] = (struct arg){ w, i };
			pthread_create(&th[i], NULL, worker, &args[i]);
		}
		for (int i = 0; i < NT; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&barrier);
	}
	for (int i = 0; i < NT; i++)
		free(slots[i]);
	printf("threads done %d x %d x %ld\n", WAVES, NT, ops);
	return 0;
}
