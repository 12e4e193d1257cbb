/* SPDX-License-Identifier: MIT */
/*
 * heapscope's public C API. Optional: the agent (libheapscope.so, loaded with LD_PRELOAD or
 * by `heapscope run`) works without it. A program may call these functions directly (link
 * with -lheapscope) or find them with dlsym(RTLD_DEFAULT, ...) so that it runs unchanged
 * without the agent. Every function is callable from gdb (`call heapscope_checkpoint("x")`).
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#define HEAPSCOPE_API_VERSION 2

/*
 * Write a snapshot of the per-stack counters into the recording, named `name` (may be
 * NULL). Returns 0, or a negative errno if tracking is off or the recording can't be
 * written. Not async-signal-safe.
 */
int heapscope_checkpoint(const char *name);

/*
 * Run a reachability leak scan now (the other threads are stopped for its length), and
 * write its result and a snapshot into the recording. Returns the bytes definitely and
 * indirectly lost, or a negative errno (-ENOTSUP in sampling mode). Not async-signal-safe.
 */
long heapscope_leak_check(void);

/*
 * Under --check (HEAPSCOPE_CHECK=1): verify every live block's canaries and the freed
 * blocks in quarantine now; each new error is reported. Returns the errors found, or -1
 * when checking is off.
 */
int heapscope_check_bounds(void);

/* 1 when the agent is loaded and tracking, 0 otherwise. Async-signal-safe. */
int heapscope_is_tracking(void);

/*
 * Heaps of the program's own (docs/HEAPS.md): a pool, a GPU allocator, an arena. Each is
 * reported next to the host heap (malloc) and to dma-buf, with its live bytes, its peak and
 * the stacks that held memory at that peak; a block still allocated at the end is a leak.
 *
 * heapscope_heap_register() returns the id of the heap called `name` (at most 47 bytes are
 * kept), registering it the first time: the same name gives the same id; "dma-buf" is the
 * agent's own dma-buf heap. Returns a negative errno on failure (-EINVAL: empty name,
 * -ENOSPC: too many heaps, -EAGAIN: the agent has not started).
 *
 * heapscope_heap_alloc() records a block of `size` bytes known by `addr` (any value unique
 * on that heap while the block lives: an address, an offset, a handle) with the caller's
 * stack; heapscope_heap_free() forgets it. A block allocated again under a live address
 * frees the old one first; freeing an unknown address does nothing. Thread-safe and
 * async-signal-safe (a call from a signal handler that interrupted this thread inside
 * one of them is dropped); errno is kept.
 */
int heapscope_heap_register(const char *name);
void heapscope_heap_alloc(int heap, const void *addr, size_t size);
void heapscope_heap_free(int heap, const void *addr);

#ifdef __cplusplus
}
#endif

#endif
