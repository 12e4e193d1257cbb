// SPDX-License-Identifier: MIT
/*
 * The interposed C allocation functions. Each returns exactly what the real function
 * returns and leaves errno as the real function left it; the bookkeeping happens after an
 * allocation and before a free (so a freed address can't be handed to another thread while
 * the agent still has it in its map). Calls made while the real functions are being found
 * are served by the bootstrap allocator, whose blocks are recognized everywhere below.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "check.h"
#include "hsr_format.h"
#include "tracker.h"

#define RA() ((uintptr_t)__builtin_return_address(0))

/* 1 when the real functions are there; starts the agent on first use. */
static inline int hooks_ready(void)
{
	if (hs_unlikely(!hs_real.malloc)) {
		if (hs_real_resolve() < 0 || !hs_real.malloc)
			return 0;
	}
	if (hs_unlikely(!atomic_load_explicit(&hs_state.initialized, memory_order_acquire)))
		hs_init();
	return 1;
}

static inline void *track_new_block(void *p, size_t size, unsigned kind, uintptr_t ra)
{
	if (hs_likely(!p || !hs_should_track() || hs_sample_skip(size)))
		return p;
	return hs_hook_track_alloc(p, size, kind, ra);
}

/* Check mode (--check): blocks with canaries; never for the agent's own calls. */
static inline int checking(void)
{
	return hs_unlikely(hs_opt.check) && !hs_self.internal;
}

static __attribute__((noinline)) void *malloc_slow(size_t size, uintptr_t ra)
{
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, 16);
	if (hs_unlikely(hs_self.need_control) && !hs_should_track())
		hs_tracker_poll_untracked();	/* a forked child, tracking off */
	if (checking())
		return hs_check_alloc(size, 0, HSR_KIND_MALLOC, 0, ra);
	return track_new_block(hs_real.malloc(size), size, HSR_KIND_MALLOC, ra);
}

HS_EXPORT void *malloc(size_t size)
{
	if (hs_likely(hs_fast_alloc(size)))
		return hs_real.malloc(size);
	return malloc_slow(size, RA());
}

static __attribute__((noinline)) void *calloc_slow(size_t n, size_t m, uintptr_t ra)
{
	size_t size;

	if (__builtin_mul_overflow(n, m, &size))
		size = SIZE_MAX;
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, 16);	/* static memory: already zero */
	if (checking()) {
		if (size == SIZE_MAX) {	/* n * m overflowed */
			errno = ENOMEM;
			return NULL;
		}
		return hs_check_alloc(size, 0, HSR_KIND_CALLOC, 1, ra);
	}
	return track_new_block(hs_real.calloc(n, m), size, HSR_KIND_CALLOC, ra);
}

HS_EXPORT void *calloc(size_t n, size_t m)
{
	size_t size;

	if (hs_likely(!__builtin_mul_overflow(n, m, &size) && hs_fast_alloc(size)))
		return hs_real.calloc(n, m);
	return calloc_slow(n, m, RA());
}

static __attribute__((noinline)) void free_slow(void *p, uintptr_t ra)
{
	if (!p || hs_unlikely(hs_bootstrap_owns(p)))
		return;
	if (hs_unlikely(!hooks_ready()))
		return;
	if (hs_check_takes(p)) {
		hs_check_free(p, HS_FREE_C, ra);
		return;
	}
	if (hs_should_track() && !hs_sample_free_skip(p) && !hs_hook_track_free(p))
		return;
	hs_real.free(p);
}

HS_EXPORT void free(void *p)
{
	if (hs_likely(hs_fast_free(p)))
		return hs_real.free(p);
	free_slow(p, RA());
}

/* realloc of a bootstrap block: move it to the real heap. */
static void *realloc_bootstrap(void *old, size_t size, unsigned kind, uintptr_t ra)
{
	size_t old_size = hs_bootstrap_size(old);
	void *p = hs_real.malloc(size ? size : 1);

	if (p)
		memcpy(p, old, old_size < size ? old_size : size);
	return track_new_block(p, size, kind, ra);
}

/*
 * realloc in a signal handler whose forgetting of `old` waits in its thread's queue: a new
 * block, the old one's bytes, and the old one handed back once the queue has forgotten it
 * (a real realloc would free it now, and a block another thread got at its address
 * meanwhile was the one the queue then forgot: t1000-torture-signals, whose allocator
 * reuses a freed block at once, lost leaks that way in 26 of 40 runs). Without the
 * allocator's malloc_usable_size, the old block's size is not known: a real realloc then.
 */
static void *realloc_queued(void *old, size_t size, unsigned kind, uintptr_t ra)
{
	size_t have;
	void *p;

	if (!hs_real.malloc_usable_size)
		return hs_real.realloc(old, size);
	have = hs_real.malloc_usable_size(old);
	p = size ? hs_real.malloc(size) : NULL;
	if (size && !p)
		return NULL;	/* old stays the program's, though the queue forgets it */
	if (p)
		memcpy(p, old, have < size ? have : size);
	hs_track_free_later(old);
	if (p)
		hs_track_alloc(p, size, kind, ra);
	return p;
}

static void *realloc_tracked(void *old, size_t size, unsigned kind, uintptr_t ra)
{
	struct hs_block_info info = { 0 };
	int saved = errno;
	void *p;

	if (old && hs_track_forget(old, &info)) {
		p = realloc_queued(old, size, kind, ra);
		if (p || !size)
			errno = saved;
		return p;
	}
	errno = saved;
	p = hs_real.realloc(old, size);
	saved = errno;
	if (!p && size && old) {
		hs_track_restore(old, &info);	/* failed: the old block is still there */
		errno = saved;
		return NULL;
	}
	hs_track_account_free(&info);
	if (p)
		hs_track_alloc(p, size, kind, ra);
	errno = saved;
	return p;
}

static __attribute__((noinline)) void *realloc_common(void *old, size_t size, unsigned kind,
							uintptr_t ra)
{
	if (hs_unlikely(!hooks_ready())) {
		void *p = hs_bootstrap_alloc(size, 16);

		if (p && old)
			memcpy(p, old, hs_bootstrap_size(old) < size ? hs_bootstrap_size(old) : size);
		return p;
	}
	if (hs_unlikely(old && hs_bootstrap_owns(old)))
		return realloc_bootstrap(old, size, kind, ra);
	if (hs_check_takes(old))
		return hs_check_realloc(old, size, kind, ra);
	if (!hs_should_track())
		return hs_real.realloc(old, size);
	return realloc_tracked(old, size, kind, ra);
}

HS_EXPORT void *realloc(void *old, size_t size)
{
	if (hs_likely(hs_fast_free(old) && hs_fast_alloc(size)))
		return hs_real.realloc(old, size);
	return realloc_common(old, size, HSR_KIND_REALLOC, RA());
}

HS_EXPORT void *reallocarray(void *old, size_t n, size_t m)
{
	size_t size;

	if (__builtin_mul_overflow(n, m, &size)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_common(old, size, HSR_KIND_REALLOCARRAY, RA());
}

HS_EXPORT void *memalign(size_t align, size_t size)
{
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, align);
	if (checking())
		return hs_check_alloc(size, align, HSR_KIND_MEMALIGN, 0, RA());
	return track_new_block(hs_real.memalign(align, size), size, HSR_KIND_MEMALIGN, RA());
}

HS_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, align);
	if (checking())
		return hs_check_alloc(size, align, HSR_KIND_ALIGNED_ALLOC, 0, RA());
	return track_new_block(hs_real.aligned_alloc(align, size), size,
			       HSR_KIND_ALIGNED_ALLOC, RA());
}

HS_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int ret;

	if (hs_unlikely(!hooks_ready())) {
		*out = hs_bootstrap_alloc(size, align);
		return *out ? 0 : ENOMEM;
	}
	if (checking()) {
		if (!align || (align & (align - 1)) || align % sizeof(void *))
			return EINVAL;
		*out = hs_check_alloc(size, align, HSR_KIND_POSIX_MEMALIGN, 0, RA());
		return *out ? 0 : ENOMEM;
	}
	ret = hs_real.posix_memalign(out, align, size);
	if (ret == 0)
		track_new_block(*out, size, HSR_KIND_POSIX_MEMALIGN, RA());
	return ret;
}

HS_EXPORT void *valloc(size_t size)
{
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, 4096);
	if (checking())
		return hs_check_alloc(size, 4096, HSR_KIND_VALLOC, 0, RA());
	return track_new_block(hs_real.valloc(size), size, HSR_KIND_VALLOC, RA());
}

HS_EXPORT void *pvalloc(size_t size)
{
	if (hs_unlikely(!hooks_ready()))
		return hs_bootstrap_alloc(size, 4096);
	if (checking())
		return hs_check_alloc(size, 4096, HSR_KIND_PVALLOC, 0, RA());
	return track_new_block(hs_real.pvalloc(size), size, HSR_KIND_PVALLOC, RA());
}

HS_EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (hs_bootstrap_owns(p))
		return hs_bootstrap_size(p);
	if (hs_unlikely(!hooks_ready()) || !hs_real.malloc_usable_size)
		return 0;
	if (hs_unlikely(hs_opt.check))
		return hs_check_usable_size(p);
	return hs_real.malloc_usable_size(p);
}
