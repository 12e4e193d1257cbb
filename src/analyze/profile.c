// SPDX-License-Identifier: MIT
/*
 * The summary and the by-stack views of profile.h. Pure arithmetic over a loaded
 * recording: no symbols, no output. Counters from a damaged recording may disagree
 * (more frees than allocations): differences saturate at 0 rather than wrap.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"
#include "profile.h"

static const char *const view_names[HS_VIEW_COUNT] = {
	[HS_VIEW_LEAKS] = "leaks",
	[HS_VIEW_PEAK] = "peak",
	[HS_VIEW_ALLOCS] = "allocs",
	[HS_VIEW_TEMPORARY] = "temporary",
};

static const char *const sort_names[] = {
	[HS_SORT_DEFAULT] = "default",
	[HS_SORT_BYTES] = "bytes",
	[HS_SORT_BLOCKS] = "blocks",
	[HS_SORT_CALLS] = "calls",
	[HS_SORT_TEMPORARY] = "temporary",
};

const char *hs_view_name(enum hs_view view)
{
	return (unsigned)view < HS_VIEW_COUNT ? view_names[view] : "?";
}

const char *hs_sort_name(enum hs_sort sort)
{
	return (unsigned)sort <= HS_SORT_TEMPORARY ? sort_names[sort] : "?";
}

int hs_view_parse(const char *name, enum hs_view *out)
{
	for (unsigned i = 0; i < HS_VIEW_COUNT; i++) {
		if (strcmp(name, view_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int hs_sort_parse(const char *name, enum hs_sort *out)
{
	for (unsigned i = HS_SORT_BYTES; i <= HS_SORT_TEMPORARY; i++) {
		if (strcmp(name, sort_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

enum hs_sort hs_view_default_sort(enum hs_view view)
{
	return view == HS_VIEW_TEMPORARY ? HS_SORT_TEMPORARY : HS_SORT_BYTES;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

enum hs_view hs_view_default(const struct hsr_recording *rec)
{
	const struct hsr_snapshot *last = hsr_recording_last_snapshot(rec);

	if (last && sat_sub(last->total.alloc_calls, last->total.free_calls) > 0)
		return HS_VIEW_LEAKS;
	for (size_t i = 0; i < rec->heaps.nheaps; i++) {
		if (rec->heaps.heaps[i].live_blocks)
			return HS_VIEW_LEAKS;
	}
	return HS_VIEW_PEAK;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The last time the recording mentions, for a recording without END. */
static uint64_t last_time(const struct hsr_recording *rec)
{
	uint64_t t = 0;

	if (rec->end.present)
		return rec->end.t;
	if (rec->nsnapshots)
		t = rec->snapshots[rec->nsnapshots - 1].t;
	if (rec->ntimeline)
		t = max_u64(t, rec->timeline[rec->ntimeline - 1].t);
	if (rec->nmessages)
		t = max_u64(t, rec->messages[rec->nmessages - 1].t);
	return max_u64(t, rec->peak.t);
}

void hs_summary_compute(const struct hsr_recording *rec, struct hs_summary *out)
{
	const struct hsr_snapshot *last = hsr_recording_last_snapshot(rec);

	memset(out, 0, sizeof(*out));
	if (last) {
		out->total = last->total;
		out->peak_bytes = last->peak_bytes;
		out->peak_t = last->peak_t;
	}
	if (rec->peak.present && rec->peak.peak_bytes > out->peak_bytes) {
		out->peak_bytes = rec->peak.peak_bytes;
		out->peak_t = rec->peak.t;
	}
	out->live_bytes = sat_sub(out->total.alloc_bytes, out->total.freed_bytes);
	out->live_blocks = sat_sub(out->total.alloc_calls, out->total.free_calls);
	out->duration_ns = last_time(rec);
	out->nstacks = rec->nstacks;
	out->heaps = rec->heaps.heaps;
	out->nheaps = rec->heaps.nheaps;
	out->total_peak_bytes = out->peak_bytes;
	out->total_peak_t = out->peak_t;
	if (rec->heaps.present && rec->heaps.total_peak_bytes > out->peak_bytes) {
		out->total_peak_bytes = rec->heaps.total_peak_bytes;
		out->total_peak_t = rec->heaps.total_peak_t;
	}
}

void hs_figures_of_stack(const struct hsr_recording *rec, uint32_t id, struct hs_figures *out)
{
	const struct hsr_stack *st = &rec->stacks[id];

	out->alloc_calls = st->last.alloc_calls;
	out->alloc_bytes = st->last.alloc_bytes;
	out->free_calls = st->last.free_calls;
	out->freed_bytes = st->last.freed_bytes;
	out->temporary = st->last.temporary;
	out->live_bytes = sat_sub(st->last.alloc_bytes, st->last.freed_bytes);
	out->live_blocks = sat_sub(st->last.alloc_calls, st->last.free_calls);
	out->peak_bytes = st->peak_bytes;
	out->peak_blocks = st->peak_blocks;
	if (hs_leaks_classified(rec))
		out->leak = st->leak;
	else
		memset(&out->leak, 0, sizeof(out->leak));
	out->suppressed_bytes = out->suppressed_blocks = 0;
}

void hs_figures_of_stack_opts(const struct hsr_recording *rec, uint32_t id,
			      const struct hs_view_opts *opts, struct hs_figures *out)
{
	hs_figures_of_stack(rec, id, out);
	if (opts && opts->suppressed && opts->suppressed[id])
		hs_leak_suppress(out, hs_leaks_classified(rec));
}

void hs_figures_add(struct hs_figures *dst, const struct hs_figures *src)
{
	dst->alloc_calls = sat_add(dst->alloc_calls, src->alloc_calls);
	dst->alloc_bytes = sat_add(dst->alloc_bytes, src->alloc_bytes);
	dst->free_calls = sat_add(dst->free_calls, src->free_calls);
	dst->freed_bytes = sat_add(dst->freed_bytes, src->freed_bytes);
	dst->temporary = sat_add(dst->temporary, src->temporary);
	dst->live_bytes = sat_add(dst->live_bytes, src->live_bytes);
	dst->live_blocks = sat_add(dst->live_blocks, src->live_blocks);
	dst->peak_bytes = sat_add(dst->peak_bytes, src->peak_bytes);
	dst->peak_blocks = sat_add(dst->peak_blocks, src->peak_blocks);
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		dst->leak.bytes[k] = sat_add(dst->leak.bytes[k], src->leak.bytes[k]);
		dst->leak.blocks[k] = sat_add(dst->leak.blocks[k], src->leak.blocks[k]);
	}
	dst->suppressed_bytes = sat_add(dst->suppressed_bytes, src->suppressed_bytes);
	dst->suppressed_blocks = sat_add(dst->suppressed_blocks, src->suppressed_blocks);
}

int hs_view_includes(enum hs_view view, const struct hs_figures *f)
{
	switch (view) {
	case HS_VIEW_LEAKS:
		if (hs_leak_figures_any(&f->leak))
			return hs_leak_lost_blocks(&f->leak) > 0;
		return !f->suppressed_blocks && (f->live_blocks > 0 || f->live_bytes > 0);
	case HS_VIEW_PEAK:
		return f->peak_blocks > 0 || f->peak_bytes > 0;
	case HS_VIEW_ALLOCS:
		return f->alloc_calls > 0;
	case HS_VIEW_TEMPORARY:
		return f->temporary > 0;
	default:
		return 0;
	}
}

uint64_t hs_view_key(enum hs_view view, enum hs_sort sort, const struct hs_figures *f)
{
	if (sort == HS_SORT_DEFAULT)
		sort = hs_view_default_sort(view);
	if (sort == HS_SORT_TEMPORARY)
		return f->temporary;
	if (sort == HS_SORT_CALLS)
		return f->alloc_calls;
	switch (view) {
	case HS_VIEW_LEAKS:
		if (hs_leak_figures_any(&f->leak))
			return hs_leak_key(&f->leak, sort == HS_SORT_BYTES);
		return sort == HS_SORT_BYTES ? f->live_bytes : f->live_blocks;
	case HS_VIEW_PEAK:
		return sort == HS_SORT_BYTES ? f->peak_bytes : f->peak_blocks;
	case HS_VIEW_TEMPORARY:
		return sort == HS_SORT_BYTES ? f->alloc_bytes : f->temporary;
	default:
		return sort == HS_SORT_BYTES ? f->alloc_bytes : f->alloc_calls;
	}
}

struct sort_ctx {
	enum hs_view view;
	enum hs_sort sort;
};

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct hs_row *a = pa, *b = pb;
	const struct sort_ctx *c = arg;
	int r = 0;

	if (c->view == HS_VIEW_LEAKS)	/* lost blocks before still-reachable ones */
		r = (hs_leak_lost_blocks(&b->f.leak) > 0) - (hs_leak_lost_blocks(&a->f.leak) > 0);
	if (!r)
		r = cmp_u64_desc(hs_view_key(c->view, c->sort, &a->f),
				 hs_view_key(c->view, c->sort, &b->f));

	if (!r)
		r = cmp_u64_desc(hs_view_key(c->view, HS_SORT_BYTES, &a->f),
				 hs_view_key(c->view, HS_SORT_BYTES, &b->f));
	if (!r)
		r = a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
	return r;
}

void hs_rows_sort(struct hs_row *rows, size_t n, enum hs_view view, enum hs_sort sort)
{
	struct sort_ctx c = { view, sort };

	if (n > 1)
		qsort_r(rows, n, sizeof(*rows), row_cmp, &c);
}

int hs_view_compute(const struct hsr_recording *rec, enum hs_view view, enum hs_sort sort,
		    size_t top, struct hs_view_result *out)
{
	return hs_view_compute_opts(rec, view, sort, top, NULL, out);
}

static int row_included(enum hs_view view, const struct hs_view_opts *opts,
			const struct hs_figures *f)
{
	if (hs_view_includes(view, f))
		return 1;
	return view == HS_VIEW_LEAKS && opts && opts->show_reachable &&
	       f->leak.blocks[HSR_LEAK_REACHABLE] > 0;
}

int hs_view_compute_opts(const struct hsr_recording *rec, enum hs_view view, enum hs_sort sort,
			 size_t top, const struct hs_view_opts *opts, struct hs_view_result *out)
{
	struct hs_figures f;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->view = view;
	out->sort = sort == HS_SORT_DEFAULT ? hs_view_default_sort(view) : sort;
	out->rows = calloc(rec->nstacks + 1, sizeof(*out->rows));
	if (!out->rows)
		return -ENOMEM;
	for (uint32_t id = 0; id <= rec->nstacks; id++) {
		hs_figures_of_stack_opts(rec, id, opts, &f);
		if (!row_included(view, opts, &f))
			continue;
		hs_figures_add(&out->total, &f);
		out->rows[n].stack_id = id;
		out->rows[n++].f = f;
	}
	hs_rows_sort(out->rows, n, view, out->sort);
	out->nmatching = n;
	out->nrows = top && top < n ? top : n;
	return 0;
}

void hs_view_release(struct hs_view_result *v)
{
	free(v->rows);
	v->rows = NULL;
	v->nrows = v->nmatching = 0;
}

uint64_t hs_sample_margin(uint64_t bytes, uint64_t interval, int half)
{
	double i = (double)interval * (half ? 2.0 : 1.0);

	return interval ? (uint64_t)(1.96 * sqrt(i * ((double)bytes + i)) + 0.5) : 0;
}
