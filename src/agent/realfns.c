// SPDX-License-Identifier: MIT
/*
 * Finding the real allocation functions behind our hooks (dlsym(RTLD_NEXT, ...), so that a
 * target bringing its own allocator keeps it), and the bootstrap allocator that serves the
 * calls made while dlsym itself allocates. Bootstrap blocks are recognized by address
 * everywhere a block can be freed, reallocated or measured. Built with HEAPSCOPE_WRAP (the
 * static agent, wrap.c), the real functions are the linker's __real_NAME symbols instead.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include "agent.h"

struct hs_real hs_real;

#define HEADER 16

alignas(64) unsigned char hs_bootstrap[HS_BOOTSTRAP_SIZE];
#define bootstrap hs_bootstrap
#define BOOTSTRAP_SIZE HS_BOOTSTRAP_SIZE
static atomic_size_t bootstrap_used;

/*
 * Sampling's free fast path asks only the filter (hs_fast_free): the granules that hold
 * bootstrap blocks carry a count of their own there, so their frees go the slow way. Only
 * the granules in use (none, with this glibc's dlsym, or a few): all 64 of the area would
 * send the frees of every heap page that shares their slots (every 256 MiB) to the map.
 */
static _Atomic uint64_t pinned[(HS_BOOTSTRAP_SIZE >> HS_FILTER_GRANULE) / 64 + 1];

static void pin(uintptr_t lo, uintptr_t hi)
{
	uintptr_t first = (uintptr_t)bootstrap >> HS_FILTER_GRANULE;

	if (!hs_sampling.filter || lo >= hi)
		return;
	for (uintptr_t g = lo >> HS_FILTER_GRANULE; g <= (hi - 1) >> HS_FILTER_GRANULE; g++) {
		uintptr_t i = g - first;
		uint64_t bit = 1ull << (i & 63);

		if (!(atomic_fetch_or(&pinned[i / 64], bit) & bit))
			atomic_fetch_add(hs_sample_filter_slot(g << HS_FILTER_GRANULE), 1);
	}
}

void hs_bootstrap_pin(void)
{
	pin((uintptr_t)bootstrap, (uintptr_t)bootstrap + atomic_load(&bootstrap_used));
}

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
	/* once sampling's filter exists (before, hs_bootstrap_pin marks what is in use) */
	pin((uintptr_t)bootstrap + start, (uintptr_t)bootstrap + start + size + 1);
	return bootstrap + start;
}

size_t hs_bootstrap_size(const void *p)
{
	size_t size;

	memcpy(&size, (const unsigned char *)p - sizeof(size), sizeof(size));
	return size;
}

#ifdef HEAPSCOPE_WRAP
/* Defined by the linker for each -Wl,--wrap=NAME of heapscope-wrap.flags: the C library's. */
extern void *__real_malloc(size_t);
extern void __real_free(void *);
extern void *__real_calloc(size_t, size_t);
extern void *__real_realloc(void *, size_t);
extern void *__real_reallocarray(void *, size_t, size_t);
extern void *__real_memalign(size_t, size_t);
extern int __real_posix_memalign(void **, size_t, size_t);
extern void *__real_aligned_alloc(size_t, size_t);
extern void *__real_valloc(size_t);
extern void *__real_pvalloc(size_t);
extern size_t __real_malloc_usable_size(void *);

#define REAL_SYM(name) { #name, (void *)__real_##name }

static const struct {
	const char *name;
	void *fn;
} real_syms[] = {
	REAL_SYM(malloc), REAL_SYM(free), REAL_SYM(calloc), REAL_SYM(realloc),
	REAL_SYM(reallocarray), REAL_SYM(memalign), REAL_SYM(posix_memalign),
	REAL_SYM(aligned_alloc), REAL_SYM(valloc), REAL_SYM(pvalloc),
	REAL_SYM(malloc_usable_size),
};

static void *next_sym(const char *name)
{
	for (size_t i = 0; i < sizeof(real_syms) / sizeof(real_syms[0]); i++)
		if (!strcmp(real_syms[i].name, name))
			return real_syms[i].fn;
	return NULL;
}

/*
 * A static program calls malloc while the C library is still starting itself
 * (_dl_non_dynamic_init, before dl_iterate_phdr and TLS are usable): until the first
 * constructor has run, hs_real_resolve() says "not yet" and those calls are served by the
 * bootstrap allocator, untracked, without starting the agent.
 */
static atomic_int libc_started;

__attribute__((constructor(101))) static void wrap_started(void)
{
	atomic_store_explicit(&libc_started, 1, memory_order_release);
}
#else
static void *next_sym(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}
#endif

/*
 * Held signals: a handler that ran while the thread was marked internal had its allocations
 * pass uncounted (t1000-torture-signals lost one handler's in about 1 run in 25: a nested
 * capture's first munmap, by the agent, resolved its hook's next definition in a handler).
 */
void *hs_next_fn(const char *name)
{
	sigset_t all, old;
	void *fn;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	hs_self.internal++;
	fn = next_sym(name);
	hs_self.internal--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return fn;
}

static __thread int resolving __attribute__((tls_model("initial-exec")));

/* hs_next_cached's lookup (agent.h). */
void *hs_next_lookup(void **slot, const char *name, int final)
{
	void *fn;

	if (resolving)
		return NULL;
	resolving = 1;
	fn = hs_next_fn(name);
	resolving = 0;
	if (fn || final)
		__atomic_store_n(slot, fn ? fn : HS_NEXT_ABSENT, __ATOMIC_RELEASE);
	return fn;
}

int hs_real_resolve(void)
{
	static atomic_int state;	/* 0 not yet, 1 resolving, 2 done, -1 failed */
	int expected = 0;
	struct hs_real r;

	if (atomic_load_explicit(&state, memory_order_acquire) == 2)
		return 0;
#ifdef HEAPSCOPE_WRAP
	if (!atomic_load_explicit(&libc_started, memory_order_acquire))
		return -1;	/* the bootstrap allocator serves it; ask again later */
#endif
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
