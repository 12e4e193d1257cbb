/* SPDX-License-Identifier: MIT */
/*
 * Heap checking (`--check`, HEAPSCOPE_CHECK): every block gets a 32-byte header ending in a
 * canary before it and N canary bytes after it; new blocks are filled with 0xCD, freed
 * ones with 0xDD and kept in a bounded quarantine; frees are validated (double, invalid,
 * interior, stack, mismatched). In guard mode each block ends at a PROT_NONE page and an
 * overflow faults at the guilty instruction. Errors are reported once per kind and stacks,
 * on stderr and in the recording (docs/CHECK.md).
 */
#ifndef HS_CHECK_H
#define HS_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

enum hs_free_kind {
	HS_FREE_C,		/* free, realloc */
	HS_FREE_DELETE,
	HS_FREE_DELETE_ARRAY,
	HS_FREE_DELETE_ALIGNED,
	HS_FREE_DELETE_ARRAY_ALIGNED,
};

/* Set up from the options (mode, canary size, quarantine); 0 or -errno. */
int hs_check_init(void);

/*
 * Fork: the quarantine's lock, taken before the fork (first of the agent's locks: a thread
 * that holds it may unmap, free and record an error meanwhile) and released after it in
 * parent and child. A child that inherited it taken by a thread that does not exist there
 * spun on it for ever in its exit's check (torture_fork under --check=guard, 1 run in 10).
 */
void hs_check_lock(void);
void hs_check_unlock(void);

/* The checked allocation functions: `align` 0 for the default, `zero` for calloc. */
void *hs_check_alloc(size_t size, size_t align, unsigned kind, int zero, uintptr_t ra);
void hs_check_free(void *p, enum hs_free_kind fk, uintptr_t ra);
void *hs_check_realloc(void *p, size_t size, unsigned kind, uintptr_t ra);
/*
 * A freed block whose forgetting waited in its thread's queue goes to the quarantine only
 * once the queue has forgotten it (the tracker's drain calls this): a quarantine that is
 * full or taken hands blocks back to the allocator at once, and a block that got the
 * address meanwhile would be the one the queue forgot.
 */
void hs_check_retire(void *p);

/*
 * Whether a free or realloc of p goes to the functions above: in check mode, the program's
 * calls, and a block of the program's that the C library frees or resizes inside one of
 * the agent's calls (dlsym freeing the program's last dlerror() message, say), which has
 * canaries still: never the real allocator's to take. The agent's own blocks are not.
 */
static inline int hs_check_takes(void *p)
{
	return hs_unlikely(hs_opt.check) && (!hs_self.internal || (p && hs_track_is_live(p)));
}
size_t hs_check_usable_size(void *p);

/*
 * From a SIGSEGV/SIGBUS handler: if the fault hit a guard page or a freed guarded block,
 * report it (with the faulting instruction's stack) and return 1; 0 otherwise.
 */
#include <signal.h>
int hs_check_fault(int sig, siginfo_t *si, void *uc);

/* Verify every live block's canaries and the quarantine's fill; errors found. */
unsigned hs_check_all(uintptr_t ra);

#endif
