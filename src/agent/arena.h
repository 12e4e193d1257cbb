/* SPDX-License-Identifier: MIT */
/*
 * The agent's own memory: mmap-backed, never from the target's heap. Memory handed out is
 * zeroed and lives until the process ends, unless given back for later requests to reuse
 * (the pointer map's outgrown tables). Thread-safe and lock-free; safe in signal handlers
 * and across fork.
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

/*
 * Zeroed memory of `size` bytes aligned to `align` (a power of two, at most 4096), or NULL
 * when the system refuses memory. Async-signal-safe.
 */
void *hs_arena_alloc(size_t size, size_t align);

/*
 * Give back memory from hs_arena_alloc that nothing uses any more: later hs_arena_alloc
 * calls of any size are carved from it first. If another thread (or the code a signal
 * handler interrupted) is at the list, the memory is simply not reused. Async-signal-safe.
 */
void hs_arena_give_back(void *p, size_t size);

/*
 * In a forked child: the list of spare blocks' lock, as hs_errors_atfork_child (a block
 * is out of the list or in it at every step, so releasing it is safe).
 */
void hs_arena_atfork_child(void);

/*
 * A large zeroed mapping of its own (tables that are sized once): rounded up to pages,
 * reserved without swap accounting (MAP_NORESERVE) so untouched parts cost nothing.
 * NULL on failure. Async-signal-safe.
 */
void *hs_arena_map(size_t size);

/*
 * Called when the system refuses the agent memory: an internal failure, said once, and
 * tracking stops (defined by lifecycle.c; optional, so parts can be tested alone).
 */
void hs_arena_failed(void);

/* Bytes handed out by hs_arena_alloc (stack records, small tables, ...). */
size_t hs_arena_used_bytes(void);

/* Bytes the agent has mapped for itself so far (arena chunks and tables). */
size_t hs_arena_mapped_bytes(void);

#endif
