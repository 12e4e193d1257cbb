// SPDX-License-Identifier: MIT
/*
 * An async-signal-safe malloc for torture_signals: a lock-free bump allocator over one
 * large reserved mapping, never reusing memory (free only checks its argument). Linked
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

void *malloc(size_t n)
{
	return take(n ? n : 1, 16);
}

void free(void *p)
{
	(void)p;
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

	if (q && p)
		memcpy(q, p, old < n ? old : n);
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
