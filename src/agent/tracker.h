/* SPDX-License-Identifier: MIT */
/*
 * The accounting behind the hooks: process-wide live heap and its peak, per-stack counters
 * (with a lazily saved copy of each stack's live figures at the latest peak), temporary
 * allocations, and the heap-size timeline. The hooks enter through hs_track_* (agent.h);
 * the recording writer reads what is declared here.
 */
#ifndef HS_TRACKER_H
#define HS_TRACKER_H

#include <stdint.h>

struct hs_stack;

struct hs_totals {
	uint64_t alloc_calls;
	uint64_t alloc_bytes;
	uint64_t free_calls;
	uint64_t freed_bytes;
	uint64_t temporary;
	uint64_t peak_bytes;
	uint64_t peak_t;
	uint64_t peak_epoch;
	uint64_t sample_interval;	/* 0: exact */
	uint64_t reset_t;		/* last reset of the counters (hs_now_ns | 1), 0 never */
	int64_t live_bytes;		/* the global live total (may lag the per-stack sums) */
};

/* Set up the tracker's tables; 0 or -ENOMEM. */
int hs_tracker_init(void);

/*
 * The calling thread's stack as an interned stack of `kind`: walked from the frame whose
 * return address is `ra` (the hook's caller), or just `ra` when the walk finds nothing.
 * Registers the thread on its first call. For the tracker, the other heaps and --check.
 */
struct hs_stack *hs_tracker_capture(unsigned kind, uintptr_t ra);

/* Totals summed over all stacks, plus the peak. Not atomic as a whole. */
void hs_tracker_totals(struct hs_totals *out);

/*
 * A stack's live figures at the latest peak (bytes, blocks). Async-signal-safe; exact for
 * a single thread, consistent to within allocations in flight with several.
 */
void hs_tracker_stack_peak(struct hs_stack *s, uint64_t epoch, uint64_t *bytes,
			   uint64_t *blocks);

struct hs_timeline_point {
	uint64_t t;
	uint64_t live_bytes;
	uint64_t alloc_calls;
};

/*
 * Hand the timeline points gathered since the last call to cb (under the timeline lock),
 * after adding a point for now. Used by the writer; not for signal handlers.
 */
void hs_tracker_timeline_drain(void (*cb)(const struct hs_timeline_point *pts, unsigned n,
					  void *arg),
			       void *arg);

/*
 * A clean baseline: a new tracking generation (blocks recorded before are no longer
 * counted when freed), every counter to zero, the peak and timeline forgotten, and the
 * sampling interval set (0: exact). Used when tracking starts again or the sampling
 * changes; figures are approximate for the calls in flight at that instant.
 */
void hs_tracker_reset(uint64_t sample_interval);

/*
 * One program thread: its counters' adds need no locked instruction (tracker.c). Ended for
 * good when a second program thread is made.
 */
extern _Atomic int hs_solo;
void hs_tracker_solo_end(void);

/*
 * In a forked child: with tracking off, no allocation reaches the tracker, which starts the
 * child's control thread; the hooks take their slow path until one has started it.
 */
void hs_tracker_atfork_child(void);

/* From the hooks' slow path while tracking is off: start the child's control if due. */
void hs_tracker_poll_untracked(void);

/* Track only blocks of min_size..max_size bytes (max 0: no upper bound). */
void hs_tracker_set_limits(uint64_t min_size, uint64_t max_size);

/* The sampling interval in force (0: exact). */
uint64_t hs_tracker_sample_interval(void);

/* The current tracking generation (as the pointer map stores it). */
uint32_t hs_tracker_gen(void);

/*
 * Other heaps (heaps.c). The host heap's live bytes and peak, for the total; and the host
 * live bytes above which host + other heaps pass their total peak (UINT64_MAX: none in
 * use), which the allocation path tests together with the host peak at no extra cost.
 * Both async-signal-safe.
 */
void hs_tracker_host(uint64_t *live, uint64_t *peak_bytes, uint64_t *peak_t);
void hs_tracker_set_total_at(uint64_t host_live);

/* Fork support: take and release the tracker's own locks. */
void hs_tracker_lock_all(void);
void hs_tracker_unlock_all(void);

#endif
