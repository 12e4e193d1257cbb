// SPDX-License-Identifier: MIT
/*
 * `heapscope diff` output (export.h): the two sides, the totals, then each stack that
 * changed, as text for people or as one JSON object (docs/JSON.md, "The diff"). Formats
 * only: the diff is computed by analyze/diff.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "hsr_format.h"
#include "human.h"
#include "jsonw.h"

static uint64_t abs64(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* "+1.0 kB", "-64 B", "0 B" */
static char *signed_bytes(char *buf, int64_t v)
{
	char h[HS_HUMAN_LEN];

	hs_human_bytes(h, abs64(v));
	snprintf(buf, HS_HUMAN_LEN + 2, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", h);
	return buf;
}

static char *signed_count(char *buf, int64_t v)
{
	char h[HS_HUMAN_LEN];

	hs_human_count(h, abs64(v));
	snprintf(buf, HS_HUMAN_LEN + 2, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", h);
	return buf;
}

/* "a.hsr snapshot 3 "iter-30" (api, 0.612 s)" */
static void side_label(FILE *out, const struct hs_diff_side *s)
{
	const struct hsr_snapshot *snap = &s->rec->snapshots[s->snapshot];
	char t[HS_HUMAN_LEN];

	fprintf(out, "%s snapshot %" PRIu64, s->rec->path, snap->seq);
	if (snap->name[0])
		fprintf(out, " \"%s\"", snap->name);
	fprintf(out, " (%s, %s)", hsr_reason_name(snap->reason), hs_human_seconds(t, snap->t));
}

static void text_totals(FILE *out, const struct hs_diff_report *dr)
{
	const struct hs_diff *d = dr->diff;
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN], c[HS_HUMAN_LEN + 2], e[HS_HUMAN_LEN + 2];

	fprintf(out, "%sheapscope diff%s\n  from ", dr->color ? "\033[1m" : "",
		dr->color ? "\033[0m" : "");
	side_label(out, dr->from);
	fprintf(out, "\n  to   ");
	side_label(out, dr->to);
	fprintf(out, "\n  live heap    %s -> %s  (%s, %s blocks)\n",
		hs_human_bytes(a, d->from.live_bytes), hs_human_bytes(b, d->to.live_bytes),
		signed_bytes(c, (int64_t)(d->to.live_bytes - d->from.live_bytes)),
		signed_count(e, (int64_t)(d->to.live_blocks - d->from.live_blocks)));
	fprintf(out, "  allocations  %s calls, %s\n",
		signed_count(c, (int64_t)(d->to.alloc_calls - d->from.alloc_calls)),
		signed_bytes(e, (int64_t)(d->to.alloc_bytes - d->from.alloc_bytes)));
	fprintf(out, "  grew: %s in %zu %s; shrank: %s in %zu %s; matched by %s\n",
		hs_human_bytes(a, d->grew_bytes), d->grew_stacks,
		d->grew_stacks == 1 ? "stack" : "stacks", hs_human_bytes(b, d->shrank_bytes),
		d->shrank_stacks, d->shrank_stacks == 1 ? "stack" : "stacks",
		d->same_recording ? "stack id" : "allocator and function names");
	if (d->reset_between)
		fprintf(out, "  note: the counters were reset between the two snapshots\n");
}

/* The side whose frames a row shows: `to` when it has the stack. */
static void row_side(const struct hs_diff_report *dr, const struct hs_diff_row *row,
		     const struct hs_diff_side **s, uint32_t *id)
{
	*s = row->in_to ? dr->to : dr->from;
	*id = row->in_to ? row->id_to : row->id_from;
}

int hs_export_diff_text(FILE *out, const struct hs_diff_report *dr)
{
	const struct hs_diff *d = dr->diff;
	char a[HS_HUMAN_LEN + 2], b[HS_HUMAN_LEN + 2], c[HS_HUMAN_LEN + 2], e[HS_HUMAN_LEN + 2];

	text_totals(out, dr);
	if (d->nchanged == 0)
		fprintf(out, "\nno stack changed\n");
	for (size_t i = 0; i < d->nrows; i++) {
		const struct hs_diff_row *row = &d->rows[i];
		const struct hs_diff_side *s;
		uint32_t id;

		row_side(dr, row, &s, &id);
		fprintf(out, "\n#%zu  %s live (%s blocks), %s calls (%s allocated)%s   [%s]\n", i + 1,
			signed_bytes(a, row->d_live_bytes), signed_count(b, row->d_live_blocks),
			signed_count(c, row->d_alloc_calls), signed_bytes(e, row->d_alloc_bytes),
			!row->in_from ? ", new" : !row->in_to ? ", gone" : "",
			hsr_kind_name(s->rec->stacks[id].kind));
		if (hs_export_text_frames(out, s->res, id))
			return -ENOMEM;
	}
	if (d->nrows < d->nchanged)
		fprintf(out, "\n(%zu more changed stacks: --top 0 shows all)\n", d->nchanged - d->nrows);
	return ferror(out) ? -EIO : 0;
}

static void json_figures(struct hs_jw *w, const char *key, const struct hs_diff_figures *f)
{
	hs_jw_open(w, key, '{', 1);
	hs_jw_u64(w, "live_bytes", f->live_bytes);
	hs_jw_u64(w, "live_blocks", f->live_blocks);
	hs_jw_u64(w, "alloc_calls", f->alloc_calls);
	hs_jw_u64(w, "alloc_bytes", f->alloc_bytes);
	hs_jw_close(w, '}');
}

static void json_delta(struct hs_jw *w, int64_t lb, int64_t lk, int64_t ac, int64_t ab)
{
	hs_jw_open(w, "delta", '{', 1);
	hs_jw_i64(w, "live_bytes", lb);
	hs_jw_i64(w, "live_blocks", lk);
	hs_jw_i64(w, "alloc_calls", ac);
	hs_jw_i64(w, "alloc_bytes", ab);
	hs_jw_close(w, '}');
}

static void json_side(struct hs_jw *w, const char *key, const struct hs_diff_side *s,
		      const struct hs_diff_figures *total)
{
	const struct hsr_snapshot *snap = &s->rec->snapshots[s->snapshot];

	hs_jw_open(w, key, '{', 0);
	hs_jw_str(w, "path", s->rec->path);
	hs_jw_u64(w, "pid", s->rec->process.pid);
	hs_jw_u64(w, "seq", snap->seq);
	hs_jw_str(w, "reason", hsr_reason_name(snap->reason));
	hs_jw_str(w, "name", snap->name);
	hs_jw_seconds(w, "time_s", snap->t);
	json_figures(w, "totals", total);
	hs_jw_close(w, '}');
}

static void json_id(struct hs_jw *w, const char *key, int present, uint32_t id)
{
	if (present)
		hs_jw_u64(w, key, id);
	else
		hs_jw_null(w, key);
}

static int json_row(struct hs_jw *w, const struct hs_diff_report *dr, const struct hs_diff_row *row)
{
	const struct hs_diff_side *s;
	const struct hs_frame *frames;
	uint32_t id;
	size_t n;

	row_side(dr, row, &s, &id);
	if (hs_resolver_stack(s->res, id, &frames, &n))
		return -ENOMEM;
	hs_jw_open(w, NULL, '{', 0);
	json_id(w, "from_id", row->in_from, row->id_from);
	json_id(w, "to_id", row->in_to, row->id_to);
	hs_jw_str(w, "allocator", hsr_kind_name(s->rec->stacks[id].kind));
	json_figures(w, "from", &row->from);
	json_figures(w, "to", &row->to);
	json_delta(w, row->d_live_bytes, row->d_live_blocks, row->d_alloc_calls, row->d_alloc_bytes);
	hs_jw_frames(w, "frames", frames, n);
	hs_jw_close(w, '}');
	return 0;
}

static void put_grew(struct hs_jw *w, const struct hs_diff *d)
{
	hs_jw_open(w, "grew", '{', 1);
	hs_jw_u64(w, "bytes", d->grew_bytes);
	hs_jw_u64(w, "stacks", d->grew_stacks);
	hs_jw_close(w, '}');
	hs_jw_open(w, "shrank", '{', 1);
	hs_jw_u64(w, "bytes", d->shrank_bytes);
	hs_jw_u64(w, "stacks", d->shrank_stacks);
	hs_jw_close(w, '}');
}

int hs_export_diff_json(FILE *out, const struct hs_diff_report *dr)
{
	const struct hs_diff *d = dr->diff;
	struct hs_jw w = { .f = out };

	hs_jw_open(&w, NULL, '{', 0);
	hs_jw_u64(&w, "version", 1);
	hs_jw_str(&w, "tool", "heapscope");
	hs_jw_str(&w, "heapscope_version", dr->version);
	hs_jw_str(&w, "kind", "diff");
	json_side(&w, "from", dr->from, &d->from);
	json_side(&w, "to", dr->to, &d->to);
	hs_jw_str(&w, "matched_by", d->same_recording ? "id" : "functions");
	hs_jw_bool(&w, "reset_between", d->reset_between);
	json_delta(&w, (int64_t)(d->to.live_bytes - d->from.live_bytes),
		   (int64_t)(d->to.live_blocks - d->from.live_blocks),
		   (int64_t)(d->to.alloc_calls - d->from.alloc_calls),
		   (int64_t)(d->to.alloc_bytes - d->from.alloc_bytes));
	put_grew(&w, d);
	hs_jw_u64(&w, "changed_stacks", d->nchanged);
	hs_jw_open(&w, "stacks", '[', 0);
	for (size_t i = 0; i < d->nrows; i++) {
		if (json_row(&w, dr, &d->rows[i]))
			return -ENOMEM;
	}
	hs_jw_close(&w, ']');
	hs_jw_close(&w, '}');
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}
