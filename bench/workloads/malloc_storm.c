// SPDX-License-Identifier: MIT
/*
 * malloc_storm: the benchmark's allocation-heavy C workload.
 *
 * Usage: malloc_storm THREADS OPS_PER_THREAD
 *
 * Each thread allocates blocks of random size (16..4096 bytes) from a call
 * stack about ten frames deep (a recursive helper, so an unwinder sees a
 * realistic stack), keeps a window of live blocks and frees the oldest one
 * when the window is full. Every 8th block is handed to a shared ring
 * instead, and the thread frees whatever other threads put there, so some
 * frees happen on a thread other than the allocating one.
 *
 * The output (one checksum line) depends only on the arguments, never on
 * thread scheduling, so the benchmark can compare it across tools. Built
 * without frame pointers on purpose (the Debian default).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	WINDOW = 2048,     /* live blocks per thread */
	RING = 1024,       /* slots in the shared cross-thread ring */
	SHARE_EVERY = 8,   /* every Nth block goes to the ring */
	DEPTH = 10,        /* frames from the thread entry to malloc */
	MIN_SIZE = 16,
	MAX_SIZE = 4096,
};

struct ring {
	pthread_mutex_t lock;
	void *slot[RING];
	unsigned head, count;
};

struct worker {
	pthread_t thread;
	unsigned id;
	long ops;
	uint64_t rng;
	uint64_t checksum;
	struct ring *ring;
	void *window[WINDOW];
};

static uint64_t next_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Put p in the ring; returns the block it displaced (or NULL) for the caller to free. */
static void *ring_swap(struct ring *r, void *p)
{
	void *old = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->count == RING) {
		old = r->slot[r->head];
		r->slot[r->head] = p;
		r->head = (r->head + 1) % RING;
	} else {
		r->slot[(r->head + r->count) % RING] = p;
		r->count++;
	}
	pthread_mutex_unlock(&r->lock);
	return old;
}

static void ring_drain(struct ring *r)
{
	while (r->count) {
		free(r->slot[r->head]);
		r->head = (r->head + 1) % RING;
		r->count--;
	}
}

/* The leaf: one allocation, touched so it is not optimized away. */
static __attribute__((noinline)) void *alloc_leaf(struct worker *w, size_t size)
{
	unsigned char *p = malloc(size);

	if (!p) {
		fprintf(stderr, "malloc_storm: out of memory\n");
		exit(1);
	}
	p[0] = (unsigned char)size;
	p[size - 1] = (unsigned char)w->id;
	w->checksum += size * 2654435761u + p[0];
	return p;
}

/* Recurse to DEPTH frames; the volatile add after the call keeps it a real call. */
static __attribute__((noinline)) void *descend(struct worker *w, int depth, size_t size)
{
	volatile int guard = depth;
	void *p;

	if (depth == 0)
		p = alloc_leaf(w, size);
	else
		p = descend(w, depth - 1, size);
	guard += 1;
	return p;
}

static void step(struct worker *w, long i)
{
	size_t size = MIN_SIZE + next_rand(&w->rng) % (MAX_SIZE - MIN_SIZE + 1);
	void *p = descend(w, DEPTH - 3, size);
	unsigned slot = (unsigned)(i % WINDOW);

	if (i % SHARE_EVERY == 0) {
		free(ring_swap(w->ring, p));
		return;
	}
	free(w->window[slot]);
	w->window[slot] = p;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (long i = 0; i < w->ops; i++)
		step(w, i);
	for (unsigned i = 0; i < WINDOW; i++)
		free(w->window[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	struct ring ring = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct worker *workers;
	unsigned nthreads;
	long ops;
	uint64_t total = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: malloc_storm THREADS OPS_PER_THREAD\n");
		return 2;
	}
	nthreads = (unsigned)strtoul(argv[1], NULL, 10);
	ops = strtol(argv[2], NULL, 10);
	if (nthreads < 1 || nthreads > 256 || ops < 1) {
		fprintf(stderr, "malloc_storm: bad arguments\n");
		return 2;
	}
	workers = calloc(nthreads, sizeof(*workers));
	if (!workers)
		return 1;
	for (unsigned t = 0; t < nthreads; t++) {
		workers[t].id = t;
		workers[t].ops = ops;
		workers[t].rng = 0x9e3779b97f4a7c15ull * (t + 1);
		workers[t].ring = &ring;
		if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t])) {
			fprintf(stderr, "malloc_storm: cannot create thread\n");
			return 1;
		}
	}
	for (unsigned t = 0; t < nthreads; t++) {
		pthread_join(workers[t].thread, NULL);
		total += workers[t].checksum;
	}
	ring_drain(&ring);
	free(workers);
	printf("malloc_storm threads=%u ops=%ld checksum=%016llx\n", nthreads, ops,
	       (unsigned long long)total);
	return 0;
}
