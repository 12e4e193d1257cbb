/* SPDX-License-Identifier: MIT */
/*
 * Interned call stacks and their counters. A stack is (allocation kind, frames); interning
 * gives each distinct one a small id and a record that lives until the process ends. The
 * table is lock-free (open addressing, CAS on empty slots), bounded by
 * HEAPSCOPE_MAX_STACKS; when full, new stacks are counted on one overflow record. Frames
 * are kept once for all stacks, in a tree of (return address, caller) nodes; a stack is
 * found by a 128-bit hash of its kind and frames, never by comparing frames.
 * All functions are async-signal-safe and never call malloc.
 */
#ifndef HS_STACKTAB_H
#define HS_STACKTAB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 120 bytes on 64-bit, aligned to 8 only: the counters of two records stay more than a
 * cache line apart all the same (python3 interns 13,000 of these, a big service 100,000s).
 */
struct hs_stack {
	uint64_t hash;		/* (kind, frames) hashed two ways: 128 bits are its identity */
	uint64_t hash2;
	uint32_t id;		/* 1, 2, ...; the overflow record has id 0 until written */
	uint16_t depth;
	uint8_t kind;		/* enum hsr_alloc_kind */
	uint8_t own;		/* 1: its frames follow the record, as it could not join the tree
				   (a signal handler's new stack while its thread held the lock) */
	uint32_t leaf;		/* node of frame 0 in the frame tree, 0 for depth 0 or own */
	uint32_t epoch;		/* hs_modules_epoch() when it was interned */
	uint32_t batch;		/* writer: the write that put it in the recording */
	/* recording writer's bookkeeping (writer.c) */
	_Atomic uint8_t written;
	_Atomic uint8_t referenced;	/* named by an error: written even without calls */
	_Atomic uint8_t published;	/* by_id names it: hs_stacktab_get finds it */
	/* counters, cumulative, updated with relaxed atomics */
	_Atomic uint64_t alloc_calls;
	_Atomic uint64_t alloc_bytes;
	_Atomic uint64_t free_calls;
	_Atomic uint64_t freed_bytes;
	_Atomic uint64_t temporary;
	/* live figures at the latest peak, saved lazily (tracker.c) */
	_Atomic uint64_t peak_epoch;
	_Atomic uint64_t peak_bytes;
	_Atomic uint64_t peak_blocks;
	/* the writer's, under its lock: the figures it last wrote */
	uint64_t written_calls;
	uint64_t written_frees;
};

/*
 * Sampling: the live figures of the estimating half of a stack's samples (tracker.c). They
 * lie beside the records, by id, in an array mapped when sampling first starts (16 bytes
 * less per record, and 16 MB less of address space, in exact mode).
 */
struct hs_stack_half {
	_Atomic uint64_t bytes;
	_Atomic uint64_t blocks;
};

/* Map the halves if not yet done: before sampling starts. 0 or -ENOMEM. */
int hs_stacktab_halves(void);

/* s's halves; NULL before hs_stacktab_halves(). */
struct hs_stack_half *hs_stacktab_half(const struct hs_stack *s);

/* The same for a sampled block's stack: never NULL (a spare, should it race the start). */
struct hs_stack_half *hs_stacktab_half_of_sampled(const struct hs_stack *s);

/*
 * Save s's live figures as its figures at the peak of `epoch` (a heap's peak counter), once
 * per epoch, before they change: the lazy half of the peak (tracker.c, heaps.c).
 */
static inline void hs_stack_save_peak(struct hs_stack *s, uint64_t epoch)
{
	uint64_t calls, frees, ab, fb;

	if (__builtin_expect(atomic_load_explicit(&s->peak_epoch, memory_order_relaxed) == epoch,
			     1))
		return;
	calls = atomic_load_explicit(&s->alloc_calls, memory_order_relaxed);
	frees = atomic_load_explicit(&s->free_calls, memory_order_relaxed);
	ab = atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
	fb = atomic_load_explicit(&s->freed_bytes, memory_order_relaxed);
	atomic_store_explicit(&s->peak_bytes, ab - fb, memory_order_relaxed);
	atomic_store_explicit(&s->peak_blocks, calls - frees, memory_order_relaxed);
	atomic_store_explicit(&s->peak_epoch, epoch, memory_order_relaxed);
}

/* Set up a table for at most `max` stacks. 0 or -ENOMEM. */
int hs_stacktab_init(unsigned max);

/*
 * The record of (kind, frames[0..n)), created on first sight. Never NULL once
 * hs_stacktab_init succeeded (the overflow record when the table is full).
 */
struct hs_stack *hs_stacktab_intern(unsigned kind, const uintptr_t *frames, size_t n);

/*
 * A stack's identity: two independent 64-bit hashes of (kind, frames), 128 bits together
 * (a collision of both among a million stacks has a probability near 2^-88; comparing the
 * frames instead would mean walking the frame tree on every allocation). Two chains, run
 * side by side, take the frames from the outermost in: the state after the outer frames
 * is the same whatever the inner ones are, so a caller that knows it for a shared outer
 * part (the tracker: the frames its thread's last walk shared, unwind.h) hashes only the
 * frames that differ. kind and depth come in at the end.
 */
struct hs_stack_hash {
	uint64_t a, b;
};

static inline struct hs_stack_hash hs_stack_hash_seed(void)
{
	return (struct hs_stack_hash){ 0x9e3779b97f4a7c15ull, 0x6a09e667f3bcc909ull };
}

static inline uint64_t hs_rotl64(uint64_t v, unsigned r)
{
	return v << r | v >> (64 - r);
}

/* The state after one more frame, inward. */
static inline struct hs_stack_hash hs_stack_hash_step(struct hs_stack_hash st, uintptr_t frame)
{
	uint64_t a = (st.a ^ frame) * 0xc4ceb9fe1a85ec53ull;

	st.a = a ^ (a >> 29);
	st.b = hs_rotl64(st.b + frame * 0x94d049bb133111ebull, 27) * 0xbf58476d1ce4e5b9ull;
	return st;
}

/* The finalizer of MurmurHash3: every input bit reaches every output bit. */
static inline uint64_t hs_fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

static inline void hs_stack_hash_final(struct hs_stack_hash st, unsigned kind, size_t n,
				       uint64_t *h1, uint64_t *h2)
{
	*h1 = hs_fmix64(st.a ^ (kind * 0xff51afd7ed558ccdull) ^ n) | 1;	/* never 0 */
	*h2 = hs_fmix64(st.b + kind * 0xc2b2ae3d27d4eb4full + ((uint64_t)n << 32));
}

/* The same, with the hashes of (kind, frames) already computed (hs_stack_hash_final). */
struct hs_stack *hs_stacktab_intern_hashed(unsigned kind, const uintptr_t *frames, size_t n,
					   uint64_t h1, uint64_t h2);

/* Tests only (unit.stacktab): called between a new record's place in the table and its id's. */
void hs_stacktab_placed(struct hs_stack *s) __attribute__((weak, visibility("hidden")));

/*
 * A stack's frames live in a tree shared by all stacks (a node is a return address and its
 * caller's node): walk them innermost first with
 *     struct hs_frames it = hs_frames_of(s);
 *     for (i = 0; i < s->depth; i++) pc = hs_frames_next(&it);
 * Lock-free; nodes are never freed or changed once their stack is visible.
 */
struct hs_frames {
	const uintptr_t *own;
	uint32_t node;
};

static inline struct hs_frames hs_frames_of(const struct hs_stack *s)
{
	return (struct hs_frames){ s->own ? (const uintptr_t *)(s + 1) : NULL, s->leaf };
}

uintptr_t hs_frames_next(struct hs_frames *it);

/* Node id's return address and parent (0: the outermost). id must exist. */
void hs_stacktab_node(uint32_t id, uintptr_t *pc, uint32_t *parent);

/* s's frames into out[0..max), innermost first; the number stored. */
size_t hs_stacktab_frames(const struct hs_stack *s, uintptr_t *out, size_t max);

/* Nodes in the frame tree. */
uint32_t hs_stacktab_nodes(void);

/* The frame tree's lock, held across fork (lifecycle.c) so that the child finds it free. */
void hs_stacktab_lock(void);
void hs_stacktab_unlock(void);
void hs_stacktab_atfork_child(void);	/* unlocks; other threads' inserts: published or given up */

/* Highest id handed out so far, and the record of an id (NULL for a hole). */
uint32_t hs_stacktab_max_id(void);
struct hs_stack *hs_stacktab_get(uint32_t id);

/*
 * The highest id below which every id is published (hs_stacktab_get gives its record) or
 * given up for good: a writer that lists stacks in id order stops there, since a reader
 * takes ids in increasing order and an id published later would be lost to it.
 */
uint32_t hs_stacktab_ready_id(void);

/* The record that counts allocations whose stack was refused (id = max + 1, no frames). */
struct hs_stack *hs_stacktab_overflow(void);

/* Bytes of the table's index (the records themselves are arena memory). */
size_t hs_stacktab_table_bytes(void);

/* Stacks refused because the table was full (counted on the overflow record). */
uint64_t hs_stacktab_dropped(void);

#endif
