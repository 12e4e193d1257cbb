// SPDX-License-Identifier: MIT
/*
 * The interposed C++ operators new and delete, by their mangled names (Itanium ABI, 64-bit
 * size_t: 'm'), so a report can say which operator allocated a block. new takes its memory
 * from the real malloc (or aligned allocation) directly; only when that fails is the next
 * operator new called, for its new_handler loop and its std::bad_alloc, so exceptions
 * never start in this file and it needs no C++ runtime. delete gives blocks to the real
 * free. The agent is built with unwind tables, so exceptions pass through these frames.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#include "agent.h"
#include "check.h"
#include "cxx_mangle.h"
#include "hsr_format.h"

#define RA() ((uintptr_t)__builtin_return_address(0))

/* Absent at the agent's start in a C program: looked up again once libstdc++ may be there. */
#define REAL(type, name) ((type)hs_next_cached(&real_##name, #name, 0))

typedef void *(*new_fn)(size_t);
typedef void *(*new_nt_fn)(size_t, const void *);
typedef void *(*new_al_fn)(size_t, size_t);
typedef void *(*new_al_nt_fn)(size_t, size_t, const void *);

static void *real__Znwm, *real__Znam;
static void *real__ZnwmRKSt9nothrow_t, *real__ZnamRKSt9nothrow_t;
static void *real__ZnwmSt11align_val_t, *real__ZnamSt11align_val_t;
static void *real__ZnwmSt11align_val_tRKSt9nothrow_t;
static void *real__ZnamSt11align_val_tRKSt9nothrow_t;

/* At the agent's start (hs_hooks_resolve). */
void hs_cxx_hooks_resolve(void)
{
	(void)REAL(new_fn, _Znwm);
	(void)REAL(new_fn, _Znam);
	(void)REAL(new_nt_fn, _ZnwmRKSt9nothrow_t);
	(void)REAL(new_nt_fn, _ZnamRKSt9nothrow_t);
	(void)REAL(new_al_fn, _ZnwmSt11align_val_t);
	(void)REAL(new_al_fn, _ZnamSt11align_val_t);
	(void)REAL(new_al_nt_fn, _ZnwmSt11align_val_tRKSt9nothrow_t);
	(void)REAL(new_al_nt_fn, _ZnamSt11align_val_tRKSt9nothrow_t);
}

/* The memory behind every operator new: what libstdc++'s own operators ask for. */
static inline void *raw_alloc(size_t size, size_t align)
{
	void *p = NULL;

	if (hs_unlikely(!hs_real.malloc) && hs_real_resolve() < 0)
		return NULL;
	if (hs_unlikely(!atomic_load_explicit(&hs_state.initialized, memory_order_acquire)))
		hs_init();
	if (!align)
		return hs_real.malloc(size ? size : 1);
	if (hs_real.posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
				   size ? size : 1) != 0)
		return NULL;
	return p;
}

static inline void *after_new(void *p, size_t size, unsigned kind, uintptr_t ra)
{
	if (hs_likely(!p || !hs_should_track() || hs_sample_skip(size)))
		return p;
	return hs_hook_track_alloc(p, size, kind, ra);
}

/* Give p back to the allocator, after the agent forgot it. */
static __attribute__((noinline)) void raw_free_slow(void *p, enum hs_free_kind fk, uintptr_t ra)
{
	int now = 1;

	if (!p || hs_unlikely(hs_bootstrap_owns(p)))
		return;
	if (hs_check_takes(p)) {
		hs_check_free(p, fk, ra);
		return;
	}
	if (hs_should_track() && !hs_sample_free_skip(p))
		now = hs_hook_track_free(p);
	if (now && hs_real.free)
		hs_real.free(p);
}

/* Sampling's fast path first (agent.h: hs_fast_free): a tail call to the real free. */
static inline void raw_free(void *p, enum hs_free_kind fk, uintptr_t ra)
{
	if (hs_likely(hs_fast_free(p)))
		hs_real.free(p);
	else
		raw_free_slow(p, fk, ra);
}

/*
 * Each new: raw memory first; on failure, the next operator new (libstdc++'s) runs the
 * new_handler loop and throws or returns NULL as the standard says. A block it returns then
 * was counted by the malloc hook, so it is not counted again.
 */
#define DEFINE_NEW(sym, kind, params, align, args)                              \
	HS_EXPORT void *sym params                                             \
	{                                                                      \
		if (!(align) && hs_likely(hs_fast_alloc(size))) {              \
			void *p = hs_real.malloc(size ? size : 1);             \
			if (hs_likely(p != NULL))                              \
				return p;                                      \
			new_fn##args real = REAL(new_fn##args, sym);           \
			return real ? real ARGS##args : NULL;                  \
		}                                                              \
		void *p = hs_unlikely(hs_opt.check) && !hs_self.internal &&    \
					  hs_real.malloc                               \
				  ? hs_check_alloc(size, align, kind, 0, RA()) \
				  : raw_alloc(size, align);                    \
		if (p && hs_unlikely(hs_opt.check) && !hs_self.internal)       \
			return p;                                              \
		if (hs_unlikely(!p)) {                                         \
			new_fn##args real = REAL(new_fn##args, sym);           \
			return real ? real ARGS##args : NULL;                  \
		}                                                              \
		return after_new(p, size, kind, RA());                         \
	}

typedef new_fn new_fn_plain;
typedef new_nt_fn new_fn_nt;
typedef new_al_fn new_fn_al;
typedef new_al_nt_fn new_fn_al_nt;
#define ARGS_plain (size)
#define ARGS_nt (size, nt)
#define ARGS_al (size, al)
#define ARGS_al_nt (size, al, nt)

DEFINE_NEW(_Znwm, HSR_KIND_NEW, (size_t size), 0, _plain)
DEFINE_NEW(_Znam, HSR_KIND_NEW_ARRAY, (size_t size), 0, _plain)
DEFINE_NEW(_ZnwmRKSt9nothrow_t, HSR_KIND_NEW_NOTHROW, (size_t size, const void *nt), 0, _nt)
DEFINE_NEW(_ZnamRKSt9nothrow_t, HSR_KIND_NEW_ARRAY_NOTHROW, (size_t size, const void *nt),
	   0, _nt)
DEFINE_NEW(_ZnwmSt11align_val_t, HSR_KIND_NEW_ALIGNED, (size_t size, size_t al), al, _al)
DEFINE_NEW(_ZnamSt11align_val_t, HSR_KIND_NEW_ARRAY_ALIGNED, (size_t size, size_t al), al,
	   _al)
DEFINE_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, HSR_KIND_NEW_ALIGNED_NOTHROW,
	   (size_t size, size_t al, const void *nt), al, _al_nt)
DEFINE_NEW(_ZnamSt11align_val_tRKSt9nothrow_t, HSR_KIND_NEW_ARRAY_ALIGNED_NOTHROW,
	   (size_t size, size_t al, const void *nt), al, _al_nt)

/* Every delete variant: the size and alignment arguments are not needed by free(). */
HS_EXPORT void _ZdlPv(void *p) { raw_free(p, HS_FREE_DELETE, RA()); }
HS_EXPORT void _ZdaPv(void *p) { raw_free(p, HS_FREE_DELETE_ARRAY, RA()); }
HS_EXPORT void _ZdlPvm(void *p, size_t n) { raw_free(p, HS_FREE_DELETE, RA()); }
HS_EXPORT void _ZdaPvm(void *p, size_t n) { raw_free(p, HS_FREE_DELETE_ARRAY, RA()); }
HS_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt) { raw_free(p, HS_FREE_DELETE, RA()); }
HS_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	raw_free(p, HS_FREE_DELETE_ARRAY, RA());
}
HS_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { raw_free(p, HS_FREE_DELETE_ALIGNED, RA()); }
HS_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{
	raw_free(p, HS_FREE_DELETE_ARRAY_ALIGNED, RA());
}
HS_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	raw_free(p, HS_FREE_DELETE_ALIGNED, RA());
}
HS_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al)
{
	raw_free(p, HS_FREE_DELETE_ARRAY_ALIGNED, RA());
}
HS_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	raw_free(p, HS_FREE_DELETE_ALIGNED, RA());
}
HS_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al, const void *nt)
{
	raw_free(p, HS_FREE_DELETE_ARRAY_ALIGNED, RA());
}
