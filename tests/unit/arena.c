// SPDX-License-Identifier: MIT
/*
 * Unit test of the agent's arena (src/agent/arena.c): memory handed out is zeroed and
 * aligned; memory given back is carved by later requests of any size (zeroed again, never
 * two requests in one place), rests too small for a small request do not block the list,
 * and threads allocating and giving back at once never get overlapping memory.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"

#include "unit.h"

static int zeroed(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int inside(const void *p, const void *lo, size_t n)
{
	return (uintptr_t)p >= (uintptr_t)lo && (uintptr_t)p < (uintptr_t)lo + n;
}

static void test_reuse(void)
{
	unsigned char *t = hs_arena_alloc(512, 64), *a, *b, *c, *d;
	size_t used;

	CHECK(t && ((uintptr_t)t & 63) == 0 && zeroed(t, 512));
	memset(t, 0xa5, 512);
	used = hs_arena_used_bytes();
	hs_arena_give_back(t, 512);
	CHECK(hs_arena_used_bytes() == used - 512);
	/* three records of 136 bytes come out of the 512 given back, zeroed, apart */
	a = hs_arena_alloc(136, 8);
	b = hs_arena_alloc(136, 8);
	c = hs_arena_alloc(136, 8);
	CHECK(inside(a, t, 512) && inside(b, t, 512) && inside(c, t, 512));
	CHECK(a + 136 <= b && b + 136 <= c && c + 136 <= t + 512);
	CHECK(zeroed(a, 136) && zeroed(b, 136) && zeroed(c, 136));
	/* the rest (104 bytes) is too small for a fourth: that one is fresh memory */
	d = hs_arena_alloc(136, 8);
	CHECK(d && !inside(d, t, 512) && zeroed(d, 136));
	/* a request with a larger alignment is carved at an aligned place */
	t = hs_arena_alloc(1024, 64);
	hs_arena_give_back(t, 1024);
	a = hs_arena_alloc(100, 8);
	b = hs_arena_alloc(256, 256);
	CHECK(inside(a, t, 1024) && inside(b, t, 1024) && ((uintptr_t)b & 255) == 0);
	CHECK(b >= a + 100 && b + 256 <= t + 1024);
	hs_arena_give_back(NULL, 64);	/* nothing */
}

/*
 * Blocks too small for the requests that meet them are dropped from the list as they are
 * met (at most 8 looked at per request), so that a block that fits behind them is reached.
 */
static void test_rests(void)
{
	unsigned char *small[12], *big, *p, *q;

	for (int i = 0; i < 12; i++)
		small[i] = hs_arena_alloc(96, 8);
	big = hs_arena_alloc(4096, 64);
	hs_arena_give_back(big, 4096);
	for (int i = 0; i < 12; i++)
		hs_arena_give_back(small[i], 96);	/* in front of big */
	p = hs_arena_alloc(136, 8);	/* drops 8 of them */
	q = hs_arena_alloc(136, 8);	/* drops the other 4 and takes big */
	CHECK(!inside(p, big, 4096) && inside(q, big, 4096));
	for (int i = 0; i < 12; i++)
		CHECK(!inside(small[i], p, 136) && !inside(small[i], q, 136));
}

#define THREADS 4
#define ROUNDS 20000

struct job {
	unsigned char *mine[64];
	int bad;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	unsigned char tag = (unsigned char)(((uintptr_t)j >> 4) | 1);

	for (int r = 0; r < ROUNDS; r++) {
		int k = r & 63;
		size_t size = 64 + (size_t)(r % 7) * 40;

		if (j->mine[k]) {
			/* still ours: nobody else wrote into it */
			for (size_t i = 0; i < 64; i++)
				if (j->mine[k][i] != tag)
					j->bad++;
			hs_arena_give_back(j->mine[k], 64);
		}
		j->mine[k] = hs_arena_alloc(size, 8);
		if (!j->mine[k] || !zeroed(j->mine[k], size))
			j->bad++;
		else
			memset(j->mine[k], tag, 64);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[THREADS];
	static struct job jobs[THREADS];

	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, &jobs[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK(jobs[i].bad == 0);
	}
}

int main(void)
{
	test_reuse();
	test_rests();
	test_threads();
	if (failures) {
		fprintf(stderr, "unit_arena: %d check(s) failed\n", failures);
		return 1;
	}
	printf("unit_arena: all checks passed\n");
	return 0;
}
