/* SPDX-License-Identifier: MIT */
/*
 * What changed per stack between two points: two snapshots of one recording, or the ends
 * (or any snapshots) of two recordings, as pprof -base and heaptrack --diff show it.
 * Within one recording stacks are matched by id. Across recordings ids mean nothing
 * (each process interns its own), so a stack is matched by its allocator and the chain
 * of function names of its resolved frames (pprof's default granularity); frames
 * without a function name count by module file name and offset. Stacks of one side that
 * share a key are added up. Numbers only: no output.
 */
#ifndef HS_DIFF_H
#define HS_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"
#include "resolve.h"

/* One side of a diff: a recording, its resolver, and a snapshot index in it. */
struct hs_diff_side {
	const struct hsr_recording *rec;
	struct hs_resolver *res;
	size_t snapshot;		/* index into rec->snapshots */
};

/* Live and allocation figures of a row at one side. */
struct hs_diff_figures {
	uint64_t live_bytes, live_blocks;
	uint64_t alloc_bytes, alloc_calls;
};

struct hs_diff_row {
	uint32_t id_from, id_to;	/* the stack on each side (first of those merged) */
	int in_from, in_to;		/* whether the side has it */
	struct hs_diff_figures from, to;
	int64_t d_live_bytes, d_live_blocks;	/* to - from */
	int64_t d_alloc_bytes, d_alloc_calls;
};

struct hs_diff {
	int same_recording;		/* matched by id */
	int reset_between;		/* counters were reset between the two snapshots */
	struct hs_diff_row *rows;	/* changed stacks, largest |live bytes change| first */
	size_t nrows;			/* after the top cut */
	size_t nchanged;		/* before it */
	struct hs_diff_figures from, to;	/* the totals of each snapshot */
	uint64_t grew_bytes, shrank_bytes;	/* live bytes gained / lost over all rows */
	size_t grew_stacks, shrank_stacks;
};

/*
 * Compare `from` with `to` into *out (release with hs_diff_release()); `top` rows at
 * most (0: all). When both sides are the same recording, stacks match by id and the
 * resolvers are not used. 0 or -ENOMEM.
 */
int hs_diff_compute(const struct hs_diff_side *from, const struct hs_diff_side *to, size_t top,
		    struct hs_diff *out);
void hs_diff_release(struct hs_diff *d);

/*
 * Find a snapshot of rec by what a user typed: its seq number ("3"), "first", "last",
 * or a checkpoint name (the last snapshot of that name). Index in *k; 0 or -ENOENT.
 */
int hs_diff_find_snapshot(const struct hsr_recording *rec, const char *spec, size_t *k);

#endif
