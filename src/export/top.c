// SPDX-License-Identifier: MIT
/*
 * The view by function, as pprof's -top prints it: for each function, flat (the view's
 * metric of the stacks whose innermost shown frame is in it), cum (of the stacks it appears
 * in anywhere, each stack counted once, so recursion does not count twice), their shares
 * of the total and the running sum of flat. Inline frames count as functions of their own.
 * Formats only: the caller computes the view (every row) and says how many lines to show.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "flame.h"
#include "human.h"

struct fn_stat {
	uint64_t flat;
	uint64_t cum;
	size_t last_row;	/* row that last added to cum, + 1 */
};

struct fn_table {
	struct hs_strids names;
	struct fn_stat *stats;	/* per name id */
	uint32_t cap;
	uint64_t total;
};

static struct fn_stat *stat_of(struct fn_table *t, const struct hs_frame *f)
{
	char name[1024];
	uint32_t id;

	hs_frame_name(name, sizeof(name), f);
	if (hs_strids_intern(&t->names, name, &id))
		return NULL;
	if (id >= t->cap) {
		uint32_t ncap = t->cap ? 2 * t->cap : 256;
		struct fn_stat *p = reallocarray(t->stats, ncap, sizeof(*p));

		if (!p)
			return NULL;
		for (uint32_t i = t->cap; i < ncap; i++)
			p[i] = (struct fn_stat){ 0 };
		t->stats = p;
		t->cap = ncap;
	}
	return &t->stats[id];
}

/* Count row k (value v) against each distinct function of its stack. */
static int add_row(struct fn_table *t, struct hs_resolver *res, const struct hs_row *row,
		   size_t k, uint64_t v)
{
	static const struct hs_frame none = { .function = "[no stack]" };
	const struct hs_frame *frames;
	size_t n;

	if (v == 0)
		return 0;
	if (hs_resolver_stack(res, row->stack_id, &frames, &n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (hs_frame_is_program_start(&frames[i]))
			n = i;
	}
	if (n == 0) {
		frames = &none;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct fn_stat *s = stat_of(t, &frames[i]);

		if (!s)
			return -ENOMEM;
		if (i == 0)
			s->flat += v;
		if (s->last_row != k + 1)
			s->cum += v;
		s->last_row = k + 1;
	}
	t->total += v;
	return 0;
}

static int stat_cmp(const void *pa, const void *pb, void *arg)
{
	const struct fn_table *t = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	const struct fn_stat *x = &t->stats[a], *y = &t->stats[b];

	if (x->flat != y->flat)
		return x->flat < y->flat ? 1 : -1;
	if (x->cum != y->cum)
		return x->cum < y->cum ? 1 : -1;
	return strcmp(t->names.str[a], t->names.str[b]);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void put_lines(FILE *out, const struct fn_table *t, const uint32_t *order, size_t n,
		      int is_bytes)
{
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];
	uint64_t sum = 0;

	fprintf(out, "%12s %7s %7s %12s %7s\n", "flat", "flat%", "sum%", "cum", "cum%");
	for (size_t i = 0; i < n; i++) {
		const struct fn_stat *s = &t->stats[order[i]];

		sum += s->flat;
		fprintf(out, "%12s %6.2f%% %6.2f%% %12s %6.2f%%  %s\n",
			hs_human_value(a, s->flat, is_bytes), pct(s->flat, t->total),
			pct(sum, t->total), hs_human_value(b, s->cum, is_bytes),
			pct(s->cum, t->total), t->names.str[order[i]]);
	}
}

/* The heading, then the first `top` functions (0: all) of t. */
static int put_top(FILE *out, const struct hs_report *r, struct fn_table *t, size_t top)
{
	const struct hs_view_result *v = r->view;
	uint32_t n = t->names.n - 1, shown;	/* id 0 is "" */
	uint32_t *order = calloc(n ? n : 1, sizeof(*order));
	char a[HS_HUMAN_LEN], b[HS_HUMAN_LEN];
	const char *what;
	int is_bytes;

	if (!order)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		order[i] = i + 1;
	qsort_r(order, n, sizeof(*order), stat_cmp, t);
	shown = top && top < n ? (uint32_t)top : n;
	hs_view_metric(v->view, v->sort, &what, &is_bytes);
	fprintf(out, "%s by function: %s %s in %s stacks, %u functions", hs_view_name(v->view),
		hs_human_value(a, t->total, is_bytes), what, hs_human_count(b, v->nrows), n);
	if (shown < n)
		fprintf(out, " (top %u; --top 0 shows all)", shown);
	fputc('\n', out);
	put_lines(out, t, order, shown, is_bytes);
	free(order);
	return 0;
}

int hs_export_top(FILE *out, const struct hs_report *r, size_t top)
{
	const struct hs_view_result *v = r->view;
	struct fn_table t = { 0 };
	int err = hs_strids_init(&t.names);

	for (size_t k = 0; k < v->nrows && !err; k++)
		err = add_row(&t, r->res, &v->rows[k], k, hs_view_key(v->view, v->sort, &v->rows[k].f));
	if (!err)
		err = put_top(out, r, &t, top);
	free(t.stats);
	hs_strids_release(&t.names);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
