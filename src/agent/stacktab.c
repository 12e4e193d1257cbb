// SPDX-License-Identifier: MIT
/*
 * The stack table (see stacktab.h): a fixed-size open-addressing hash of pointers to stack
 * records, filled with CAS so that threads and signal handlers never wait on each other.
 * Records come from the agent's arena and are never freed. Must never call malloc.
 */
#include <errno.h>
#include <string.h>

#include "arena.h"
#include "hsr_format.h"
#include "stacktab.h"

static _Atomic(struct hs_stack *) *slots;
static struct hs_stack *_Atomic *by_id;
static uint64_t mask;
static unsigned max_stacks;
static atomic_uint next_id;
static atomic_ullong dropped;
static struct hs_stack overflow;

int hs_stacktab_init(unsigned max)
{
	uint64_t cap = 1024;

	while (cap < (uint64_t)max * 2)
		cap <<= 1;
	slots = hs_arena_map(cap * sizeof(*slots));
	by_id = hs_arena_map(((size_t)max + 2) * sizeof(*by_id));
	if (!slots || !by_id)
		return -ENOMEM;
	mask = cap - 1;
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

static int stack_equal(const struct hs_stack *s, uint64_t h, unsigned kind,
		       const uintptr_t *frames, size_t n)
{
	return s->hash == h && s->kind == kind && s->depth == n &&
	       (!n || memcmp(s->frames, frames, n * sizeof(*frames)) == 0);
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
	if (n)
		memcpy(s->frames, frames, n * sizeof(*frames));
	return s;
}

static struct hs_stack *refuse(void)
{
	atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	return &overflow;
}

struct hs_stack *hs_stacktab_intern(unsigned kind, const uintptr_t *frames, size_t n)
{
	uint64_t h = stack_hash(kind, frames, n);
	uint64_t i = h & mask;
	struct hs_stack *fresh = NULL;

	for (;; i = (i + 1) & mask) {
		struct hs_stack *s = atomic_load_explicit(&slots[i], memory_order_acquire);
		uint32_t id;

		if (s) {
			if (stack_equal(s, h, kind, frames, n))
				return s;
			continue;
		}
		if (atomic_load_explicit(&next_id, memory_order_relaxed) >= max_stacks)
			return refuse();
		if (!fresh)
			fresh = stack_new(h, kind, frames, n);
		if (!fresh)
			return refuse();
		id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
		fresh->id = id;
		if (atomic_compare_exchange_strong_explicit(&slots[i], &s, fresh,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			atomic_store_explicit(&by_id[id], fresh, memory_order_release);
			return fresh;
		}
		/* Lost the race for this slot: s is the winner; it may be our stack. */
		if (stack_equal(s, h, kind, frames, n))
			return s;
	}
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
