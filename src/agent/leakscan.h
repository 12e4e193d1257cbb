/* SPDX-License-Identifier: MIT */
/*
 * The reachability leak scan (docs/LEAKS.md): stop the other threads, scan the roots
 * conservatively, follow pointers through live blocks, and classify every live block as
 * valgrind's memcheck does: definitely, indirectly, possibly lost, still reachable.
 * Results stay in the agent until the writer puts them in a LEAKS record.
 */
#ifndef HS_LEAKSCAN_H
#define HS_LEAKSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_format.h"

struct hs_leak_figures {
	uint64_t bytes[HSR_LEAK_KINDS];
	uint64_t blocks[HSR_LEAK_KINDS];
};

struct hs_leak_result {
	uint64_t seq;			/* 1, 2, ...: which scan */
	uint64_t t;
	unsigned reason;		/* enum hsr_leak_reason */
	unsigned flags;			/* HSR_LEAKS_FLAG_* */
	unsigned threads;		/* thread stacks scanned */
	struct hs_leak_figures total;
	struct hs_leak_figures *per_stack;	/* indexed by stack id, nstacks + 1 entries */
	uint32_t nstacks;		/* highest id covered */
};

/*
 * Run a scan now. `self_sp` bounds the calling thread's stack scan from below (the frame
 * of the agent's entry point, so the agent's own frames are not roots). Not in sampling
 * mode. Returns 0 and the result (valid until the next scan), or -errno. Not reentrant:
 * one scan at a time (others wait).
 */
int hs_leakscan_run(unsigned reason, uintptr_t self_sp, const struct hs_leak_result **out);

/* The latest result, NULL if no scan ran. */
const struct hs_leak_result *hs_leakscan_last(void);

#endif
