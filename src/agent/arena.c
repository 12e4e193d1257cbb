// SPDX-License-Identifier: MIT
/*
 * The agent's bump allocator over mmap'd chunks (see arena.h). Lock-free: a thread reserves
 * space in the current chunk with a CAS, and replaces an exhausted chunk with a CAS too; the
 * loser of that race unmaps its chunk. Memory given back (hs_arena_give_back) is kept on a
 * list of spare blocks that later requests of any kind are carved from first, under a
 * try-lock: a caller that finds it taken (another thread, or the thread a signal handler
 * interrupted) takes fresh memory instead. Must never call malloc.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
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

/* A spare block, its header at its start; blocks smaller than SPARE_MIN are dropped. */
struct spare {
	struct spare *next;
	uintptr_t end;
};

#define SPARE_MIN 64
#define SPARE_LOOK 8		/* blocks looked at per request */
#define SPARE_SMALL 256		/* a request this small drops the blocks it cannot use */

static struct {
	atomic_flag lock;
	struct spare *head;
	atomic_int any;		/* the list is not empty: a hint read without the lock */
} spares;

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

/* Put [start, end) on the list if it is worth keeping (the caller holds the lock). */
static void spare_put(uintptr_t start, uintptr_t end)
{
	struct spare *b;

	start = (start + 7) & ~(uintptr_t)7;
	if (start >= end || end - start < SPARE_MIN)
		return;
	b = (struct spare *)start;
	b->next = spares.head;
	b->end = end;
	spares.head = b;
}

/* Carve size bytes aligned to align from a spare block, zeroed; NULL if none fits. */
static void *spare_take(size_t size, size_t align)
{
	struct spare **link, *b;
	void *p = NULL;
	unsigned looked = 0;

	if (!atomic_load_explicit(&spares.any, memory_order_relaxed) ||
	    atomic_flag_test_and_set_explicit(&spares.lock, memory_order_acquire))
		return NULL;
	for (link = &spares.head; (b = *link) && looked < SPARE_LOOK; looked++) {
		uintptr_t start = ((uintptr_t)b + align - 1) & ~(uintptr_t)(align - 1);
		uintptr_t end = b->end;

		if (start + size > end || start + size < start) {
			/* Too small even for a small request: of no use, drop it from the list
			   (rests of carved blocks would otherwise pile up at its head). */
			if (size <= SPARE_SMALL && end - (uintptr_t)b < size)
				*link = b->next;
			else
				link = &b->next;
			continue;
		}
		*link = b->next;
		spare_put(start + size, end);	/* the rest, if big enough */
		p = (void *)start;
		break;
	}
	atomic_store_explicit(&spares.any, spares.head != NULL, memory_order_relaxed);
	atomic_flag_clear_explicit(&spares.lock, memory_order_release);
	if (p) {
		memset(p, 0, size);
		atomic_fetch_add_explicit(&used, size, memory_order_relaxed);
	}
	return p;
}

void hs_arena_atfork_child(void)
{
	atomic_flag_clear_explicit(&spares.lock, memory_order_release);
}

void hs_arena_give_back(void *p, size_t size)
{
	if (!p || atomic_flag_test_and_set_explicit(&spares.lock, memory_order_acquire))
		return;		/* busy: the block is lost, as before there was a list */
	spare_put((uintptr_t)p, (uintptr_t)p + size);
	atomic_store_explicit(&spares.any, spares.head != NULL, memory_order_relaxed);
	atomic_flag_clear_explicit(&spares.lock, memory_order_release);
	atomic_fetch_sub_explicit(&used, size, memory_order_relaxed);
}

void *hs_arena_alloc(size_t size, size_t align)
{
	struct chunk *c, *fresh;
	void *p;

	if (align < 8)
		align = 8;
	p = spare_take(size, align);
	if (p)
		return p;
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
