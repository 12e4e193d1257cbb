/* SPDX-License-Identifier: MIT */
/*
 * The pointer map: live block address -> (size, stack id). Open-addressing hash tables
 * sharded by the block's page, each behind its own spinlock, so threads rarely meet. An
 * entry is 16 bytes: the address, and the size (36 bits, larger sizes are clamped) packed
 * with the stack id (24 bits) and sampling's 4 bits. Callers must not enter it from a
 * context that may already hold a shard lock on the same thread (the tracker's `busy` flag
 * guarantees it). Never calls malloc.
 */
#ifndef HS_PTRMAP_H
#define HS_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

#define HS_PTRMAP_MAX_STACK_ID ((1u << 24) - 1)
#define HS_PTRMAP_MAX_SIZE ((1ull << 36) - 1)

int hs_ptrmap_init(void);

/*
 * What the map holds for a block. `gen` is the tracking generation the block was recorded
 * in (16 bits, kept in the unused top bits of the address): blocks of an older generation
 * were allocated before tracking last restarted, and their frees are not counted.
 */
struct hs_ptrmap_entry {
	uint64_t size;
	uint32_t id;
	uint32_t gen;
	uint32_t halves;	/* sampling: the halves of the samples it is in and how its
				   weights were rounded, 4 bits (tracker.c) */
};

#define HS_PTRMAP_ADDR_BITS 48

/*
 * Inserting and removing a block, and the prefetch before an insert, are inline for the
 * tracker (ptrmap_inline.h: hs_ptrmap_insert_inline, hs_ptrmap_lookup_inline,
 * hs_ptrmap_prefetch_inline). These two are the same for a nested call (a signal handler
 * while its thread is inside the map): only if the shard's lock is free at once, else
 * -EBUSY (the caller queues the event).
 */
int hs_ptrmap_try_insert(uintptr_t p, const struct hs_ptrmap_entry *e,
			 struct hs_ptrmap_entry *old);
int hs_ptrmap_try_remove(uintptr_t p, struct hs_ptrmap_entry *out);

/* Look p up without removing it; 1 and its entry if present. */
int hs_ptrmap_find(uintptr_t p, struct hs_ptrmap_entry *out);
/* The same only if the shard's lock is free at once, else -EBUSY (a nested call). */
int hs_ptrmap_try_find(uintptr_t p, struct hs_ptrmap_entry *out);

/*
 * Call fn for every entry of the current generation, shard by shard under its lock (fn
 * must not allocate or enter the map). For dumps and leak scans.
 */
void hs_ptrmap_foreach(uint32_t gen, void (*fn)(uintptr_t p, const struct hs_ptrmap_entry *e,
						void *arg),
		       void *arg);

/* Live entries, and bytes of table memory. */
size_t hs_ptrmap_count(void);
size_t hs_ptrmap_table_bytes(void);

/* Fork: take every shard lock before, release them after (in parent and child). */
void hs_ptrmap_lock_all(void);
void hs_ptrmap_unlock_all(void);

#endif
