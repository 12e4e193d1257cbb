// SPDX-License-Identifier: MIT
/*
 * Allocations from many call chains that share their outer frames, as an interpreter's do:
 * each of 4 threads walks 3,000 chains of random depth (0 to 90: past the unwinder's memo
 * of 64 frames) through three functions, two of which have identical frames (so that two
 * chains put the same frames at the same addresses with other return addresses), changing
 * mostly the innermost calls from one chain to the next; some allocate from a SIGUSR1
 * handler (raise: a signal frame in the walk). Built without frame pointers. Every count is
 * fixed by the seeds, whatever the threads' interleaving: t1040 compares the stacks of a
 * run with the walks' memo and of one without (HEAPSCOPE_UNWIND_REUSE=0).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define THREADS 4
#define CHAINS 3000
#define MAXLEN 90

struct chain {
	unsigned char path[MAXLEN];
	unsigned len;
	unsigned seed;
	void *keep;
};

static __thread struct chain *cur;
static void rec_a(unsigned i);
static void rec_b(unsigned i);
static void rec_c(unsigned i);
static void (*const volatile recs[3])(unsigned) = { rec_a, rec_b, rec_c };

static __thread void *volatile sink;	/* so that no malloc/free pair is optimized away */

static void on_usr1(int sig)
{
	(void)sig;
	sink = malloc(48);
	free(sink);
}

NOINLINE static void leaf(unsigned i)
{
	volatile char pad[32];

	pad[i & 31] = (char)i;
	sink = malloc(16 + (cur->seed & 127) + (size_t)(pad[i & 31] & 0));
	free(sink);
	if ((cur->seed & 15) == 3)
		raise(SIGUSR1);
	if ((cur->seed & 255) == 7) {
		free(cur->keep);
		cur->keep = malloc(200);
	}
}

/* rec_a and rec_b: the same frame */
#define REC(name, padn)                                                                   \
	NOINLINE static void name(unsigned i)                                             \
	{                                                                                 \
		volatile char pad[padn];                                                  \
		pad[0] = (char)i;                                                         \
		if (i == cur->len)                                                        \
			leaf(i);                                                          \
		else                                                                      \
			recs[cur->path[i]](i + 1);                                        \
		pad[padn - 1] = pad[0];                                                   \
	}
REC(rec_a, 24)
REC(rec_b, 24)
REC(rec_c, 120)

static unsigned next(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void *worker(void *arg)
{
	struct chain c = { .seed = (unsigned)(uintptr_t)arg };
	unsigned s = c.seed;

	cur = &c;
	for (int n = 0; n < CHAINS; n++) {
		unsigned r = next(&s);

		if (r % 5 == 0 || !c.len) {		/* a new chain */
			c.len = next(&s) % (MAXLEN + 1);
			for (unsigned k = 0; k < c.len; k++)
				c.path[k] = (unsigned char)(next(&s) % 3);
		} else {				/* its innermost calls change */
			for (unsigned k = c.len - 1 - next(&s) % (c.len < 4 ? c.len : 4);
			     k < c.len; k++)
				c.path[k] = (unsigned char)(next(&s) % 3);
		}
		c.seed = next(&s);
		rec_a(0);
	}
	free(c.keep);
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];

	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(1000 + i * 77));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	printf("walk mix done\n");
	return 0;
}
