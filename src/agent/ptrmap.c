// SPDX-License-Identifier: MIT
/*
 * The pointer map (see ptrmap.h). Each shard is a linear-probing table with backward-shift
 * deletion (no tombstones), grown by doubling into a fresh mapping; the old one is
 * unmapped, as only the shard's lock holder ever reads it. Must never call malloc.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "arena.h"
#include "ptrmap.h"

#define NSHARDS 1024
#define INITIAL_CAP 16

struct entry {
	uint64_t key;		/* address | generation << 48; 0 = empty (64 bits on 32-bit too) */
	uint64_t val;		/* halves << 62 | size << 24 | stack id */
};

#define ADDR_MASK ((1ull << HS_PTRMAP_ADDR_BITS) - 1)

struct shard {
	atomic_flag lock;
	uint32_t cap;
	uint32_t count;
	struct entry *tab;
} __attribute__((aligned(64)));

static struct shard *shards;
static atomic_size_t table_bytes;

int hs_ptrmap_init(void)
{
	shards = hs_arena_map(sizeof(struct shard) * NSHARDS);
	return shards ? 0 : -ENOMEM;
}

static inline uint64_t mix(uintptr_t p)
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
static inline struct shard *shard_of(uintptr_t p)
{
	return &shards[((p >> 12) + (uint32_t)(mix(p >> 22) >> 32)) & (NSHARDS - 1)];
}

static inline void shard_lock(struct shard *s)
{
	hs_spin_lock(&s->lock);
}

static inline void shard_unlock(struct shard *s)
{
	atomic_flag_clear_explicit(&s->lock, memory_order_release);
}

static inline uint64_t pack(const struct hs_ptrmap_entry *e)
{
	uint64_t size = e->size > HS_PTRMAP_MAX_SIZE ? HS_PTRMAP_MAX_SIZE : e->size;

	return (uint64_t)(e->halves & 3) << 62 | size << 24 | (e->id & HS_PTRMAP_MAX_STACK_ID);
}

static inline void unpack(const struct entry *en, struct hs_ptrmap_entry *out)
{
	out->size = (en->val >> 24) & HS_PTRMAP_MAX_SIZE;
	out->halves = (uint32_t)(en->val >> 62);
	out->id = en->val & HS_PTRMAP_MAX_STACK_ID;
	out->gen = (uint32_t)(en->key >> HS_PTRMAP_ADDR_BITS);
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

static struct entry *table_new(uint32_t cap)
{
	size_t bytes = (size_t)cap * sizeof(struct entry);
	struct entry *t = bytes < SMALL_TABLE ? hs_arena_alloc(bytes, 64) : hs_arena_map(bytes);

	if (t)
		atomic_fetch_add_explicit(&table_bytes, bytes, memory_order_relaxed);
	return t;
}

static void table_release(struct entry *t, uint32_t cap)
{
	size_t bytes = (size_t)cap * sizeof(struct entry);

	atomic_fetch_sub_explicit(&table_bytes, bytes, memory_order_relaxed);
	if (bytes >= SMALL_TABLE)
		munmap(t, bytes);
	else
		hs_arena_give_back(t, bytes);
}

static void table_put(struct entry *t, uint32_t cap, uint64_t key, uint64_t val)
{
	uint32_t i = (uint32_t)mix((uintptr_t)(key & ADDR_MASK)) & (cap - 1);

	while (t[i].key)
		i = (i + 1) & (cap - 1);
	t[i].key = key;
	t[i].val = val;
}

static int shard_grow(struct shard *s)
{
	uint32_t cap = s->cap ? s->cap * 2 : INITIAL_CAP;
	struct entry *t = table_new(cap);
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

static int shard_find(const struct shard *s, uintptr_t key, uint64_t h, uint32_t *at)
{
	uint32_t i;

	if (!s->cap)
		return 0;
	for (i = (uint32_t)h & (s->cap - 1); s->tab[i].key; i = (i + 1) & (s->cap - 1)) {
		if ((s->tab[i].key & ADDR_MASK) == key) {
			*at = i;
			return 1;
		}
	}
	*at = i;
	return 0;
}

/* The shard's lock; with `try`, only if it is free at once (0 or -EBUSY). */
static int shard_acquire(struct shard *s, int try)
{
	if (!try) {
		shard_lock(s);
		return 0;
	}
	return atomic_flag_test_and_set_explicit(&s->lock, memory_order_acquire) ? -EBUSY : 0;
}

/* Inline in each caller (a call and a frame fewer per allocation): also lookup. */
static inline __attribute__((always_inline)) int insert(uintptr_t p,
							const struct hs_ptrmap_entry *e,
							struct hs_ptrmap_entry *old, int try)
{
	uint64_t key;
	uint64_t h;
	struct shard *s;
	uint32_t at = 0;
	int ret = 0;

	p = (uintptr_t)((uint64_t)p & ADDR_MASK);
	key = (uint64_t)p | (uint64_t)(e->gen & 0xffff) << HS_PTRMAP_ADDR_BITS;
	h = mix(p);
	s = shard_of(p);
	if (shard_acquire(s, try))
		return -EBUSY;
	if (shard_find(s, p, h, &at)) {
		unpack(&s->tab[at], old);
		s->tab[at].key = key;
		s->tab[at].val = pack(e);
		ret = 1;
		goto out;
	}
	if ((s->count + 1) * 4 > s->cap * 3) {
		ret = shard_grow(s);
		if (ret < 0)
			goto out;
		shard_find(s, p, h, &at);
	}
	s->tab[at].key = key;
	s->tab[at].val = pack(e);
	s->count++;
out:
	shard_unlock(s);
	return ret;
}

void hs_ptrmap_prefetch(uintptr_t p)
{
	uint64_t h;
	struct shard *s;
	struct entry *tab;
	uint32_t cap;

	p = (uintptr_t)((uint64_t)p & ADDR_MASK);
	h = mix(p);
	s = shard_of(p);
	cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
	tab = __atomic_load_n(&s->tab, __ATOMIC_RELAXED);
	if (cap && tab)
		__builtin_prefetch(&tab[(uint32_t)h & (cap - 1)], 1);	/* never faults */
}

/* Backward-shift deletion: pull later members of the probe run into the hole. */
static void shard_delete(struct shard *s, uint32_t hole)
{
	uint32_t m = s->cap - 1, i = hole;

	for (;;) {
		uint32_t home;

		i = (i + 1) & m;
		if (!s->tab[i].key)
			break;
		home = (uint32_t)mix((uintptr_t)(s->tab[i].key & ADDR_MASK)) & m;
		/* Move i into the hole unless its home lies cyclically in (hole, i]. */
		if (((i - home) & m) >= ((i - hole) & m)) {
			s->tab[hole] = s->tab[i];
			hole = i;
		}
	}
	s->tab[hole].key = 0;
	s->tab[hole].val = 0;
}

int hs_ptrmap_insert(uintptr_t p, const struct hs_ptrmap_entry *e, struct hs_ptrmap_entry *old)
{
	return insert(p, e, old, 0);
}

int hs_ptrmap_try_insert(uintptr_t p, const struct hs_ptrmap_entry *e,
			 struct hs_ptrmap_entry *old)
{
	return insert(p, e, old, 1);
}

/* Look p up under its shard's lock; with `remove`, take it out. 1 if it was there. */
static inline __attribute__((always_inline)) int lookup(uintptr_t p, struct hs_ptrmap_entry *out,
							int remove, int try)
{
	uint64_t h;
	struct shard *s;
	uint32_t at = 0;
	int found;

	p = (uintptr_t)((uint64_t)p & ADDR_MASK);
	h = mix(p);
	s = shard_of(p);
	if (shard_acquire(s, try))
		return -EBUSY;
	found = shard_find(s, p, h, &at);
	if (found) {
		unpack(&s->tab[at], out);
		if (remove) {
			shard_delete(s, at);
			s->count--;
		}
	}
	shard_unlock(s);
	return found;
}

int hs_ptrmap_find(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return lookup(p, out, 0, 0);
}

int hs_ptrmap_remove(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return lookup(p, out, 1, 0);
}

int hs_ptrmap_try_remove(uintptr_t p, struct hs_ptrmap_entry *out)
{
	return lookup(p, out, 1, 1);
}

size_t hs_ptrmap_count(void)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < NSHARDS; i++)
		n += __atomic_load_n(&shards[i].count, __ATOMIC_RELAXED);
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

	for (i = 0; i < NSHARDS; i++) {
		struct shard *s = &shards[i];

		shard_lock(s);
		for (j = 0; j < s->cap; j++) {
			if (!s->tab[j].key)
				continue;
			unpack(&s->tab[j], &e);
			if (e.gen == (gen & 0xffff))
				fn((uintptr_t)(s->tab[j].key & ADDR_MASK), &e, arg);
		}
		shard_unlock(s);
	}
}

void hs_ptrmap_lock_all(void)
{
	unsigned i;

	for (i = 0; i < NSHARDS; i++)
		shard_lock(&shards[i]);
}

void hs_ptrmap_unlock_all(void)
{
	unsigned i;

	for (i = 0; i < NSHARDS; i++)
		shard_unlock(&shards[i]);
}
