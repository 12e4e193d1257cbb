/* SPDX-License-Identifier: MIT */
/*
 * Heaps other than the host's malloc heap: dma-buf (heap 1, dmabuf.c) and the program's own
 * pools, reported through heapscope_heap_register/_alloc/_free (include/heapscope.h). Each
 * heap has its live bytes and blocks, its peak and when it was reached, and per stack the
 * live figures at its peak (saved lazily, as tracker.c does for the host). The total peak
 * is the highest host + other heaps at one moment, tracked on its own: a heap event checks
 * it, and the host's allocation path reaches it through tracker.c's trigger (one compare it
 * already made), so malloc pays nothing while no other heap is in use.
 *
 * Blocks of other heaps live in a table of their own (heap, key) -> (size, stack), apart
 * from the host's pointer map: a pool may hand out the very address malloc gave it. The
 * counters are atomics; the block table is behind a spinlock that a thread never takes
 * twice (a nested call from a signal handler is dropped and counted). Never calls malloc.
 * docs/HEAPS.md describes the rules.
 */
#ifndef HS_HEAPS_H
#define HS_HEAPS_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_format.h"

struct hs_stack;
struct hsr_buf;

#define HS_HEAP_NAME_MAX 48

/*
 * Register the fork handlers of heaps.c and dmabuf.c (at agent start, before the writer's
 * and tracker's: prepare handlers run in reverse order, and those locks come first, since
 * munmap inside them may take dmabuf.c's). 0 or -1.
 */
int hs_heaps_init(void);

/*
 * The id of heap `name` (1 .. HSR_MAX_HEAPS-1), registering it on first use; the same
 * name gives the same id; "dma-buf" is 1. -EINVAL for an empty name, -ENOSPC when every
 * id is taken. Async-signal-safe.
 */
int hs_heaps_register(const char *name);

/*
 * The stack of an allocation on `heap` made by the caller of the hook whose return address
 * is ra (kind HSR_KIND_HEAP_BASE + heap). Never NULL once the agent started.
 */
struct hs_stack *hs_heaps_capture(unsigned heap, uintptr_t ra);

/*
 * A block of `size` bytes on `heap`, known by `key` (an address, a dma-buf's inode), was
 * allocated with stack s / was freed. A key already live on the heap is freed first; an
 * unknown key is ignored, as is a block allocated before the counters were last reset.
 * 0, or -EBUSY when this thread was already inside (the event is dropped), -ENOSPC when
 * the table is full.
 */
int hs_heaps_block_alloc(unsigned heap, uintptr_t key, uint64_t size, struct hs_stack *s);
int hs_heaps_block_free(unsigned heap, uintptr_t key);

/* Called by tracker.c when the host's live bytes pass the point where the total peaks. */
void hs_heaps_host_crossed(uint64_t host_live);

/* Whether any other heap was registered or used (then the recording gets HEAPS). */
int hs_heaps_active(void);

/* The highest dma-buf live bytes, and the total peak (host + other heaps). */
void hs_heaps_peaks(uint64_t *dma_peak, uint64_t *total_peak);

/*
 * Bytes one HEAPS record may need for stack ids up to max, and the record itself, naming
 * only stacks for which written(s) is true. For the writer, under its lock.
 */
size_t hs_heaps_record_size(uint32_t max);
void hs_heaps_put(struct hsr_buf *b, uint32_t max, int (*written)(const struct hs_stack *s));

/* Fork support (dmabuf.c and the block table): take and release their locks. */
void hs_heaps_lock_all(void);
void hs_heaps_unlock_all(void);

#endif
