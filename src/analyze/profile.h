/* SPDX-License-Identifier: MIT */
/*
 * Views over a loaded recording: the summary of the run, and the ranked stacks that answer
 * one question each: leaks (live at the end), peak (live at the highest heap), allocs (who
 * allocates most), temporary (blocks freed right after allocation). Works on numbers only;
 * symbols and output belong to symbolize.h and export.h.
 *
 * Figures are kept per row (struct hs_figures) so that a row can stand for one stack or, by
 * adding figures up with hs_figures_add(), for any group of stacks (a function, a module).
 */
#ifndef HS_PROFILE_H
#define HS_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"

enum hs_view {
	HS_VIEW_LEAKS,
	HS_VIEW_PEAK,
	HS_VIEW_ALLOCS,
	HS_VIEW_TEMPORARY,
	HS_VIEW_COUNT
};

enum hs_sort {
	HS_SORT_DEFAULT,	/* the view's own: see hs_view_default_sort() */
	HS_SORT_BYTES,
	HS_SORT_BLOCKS,
	HS_SORT_CALLS,
	HS_SORT_TEMPORARY,
};

/*
 * The margin of a sampled estimate of `bytes` at mean interval `interval` (0: exact, no
 * margin), at 95%: 1.96 standard errors. Sampling each byte with probability 1/interval,
 * a block of s bytes stands for s/p with p = 1 - e^(-s/interval), and the estimate's
 * variance, the sum of s^2 (1 - p) / p over the blocks, is at most interval x bytes (the
 * bound is near for blocks much smaller than the interval, and large blocks only lower
 * it); one interval more is added to the bytes so that an estimate resting on few or no
 * samples (0 bytes: none fell there) keeps a margin of about two intervals. Peak figures
 * come from one half of the samples (docs/AGENT.md): twice the interval.
 */
uint64_t hs_sample_margin(uint64_t bytes, uint64_t interval, int half);

/* Everything known about a row at the end of the recording and at the peak. */
struct hs_figures {
	uint64_t alloc_calls;
	uint64_t alloc_bytes;
	uint64_t free_calls;
	uint64_t freed_bytes;
	uint64_t temporary;
	uint64_t live_bytes;	/* alloc_bytes - freed_bytes (0 if counters disagree) */
	uint64_t live_blocks;	/* alloc_calls - free_calls (likewise) */
	uint64_t peak_bytes;	/* live at the peak */
	uint64_t peak_blocks;
	struct hsr_leak_figures leak;	/* the current scan's categories (zero: no scan) */
	uint64_t suppressed_bytes;	/* lost (or, without a scan, live) but suppressed */
	uint64_t suppressed_blocks;
};

struct hs_row {
	uint32_t stack_id;	/* the stack, or for groups the first stack seen */
	struct hs_figures f;
};

/* The run as a whole. */
struct hs_summary {
	struct hsr_counters total;	/* as of the last snapshot */
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t peak_bytes;
	uint64_t peak_t;		/* ns since process start */
	uint64_t duration_ns;		/* END's time, else the last time seen */
	size_t nstacks;			/* interned stacks */
	/* other heaps (docs/HEAPS.md): the recording's, or none */
	const struct hsr_heap *heaps;
	size_t nheaps;
	uint64_t total_peak_bytes;	/* host + other heaps; the host's peak without them */
	uint64_t total_peak_t;
};

/* A computed view. */
struct hs_view_result {
	enum hs_view view;
	enum hs_sort sort;		/* never HS_SORT_DEFAULT */
	struct hs_row *rows;		/* the top nrows, sorted; owned by the result */
	size_t nrows;
	size_t nmatching;		/* rows in the view before the top-N cut */
	struct hs_figures total;	/* sum over all nmatching rows */
};

/* Names as the CLI and JSON spell them ("leaks", "bytes"); static strings. */
const char *hs_view_name(enum hs_view view);
const char *hs_sort_name(enum hs_sort sort);

/* Parse a view or sort name; 0, or -EINVAL for an unknown name. */
int hs_view_parse(const char *name, enum hs_view *out);
int hs_sort_parse(const char *name, enum hs_sort *out);

/* The sort a view uses unless told otherwise: temporary count for temporary, else bytes. */
enum hs_sort hs_view_default_sort(enum hs_view view);

/*
 * The view a report shows by default: leaks if any block (of any heap) is live at the end,
 * else peak.
 */
enum hs_view hs_view_default(const struct hsr_recording *rec);

/* Summary of rec into *out. */
void hs_summary_compute(const struct hsr_recording *rec, struct hs_summary *out);

/* Figures of stack `id` of rec (its last counters and its share of the peak). */
void hs_figures_of_stack(const struct hsr_recording *rec, uint32_t id, struct hs_figures *out);

/* dst += src, field by field (saturating). */
void hs_figures_add(struct hs_figures *dst, const struct hs_figures *src);

/*
 * Whether a row belongs in a view (leaks: lost blocks when the row carries a scan's
 * categories, else live blocks not suppressed; peak: held at the peak; ...).
 */
int hs_view_includes(enum hs_view view, const struct hs_figures *f);

/*
 * The number a view sorts by: for leaks and peak, bytes and blocks are the live ones
 * (at the end, at the peak); for allocs, bytes and blocks are allocated bytes and calls;
 * for temporary, allocated bytes and the temporary count. Calls are allocation calls and
 * temporary the temporary count in every view (docs/JSON.md has the table). With a scan's
 * categories, the leaks view counts lost blocks (definitely + indirectly + possibly), or a
 * stack's still-reachable ones when it has no lost block.
 */
uint64_t hs_view_key(enum hs_view view, enum hs_sort sort, const struct hs_figures *f);

/* Sort rows for a view, largest first; ties by bytes, then by stack id. */
void hs_rows_sort(struct hs_row *rows, size_t n, enum hs_view view, enum hs_sort sort);

/*
 * Compute a view of rec by stack: the rows it includes, sorted, cut to the first `top`
 * (0: all). Fills *out, which the caller releases with hs_view_release(). 0 or -ENOMEM.
 */
int hs_view_compute(const struct hsr_recording *rec, enum hs_view view, enum hs_sort sort,
		    size_t top, struct hs_view_result *out);
void hs_view_release(struct hs_view_result *v);

/* What a view leaves in or out beyond its own rule (NULL: nothing). */
struct hs_view_opts {
	int show_reachable;		/* leaks: stacks with still-reachable blocks too */
	const uint8_t *suppressed;	/* per stack id (nstacks + 1 entries), or NULL */
};

/*
 * hs_view_compute() with options: suppressed stacks have their lost blocks (without a
 * scan: their live blocks) moved to suppressed_* and leave the leaks view; in the leaks
 * view, stacks with lost blocks come first. 0 or -ENOMEM.
 */
int hs_view_compute_opts(const struct hsr_recording *rec, enum hs_view view, enum hs_sort sort,
			 size_t top, const struct hs_view_opts *opts, struct hs_view_result *out);

/*
 * Figures of stack `id` under opts (suppression applied). NULL opts is
 * hs_figures_of_stack().
 */
void hs_figures_of_stack_opts(const struct hsr_recording *rec, uint32_t id,
			      const struct hs_view_opts *opts, struct hs_figures *out);

#endif
