// SPDX-License-Identifier: MIT
/*
 * The pointer map (see ptrmap.h). Each shard is a linear-probing table with backward-shift
 * deletion (no tombstones), grown by doubling into a fresh mapping; the old one is
 * unmapped, as only the shard's lock holder ever reads it. The lookups and updates
 * themselves are in ptrmap_inline.h, for the tracker to inline; this file holds the
 * tables' memory and the functions that go over all shards. Must never call malloc.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "arena.h"
#include "ptrmap.h"
#include "ptrmap_inline.h"

#define INITIAL_CAP 16

struct hs_ptrmap_shard *hs_ptrmap_shards;
static atomic_size_t table_bytes;

int hs_ptrmap_init(void)
{
	hs_ptrmap_shards = hs_arena_map(sizeof(struct hs_ptrmap_shard) * HS_PTRMAP_SHARDS);
	return hs_ptrmap_shards ? 0 : -ENOMEM;
}

/*
 * Small tables come from the arena (a page of their own each would cost 4 kB of memory per
 * shard, 4 MB in all, as soon as every shard holds a block); one a shard grows out of is
 * given back to the arena, whose later requests (stack records, other tables) are carved
 * from it (python3 exact: 0.8 MB given back, 0.23 MB of it reused by stack records made
 * later; before, all of it stayed dead). Large tables are mappings of their own, unmapped
 * when replaced.
 */
#define SMALL_TABLE (16u << 10)

static struct hs_ptrmap_slot *table_new(uint32_t cap)
{
	size_t bytes = (size_t)cap * sizeof(struct hs_ptrmap_slot);
	struct hs_ptrmap_slot *t =
		bytes < SMALL_TABLE ? hs_arena_alloc(bytes, 64) : hs_arena_map(bytes);

	if (t)
		atomic_fetch_add_explicit(&table_bytes, bytes, memory_order_relaxed);
	return t;
}

static void table_release(struct hs_ptrmap_slot *t, uint32_t cap)
{
	size_t bytes = (size_t)cap * sizeof(struct hs_ptrmap_slot);

	atomic_fetch_sub_explicit(&table_bytes, bytes, memory_order_relaxed);
	if (bytes >= SMALL_TABLE)
		munmap(t, bytes);
	else
		hs_arena_give_back(t, bytes);
}

static void table_put(struct hs_ptrmap_slot *t, uint32_t cap, uint64_t key, uint64_t val)
{
	uint32_t i = (uint32_t)hs_ptrmap_mix((uintptr_t)(key & HS_PTRMAP_ADDR_MASK)) & (cap - 1);

	while (t[i].key)
		i = (i + 1) & (cap - 1);
	t[i].key = key;
	t[i].val = val;
}

/* ptrmap_inline.h */
int hs_ptrmap_shard_grow(struct hs_ptrmap_shard *s)
{
	uint32_t cap = s->cap ? s->cap * 2 : INITIAL_CAP;
	struct hs_ptrmap_slot *t = table_new(cap);
	uint32_t i;

	if (!t)
		return -ENOMEM;
	for (i = 0; i < s->cap; i++)
		if (s->tab[i].key)
			table_put(t, cap, s->tab[i].key, s->tab[i].val);
	if (s->tab)
		table_release(s->tab, s->cap);
	s->tab = t;
	s->cap = cap;
	return 0;
}

int hs_ptrmap_try_insert(uintptr_t p, const struct hs_ptrmap_entry *e,
			 struct hs_ptrmap_entry *old)
{
	return hs_ptrmap_insert_inline(p, e, old, 1);
}

int hs_ptrmap_find(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return hs_ptrmap_lookup_inline(p, out, 0, 0);
}

int hs_ptrmap_try_find(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return hs_ptrmap_lookup_inline(p, out, 0, 1);
}

int hs_ptrmap_try_remove(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return hs_ptrmap_lookup_inline(p, out, 1, 1);
}

size_t hs_ptrmap_count(void)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < HS_PTRMAP_SHARDS; i++)
		n += __atomic_load_n(&hs_ptrmap_shards[i].count, __ATOMIC_RELAXED);
	return n;
}

size_t hs_ptrmap_table_bytes(void)
{
	return atomic_load_explicit(&table_bytes, memory_order_relaxed);
}

void hs_ptrmap_foreach(uint32_t gen, void (*fn)(uintptr_t, const struct hs_ptrmap_entry *,
						void *),
		       void *arg)
{
	struct hs_ptrmap_entry e;
	unsigned i;
	uint32_t j;

	for (i = 0; i < HS_PTRMAP_SHARDS; i++) {
		struct hs_ptrmap_shard *s = &hs_ptrmap_shards[i];

		hs_spin_lock(&s->lock);
		for (j = 0; j < s->cap; j++) {
			if (!s->tab[j].key)
				continue;
			hs_ptrmap_unpack(&s->tab[j], &e);
			if (e.gen == (gen & 0xffff))
				fn((uintptr_t)(s->tab[j].key & HS_PTRMAP_ADDR_MASK), &e, arg);
		}
		hs_ptrmap_shard_unlock(s);
	}
}

void hs_ptrmap_lock_all(void)
{
	unsigned i;

	for (i = 0; i < HS_PTRMAP_SHARDS; i++)
		hs_spin_lock(&hs_ptrmap_shards[i].lock);
}

void hs_ptrmap_unlock_all(void)
{
	unsigned i;

	for (i = 0; i < HS_PTRMAP_SHARDS; i++)
		hs_ptrmap_shard_unlock(&hs_ptrmap_shards[i]);
}
