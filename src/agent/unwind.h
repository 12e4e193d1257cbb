/* SPDX-License-Identifier: MIT */
/*
 * Capturing the call stack of an allocation, inside the target, on every tracked call.
 * The hot path of the whole agent: a DWARF-CFI unwinder whose per-pc rules are cached in a
 * lock-free table, with a frame-pointer walk as fallback and as an option. Every read of
 * target memory is bounded by the current thread's stack limits, so a bad rule or a
 * corrupt frame ends the walk instead of faulting.
 *
 * Nothing here allocates with malloc or takes a lock a signal handler could wait on.
 */
#ifndef HS_UNWIND_H
#define HS_UNWIND_H

#include <stddef.h>
#include <stdint.h>

enum hs_unwind_method {
	HS_UNWIND_CFI = 0,	/* cached DWARF CFI, frame pointers where CFI is missing */
	HS_UNWIND_FP = 1,	/* frame pointers only (fast, wrong for code without them) */
};

/* Set up the rule cache. Needs hs_modules_init() first. 0 or -errno. */
int hs_unwind_init(enum hs_unwind_method method);

/*
 * Walk the calling thread's stack. Frames are return addresses, innermost first. Recording
 * starts at the first frame whose return address equals `first_ra` (what the hook saw as
 * __builtin_return_address(0)), so the agent's own frames are left out; if that frame is
 * not met within a few steps, recording starts after the agent's own frames.
 * [stack_lo, stack_hi) bound every stack read. Returns the number of frames stored (at
 * most max). Async-signal-safe; reentrant.
 */
size_t hs_unwind(uintptr_t *frames, size_t max, uintptr_t first_ra, uintptr_t stack_lo,
		 uintptr_t stack_hi);

/* Forget cached rules (a module went away, its addresses may be reused). */
void hs_unwind_invalidate(void);

/* Statistics for the agent's self-report: cache hits and misses so far. */
void hs_unwind_stats(uint64_t *hits, uint64_t *misses);

#endif
