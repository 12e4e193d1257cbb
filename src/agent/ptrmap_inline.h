/* SPDX-License-Identifier: MIT */
/*
 * The pointer map's hot paths (ptrmap.h), inline: the tracker's insert on every allocation
 * and remove on every free go without a call of their own (each was a call saving
 * registers, and the prefetch a third one). The layout and the shards are here for them;
 * growing a table, iterating and the rest stay in ptrmap.c. Must never call malloc.
 */
#ifndef HS_PTRMAP_INLINE_H
#define HS_PTRMAP_INLINE_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "agent.h"
#include "ptrmap.h"

#define HS_PTRMAP_SHARDS 1024
#define HS_PTRMAP_ADDR_MASK ((1ull << HS_PTRMAP_ADDR_BITS) - 1)

struct hs_ptrmap_slot {
	uint64_t key;		/* address | generation << 48; 0 = empty (64 bits on 32-bit too) */
	uint64_t val;		/* halves << 60 | size << 24 | stack id */
};

struct hs_ptrmap_shard {
	atomic_flag lock;
	uint32_t cap;
	uint32_t count;
	struct hs_ptrmap_slot *tab;
} __attribute__((aligned(64)));

/* HS_PTRMAP_SHARDS of them, from hs_ptrmap_init. */
extern struct hs_ptrmap_shard *hs_ptrmap_shards;

/* Double s's table (its lock held): 0, or -ENOMEM with the table as it was. ptrmap.c. */
int hs_ptrmap_shard_grow(struct hs_ptrmap_shard *s);

static inline uint64_t hs_ptrmap_mix(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 29);
}

/*
 * A block's shard is its page's: the pages of a 4 MB region go to consecutive shards, from
 * a start drawn by hashing the region (threads' arenas sit at the same offsets of
 * 64 MB-aligned heaps and must not share shards). A program's recent blocks lie on few
 * pages, so the shards, and the table lines, that its frees look up are the few its
 * allocations just touched; a hash of the whole address sent each free to a cold line of
 * a random shard (python3 exact 4.05 -> 3.66 s, 5 alternating runs; the rest unchanged).
 */
static inline struct hs_ptrmap_shard *hs_ptrmap_shard_of(uintptr_t p)
{
	return &hs_ptrmap_shards[((p >> 12) + (uint32_t)(hs_ptrmap_mix(p >> 22) >> 32)) &
				 (HS_PTRMAP_SHARDS - 1)];
}

static inline void hs_ptrmap_shard_unlock(struct hs_ptrmap_shard *s)
{
	atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

/* The shard's lock; with `try`, only if it is free at once (0 or -EBUSY). */
static inline int hs_ptrmap_shard_acquire(struct hs_ptrmap_shard *s, int try)
{
	if (!try) {
		hs_spin_lock(&s->lock);
		return 0;
	}
	return atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire) ? -EBUSY : 0;
}

static inline uint64_t hs_ptrmap_pack(const struct hs_ptrmap_entry *e)
{
	uint64_t size = e->size > HS_PTRMAP_MAX_SIZE ? HS_PTRMAP_MAX_SIZE : e->size;

	return (uint64_t)(e->halves & 15) << 60 | size << 24 | (e->id & HS_PTRMAP_MAX_STACK_ID);
}

static inline void hs_ptrmap_unpack(const struct hs_ptrmap_slot *en, struct hs_ptrmap_entry *out)
{
	out->size = (en->val >> 24) & HS_PTRMAP_MAX_SIZE;
	out->halves = (uint32_t)(en->val >> 60);
	out->id = en->val & HS_PTRMAP_MAX_STACK_ID;
	out->gen = (uint32_t)(en->key >> HS_PTRMAP_ADDR_BITS);
}

/* 1 and *at = key's slot, or 0 and *at = the empty slot that ends its probe run. */
static inline int hs_ptrmap_shard_find(const struct hs_ptrmap_shard *s, uintptr_t key,
				       uint64_t h, uint32_t *at)
{
	uint32_t i;

	if (!s->cap)
		return 0;
	for (i = (uint32_t)h & (s->cap - 1); s->tab[i].key; i = (i + 1) & (s->cap - 1)) {
		if ((s->tab[i].key & HS_PTRMAP_ADDR_MASK) == key) {
			*at = i;
			return 1;
		}
	}
	*at = i;
	return 0;
}

/* Backward-shift deletion: pull later members of the probe run into the hole. */
static inline void hs_ptrmap_shard_delete(struct hs_ptrmap_shard *s, uint32_t hole)
{
	uint32_t m = s->cap - 1, i = hole;

	for (;;) {
		uint32_t home;

		i = (i + 1) & m;
		if (!s->tab[i].key)
			break;
		home = (uint32_t)hs_ptrmap_mix((uintptr_t)(s->tab[i].key & HS_PTRMAP_ADDR_MASK)) & m;
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if (((i - home) & m) >= ((i - hole) & m)) {
			s->tab[hole] = s->tab[i];
			hole = i;
		}
	}
	s->tab[hole].key = 0;
	s->tab[hole].val = 0;
}

/*
 * Insert p. If p was already present (a free the agent did not see), its old entry is
 * returned in *old and 1 is returned; 0 otherwise; -ENOMEM when a shard cannot grow (the
 * block is then not tracked). With `try`: hs_ptrmap_try_insert.
 */
static inline __attribute__((always_inline)) int
hs_ptrmap_insert_inline(uintptr_t p, const struct hs_ptrmap_entry *e, struct hs_ptrmap_entry *old,
			int try)
{
	uint64_t key, h;
	struct hs_ptrmap_shard *s;
	uint32_t at = 0;
	int ret = 0;

	p = (uintptr_t)((uint64_t)p & HS_PTRMAP_ADDR_MASK);
	key = (uint64_t)p | (uint64_t)(e->gen & 0xffff) << HS_PTRMAP_ADDR_BITS;
	h = hs_ptrmap_mix(p);
	s = hs_ptrmap_shard_of(p);
	if (hs_ptrmap_shard_acquire(s, try))
		return -EBUSY;
	if (hs_ptrmap_shard_find(s, p, h, &at)) {
		hs_ptrmap_unpack(&s->tab[at], old);
		s->tab[at].key = key;
		s->tab[at].val = hs_ptrmap_pack(e);
		ret = 1;
		goto out;
	}
	if (hs_unlikely((s->count + 1) * 4 > s->cap * 3)) {
		ret = hs_ptrmap_shard_grow(s);
		if (ret < 0)
			goto out;
		hs_ptrmap_shard_find(s, p, h, &at);
	}
	s->tab[at].key = key;
	s->tab[at].val = hs_ptrmap_pack(e);
	s->count++;
out:
	hs_ptrmap_shard_unlock(s);
	return ret;
}

/*
 * Look p up under its shard's lock; with `remove`, take it out. 1 and its entry in *out if it
 * was there, 0 if not (with `try`, -EBUSY when the lock is taken).
 */
static inline __attribute__((always_inline)) int
hs_ptrmap_lookup_inline(uintptr_t p, struct hs_ptrmap_entry *out, int remove, int try)
{
	uint64_t h;
	struct hs_ptrmap_shard *s;
	uint32_t at = 0;
	int found;

	p = (uintptr_t)((uint64_t)p & HS_PTRMAP_ADDR_MASK);
	h = hs_ptrmap_mix(p);
	s = hs_ptrmap_shard_of(p);
	if (hs_ptrmap_shard_acquire(s, try))
		return -EBUSY;
	found = hs_ptrmap_shard_find(s, p, h, &at);
	if (found) {
		hs_ptrmap_unpack(&s->tab[at], out);
		if (remove) {
			hs_ptrmap_shard_delete(s, at);
			s->count--;
		}
	}
	hs_ptrmap_shard_unlock(s);
	return found;
}

/*
 * Start loading the map's slot for p into the cache (a hint; no lock, reads the shard's
 * table pointer racily, which is harmless: a stale pointer only prefetches a useless line).
 */
static inline void hs_ptrmap_prefetch_inline(uintptr_t p)
{
	struct hs_ptrmap_shard *s;
	struct hs_ptrmap_slot *tab;
	uint64_t h;
	uint32_t cap;

	p = (uintptr_t)((uint64_t)p & HS_PTRMAP_ADDR_MASK);
	h = hs_ptrmap_mix(p);
	s = hs_ptrmap_shard_of(p);
	cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
	tab = __atomic_load_n(&s->tab, __ATOMIC_RELAXED);
	if (cap && tab)
		__builtin_prefetch(&tab[(uint32_t)h & (cap - 1)], 1);	/* never faults */
}

#endif
