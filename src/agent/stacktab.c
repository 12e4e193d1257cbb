// SPDX-License-Identifier: MIT
/*
 * The stack table (see stacktab.h): an open-addressing hash of pointers to stack records,
 * filled with CAS. It starts small (a table touched at random costs memory for every page
 * it spans) and doubles at half load: the thread that finds it full copies it into a new
 * table and publishes that; lookups go on in the old one meanwhile (it stays valid and is
 * never freed), inserters wait for the copy, except a nested call (a signal handler) which
 * inserts in the old table and may create a duplicate record — harmless for the figures.
 * Records come from the agent's arena and are never freed. Must never call malloc.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "arena.h"
#include "hsr_format.h"
#include "modules.h"
#include "stacktab.h"

struct table {
	uint64_t mask;
	_Atomic(struct hs_stack *) slots[];
};

#define INITIAL_SLOTS 4096

static _Atomic(struct table *) cur;
static atomic_int migrating;
static struct hs_stack *_Atomic *by_id;
static uint64_t max_slots;
static unsigned max_stacks;
static atomic_uint next_id;
static atomic_ullong dropped;
static struct hs_stack overflow;

static struct table *table_new(uint64_t nslots)
{
	struct table *t = hs_arena_map(sizeof(*t) + nslots * sizeof(t->slots[0]));

	if (t)
		t->mask = nslots - 1;
	return t;
}

int hs_stacktab_init(unsigned max)
{
	max_slots = INITIAL_SLOTS;
	while (max_slots < (uint64_t)max * 2)
		max_slots <<= 1;
	atomic_store(&cur, table_new(INITIAL_SLOTS));
	by_id = hs_arena_map(((size_t)max + 2) * sizeof(*by_id));
	if (!atomic_load(&cur) || !by_id)
		return -ENOMEM;
	max_stacks = max;
	overflow.kind = HSR_KIND_NONE;
	overflow.id = max + 1;
	return 0;
}

static uint64_t stack_hash(unsigned kind, const uintptr_t *frames, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (kind * 0xff51afd7ed558ccdull) ^ n;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= frames[i];
		h *= 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	return h | 1;	/* never 0 */
}

/* Inline word compare: stacks are short, and a libc call costs more than the loop. */
static inline int stack_equal(const struct hs_stack *s, uint64_t h, unsigned kind,
			      const uintptr_t *frames, size_t n)
{
	size_t i;

	if (s->hash != h || s->kind != kind || s->depth != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s->frames[i] != frames[i])
			return 0;
	return 1;
}

static struct hs_stack *stack_new(uint64_t h, unsigned kind, const uintptr_t *frames,
				  size_t n)
{
	struct hs_stack *s = hs_arena_alloc(sizeof(*s) + n * sizeof(*frames), 64);

	if (!s)
		return NULL;
	s->hash = h;
	s->kind = (uint8_t)kind;
	s->depth = (uint16_t)n;
	s->epoch = hs_modules_epoch();
	if (n)
		memcpy(s->frames, frames, n * sizeof(*frames));
	return s;
}

static struct hs_stack *refuse(void)
{
	atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	return &overflow;
}

static struct hs_stack *lookup(const struct table *t, uint64_t h, unsigned kind,
				const uintptr_t *frames, size_t n)
{
	uint64_t i;

	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		struct hs_stack *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);

		if (!s)
			return NULL;
		if (stack_equal(s, h, kind, frames, n))
			return s;
	}
}

/* Put s in t unless an equal stack is there; the one that is in t. */
static struct hs_stack *place(struct table *t, struct hs_stack *s)
{
	uint64_t i;

	for (i = s->hash & t->mask;; i = (i + 1) & t->mask) {
		struct hs_stack *o = NULL;

		if (atomic_compare_exchange_strong_explicit(&t->slots[i], &o, s,
							    memory_order_acq_rel,
							    memory_order_acquire))
			return s;
		if (stack_equal(o, s->hash, s->kind, s->frames, s->depth))
			return o;
	}
}

/* Double the table (the caller won `migrating`). */
static void grow(struct table *old)
{
	struct table *t = table_new((old->mask + 1) * 2);
	uint64_t i;

	if (t) {
		for (i = 0; i <= old->mask; i++) {
			struct hs_stack *s = atomic_load(&old->slots[i]);

			if (s)
				place(t, s);
		}
		atomic_store_explicit(&cur, t, memory_order_release);
	}
	atomic_store_explicit(&migrating, 0, memory_order_release);
}

/* Room for one more stack: grow at half load, or wait for a grow in progress. */
static struct table *room(int nested)
{
	struct table *t = atomic_load_explicit(&cur, memory_order_acquire);
	uint32_t n = atomic_load_explicit(&next_id, memory_order_relaxed);
	int expected = 0;

	if ((uint64_t)n * 2 >= t->mask + 1 && t->mask + 1 < max_slots && !nested &&
	    atomic_compare_exchange_strong(&migrating, &expected, 1)) {
		if (t == atomic_load(&cur))
			grow(t);
		else
			atomic_store(&migrating, 0);
	}
	while (!nested && atomic_load_explicit(&migrating, memory_order_acquire))
		hs_cpu_relax();
	return atomic_load_explicit(&cur, memory_order_acquire);
}

static struct hs_stack *intern_slow(unsigned kind, const uintptr_t *frames, size_t n,
				    uint64_t h, int nested);

struct hs_stack *hs_stacktab_intern(unsigned kind, const uintptr_t *frames, size_t n)
{
	uint64_t h = stack_hash(kind, frames, n);
	struct table *t = atomic_load_explicit(&cur, memory_order_acquire);
	struct hs_stack *s = lookup(t, h, kind, frames, n);

	if (hs_likely(s != NULL))
		return s;
	if (atomic_load_explicit(&next_id, memory_order_relaxed) >= max_stacks)
		return refuse();
	/*
	 * A signal handler's call may land here while this thread is growing the table, before
	 * the tracker marks it busy: it must neither wait for that grow nor start one.
	 */
	return intern_slow(kind, frames, n, h, hs_self.busy || hs_self.interning);
}

static struct hs_stack *intern_slow(unsigned kind, const uintptr_t *frames, size_t n,
				    uint64_t h, int nested)
{
	struct hs_stack *s, *fresh, *won;
	struct table *t;

	hs_self.interning++;
	t = room(nested);
	hs_self.interning--;
	s = lookup(t, h, kind, frames, n);
	if (s)
		return s;
	fresh = stack_new(h, kind, frames, n);
	if (!fresh)
		return refuse();
	fresh->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
	won = place(t, fresh);
	if (won != fresh)
		return won;	/* another thread interned it first; our id is a hole */
	atomic_store_explicit(&by_id[fresh->id], fresh, memory_order_release);
	/* A grow may have copied the table before our stack was in it. */
	while (t != atomic_load_explicit(&cur, memory_order_acquire)) {
		t = atomic_load_explicit(&cur, memory_order_acquire);
		place(t, fresh);
	}
	return fresh;
}

size_t hs_stacktab_table_bytes(void)
{
	const struct table *t = atomic_load(&cur);

	return (t->mask + 1) * sizeof(t->slots[0]) +
	       (size_t)hs_stacktab_max_id() * sizeof(*by_id);
}

uint32_t hs_stacktab_max_id(void)
{
	uint32_t n = atomic_load_explicit(&next_id, memory_order_acquire);

	return n < max_stacks ? n : max_stacks;
}

struct hs_stack *hs_stacktab_get(uint32_t id)
{
	if (id == 0 || id > hs_stacktab_max_id())
		return NULL;
	return atomic_load_explicit(&by_id[id], memory_order_acquire);
}

struct hs_stack *hs_stacktab_overflow(void)
{
	return &overflow;
}

uint64_t hs_stacktab_dropped(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}
