// SPDX-License-Identifier: MIT
/*
 * The JSON report (export.h), schema in docs/JSON.md: one object, version 1, which only
 * ever gains fields. Strings from the recording are not necessarily UTF-8: bytes that do
 * not form valid UTF-8 are written as U+FFFD, so the output always parses. Unknown values
 * are null, never omitted. Numbers are raw (bytes, counts); times are seconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "hsr_format.h"
#include "jsonw.h"

static const char *end_reason(const struct hsr_end *e)
{
	if (!e->present)
		return NULL;
	if (e->reason == 3)
		return "signal";
	return e->reason == HSR_REASON_EXIT ? "exit" : e->reason == HSR_REASON_EXEC ? "exec" : NULL;
}

static void put_process(struct hs_jw *w, const struct hsr_process *p)
{
	if (p->present) {
		hs_jw_u64(w, "pid", p->pid);
		hs_jw_u64(w, "ppid", p->ppid);
	} else {
		hs_jw_null(w, "pid");
		hs_jw_null(w, "ppid");
	}
	hs_jw_str(w, "exe", p->exe);
	hs_jw_open(w, "cmdline", '[', 1);
	for (size_t i = 0; i < p->argc; i++)
		hs_jw_str(w, NULL, p->argv[i]);
	hs_jw_close(w, ']');
	hs_jw_str(w, "arch", p->arch);
	hs_jw_u64(w, "sample_interval", p->sample_interval);
	hs_jw_str(w, "hostname", p->hostname);
	hs_jw_u64(w, "max_depth", p->max_depth);
}

static void put_recording(struct hs_jw *w, const struct hs_report *r)
{
	const struct hsr_recording *rec = r->rec;

	hs_jw_open(w, "recording", '{', 0);
	hs_jw_str(w, "path", rec->path);
	put_process(w, &rec->process);
	hs_jw_bool(w, "truncated", rec->truncated);
	hs_jw_str(w, "end_reason", end_reason(&rec->end));
	hs_jw_str(w, "problem", rec->problem[0] ? rec->problem : NULL);
	if (rec->end.present)
		hs_jw_u64(w, "agent_bytes", rec->end.agent_bytes);
	else
		hs_jw_null(w, "agent_bytes");
	hs_jw_u64(w, "dropped", rec->end.dropped);
	if (rec->end.has_memory) {
		hs_jw_open(w, "agent_memory", '{', 1);
		hs_jw_u64(w, "arena_bytes", rec->end.arena_used);
		hs_jw_u64(w, "pointer_map_bytes", rec->end.ptrmap_bytes);
		hs_jw_u64(w, "pointer_map_entries", rec->end.ptrmap_entries);
		hs_jw_u64(w, "stack_table_bytes", rec->end.stacktab_bytes);
		hs_jw_close(w, '}');
	}
	if (rec->end.has_unwind) {
		hs_jw_open(w, "stack_walks", '{', 1);
		hs_jw_u64(w, "walks", rec->end.walks);
		hs_jw_u64(w, "frames", rec->end.walk_frames);
		hs_jw_u64(w, "frames_reused", rec->end.frames_reused);
		hs_jw_u64(w, "rule_hits", rec->end.rule_hits);
		hs_jw_u64(w, "rule_misses", rec->end.rule_misses);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, '}');
}

/* Every heap, the host's first (docs/HEAPS.md), and the peak of their sum. */
static void put_heaps(struct hs_jw *w, const struct hs_summary *s)
{
	hs_jw_open(w, "heaps", '[', 0);
	hs_jw_open(w, NULL, '{', 1);
	hs_jw_u64(w, "id", HSR_HEAP_HOST);
	hs_jw_str(w, "name", "host");
	hs_jw_u64(w, "live_bytes", s->live_bytes);
	hs_jw_u64(w, "live_blocks", s->live_blocks);
	hs_jw_u64(w, "peak_bytes", s->peak_bytes);
	hs_jw_seconds(w, "peak_time_s", s->peak_t);
	hs_jw_close(w, '}');
	for (size_t i = 0; i < s->nheaps; i++) {
		const struct hsr_heap *h = &s->heaps[i];

		hs_jw_open(w, NULL, '{', 1);
		hs_jw_u64(w, "id", h->id);
		hs_jw_str(w, "name", h->name);
		hs_jw_u64(w, "live_bytes", h->live_bytes);
		hs_jw_u64(w, "live_blocks", h->live_blocks);
		hs_jw_u64(w, "peak_bytes", h->peak_bytes);
		hs_jw_seconds(w, "peak_time_s", h->peak_t);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, ']');
	hs_jw_u64(w, "total_peak_bytes", s->total_peak_bytes);
	hs_jw_seconds(w, "total_peak_time_s", s->total_peak_t);
}

/* With sampling, an estimate's 95% margin (hs_sample_margin) beside it. */
static void put_margin(struct hs_jw *w, const char *key, uint64_t bytes, uint64_t interval,
		       int half)
{
	if (interval)
		hs_jw_u64(w, key, hs_sample_margin(bytes, interval, half));
}

static void put_summary(struct hs_jw *w, const struct hs_summary *s, uint64_t interval)
{
	hs_jw_open(w, "summary", '{', 0);
	hs_jw_u64(w, "alloc_calls", s->total.alloc_calls);
	hs_jw_u64(w, "alloc_bytes", s->total.alloc_bytes);
	put_margin(w, "alloc_bytes_margin", s->total.alloc_bytes, interval, 0);
	hs_jw_u64(w, "free_calls", s->total.free_calls);
	hs_jw_u64(w, "freed_bytes", s->total.freed_bytes);
	hs_jw_u64(w, "temporary", s->total.temporary);
	hs_jw_u64(w, "peak_bytes", s->peak_bytes);
	put_margin(w, "peak_bytes_margin", s->peak_bytes, interval, 1);
	hs_jw_seconds(w, "peak_time_s", s->peak_t);
	hs_jw_u64(w, "live_bytes", s->live_bytes);
	put_margin(w, "live_bytes_margin", s->live_bytes, interval, 0);
	hs_jw_u64(w, "live_blocks", s->live_blocks);
	hs_jw_seconds(w, "duration_s", s->duration_ns);
	hs_jw_u64(w, "stacks", s->nstacks);
	put_heaps(w, s);
	hs_jw_close(w, '}');
}

/* A stack's categories: {"definitely_lost_bytes": .., "definitely_lost_blocks": .., ...}. */
static void put_stack_leak(struct hs_jw *w, const struct hs_report *r, const struct hs_figures *f)
{
	char key[48];

	if (!r->leaks || !r->leaks->classified) {
		hs_jw_null(w, "leak");
		return;
	}
	hs_jw_open(w, "leak", '{', 1);
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		snprintf(key, sizeof(key), "%s_bytes", hs_leak_kind_key(k));
		hs_jw_u64(w, key, f->leak.bytes[k]);
		snprintf(key, sizeof(key), "%s_blocks", hs_leak_kind_key(k));
		hs_jw_u64(w, key, f->leak.blocks[k]);
	}
	hs_jw_close(w, '}');
}

static int put_stack(struct hs_jw *w, const struct hs_report *r, const struct hs_row *row)
{
	const struct hs_figures *f = &row->f;
	uint64_t interval = r->rec->process.sample_interval;
	const struct hs_frame *frames;
	size_t n;

	if (hs_resolver_stack(r->res, row->stack_id, &frames, &n))
		return -ENOMEM;
	hs_jw_open(w, NULL, '{', 0);
	hs_jw_u64(w, "id", row->stack_id);
	hs_jw_str(w, "allocator", hsr_stack_allocator(r->rec, row->stack_id));
	hs_jw_u64(w, "alloc_calls", f->alloc_calls);
	hs_jw_u64(w, "alloc_bytes", f->alloc_bytes);
	put_margin(w, "alloc_bytes_margin", f->alloc_bytes, interval, 0);
	hs_jw_u64(w, "free_calls", f->free_calls);
	hs_jw_u64(w, "freed_bytes", f->freed_bytes);
	hs_jw_u64(w, "live_bytes", f->live_bytes);
	put_margin(w, "live_bytes_margin", f->live_bytes, interval, 0);
	hs_jw_u64(w, "live_blocks", f->live_blocks);
	hs_jw_u64(w, "temporary", f->temporary);
	hs_jw_u64(w, "peak_bytes", f->peak_bytes);
	put_margin(w, "peak_bytes_margin", f->peak_bytes, interval, 1);
	hs_jw_u64(w, "peak_blocks", f->peak_blocks);
	put_stack_leak(w, r, f);
	hs_jw_frames(w, "frames", frames, n);
	hs_jw_close(w, '}');
	return 0;
}

static void put_snapshots(struct hs_jw *w, const struct hsr_recording *rec)
{
	hs_jw_open(w, "snapshots", '[', 0);
	for (size_t i = 0; i < rec->nsnapshots; i++) {
		const struct hsr_snapshot *s = &rec->snapshots[i];
		const struct hsr_counters *t = &s->total;

		hs_jw_open(w, NULL, '{', 1);
		hs_jw_u64(w, "seq", s->seq);
		hs_jw_str(w, "reason", hsr_reason_name(s->reason));
		hs_jw_str(w, "name", s->name);
		hs_jw_seconds(w, "time_s", s->t);
		hs_jw_u64(w, "live_bytes", t->alloc_bytes > t->freed_bytes ? t->alloc_bytes - t->freed_bytes : 0);
		hs_jw_u64(w, "live_blocks", t->alloc_calls > t->free_calls ? t->alloc_calls - t->free_calls : 0);
		hs_jw_u64(w, "alloc_calls", t->alloc_calls);
		hs_jw_u64(w, "alloc_bytes", t->alloc_bytes);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, ']');
}

static void put_timeline(struct hs_jw *w, const struct hsr_recording *rec)
{
	hs_jw_open(w, "timeline", '[', 0);
	for (size_t i = 0; i < rec->ntimeline; i++) {
		hs_jw_open(w, NULL, '[', 1);
		hs_jw_seconds(w, NULL, rec->timeline[i].t);
		hs_jw_u64(w, NULL, rec->timeline[i].live_bytes);
		hs_jw_close(w, ']');
	}
	hs_jw_close(w, ']');
}

static void put_messages(struct hs_jw *w, const struct hsr_recording *rec)
{
	static const char *const levels[] = { "info", "info", "warning", "error" };

	hs_jw_open(w, "messages", '[', 0);
	for (size_t i = 0; i < rec->nmessages; i++) {
		const struct hsr_message *m = &rec->messages[i];

		hs_jw_open(w, NULL, '{', 1);
		hs_jw_seconds(w, "time_s", m->t);
		hs_jw_str(w, "level", levels[m->level <= HSR_MSG_ERROR ? m->level : HSR_MSG_ERROR]);
		hs_jw_str(w, "text", m->text);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, ']');
}

static void put_bytes_blocks(struct hs_jw *w, const char *key, uint64_t bytes, uint64_t blocks)
{
	hs_jw_open(w, key, '{', 1);
	hs_jw_u64(w, "bytes", bytes);
	hs_jw_u64(w, "blocks", blocks);
	hs_jw_close(w, '}');
}

static void put_scan(struct hs_jw *w, const struct hsr_leaks *scan)
{
	static const char *const reasons[] = { [HSR_LEAKS_EXIT] = "exit", [HSR_LEAKS_API] = "api",
					       [HSR_LEAKS_COMMAND] = "command" };

	hs_jw_open(w, "scan", '{', 1);
	hs_jw_seconds(w, "time_s", scan->t);
	hs_jw_str(w, "reason", scan->reason <= HSR_LEAKS_COMMAND && scan->reason ?
		  reasons[scan->reason] : "unknown");
	hs_jw_u64(w, "threads", scan->threads);
	hs_jw_bool(w, "all_stopped", !!(scan->flags & HSR_LEAKS_FLAG_STOPPED));
	hs_jw_bool(w, "approximate", !!(scan->flags & HSR_LEAKS_FLAG_PARTIAL));
	hs_jw_close(w, '}');
}

static void put_leak_summary(struct hs_jw *w, const struct hs_leak_summary *l)
{
	if (!l) {
		hs_jw_null(w, "leak_summary");
		return;
	}
	hs_jw_open(w, "leak_summary", '{', 0);
	hs_jw_bool(w, "classified", l->classified);
	if (l->classified)
		put_scan(w, l->scan);
	else
		hs_jw_null(w, "scan");
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		if (l->classified)
			put_bytes_blocks(w, hs_leak_kind_key(k), l->total.bytes[k], l->total.blocks[k]);
		else
			hs_jw_null(w, hs_leak_kind_key(k));
	}
	put_bytes_blocks(w, "suppressed", l->suppressed_bytes, l->suppressed_blocks);
	hs_jw_u64(w, "lost_stacks", l->lost_stacks);
	hs_jw_u64(w, "suppressed_stacks", l->suppressed_stacks);
	hs_jw_close(w, '}');
}

static int put_growth_row(struct hs_jw *w, const struct hs_report *r,
			  const struct hs_growth_row *row)
{
	const struct hs_frame *frames;
	size_t n;

	if (hs_resolver_stack(r->res, row->stack_id, &frames, &n))
		return -ENOMEM;
	hs_jw_open(w, NULL, '{', 0);
	hs_jw_u64(w, "id", row->stack_id);
	hs_jw_str(w, "allocator", hsr_kind_name(r->rec->stacks[row->stack_id].kind));
	hs_jw_double(w, "bytes_per_snapshot", row->bytes_per_snapshot, 1);
	hs_jw_double(w, "bytes_per_second", row->bytes_per_second, 1);
	hs_jw_u64(w, "first_bytes", row->first_bytes);
	hs_jw_u64(w, "last_bytes", row->last_bytes);
	hs_jw_double(w, "r2", row->r2, 4);
	hs_jw_double(w, "monotonic", row->monotonic, 4);
	hs_jw_u64(w, "rising_steps", row->rising_steps);
	hs_jw_str(w, "confidence", hs_growth_confidence_name(row->confidence));
	hs_jw_double(w, "confidence_score", row->score, 4);
	hs_jw_frames(w, "frames", frames, n);
	hs_jw_close(w, '}');
	return 0;
}

static int put_growth(struct hs_jw *w, const struct hs_report *r)
{
	const struct hs_growth *g = r->growth;
	const struct hsr_snapshot *first = g && g->nsnapshots ? &r->rec->snapshots[g->first] : NULL;

	if (!g) {
		hs_jw_null(w, "growth");
		return 0;
	}
	hs_jw_open(w, "growth", '{', 0);
	hs_jw_u64(w, "snapshots", g->nsnapshots);
	hs_jw_bool(w, "enough_snapshots", g->nsnapshots >= HS_GROWTH_MIN_SNAPSHOTS);
	if (first)
		hs_jw_u64(w, "first_seq", first->seq);
	else
		hs_jw_null(w, "first_seq");
	hs_jw_seconds(w, "span_s", g->span_ns);
	hs_jw_bool(w, "after_reset", g->after_reset);
	hs_jw_u64(w, "growing_stacks", g->ngrowing);
	hs_jw_u64(w, "one_time_stacks", g->nonetime);
	hs_jw_u64(w, "churn_stacks", g->nchurn);
	hs_jw_open(w, "stacks", '[', 0);
	for (size_t i = 0; i < g->nrows; i++) {
		if (put_growth_row(w, r, &g->rows[i]))
			return -ENOMEM;
	}
	hs_jw_close(w, ']');
	hs_jw_close(w, '}');
	return 0;
}

static void put_build_id(struct hs_jw *w, const struct hsr_module *m)
{
	hs_jw_item(w, "build_id");
	fputc('"', w->f);
	for (size_t i = 0; i < m->build_id_len; i++)
		fprintf(w->f, "%02x", m->build_id[i]);
	fputc('"', w->f);
}

static void put_modules(struct hs_jw *w, const struct hs_report *r)
{
	hs_jw_open(w, "modules", '[', 0);
	for (size_t i = 0; i < r->rec->nmodules; i++) {
		struct hs_symmodule_info info = { 0 };
		int known = hs_resolver_module_info(r->res, i, &info) == 0;

		hs_jw_open(w, NULL, '{', 1);
		hs_jw_str(w, "path", r->rec->modules[i].path);
		put_build_id(w, &r->rec->modules[i]);
		hs_jw_bool(w, "has_symbols", known && info.has_symbols);
		hs_jw_bool(w, "has_debuginfo", known && info.has_debuginfo);
		hs_jw_str(w, "found", known ? info.found : NULL);
		hs_jw_str(w, "problem", known ? info.problem : NULL);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, ']');
}

/* A stack's frames under `key`, or null for stack 0. */
static int put_stack_frames(struct hs_jw *w, const struct hs_report *r, const char *key,
			    uint32_t id)
{
	const struct hs_frame *frames;
	size_t n;

	if (!id) {
		hs_jw_null(w, key);
		return 0;
	}
	if (hs_resolver_stack(r->res, id, &frames, &n))
		return -ENOMEM;
	hs_jw_frames(w, key, frames, n);
	return 0;
}

/* Heap errors found under --check (docs/JSON.md). */
static int put_errors(struct hs_jw *w, const struct hs_report *r)
{
	const struct hsr_recording *rec = r->rec;
	int err = 0;

	hs_jw_open(w, "errors", '[', 0);
	for (size_t i = 0; i < rec->nerrors && !err; i++) {
		const struct hsr_error *e = &rec->errors[i];

		hs_jw_open(w, NULL, '{', 0);
		hs_jw_str(w, "kind", hsr_error_name(e->kind));
		hs_jw_u64(w, "count", e->count);
		hs_jw_u64(w, "address", e->address);
		hs_jw_u64(w, "block_size", e->size);
		hs_jw_i64(w, "offset", e->offset);
		hs_jw_u64(w, "bytes", e->nbytes);
		hs_jw_str(w, "allocator", e->alloc_stack ? hsr_kind_name(e->alloc_kind) : NULL);
		hs_jw_str(w, "release", hsr_kind_name(e->free_kind));
		err = put_stack_frames(w, r, "frames", e->stack);
		if (!err)
			err = put_stack_frames(w, r, "alloc_frames", e->alloc_stack);
		if (!err)
			err = put_stack_frames(w, r, "free_frames", e->free_stack);
		hs_jw_close(w, '}');
	}
	hs_jw_close(w, ']');
	return err;
}

/* "heap": the heap the view was narrowed to (report --heap), or null. */
static void put_view_heap(struct hs_jw *w, const struct hsr_recording *rec)
{
	int id = rec->heaps.selected;

	if (id < 0) {
		hs_jw_null(w, "heap");
		return;
	}
	for (size_t i = 0; i < rec->heaps.nheaps; i++) {
		if (rec->heaps.heaps[i].id == (unsigned)id)
			hs_jw_str(w, "heap", rec->heaps.heaps[i].name);
	}
	if (id == HSR_HEAP_HOST)
		hs_jw_str(w, "heap", "host");
}

static int put_view(struct hs_jw *w, const struct hs_report *r)
{
	const struct hs_view_result *v = r->view;

	hs_jw_str(w, "view", hs_view_name(v->view));
	hs_jw_str(w, "sort", hs_sort_name(v->sort));
	put_view_heap(w, r->rec);
	hs_jw_u64(w, "view_stacks", v->nmatching);
	hs_jw_open(w, "stacks", '[', 0);
	for (size_t i = 0; i < v->nrows; i++) {
		if (put_stack(w, r, &v->rows[i]))
			return -ENOMEM;
	}
	hs_jw_close(w, ']');
	return 0;
}

int hs_export_json(FILE *out, const struct hs_report *r)
{
	struct hs_jw w = { .f = out };

	hs_jw_open(&w, NULL, '{', 0);
	hs_jw_u64(&w, "version", 1);
	hs_jw_str(&w, "tool", "heapscope");
	hs_jw_str(&w, "heapscope_version", r->version);
	put_recording(&w, r);
	put_summary(&w, &r->summary, r->rec->process.sample_interval);
	if (put_view(&w, r))
		return -ENOMEM;
	put_leak_summary(&w, r->leaks);
	if (put_growth(&w, r))
		return -ENOMEM;
	if (put_errors(&w, r))
		return -ENOMEM;
	put_snapshots(&w, r->rec);
	put_timeline(&w, r->rec);
	put_messages(&w, r->rec);
	put_modules(&w, r);
	hs_jw_close(&w, '}');
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}
