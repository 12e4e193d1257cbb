// SPDX-License-Identifier: MIT
/*
 * The stack table (src/agent/stacktab.c): stacks that share outer frames share their
 * nodes in the frame tree (exactly one node per distinct chain of outer frames), a
 * stack's frames read back as interned, kind and depth are part of its identity, threads
 * interning the same stacks at once get the same records and no extra node, a signal
 * handler's stack that cannot join the tree keeps its own frames, a record found before its
 * id is published is found by its id (and, after a fork, in the child), and a full table
 * counts on the overflow record.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "hsr_format.h"
#include "stacktab.h"
#include "unit.h"

__thread struct hs_thread hs_self;

uint32_t hs_modules_epoch(void)
{
	return 0;
}

uint64_t hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define NSTACKS 4000
#define MAXD 64
#define THREADS 4

static uintptr_t stk[NSTACKS][MAXD];
static unsigned depth[NSTACKS];
static struct hs_stack *rec[NSTACKS];

/*
 * Stacks as a program makes them: the outer frames follow a few call paths (a choice of
 * two every eighth level), the innermost frame varies most.
 */
static void make_stacks(void)
{
	uint64_t r = 88172645463325252ull;

	for (unsigned k = 0; k < NSTACKS; k++) {
		depth[k] = 1 + (unsigned)(k * 7919u % MAXD);
		for (unsigned j = 0; j < depth[k]; j++) {
			unsigned outer = depth[k] - 1 - j;	/* 0 = outermost */
			unsigned pool = j == 0 ? 40 : outer % 8 == 0 ? 2 : 1;

			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			stk[k][j] = 0x400000u + 0x1000u * outer + 16u * (unsigned)(r % pool);
		}
	}
}

/* Distinct chains of outer frames (suffixes of the stacks): the nodes the tree must hold. */
static size_t distinct_suffixes(void)
{
	size_t cap = 1u << 20, n = 0;
	uint64_t *seen = calloc(cap, sizeof(*seen));

	CHECK(seen != NULL);
	for (unsigned k = 0; k < NSTACKS; k++) {
		uint64_t h = 0xcbf29ce484222325ull;

		for (unsigned j = depth[k]; j-- > 0;) {	/* outermost first: a chain's hash */
			size_t i;

			h = (h ^ stk[k][j]) * 0x100000001b3ull;
			h ^= h >> 31;
			h |= 1;
			for (i = h & (cap - 1); seen[i] && seen[i] != h; i = (i + 1) & (cap - 1))
				;
			if (!seen[i]) {
				seen[i] = h;
				n++;
			}
		}
	}
	free(seen);
	return n;
}

static void *intern_all(void *arg)
{
	unsigned start = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < NSTACKS; i++) {
		unsigned k = (start + i * 7u) % NSTACKS;
		struct hs_stack *s = hs_stacktab_intern(HSR_KIND_MALLOC, stk[k], depth[k]);

		if (__atomic_load_n(&rec[k], __ATOMIC_ACQUIRE))
			CHECK(rec[k] == s);
		else
			__atomic_store_n(&rec[k], s, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * A record found in the table before its id is published: the interning thread stops
 * between the two (hs_stacktab_placed) while another finds the stack, which must then be
 * found by its id too (a free looks its block's stack up by id).
 */
static atomic_int pause_state;	/* 1: pause the next new record; 2: paused; 3: go on */

void hs_stacktab_placed(struct hs_stack *s)
{
	int one = 1;

	(void)s;
	if (!atomic_compare_exchange_strong(&pause_state, &one, 2))
		return;
	while (atomic_load(&pause_state) != 3)
		sched_yield();
}

static uintptr_t window_frames[2] = { 0xa00010, 0xa00020 };

static void *intern_window(void *arg)
{
	*(struct hs_stack **)arg = hs_stacktab_intern(HSR_KIND_MALLOC, window_frames, 2);
	return NULL;
}

static void test_found_before_published(void)
{
	pthread_t th;
	struct hs_stack *first = NULL, *found;

	atomic_store(&pause_state, 1);
	if (pthread_create(&th, NULL, intern_window, &first) != 0) {
		CHECK(!"pthread_create");
		return;
	}
	while (atomic_load(&pause_state) != 2)
		sched_yield();
	found = hs_stacktab_intern(HSR_KIND_MALLOC, window_frames, 2);
	CHECK(found && found->id && hs_stacktab_get(found->id) == found);
	atomic_store(&pause_state, 3);
	pthread_join(th, NULL);
	CHECK(first == found && hs_stacktab_get(first->id) == first);
}

/*
 * A fork while another thread is between the two: in the child, where that thread is not,
 * the record it put in the table is published, not given up (the child counts on it).
 */
static uintptr_t fork_frames[2] = { 0xb00010, 0xb00020 };

static void *intern_fork(void *arg)
{
	(void)arg;
	hs_stacktab_intern(HSR_KIND_MALLOC, fork_frames, 2);
	return NULL;
}

static void test_fork_before_published(void)
{
	pthread_t th;
	pid_t pid;
	int status = -1;

	atomic_store(&pause_state, 1);
	if (pthread_create(&th, NULL, intern_fork, NULL) != 0) {
		CHECK(!"pthread_create");
		return;
	}
	while (atomic_load(&pause_state) != 2)
		sched_yield();
	pid = fork();
	if (pid == 0) {
		uint32_t id = hs_stacktab_max_id();
		const struct hs_stack *s;
		uintptr_t back[4];

		hs_stacktab_atfork_child();
		s = hs_stacktab_get(id);
		_exit(s && hs_stacktab_ready_id() == id && hs_stacktab_frames(s, back, 4) == 2 &&
		      back[0] == fork_frames[0] ? 0 : 1);
	}
	atomic_store(&pause_state, 3);
	pthread_join(th, NULL);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	pthread_t th[THREADS];
	uintptr_t back[MAXD];

	CHECK(hs_stacktab_init(NSTACKS * 2) == 0);
	make_stacks();

	/* several threads at once, each in its own order */
	for (unsigned t = 0; t < THREADS; t++)
		CHECK(pthread_create(&th[t], NULL, intern_all, (void *)(uintptr_t)(t * 997)) == 0);
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* every id handed out is published or given up for good: a writer may list them all */
	CHECK(hs_stacktab_ready_id() == hs_stacktab_max_id());

	/* one node per distinct chain of outer frames, none wasted by the races */
	CHECK(hs_stacktab_nodes() == distinct_suffixes());
	{
		size_t frames = 0;

		for (unsigned k = 0; k < NSTACKS; k++)
			frames += depth[k];
		fprintf(stderr, "%u stacks, %zu frames, %u nodes\n", NSTACKS, frames,
			hs_stacktab_nodes());
		CHECK(hs_stacktab_nodes() < frames / 2);	/* shared, not one per frame */
	}

	for (unsigned k = 0; k < NSTACKS; k++) {
		struct hs_stack *s = rec[k];

		CHECK(s && s->depth == depth[k] && s->kind == HSR_KIND_MALLOC && s->id);
		CHECK(hs_stacktab_get(s->id) == s);
		CHECK(hs_stacktab_frames(s, back, MAXD) == depth[k]);
		CHECK(memcmp(back, stk[k], depth[k] * sizeof(back[0])) == 0);
		CHECK(hs_stacktab_intern(HSR_KIND_MALLOC, stk[k], depth[k]) == s);
	}
	/* equal frames make one record per distinct stack, different ones another */
	for (unsigned k = 1; k < NSTACKS; k++) {
		int same = depth[k] == depth[k - 1] &&
			   !memcmp(stk[k], stk[k - 1], depth[k] * sizeof(stk[k][0]));

		CHECK((rec[k] == rec[k - 1]) == same);
	}

	/* the kind and the depth are part of a stack's identity */
	{
		uint32_t nodes = hs_stacktab_nodes();
		struct hs_stack *c = hs_stacktab_intern(HSR_KIND_CALLOC, stk[5], depth[5]);
		struct hs_stack *shorter;

		CHECK(c != rec[5] && c->kind == HSR_KIND_CALLOC);
		CHECK(hs_stacktab_nodes() == nodes);		/* the same frames: no new node */
		CHECK(depth[5] > 1);
		shorter = hs_stacktab_intern(HSR_KIND_MALLOC, stk[5] + 1, depth[5] - 1);
		CHECK(shorter != rec[5] && shorter->depth == depth[5] - 1);
		CHECK(hs_stacktab_frames(shorter, back, MAXD) == depth[5] - 1);
		CHECK(back[0] == stk[5][1]);
		CHECK(hs_stacktab_nodes() == nodes);		/* a suffix: its nodes exist */
	}

	test_found_before_published();
	test_fork_before_published();

	/* depth 0: a stack without frames */
	{
		struct hs_stack *z = hs_stacktab_intern(HSR_KIND_MALLOC, NULL, 0);

		CHECK(z && z->depth == 0 && z->leaf == 0);
		CHECK(hs_stacktab_frames(z, back, MAXD) == 0);
		CHECK(hs_stacktab_intern(HSR_KIND_MALLOC, NULL, 0) == z);
	}

	/*
	 * A signal handler's new stack while its thread holds the tree's lock (nested: it may
	 * not wait): a record with frames of its own, found again by the next lookups.
	 */
	{
		uintptr_t f[3] = { 0x800010, 0x800020, 0x800030 };
		uint32_t nodes = hs_stacktab_nodes();
		struct hs_stack *o;

		hs_stacktab_lock();
		hs_self.busy = 1;
		o = hs_stacktab_intern(HSR_KIND_MALLOC, f, 3);
		hs_self.busy = 0;
		hs_stacktab_unlock();
		CHECK(o != hs_stacktab_overflow() && o->own && o->leaf == 0);
		CHECK(hs_stacktab_nodes() == nodes);
		CHECK(hs_stacktab_frames(o, back, MAXD) == 3);
		CHECK(back[0] == f[0] && back[1] == f[1] && back[2] == f[2]);
		CHECK(hs_stacktab_intern(HSR_KIND_MALLOC, f, 3) == o);
		CHECK(hs_stacktab_dropped() == 0);
	}

	/* a full table: new stacks count on the overflow record */
	{
		uintptr_t f[2] = { 0x900000, 0 };
		unsigned k;

		for (k = 0; k < NSTACKS * 2; k++) {
			f[1] = 0x910000 + 16u * k;
			if (hs_stacktab_intern(HSR_KIND_MALLOC, f, 2) == hs_stacktab_overflow())
				break;
		}
		CHECK(k < NSTACKS * 2);
		CHECK(hs_stacktab_dropped() == 1);
		CHECK(hs_stacktab_intern(HSR_KIND_MALLOC, stk[9], depth[9]) == rec[9]);
	}
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures != 0;
}
