/* SPDX-License-Identifier: MIT */
/*
 * Growth over time, for programs that never end (docs/LEAKS.md): from the per-stack
 * live bytes at each snapshot, the stacks whose live bytes rise steadily, with their
 * rate per snapshot and per second and how sure the call is. Left out: a one-time
 * allocation (one step holds most of the growth: start-up), churn (what rises falls
 * again) and stacks that shrink. Only the snapshots after the last RESET count: the
 * counters started over there. Numbers only: no symbols, no output.
 */
#ifndef HS_GROWTH_H
#define HS_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"

#define HS_GROWTH_MIN_SNAPSHOTS 3

enum hs_growth_confidence {
	HS_GROWTH_LOW,
	HS_GROWTH_MEDIUM,
	HS_GROWTH_HIGH,
};

struct hs_growth_row {
	uint32_t stack_id;
	double bytes_per_snapshot;	/* median slope over pairs half the window apart */
	double bytes_per_second;	/* the same against time; 0 when no time passed */
	double r2;			/* least-squares fit of live bytes against time */
	double monotonic;		/* share of snapshot-to-snapshot steps that don't fall */
	unsigned rising_steps;		/* steps that rise */
	uint64_t first_bytes;		/* live at the window's first snapshot */
	uint64_t last_bytes;		/* live at its last */
	double score;			/* 0 .. 1: fit x monotonicity x number of snapshots */
	enum hs_growth_confidence confidence;
};

struct hs_growth {
	size_t first;			/* the window: snapshots[first .. first + nsnapshots) */
	size_t nsnapshots;
	uint64_t span_ns;		/* from the window's first snapshot to its last */
	int after_reset;		/* the window starts at a RESET */
	struct hs_growth_row *rows;	/* growing stacks, fastest first, cut to top */
	size_t nrows;
	size_t ngrowing;		/* growing stacks before the cut */
	size_t nonetime;		/* stacks left out: grew in one step */
	size_t nchurn;			/* stacks left out: rose and fell again */
};

/*
 * Analyze rec's snapshots after the last reset into *out (release with
 * hs_growth_release()); `top` rows at most (0: all). With fewer than
 * HS_GROWTH_MIN_SNAPSHOTS snapshots, out has no rows (check nsnapshots). Walks the
 * snapshots once for all stacks, then once more for the growing ones. 0 or -ENOMEM.
 */
int hs_growth_compute(const struct hsr_recording *rec, size_t top, struct hs_growth *out);
void hs_growth_release(struct hs_growth *g);

/* "high", "medium", "low" (static). */
const char *hs_growth_confidence_name(enum hs_growth_confidence c);

#endif
