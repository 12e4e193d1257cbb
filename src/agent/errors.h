/* SPDX-License-Identifier: MIT */
/*
 * The heap errors found by checking (check.c): each is kept once per (kind, allocation
 * stack, detection stack) with a count, said once on stderr with its stacks, and written
 * to the recording (ERRORS records, docs/FORMAT.md).
 */
#ifndef HS_ERRORS_H
#define HS_ERRORS_H

#include <stdint.h>

struct hs_stack;

struct hs_error {
	unsigned kind;			/* enum hsr_error_kind */
	uint64_t t;
	uintptr_t addr;			/* the block, or the pointer given to free */
	uint64_t size;			/* the block's size, 0 when there is no block */
	int64_t offset;			/* first damaged byte, from the block's start */
	uint64_t nbytes;		/* damaged bytes */
	struct hs_stack *alloc;		/* where the block was allocated, or NULL */
	struct hs_stack *freed;		/* where it was (first) freed, or NULL */
	struct hs_stack *where;		/* where the error was found */
	unsigned alloc_kind;		/* enum hsr_alloc_kind of the block */
	unsigned free_kind;		/* enum hsr_alloc_kind of the release (HSR_KIND_FREE...) */
	uint64_t count;
};

/*
 * Record an error (copied). Returns 1 the first time this (kind, stacks) is seen, 0 for a
 * repeat. May be called from a signal handler (guard faults): then a busy table only
 * counts it.
 */
int hs_error_add(const struct hs_error *e);

/*
 * In a forked child: the table's lock, which a thread of the parent may have held at the
 * fork (that thread is not there to release it, and every error of the child was only
 * counted). The table is whole at every step of an add (an entry is filled before it is
 * counted), so the lock is simply released.
 */
void hs_errors_atfork_child(void);

/* Errors kept, the i-th of them, and all occurrences. */
unsigned hs_errors_count(void);
const struct hs_error *hs_error_at(unsigned i);
uint64_t hs_errors_total(void);

#endif
