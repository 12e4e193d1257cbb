// SPDX-License-Identifier: MIT
/*
 * An async-signal-safe malloc for torture_signals: a lock-free bump allocator over one
 * large reserved mapping, never reusing memory (free only checks its argument). With
 * TORTURE_BUMP_REUSE=1 in the environment, memory is reused the way real allocators reuse
 * it, at once: the block freed last (by free or by a realloc that moved) waits in one slot,
 * and the next request it can hold takes it back, whatever the thread (an exchange each
 * way, so a signal handler may interrupt either; a block the slot held before is dropped);
 * docs/ROBUSTNESS.md says what that mode still finds. Linked
 * into the program, it is the "real" allocator behind the agent's hooks, so signal
 * handlers may allocate anywhere, even in the middle of malloc or of the agent's own
 * bookkeeping, without the program deadlocking in the C library's allocator: whatever
 * goes wrong then is the agent's doing. Its functions never call each other through
 * their exported names (the agent interposes those): each hooked call is exactly one
 * allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPACE (8ull << 30)	/* reserved, not committed */
#define HDR 16

static atomic_uintptr_t base, next;

static uintptr_t space(void)
{
	uintptr_t b = atomic_load(&base), want = 0;
	void *m;

	if (b)
		return b;
	m = mmap(NULL, SPACE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (m == MAP_FAILED)
		return 0;
	if (!atomic_compare_exchange_strong(&base, &want, (uintptr_t)m)) {
		munmap(m, SPACE);
		return want;
	}
	atomic_store(&next, (uintptr_t)m);
	return (uintptr_t)m;
}

/* size bytes at an `align` boundary (a power of two, at least 16), size kept before it. */
static void *take(size_t size, size_t align)
{
	uintptr_t b = space(), old, start;

	if (!b || size > SPACE / 2) {
		errno = ENOMEM;
		return NULL;
	}
	old = atomic_load(&next);
	do {
		start = (old + HDR + align - 1) & ~(uintptr_t)(align - 1);
		if (start + size > b + SPACE) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!atomic_compare_exchange_weak(&next, &old, start + size));
	((size_t *)start)[-1] = size;
	return (void *)start;
}

static _Atomic(uintptr_t) last_freed;
static atomic_int reuse;	/* 0 not read yet, 1 no, 2 yes */

static int reusing(void)
{
	int r = atomic_load(&reuse);

	if (!r) {
		const char *v = getenv("TORTURE_BUMP_REUSE");

		r = v && *v == '1' ? 2 : 1;
		atomic_store(&reuse, r);
	}
	return r == 2;
}

static void put_back(void *p)
{
	if (p && reusing())
		atomic_exchange(&last_freed, (uintptr_t)p);
}

/* The block freed last if it holds n bytes, else a new one. */
static void *reuse_or_take(size_t n)
{
	uintptr_t p = reusing() ? atomic_exchange(&last_freed, 0) : 0;

	if (p && ((size_t *)p)[-1] >= n)
		return (void *)p;
	put_back((void *)p);
	return take(n, 16);
}

void *malloc(size_t n)
{
	return reuse_or_take(n ? n : 1);
}

void free(void *p)
{
	put_back(p);
}

void *calloc(size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return take(n * m ? n * m : 1, 16);	/* fresh mapping: already zero */
}

size_t malloc_usable_size(void *p)
{
	return p ? ((size_t *)p)[-1] : 0;
}

static void *resize(void *p, size_t n)
{
	void *q = take(n ? n : 1, 16);
	size_t old = p ? ((size_t *)p)[-1] : 0;

	if (q && p) {
		memcpy(q, p, old < n ? old : n);
		put_back(p);
	}
	return q;
}

void *realloc(void *p, size_t n)
{
	return resize(p, n);
}

void *reallocarray(void *p, size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return resize(p, n * m);
}

void *memalign(size_t align, size_t n)
{
	return take(n ? n : 1, align < 16 ? 16 : align);
}

void *aligned_alloc(size_t align, size_t n)
{
	return take(n ? n : 1, align < 16 ? 16 : align);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p = take(n ? n : 1, align < 16 ? 16 : align);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	return take(n ? n : 1, 4096);
}

void *pvalloc(size_t n)
{
	return take((n + 4095) & ~(size_t)4095 ? (n + 4095) & ~(size_t)4095 : 4096, 4096);
}
