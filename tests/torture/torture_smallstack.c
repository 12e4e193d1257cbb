// SPDX-License-Identifier: MIT
/*
 * Threads on the smallest stack pthreads allows (PTHREAD_STACK_MIN), each filling all but
 * a little of it with a buffer of its own before it allocates: what the agent adds to every
 * thread's stack (its thread-local memory lies there too) and uses in a hook must fit in
 * the rest. Usage: torture_smallstack BYTES: NT threads, each with a BYTES buffer, each
 * allocating OPS 32-byte blocks from ss_alloc() and freeing them. Prints "smallstack done
 * NT x OPS". t1000-torture-smallstack.py finds the largest BYTES that runs without the agent.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NT 8
#define OPS 1000

static size_t use;

__attribute__((noinline)) static void *ss_alloc(void)
{
	return malloc(32);
}

__attribute__((noinline)) static void churn(void)
{
	void *keep[16];

	for (int k = 0; k < OPS; k++) {
		if (k >= 16)
			free(keep[k % 16]);
		keep[k % 16] = ss_alloc();
	}
	for (int k = 0; k < 16; k++)
		free(keep[k]);
}

static void *worker(void *arg)
{
	volatile char buf[use];

	(void)arg;
	memset((char *)buf, 1, use);
	churn();
	return (void *)(long)buf[use - 1];
}

int main(int argc, char **argv)
{
	pthread_t th[NT];
	pthread_attr_t attr;

	use = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	if (use == 0)
		use = 1;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
	for (int i = 0; i < NT; i++)
		if (pthread_create(&th[i], &attr, worker, NULL)) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	printf("smallstack done %d x %d\n", NT, OPS);
	return 0;
}
