// SPDX-License-Identifier: MIT
/*
 * The agent's bump allocator over mmap'd chunks (see arena.h). Lock-free: a thread reserves
 * space in the current chunk with a CAS, and replaces an exhausted chunk with a CAS too; the
 * loser of that race unmaps its chunk. Must never call malloc.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "arena.h"
#include "faultinject.h"

#define CHUNK_SIZE (4u << 20)

struct chunk {
	_Atomic(uintptr_t) next;	/* next free byte */
	uintptr_t end;
};

static _Atomic(struct chunk *) current;
static atomic_size_t mapped;
static atomic_size_t used;	/* bytes handed out by hs_arena_alloc */

/* The agent stops tracking when its memory is refused (lifecycle.c; absent in tests). */
void hs_arena_failed(void) __attribute__((weak));

void *hs_arena_map(size_t size)
{
	void *p = MAP_FAILED;

	size = (size + 4095) & ~(size_t)4095;
	if (!hs_fault(HS_FAULT_MMAP))
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		if (hs_arena_failed)
			hs_arena_failed();
		return NULL;
	}
	atomic_fetch_add_explicit(&mapped, size, memory_order_relaxed);
	return p;
}

static struct chunk *chunk_new(size_t need)
{
	size_t size = need + 4096 > CHUNK_SIZE ? need + 4096 : CHUNK_SIZE;
	struct chunk *c = hs_arena_map(size);

	if (!c)
		return NULL;
	c->next = (uintptr_t)c + 64;
	c->end = (uintptr_t)c + ((size + 4095) & ~(size_t)4095);
	return c;
}

static void *chunk_take(struct chunk *c, size_t size, size_t align)
{
	uintptr_t old = atomic_load_explicit(&c->next, memory_order_relaxed);

	for (;;) {
		uintptr_t start = (old + align - 1) & ~(uintptr_t)(align - 1);

		if (start + size > c->end || start + size < start)
			return NULL;
		if (atomic_compare_exchange_weak_explicit(&c->next, &old, start + size,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return (void *)start;
	}
}

void *hs_arena_alloc(size_t size, size_t align)
{
	struct chunk *c, *fresh;
	void *p;

	if (align < 8)
		align = 8;
	for (;;) {
		c = atomic_load_explicit(&current, memory_order_acquire);
		if (c) {
			p = chunk_take(c, size, align);
			if (p) {
				atomic_fetch_add_explicit(&used, size, memory_order_relaxed);
				return p;
			}
		}
		fresh = chunk_new(size + align);
		if (!fresh)
			return NULL;
		if (size + align > CHUNK_SIZE / 2) {
			/* A big request gets its own chunk; the current one stays. */
			atomic_fetch_add_explicit(&used, size, memory_order_relaxed);
			return chunk_take(fresh, size, align);
		}
		if (!atomic_compare_exchange_strong_explicit(&current, &c, fresh,
							     memory_order_acq_rel,
							     memory_order_acquire)) {
			size_t len = fresh->end - (uintptr_t)fresh;

			munmap(fresh, len);
			atomic_fetch_sub_explicit(&mapped, len, memory_order_relaxed);
		}
	}
}

size_t hs_arena_used_bytes(void)
{
	return atomic_load_explicit(&used, memory_order_relaxed);
}

size_t hs_arena_mapped_bytes(void)
{
	return atomic_load_explicit(&mapped, memory_order_relaxed);
}
