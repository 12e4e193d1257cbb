// SPDX-License-Identifier: MIT
/*
 * Finding the real allocation functions behind our hooks (dlsym(RTLD_NEXT, ...), so that a
 * target bringing its own allocator keeps it), and the bootstrap allocator that serves the
 * calls made while dlsym itself allocates. Bootstrap blocks are recognized by address
 * everywhere a block can be freed, reallocated or measured.
 */
#include <dlfcn.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include "agent.h"

struct hs_real hs_real;

#define BOOTSTRAP_SIZE (256 * 1024)
#define HEADER 16

static alignas(64) unsigned char bootstrap[BOOTSTRAP_SIZE];
static atomic_size_t bootstrap_used;

void *hs_bootstrap_alloc(size_t size, size_t align)
{
	size_t old, start;

	if (align < HEADER)
		align = HEADER;
	if (align > 4096 || size > BOOTSTRAP_SIZE)
		return NULL;
	old = atomic_load_explicit(&bootstrap_used, memory_order_relaxed);
	do {
		start = (old + HEADER + align - 1) & ~(align - 1);
		if (start + size > BOOTSTRAP_SIZE)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&bootstrap_used, &old, start + size,
							 memory_order_relaxed,
							 memory_order_relaxed));
	memcpy(bootstrap + start - sizeof(size), &size, sizeof(size));
	return bootstrap + start;
}

int hs_bootstrap_owns(const void *p)
{
	return (const unsigned char *)p >= bootstrap &&
	       (const unsigned char *)p < bootstrap + BOOTSTRAP_SIZE;
}

size_t hs_bootstrap_size(const void *p)
{
	size_t size;

	memcpy(&size, (const unsigned char *)p - sizeof(size), sizeof(size));
	return size;
}

static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int hs_real_resolve(void)
{
	static atomic_int state;	/* 0 not yet, 1 resolving, 2 done, -1 failed */
	int expected = 0;
	struct hs_real r;

	if (atomic_load_explicit(&state, memory_order_acquire) == 2)
		return 0;
	if (!atomic_compare_exchange_strong(&state, &expected, 1))
		return expected == 2 ? 0 : -1;
	hs_self.internal++;
	memset(&r, 0, sizeof(r));
	r.malloc = next_sym("malloc");
	r.free = next_sym("free");
	r.calloc = next_sym("calloc");
	r.realloc = next_sym("realloc");
	r.reallocarray = next_sym("reallocarray");
	r.memalign = next_sym("memalign");
	r.posix_memalign = next_sym("posix_memalign");
	r.aligned_alloc = next_sym("aligned_alloc");
	r.valloc = next_sym("valloc");
	r.pvalloc = next_sym("pvalloc");
	r.malloc_usable_size = next_sym("malloc_usable_size");
	hs_self.internal--;
	if (!r.malloc || !r.free || !r.calloc || !r.realloc) {
		atomic_store(&state, -1);
		return -1;
	}
	/* Publish the optional ones first: hooks test hs_real.malloc as "resolved". */
	hs_real.free = r.free;
	hs_real.calloc = r.calloc;
	hs_real.realloc = r.realloc;
	hs_real.reallocarray = r.reallocarray;
	hs_real.memalign = r.memalign;
	hs_real.posix_memalign = r.posix_memalign;
	hs_real.aligned_alloc = r.aligned_alloc;
	hs_real.valloc = r.valloc;
	hs_real.pvalloc = r.pvalloc;
	hs_real.malloc_usable_size = r.malloc_usable_size;
	atomic_thread_fence(memory_order_release);
	hs_real.malloc = r.malloc;
	atomic_store_explicit(&state, 2, memory_order_release);
	return 0;
}
