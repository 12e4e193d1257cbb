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

#define JW_MAX_DEPTH 8	/* the report nests 5 deep (frames of a stack) */

/* A minimal writer: commas and indentation; a container may be written on one line. */
struct jw {
	FILE *f;
	int depth;
	int first[JW_MAX_DEPTH];	/* per depth: nothing written in the container yet */
	int flat[JW_MAX_DEPTH];		/* per depth: the container stays on one line */
};

static void put_string(FILE *f, const char *str);

/* Start an element of the current container: separator, indentation, key. */
static void jw_item(struct jw *w, const char *key)
{
	int d = w->depth;

	if (d > 0) {
		if (!w->first[d])
			fputs(w->flat[d] ? ", " : ",", w->f);
		if (!w->flat[d])
			fprintf(w->f, "\n%*s", 2 * d, "");
		w->first[d] = 0;
	}
	if (key) {
		put_string(w->f, key);
		fputs(": ", w->f);
	}
}

static void jw_open(struct jw *w, const char *key, char c, int flat)
{
	jw_item(w, key);
	fputc(c, w->f);
	w->depth++;
	w->first[w->depth] = 1;
	w->flat[w->depth] = flat || w->flat[w->depth - 1];
}

static void jw_close(struct jw *w, char c)
{
	int d = w->depth--;

	if (!w->flat[d] && !w->first[d])
		fprintf(w->f, "\n%*s", 2 * (d - 1), "");
	fputc(c, w->f);
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	uint32_t cp;

	if (s[0] > 0xf4 || n == 0)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	cp = n == 2 ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3f)
	   : n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3f)
		    : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3f);
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static void put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n = *s < 0x80 ? 1 : utf8_len(s);

		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", *s);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, n, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_item(w, key);
	if (v)
		put_string(w->f, v);
	else
		fputs("null", w->f);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_item(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

static void jw_bool(struct jw *w, const char *key, int v)
{
	jw_item(w, key);
	fputs(v ? "true" : "false", w->f);
}

static void jw_null(struct jw *w, const char *key)
{
	jw_item(w, key);
	fputs("null", w->f);
}

/* Nanoseconds as seconds, to the microsecond. */
static void jw_seconds(struct jw *w, const char *key, uint64_t ns)
{
	jw_item(w, key);
	fprintf(w->f, "%.6f", (double)ns / 1e9);
}

static const char *end_reason(const struct hsr_end *e)
{
	if (!e->present)
		return NULL;
	return e->reason == HSR_REASON_EXIT ? "exit" : e->reason == HSR_REASON_EXEC ? "exec" : NULL;
}

static void put_process(struct jw *w, const struct hsr_process *p)
{
	if (p->present) {
		jw_u64(w, "pid", p->pid);
		jw_u64(w, "ppid", p->ppid);
	} else {
		jw_null(w, "pid");
		jw_null(w, "ppid");
	}
	jw_str(w, "exe", p->exe);
	jw_open(w, "cmdline", '[', 1);
	for (size_t i = 0; i < p->argc; i++)
		jw_str(w, NULL, p->argv[i]);
	jw_close(w, ']');
	jw_str(w, "arch", p->arch);
	jw_u64(w, "sample_interval", p->sample_interval);
	jw_str(w, "hostname", p->hostname);
	jw_u64(w, "max_depth", p->max_depth);
}

static void put_recording(struct jw *w, const struct hs_report *r)
{
	const struct hsr_recording *rec = r->rec;

	jw_open(w, "recording", '{', 0);
	jw_str(w, "path", rec->path);
	put_process(w, &rec->process);
	jw_bool(w, "truncated", rec->truncated);
	jw_str(w, "end_reason", end_reason(&rec->end));
	jw_str(w, "problem", rec->problem[0] ? rec->problem : NULL);
	if (rec->end.present)
		jw_u64(w, "agent_bytes", rec->end.agent_bytes);
	else
		jw_null(w, "agent_bytes");
	jw_u64(w, "dropped", rec->end.dropped);
	jw_close(w, '}');
}

static void put_summary(struct jw *w, const struct hs_summary *s)
{
	jw_open(w, "summary", '{', 0);
	jw_u64(w, "alloc_calls", s->total.alloc_calls);
	jw_u64(w, "alloc_bytes", s->total.alloc_bytes);
	jw_u64(w, "free_calls", s->total.free_calls);
	jw_u64(w, "freed_bytes", s->total.freed_bytes);
	jw_u64(w, "temporary", s->total.temporary);
	jw_u64(w, "peak_bytes", s->peak_bytes);
	jw_seconds(w, "peak_time_s", s->peak_t);
	jw_u64(w, "live_bytes", s->live_bytes);
	jw_u64(w, "live_blocks", s->live_blocks);
	jw_seconds(w, "duration_s", s->duration_ns);
	jw_u64(w, "stacks", s->nstacks);
	jw_close(w, '}');
}

static void put_frame(struct jw *w, const struct hs_frame *f)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "0x%" PRIx64, f->address);
	jw_open(w, NULL, '{', 1);
	jw_str(w, "address", addr);
	jw_str(w, "function", f->function);
	jw_str(w, "file", f->file);
	if (f->line)
		jw_u64(w, "line", f->line);
	else
		jw_null(w, "line");
	jw_str(w, "module", f->module);
	jw_bool(w, "inlined", f->inlined);
	jw_close(w, '}');
}

static int put_stack(struct jw *w, const struct hs_report *r, const struct hs_row *row)
{
	const struct hs_figures *f = &row->f;
	const struct hs_frame *frames;
	size_t n;

	if (hs_resolver_stack(r->res, row->stack_id, &frames, &n))
		return -ENOMEM;
	jw_open(w, NULL, '{', 0);
	jw_u64(w, "id", row->stack_id);
	jw_str(w, "allocator", hsr_kind_name(r->rec->stacks[row->stack_id].kind));
	jw_u64(w, "alloc_calls", f->alloc_calls);
	jw_u64(w, "alloc_bytes", f->alloc_bytes);
	jw_u64(w, "free_calls", f->free_calls);
	jw_u64(w, "freed_bytes", f->freed_bytes);
	jw_u64(w, "live_bytes", f->live_bytes);
	jw_u64(w, "live_blocks", f->live_blocks);
	jw_u64(w, "temporary", f->temporary);
	jw_u64(w, "peak_bytes", f->peak_bytes);
	jw_u64(w, "peak_blocks", f->peak_blocks);
	jw_open(w, "frames", '[', 0);
	for (size_t i = 0; i < n; i++)
		put_frame(w, &frames[i]);
	jw_close(w, ']');
	jw_close(w, '}');
	return 0;
}

static void put_snapshots(struct jw *w, const struct hsr_recording *rec)
{
	jw_open(w, "snapshots", '[', 0);
	for (size_t i = 0; i < rec->nsnapshots; i++) {
		const struct hsr_snapshot *s = &rec->snapshots[i];
		const struct hsr_counters *t = &s->total;

		jw_open(w, NULL, '{', 1);
		jw_u64(w, "seq", s->seq);
		jw_str(w, "reason", hsr_reason_name(s->reason));
		jw_str(w, "name", s->name);
		jw_seconds(w, "time_s", s->t);
		jw_u64(w, "live_bytes", t->alloc_bytes > t->freed_bytes ? t->alloc_bytes - t->freed_bytes : 0);
		jw_u64(w, "live_blocks", t->alloc_calls > t->free_calls ? t->alloc_calls - t->free_calls : 0);
		jw_u64(w, "alloc_calls", t->alloc_calls);
		jw_u64(w, "alloc_bytes", t->alloc_bytes);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void put_timeline(struct jw *w, const struct hsr_recording *rec)
{
	jw_open(w, "timeline", '[', 0);
	for (size_t i = 0; i < rec->ntimeline; i++) {
		jw_open(w, NULL, '[', 1);
		jw_seconds(w, NULL, rec->timeline[i].t);
		jw_u64(w, NULL, rec->timeline[i].live_bytes);
		jw_close(w, ']');
	}
	jw_close(w, ']');
}

static void put_messages(struct jw *w, const struct hsr_recording *rec)
{
	static const char *const levels[] = { "info", "info", "warning", "error" };

	jw_open(w, "messages", '[', 0);
	for (size_t i = 0; i < rec->nmessages; i++) {
		const struct hsr_message *m = &rec->messages[i];

		jw_open(w, NULL, '{', 1);
		jw_seconds(w, "time_s", m->t);
		jw_str(w, "level", levels[m->level <= HSR_MSG_ERROR ? m->level : HSR_MSG_ERROR]);
		jw_str(w, "text", m->text);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void put_build_id(struct jw *w, const struct hsr_module *m)
{
	jw_item(w, "build_id");
	fputc('"', w->f);
	for (size_t i = 0; i < m->build_id_len; i++)
		fprintf(w->f, "%02x", m->build_id[i]);
	fputc('"', w->f);
}

static void put_modules(struct jw *w, const struct hs_report *r)
{
	jw_open(w, "modules", '[', 0);
	for (size_t i = 0; i < r->rec->nmodules; i++) {
		struct hs_symmodule_info info = { 0 };
		int known = hs_resolver_module_info(r->res, i, &info) == 0;

		jw_open(w, NULL, '{', 1);
		jw_str(w, "path", r->rec->modules[i].path);
		put_build_id(w, &r->rec->modules[i]);
		jw_bool(w, "has_symbols", known && info.has_symbols);
		jw_bool(w, "has_debuginfo", known && info.has_debuginfo);
		jw_str(w, "found", known ? info.found : NULL);
		jw_str(w, "problem", known ? info.problem : NULL);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static int put_view(struct jw *w, const struct hs_report *r)
{
	const struct hs_view_result *v = r->view;

	jw_str(w, "view", hs_view_name(v->view));
	jw_str(w, "sort", hs_sort_name(v->sort));
	jw_u64(w, "view_stacks", v->nmatching);
	jw_open(w, "stacks", '[', 0);
	for (size_t i = 0; i < v->nrows; i++) {
		if (put_stack(w, r, &v->rows[i]))
			return -ENOMEM;
	}
	jw_close(w, ']');
	return 0;
}

int hs_export_json(FILE *out, const struct hs_report *r)
{
	struct jw w = { .f = out };

	jw_open(&w, NULL, '{', 0);
	jw_u64(&w, "version", 1);
	jw_str(&w, "tool", "heapscope");
	jw_str(&w, "heapscope_version", r->version);
	put_recording(&w, r);
	put_summary(&w, &r->summary);
	if (put_view(&w, r))
		return -ENOMEM;
	put_snapshots(&w, r->rec);
	put_timeline(&w, r->rec);
	put_messages(&w, r->rec);
	put_modules(&w, r);
	jw_close(&w, '}');
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}
