// SPDX-License-Identifier: MIT
/*
 * The text report (export.h): a summary block, then one view's stacks with their frames,
 * figures in human units. Written for people reading a terminal: frames from the program's
 * start outwards (_start, __libc_start_main) are left out, files are shown by base name.
 * Colour is at most bold headings, and only when the caller says so.
 */
#define _GNU_SOURCE	/* sigabbrev_np */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "hsr_format.h"
#include "human.h"

#define FUNCTION_COLUMN 44	/* width of "function (file:line)" before the module */

static const char *bold(const struct hs_report *r)
{
	return r->color ? "\033[1m" : "";
}

static const char *plain(const struct hs_report *r)
{
	return r->color ? "\033[0m" : "";
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "";
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static const char *program_name(const struct hsr_recording *rec)
{
	const struct hsr_process *p = &rec->process;

	if (p->argc > 0 && p->argv[0][0])
		return p->argv[0];
	return p->exe && p->exe[0] ? p->exe : "?";
}

static void summary_title(FILE *out, const struct hs_report *r)
{
	const struct hsr_process *p = &r->rec->process;
	char mode[64], dur[HS_HUMAN_LEN], b[HS_HUMAN_LEN];

	hs_human_seconds(dur, r->summary.duration_ns);
	if (!p->present) {
		fprintf(out, "%sheapscope report: %s%s (no process record), %s\n", bold(r),
			r->rec->path, plain(r), dur);
		return;
	}
	if (p->sample_interval)
		snprintf(mode, sizeof(mode), "sampled every %s", hs_human_bytes(b, p->sample_interval));
	else
		snprintf(mode, sizeof(mode), "exact");
	fprintf(out, "%sheapscope report: %s (pid %" PRIu64 ")%s %s, %s, %s\n", bold(r),
		program_name(r->rec), p->pid, plain(r), p->arch, mode, dur);
}

/* "  label            12,345extra": counts right-aligned in one column. */
static void line_count(FILE *out, const char *label, uint64_t n, const char *extra)
{
	char c[HS_HUMAN_LEN];

	fprintf(out, "  %-17s%8s%s\n", label, hs_human_count(c, n), extra);
}

/* Bytes with the number in the counts' column and the unit after it. */
static void line_bytes(FILE *out, const char *label, uint64_t bytes, const char *extra)
{
	char num[HS_HUMAN_LEN];
	const char *unit = hs_human_bytes_split(num, bytes);

	fprintf(out, "  %-17s%8s %s%s\n", label, num, unit, extra);
}

/* " (+/-0.3 MB)" after a sampled estimate of bytes; nothing when exact. */
static const char *margin(char *buf, uint64_t bytes, uint64_t interval, int half)
{
	char m[HS_HUMAN_LEN];

	buf[0] = 0;
	if (interval)
		snprintf(buf, HS_HUMAN_LEN + 8, " (+/-%s)",
			 hs_human_bytes(m, hs_sample_margin(bytes, interval, half)));
	return buf;
}

/* Sampled bytes with their 95% margin, "1.2 MB (+/-0.3 MB)"; exact ones alone. */
static const char *bytes_est(char *buf, uint64_t bytes, uint64_t interval, int half)
{
	char a[HS_HUMAN_LEN], m[HS_HUMAN_LEN + 8];

	snprintf(buf, 2 * HS_HUMAN_LEN + 8, "%s%s", hs_human_bytes(a, bytes),
		 margin(m, bytes, interval, half));
	return buf;
}

/* The agent's own memory, per live block and per stack (what heapscope cost the target). */
static void summary_agent_memory(FILE *out, const struct hsr_recording *rec)
{
	const struct hsr_end *e = &rec->end;
	uint64_t total, peak_blocks = 0;
	char extra[128];

	if (!e->present || !e->has_memory)
		return;
	for (size_t i = 0; i <= rec->nstacks; i++)
		peak_blocks += rec->stacks[i].peak_blocks;
	if (e->ptrmap_entries > peak_blocks)
		peak_blocks = e->ptrmap_entries;
	total = e->arena_used + e->ptrmap_bytes + e->stacktab_bytes;
	/* The pointer map is sized for the most blocks it held: the peak's. */
	snprintf(extra, sizeof(extra), " (%llu B per block at the peak, %llu B per stack)",
		 (unsigned long long)(peak_blocks ? e->ptrmap_bytes / peak_blocks : 0),
		 (unsigned long long)(e->nstacks ? (e->arena_used + e->stacktab_bytes) / e->nstacks
						 : 0));
	line_bytes(out, "agent memory", total, extra);
}

/* What the agent's stack walks did: frames each, how many the memo gave, rule cache misses. */
static void summary_walks(FILE *out, const struct hsr_recording *rec)
{
	const struct hsr_end *e = &rec->end;
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN], c[HS_HUMAN_LEN], extra[160];

	if (!e->present || !e->has_unwind || !e->walks)
		return;
	snprintf(extra, sizeof(extra), "   (%.1f frames each, %s of them from the last walk; "
		 "%s rule lookups, %s not cached)", (double)e->walk_frames / (double)e->walks,
		 hs_human_percent(a, e->frames_reused, e->walk_frames),
		 hs_human_count(b, e->rule_hits + e->rule_misses),
		 hs_human_count(c, e->rule_misses));
	line_count(out, "stack walks", e->walks, extra);
}

static void summary_notes(FILE *out, const struct hs_report *r)
{
	const struct hsr_recording *rec = r->rec;
	char c[HS_HUMAN_LEN];
	size_t shown = 0;

	if (rec->truncated && rec->nsnapshots)
		fprintf(out, "  cut short: %s; figures as of the last complete snapshot\n",
			rec->problem);
	else if (rec->truncated)
		fprintf(out, "  cut short: %s; no snapshot was complete\n", rec->problem);
	if (rec->end.present && rec->end.reason == HSR_REASON_EXEC)
		fprintf(out, "  ended by exec\n");
	if (rec->end.dropped)
		fprintf(out, "  %s allocations tracked without a stack (tables full)\n",
			hs_human_count(c, rec->end.dropped));
	for (size_t i = 0; i < rec->nmessages && shown < 5; i++) {
		const struct hsr_message *m = &rec->messages[i];
		int sig;

		if (m->level < HSR_MSG_WARNING)
			continue;
		if (sscanf(m->text, "terminated by signal %d", &sig) == 1 && sig > 0 && sig < 65) {
			/* how the program ended, not a failure of the agent */
			fprintf(out, "  terminated by signal %d (SIG%s)\n", sig,
				sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			continue;
		}
		fprintf(out, "  agent %s: %s\n", m->level == HSR_MSG_ERROR ? "error" : "warning",
			m->text);
		shown++;
	}
}

/* The short name of a heap in the peaks line: "dma" for dma-buf. */
static const char *heap_short_name(const struct hsr_heap *h)
{
	return h->id == HSR_HEAP_DMABUF ? "dma" : h->name;
}

/*
 * With other heaps than the host's: "host peak 1.2 MB, dma peak 3.4 MB, total peak 4.0 MB",
 * then what each still held at the end.
 */
static void summary_heaps(FILE *out, const struct hs_summary *s)
{
	char a[HS_HUMAN_LEN], label[64], extra[96];

	if (!s->nheaps)
		return;
	fprintf(out, "  host peak %s", hs_human_bytes(a, s->peak_bytes));
	for (size_t i = 0; i < s->nheaps; i++)
		fprintf(out, ", %s peak %s", heap_short_name(&s->heaps[i]),
			hs_human_bytes(a, s->heaps[i].peak_bytes));
	fprintf(out, ", total peak %s\n", hs_human_bytes(a, s->total_peak_bytes));
	for (size_t i = 0; i < s->nheaps; i++) {
		const struct hsr_heap *h = &s->heaps[i];

		if (!h->live_blocks)
			continue;
		snprintf(label, sizeof(label), "%s at end", heap_short_name(h));
		snprintf(extra, sizeof(extra), " in %s %s", hs_human_count(a, h->live_blocks),
			 plural(h->live_blocks, "block", "blocks"));
		line_bytes(out, label, h->live_bytes, extra);
	}
}

int hs_export_text_summary(FILE *out, const struct hs_report *r)
{
	const struct hs_summary *s = &r->summary;
	char extra[128], a[HS_HUMAN_LEN], b[HS_HUMAN_LEN], m[HS_HUMAN_LEN + 8];
	uint64_t interval = r->rec->process.sample_interval;

	summary_title(out, r);
	snprintf(extra, sizeof(extra), "   (%s)", hs_human_bytes(a, s->total.alloc_bytes));
	line_count(out, "allocation calls", s->total.alloc_calls, extra);
	line_count(out, "frees", s->total.free_calls, "");
	snprintf(extra, sizeof(extra), "   (%s of calls)",
		 hs_human_percent(a, s->total.temporary, s->total.alloc_calls));
	line_count(out, "temporary", s->total.temporary, extra);
	snprintf(extra, sizeof(extra), "%s at %s", margin(m, s->peak_bytes, interval, 1),
		 hs_human_seconds(a, s->peak_t));
	line_bytes(out, "peak heap", s->peak_bytes, extra);
	snprintf(extra, sizeof(extra), "%s in %s %s", margin(m, s->live_bytes, interval, 0),
		 hs_human_count(b, s->live_blocks), plural(s->live_blocks, "block", "blocks"));
	line_bytes(out, "live at end", s->live_bytes, extra);
	summary_agent_memory(out, r->rec);
	summary_walks(out, r->rec);
	summary_heaps(out, s);
	summary_notes(out, r);
	return hs_export_text_leak_summary(out, r);
}

static const char *scan_reason(unsigned reason)
{
	return reason == HSR_LEAKS_EXIT ? "at exit" : reason == HSR_LEAKS_API ? "by the program"
		: reason == HSR_LEAKS_COMMAND ? "on command" : "";
}

/* "   definitely lost: 1,000 bytes in 10 blocks", aligned on the colon as memcheck does. */
static void leak_line(FILE *out, const char *label, uint64_t bytes, uint64_t blocks)
{
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];

	fprintf(out, "  %18s: %s bytes in %s %s\n", label, hs_human_count(a, bytes),
		hs_human_count(b, blocks), plural(blocks, "block", "blocks"));
}

int hs_export_text_leak_summary(FILE *out, const struct hs_report *r)
{
	const struct hs_leak_summary *l = r->leaks;
	char c[HS_HUMAN_LEN];

	if (!l || (!l->classified && !l->suppressed_blocks))
		return ferror(out) ? -EIO : 0;
	if (!l->classified) {
		leak_line(out, "suppressed", l->suppressed_bytes, l->suppressed_blocks);
		return ferror(out) ? -EIO : 0;
	}
	fprintf(out, "%sLEAK SUMMARY%s (scan %s, %s %s%s):\n", bold(r), plain(r),
		scan_reason(l->scan->reason), hs_human_count(c, l->scan->threads),
		plural(l->scan->threads, "thread", "threads"),
		l->scan->flags & HSR_LEAKS_FLAG_PARTIAL ? ", some not stopped: approximate" : "");
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++)
		leak_line(out, hs_leak_kind_name(k), l->total.bytes[k], l->total.blocks[k]);
	leak_line(out, "suppressed", l->suppressed_bytes, l->suppressed_blocks);
	return ferror(out) ? -EIO : 0;
}

/* "(top 2)", "(top 10 of 57, by calls)" */
static void view_cut(char *buf, size_t len, const struct hs_view_result *v)
{
	char n[HS_HUMAN_LEN], m[HS_HUMAN_LEN], by[32] = "";

	if (v->sort != hs_view_default_sort(v->view))
		snprintf(by, sizeof(by), ", by %s", hs_sort_name(v->sort));
	hs_human_count(n, v->nrows);
	if (v->nrows < v->nmatching)
		snprintf(buf, len, "(top %s of %s%s)", n, hs_human_count(m, v->nmatching), by);
	else
		snprintf(buf, len, "(top %s%s)", n, by);
}

static const char *const empty_views[HS_VIEW_COUNT] = {
	[HS_VIEW_LEAKS] = "none (every tracked block was freed)",
	[HS_VIEW_PEAK] = "no stack held memory at the peak",
	[HS_VIEW_ALLOCS] = "no allocation recorded",
	[HS_VIEW_TEMPORARY] = "no temporary allocation",
};

/* When the peak view's peak was: the host's, or that of the heap report --heap chose. */
static uint64_t view_peak_t(const struct hs_report *r)
{
	const struct hsr_heaps *hs = &r->rec->heaps;

	for (size_t i = 0; hs->selected > 0 && i < hs->nheaps; i++) {
		if (hs->heaps[i].id == (unsigned)hs->selected)
			return hs->heaps[i].peak_t;
	}
	return r->summary.peak_t;
}

/*
 * The scan classifies host blocks only: ", and 3.0 kB in 1 block never freed on other
 * heaps" for the rows of dma-buf and the program's own heaps ("" without any). In buf.
 */
static const char *other_heaps_live(const struct hs_report *r, const struct hs_view_result *v,
				    char *buf, size_t len)
{
	uint64_t bytes = 0, blocks = 0;
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];

	for (size_t i = 0; i < v->nrows; i++) {
		if (!hsr_kind_heap(r->rec->stacks[v->rows[i].stack_id].kind))
			continue;
		bytes += v->rows[i].f.live_bytes;
		blocks += v->rows[i].f.live_blocks;
	}
	buf[0] = '\0';
	if (blocks)
		snprintf(buf, len, ", and %s in %s %s never freed on other heaps",
			 hs_human_bytes(a, bytes), hs_human_count(b, blocks),
			 plural(blocks, "block", "blocks"));
	return buf;
}

static void view_heading(FILE *out, const struct hs_report *r, const struct hs_view_result *v)
{
	const struct hs_figures *t = &v->total;
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN], c[HS_HUMAN_LEN], d[128], cut[96];
	const char *stacks = plural(v->nmatching, "stack", "stacks");

	view_cut(cut, sizeof(cut), v);
	hs_human_count(c, v->nmatching);
	fprintf(out, "%s%s:%s ", bold(r), hs_view_name(v->view), plain(r));
	if (v->nmatching == 0 && v->view == HS_VIEW_LEAKS && r->leaks && r->leaks->classified)
		fprintf(out, "no block lost%s\n", r->leaks->total.blocks[HSR_LEAK_REACHABLE] &&
			!r->show_reachable ? " (--show-reachable lists the still reachable ones)" : "");
	else if (v->nmatching == 0)
		fprintf(out, "%s\n", empty_views[v->view]);
	else if (v->view == HS_VIEW_LEAKS && r->leaks && r->leaks->classified)
		fprintf(out, "%s lost in %s %s%s from %s %s %s%s\n",
			hs_human_bytes(a, hs_leak_lost_bytes(&t->leak)),
			hs_human_count(b, hs_leak_lost_blocks(&t->leak)),
			plural(hs_leak_lost_blocks(&t->leak), "block", "blocks"),
			other_heaps_live(r, v, d, sizeof(d)), c, stacks, cut,
			r->show_reachable ? ", still reachable included" : "");
	else if (v->view == HS_VIEW_LEAKS)
		fprintf(out, "%s in %s %s from %s %s %s\n", hs_human_bytes(a, t->live_bytes),
			hs_human_count(b, t->live_blocks), plural(t->live_blocks, "block", "blocks"),
			c, stacks, cut);
	else if (v->view == HS_VIEW_PEAK)
		fprintf(out, "%s in %s %s from %s %s at %s %s\n", hs_human_bytes(a, t->peak_bytes),
			hs_human_count(b, t->peak_blocks), plural(t->peak_blocks, "block", "blocks"),
			c, stacks, hs_human_seconds(d, view_peak_t(r)), cut);
	else if (v->view == HS_VIEW_ALLOCS)
		fprintf(out, "%s calls, %s from %s %s %s\n", hs_human_count(a, t->alloc_calls),
			hs_human_bytes(b, t->alloc_bytes), c, stacks, cut);
	else
		fprintf(out, "%s temporary of %s calls from %s %s %s\n",
			hs_human_count(a, t->temporary), hs_human_count(b, r->summary.total.alloc_calls),
			c, stacks, cut);
}

/* "1.0 kB in 10 blocks definitely lost, 64 B in 1 block still reachable, 11 calls" */
static void leak_row_figures(char *buf, size_t len, const struct hs_figures *f)
{
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned k = 0; k < HSR_LEAK_KINDS && n < len; k++) {
		if (!f->leak.blocks[k])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s in %s %s %s", n ? ", " : "",
				      hs_human_bytes(a, f->leak.bytes[k]),
				      hs_human_count(b, f->leak.blocks[k]),
				      plural(f->leak.blocks[k], "block", "blocks"), hs_leak_kind_name(k));
	}
	if (n < len)
		snprintf(buf + n, len - n, ", %s %s", hs_human_count(a, f->alloc_calls),
			 plural(f->alloc_calls, "call", "calls"));
}

/* The figures after "#N  " for a row of view v (interval: sampling's, 0 when exact). */
static void row_figures(char *buf, size_t len, enum hs_view view, const struct hs_figures *f,
			uint64_t interval)
{
	char a[2 * HS_HUMAN_LEN + 8], b[HS_HUMAN_LEN], c[HS_HUMAN_LEN];

	if (view == HS_VIEW_LEAKS && hs_leak_figures_any(&f->leak))
		leak_row_figures(buf, len, f);
	else if (view == HS_VIEW_LEAKS)
		snprintf(buf, len, "%s in %s %s, %s %s", bytes_est(a, f->live_bytes, interval, 0),
			 hs_human_count(b, f->live_blocks), plural(f->live_blocks, "block", "blocks"),
			 hs_human_count(c, f->alloc_calls), plural(f->alloc_calls, "call", "calls"));
	else if (view == HS_VIEW_PEAK)
		snprintf(buf, len, "%s in %s %s at peak, %s %s",
			 bytes_est(a, f->peak_bytes, interval, 1),
			 hs_human_count(b, f->peak_blocks), plural(f->peak_blocks, "block", "blocks"),
			 hs_human_count(c, f->alloc_calls), plural(f->alloc_calls, "call", "calls"));
	else if (view == HS_VIEW_ALLOCS)
		snprintf(buf, len, "%s %s, %s", hs_human_count(b, f->alloc_calls),
			 plural(f->alloc_calls, "call", "calls"),
			 bytes_est(a, f->alloc_bytes, interval, 0));
	else
		snprintf(buf, len, "%s temporary of %s %s (%s)", hs_human_count(a, f->temporary),
			 hs_human_count(b, f->alloc_calls), plural(f->alloc_calls, "call", "calls"),
			 hs_human_percent(c, f->temporary, f->alloc_calls));
}

/* "function (file:line) [inlined]", or "module+0xoff" / "?? 0xaddr" when unknown. */
static void frame_label(char *buf, size_t len, const struct hs_frame *f)
{
	char where[256] = "";

	if (!f->function && f->module) {
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->module_offset);
		return;
	}
	if (!f->function) {
		snprintf(buf, len, "?? 0x%" PRIx64, f->address);
		return;
	}
	if (f->file && f->line)
		snprintf(where, sizeof(where), " (%s:%u)", base_name(f->file), f->line);
	else if (f->file)
		snprintf(where, sizeof(where), " (%s)", base_name(f->file));
	snprintf(buf, len, "%s%s%s", f->function, where, f->inlined ? " [inlined]" : "");
}

int hs_export_text_frames(FILE *out, struct hs_resolver *res, uint32_t id)
{
	const struct hs_frame *frames;
	char label[1024];
	size_t n;

	if (hs_resolver_stack(res, id, &frames, &n))
		return -ENOMEM;
	if (n == 0)
		fprintf(out, "      (no call stack recorded)\n");
	for (size_t i = 0; i < n && !hs_frame_is_program_start(&frames[i]); i++) {
		frame_label(label, sizeof(label), &frames[i]);
		fprintf(out, "      %-*s  %s\n", FUNCTION_COLUMN, label, base_name(frames[i].module));
	}
	return 0;
}

int hs_export_text_view(FILE *out, const struct hs_report *r, const struct hs_view_result *v,
			int compact)
{
	char figures[384];

	view_heading(out, r, v);
	for (size_t i = 0; i < v->nrows; i++) {
		const struct hs_row *row = &v->rows[i];

		row_figures(figures, sizeof(figures), v->view, &row->f,
			    r->rec->process.sample_interval);
		fprintf(out, "%s%s#%zu%s  %s   [%s]\n", compact ? "" : "\n", bold(r), i + 1, plain(r),
			figures, hsr_stack_allocator(r->rec, row->stack_id));
		if (hs_export_text_frames(out, r->res, row->stack_id))
			return -ENOMEM;
	}
	return ferror(out) ? -EIO : 0;
}

static void other_views(FILE *out, enum hs_view shown)
{
	fprintf(out, "other views:");
	for (unsigned v = 0; v < HS_VIEW_COUNT; v++) {
		if (v != shown)
			fprintf(out, " --%s", hs_view_name(v));
	}
	fprintf(out, "\n");
}

/* Modules that frames fell into but that got no symbols, with their build-ids and why. */
static void modules_without_symbols(FILE *out, const struct hs_report *r)
{
	int heading = 0;

	for (size_t i = 0; i < r->rec->nmodules; i++) {
		const struct hsr_module *m = &r->rec->modules[i];
		struct hs_symmodule_info info = { 0 };

		if (hs_resolver_module_info(r->res, i, &info) || info.has_symbols ||
		    (!info.found && !info.problem))
			continue;	/* has symbols, or no frame fell into it */
		if (!heading++)
			fprintf(out, "modules without symbols (frames show module+offset):\n");
		fprintf(out, "  %s  build-id ", m->path);
		for (size_t k = 0; k < m->build_id_len; k++)
			fprintf(out, "%02x", m->build_id[k]);
		fprintf(out, "%s%s\n", m->build_id_len ? "" : "none",
			info.problem ? "" : ": no symbol table");
		if (info.problem)
			fprintf(out, "    %s\n", info.problem);
	}
	if (heading)
		fprintf(out, "\n");
}

int hs_export_text(FILE *out, const struct hs_report *r)
{
	int err = hs_export_text_summary(out, r);

	if (err)
		return err;
	fprintf(out, "\n");
	if (r->rec->nerrors) {
		err = hs_export_text_errors(out, r, r->errors_only ? 0 : 10);
		if (err || r->errors_only)
			return err;
		fprintf(out, "\n");
	}
	if (r->growth)
		return hs_export_text_growth(out, r);
	err = hs_export_text_view(out, r, r->view, 0);
	if (err)
		return err;
	fprintf(out, "\n");
	modules_without_symbols(out, r);
	other_views(out, r->view->view);
	return ferror(out) ? -EIO : 0;
}

/* Why there is no growth to show, or the heading over the growing stacks. */
static void growth_heading(FILE *out, const struct hs_report *r, const struct hs_growth *g)
{
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];
	const char *since = g->after_reset ? " since the last reset" : "";

	fprintf(out, "%sgrowth:%s ", bold(r), plain(r));
	if (g->nsnapshots < HS_GROWTH_MIN_SNAPSHOTS) {
		fprintf(out, "needs at least %d snapshots%s, the recording has %zu (take more "
			"with HEAPSCOPE_INTERVAL, heapscope_checkpoint() or heapscope ctl PID "
			"checkpoint)\n", HS_GROWTH_MIN_SNAPSHOTS, since, g->nsnapshots);
		return;
	}
	hs_human_seconds(b, g->span_ns);
	if (g->ngrowing == 0)
		fprintf(out, "no stack grows steadily over %zu snapshots (%s)%s\n", g->nsnapshots,
			b, since);
	else
		fprintf(out, "%s %s steadily over %zu snapshots (%s)%s\n",
			hs_human_count(a, g->ngrowing), g->ngrowing == 1 ? "stack grows" : "stacks grow",
			g->nsnapshots, b, since);
}

/* "+10.0 kB per snapshot, +49.8 kB/s; 10.0 kB -> 60.0 kB; confidence high (R² 0.97, ...)" */
static void growth_figures(char *buf, size_t len, const struct hs_growth_row *row)
{
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN], c[HS_HUMAN_LEN], d[HS_HUMAN_LEN];

	snprintf(buf, len, "+%s per snapshot, +%s/s; %s -> %s; confidence %s (R2 %.2f, %.0f%% of "
		 "steps not falling)", hs_human_bytes(a, (uint64_t)(row->bytes_per_snapshot + 0.5)),
		 hs_human_bytes(b, (uint64_t)(row->bytes_per_second + 0.5)),
		 hs_human_bytes(c, row->first_bytes), hs_human_bytes(d, row->last_bytes),
		 hs_growth_confidence_name(row->confidence), row->r2, 100 * row->monotonic);
}

int hs_export_text_growth(FILE *out, const struct hs_report *r)
{
	const struct hs_growth *g = r->growth;
	char figures[384], a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];

	growth_heading(out, r, g);
	for (size_t i = 0; i < g->nrows; i++) {
		const struct hs_growth_row *row = &g->rows[i];

		growth_figures(figures, sizeof(figures), row);
		fprintf(out, "\n%s#%zu%s  %s   [%s]\n", bold(r), i + 1, plain(r), figures,
			hsr_kind_name(r->rec->stacks[row->stack_id].kind));
		if (hs_export_text_frames(out, r->res, row->stack_id))
			return -ENOMEM;
	}
	if (g->nonetime || g->nchurn)
		fprintf(out, "\nleft out: %s %s that grew in one step (start-up), %s that rose "
			"and fell (churn)\n", hs_human_count(a, g->nonetime),
			plural(g->nonetime, "stack", "stacks"), hs_human_count(b, g->nchurn));
	return ferror(out) ? -EIO : 0;
}
