// SPDX-License-Identifier: MIT
/*
 * Growth across snapshots (growth.h). The first pass keeps, for every stack, running
 * sums of its live bytes over the window: a stack's value only changes at the snapshots
 * that list it, so each constant stretch is added at once from prefix sums of x, and the
 * pass costs O(entries + stacks), not O(snapshots x stacks). It gives the least-squares
 * fit, the steps up and down and the share of the largest step, enough to tell steady
 * growth from start-up and churn. The second pass rebuilds the series of the growing
 * stacks only, for a rate that one odd snapshot cannot move: the median of the slopes
 * between snapshots half the window apart.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "growth.h"

#define MAX_SERIES_VALUES (16u << 20)	/* doubles kept for the second pass */

struct stack_stats {
	uint64_t cur;		/* live bytes now */
	uint64_t first;		/* at the window's first snapshot */
	size_t since;		/* window index where cur began */
	unsigned up, down;	/* steps */
	double rise, max_rise;	/* bytes of all rising steps, of the largest */
	double sy, sxy, syy;	/* sums of y = cur - first, x y, y^2 over the window */
};

struct window {
	const struct hsr_recording *rec;
	size_t first, n;
	double *x;		/* x of each snapshot: seconds from the first, or its index */
	double *px;		/* prefix sums of x: px[j] = x[0] + ... + x[j - 1] */
	double sx, sxx;
};

static uint64_t live_bytes(const struct hsr_counters *c)
{
	return c->alloc_bytes > c->freed_bytes ? c->alloc_bytes - c->freed_bytes : 0;
}

/* The window: from the last snapshot taken after a reset (or the first) to the end. */
static int window_init(struct window *w, const struct hsr_recording *rec)
{
	const struct hsr_snapshot *s;
	uint64_t t0;
	int timed;

	memset(w, 0, sizeof(*w));
	w->rec = rec;
	for (size_t k = 0; k < rec->nsnapshots; k++)
		w->first = rec->snapshots[k].reset ? k : w->first;
	w->n = rec->nsnapshots - w->first;
	w->x = calloc(w->n + 1, sizeof(*w->x));
	w->px = calloc(w->n + 1, sizeof(*w->px));
	if (!w->x || !w->px)
		return -ENOMEM;
	s = &rec->snapshots[w->first];
	t0 = s->t;
	timed = s[w->n - 1].t > t0;
	for (size_t j = 0; j < w->n; j++) {
		w->x[j] = timed ? (double)(s[j].t > t0 ? s[j].t - t0 : 0) / 1e9 : (double)j;
		w->px[j + 1] = w->px[j] + w->x[j];
		w->sxx += w->x[j] * w->x[j];
	}
	w->sx = w->px[w->n];
	return 0;
}

static void window_release(struct window *w)
{
	free(w->x);
	free(w->px);
}

/* Add the stretch of st's current value up to window index `to`. */
static void flush(struct stack_stats *st, const struct window *w, size_t to)
{
	double y = (double)st->cur - (double)st->first, len = (double)(to - st->since);

	st->sy += y * len;
	st->sxy += y * (w->px[to] - w->px[st->since]);
	st->syy += y * y * len;
	st->since = to;
}

static void step(struct stack_stats *st, const struct window *w, size_t j, uint64_t v)
{
	double d;

	if (v == st->cur)
		return;
	if (j == 0) {
		st->cur = st->first = v;
		return;
	}
	flush(st, w, j);
	if (v < st->cur) {
		st->down++;
	} else {
		d = (double)(v - st->cur);
		st->up++;
		st->rise += d;
		st->max_rise = d > st->max_rise ? d : st->max_rise;
	}
	st->cur = v;
}

static void first_pass(const struct window *w, struct stack_stats *stats)
{
	const struct hsr_recording *rec = w->rec;

	for (size_t j = 0; j < w->n; j++) {
		const struct hsr_snapshot *s = &rec->snapshots[w->first + j];

		for (size_t i = 0; i < s->nentries; i++)
			step(&stats[s->entries[i].id], w, j, live_bytes(&s->entries[i].c));
	}
	for (size_t id = 0; id <= rec->nstacks; id++)
		flush(&stats[id], w, w->n);
}

enum verdict { FLAT, ONE_TIME, CHURN, GROWING };

/* Steady growth keeps most of what it gains, over several steps, none of them dominant. */
static enum verdict judge(const struct stack_stats *st)
{
	double net = (double)st->cur - (double)st->first;

	if (st->rise <= 0 || net <= 0)
		return st->rise > 0 ? CHURN : FLAT;
	if (net < 0.5 * st->rise)
		return CHURN;
	if (st->up < 2 || st->max_rise > (st->up == 2 ? 0.75 : 0.5) * st->rise)
		return ONE_TIME;
	return GROWING;
}

/* Least-squares slope of y against x and the fit's R^2 (0 when undefined). */
static double fit(const struct window *w, const struct stack_stats *st, double *r2)
{
	double n = (double)w->n, dx = n * w->sxx - w->sx * w->sx;
	double num = n * st->sxy - w->sx * st->sy, dy = n * st->syy - st->sy * st->sy;

	*r2 = dx > 0 && dy > 0 ? num * num / (dx * dy) : 0;
	if (*r2 > 1)
		*r2 = 1;
	return dx > 0 ? num / dx : 0;
}

static void describe(struct hs_growth_row *row, const struct window *w,
		     const struct stack_stats *st)
{
	double steps = (double)(w->n - 1);
	double enough = steps / 9 < 1 ? steps / 9 : 1;

	fit(w, st, &row->r2);
	row->monotonic = steps > 0 ? (steps - st->down) / steps : 0;
	row->rising_steps = st->up;
	row->first_bytes = st->first;
	row->last_bytes = st->cur;
	row->score = row->r2 * row->monotonic * enough;
	if (w->n >= 6 && row->r2 >= 0.9 && row->monotonic >= 0.9)
		row->confidence = HS_GROWTH_HIGH;
	else if (w->n >= 4 && row->r2 >= 0.6 && row->monotonic >= 0.7)
		row->confidence = HS_GROWTH_MEDIUM;
	else
		row->confidence = HS_GROWTH_LOW;
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return a < b ? -1 : a > b;
}

static double median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median slopes over the pairs (i, i + n/2), against the index and against time. */
static void robust_rates(struct hs_growth_row *row, const double *y, const struct window *w,
			 double *tmp)
{
	const struct hsr_snapshot *s = &w->rec->snapshots[w->first];
	size_t h = w->n / 2, m = 0;

	for (size_t i = 0; i + h < w->n; i++)
		tmp[m++] = (y[i + h] - y[i]) / (double)h;
	row->bytes_per_snapshot = median(tmp, m);
	m = 0;
	for (size_t i = 0; i + h < w->n; i++) {
		if (s[i + h].t > s[i].t)
			tmp[m++] = (y[i + h] - y[i]) / ((double)(s[i + h].t - s[i].t) / 1e9);
	}
	row->bytes_per_second = median(tmp, m);
}

struct pass2 {
	int32_t *slot;		/* per stack id: its row, or -1 */
	uint64_t *cur;		/* per row: live bytes now */
	double *series;		/* per row: n values */
	double *tmp;
};

/* Rebuild the series of the rows' stacks, then their robust rates. */
static void second_pass(struct hs_growth_row *rows, size_t nrows, const struct window *w,
			struct pass2 *p)
{
	const struct hsr_recording *rec = w->rec;

	for (size_t j = 0; j < w->n; j++) {
		const struct hsr_snapshot *s = &rec->snapshots[w->first + j];

		for (size_t i = 0; i < s->nentries; i++) {
			int32_t r = p->slot[s->entries[i].id];

			if (r >= 0)
				p->cur[r] = live_bytes(&s->entries[i].c);
		}
		for (size_t r = 0; r < nrows; r++)
			p->series[r * w->n + j] = (double)p->cur[r];
	}
	for (size_t r = 0; r < nrows; r++)
		robust_rates(&rows[r], &p->series[r * w->n], w, p->tmp);
}

static int rate_rows(struct hs_growth_row *rows, size_t nrows, const struct window *w,
		     const struct hsr_recording *rec)
{
	struct pass2 p = { 0 };
	int err = -ENOMEM;

	p.slot = malloc((rec->nstacks + 1) * sizeof(*p.slot));
	p.cur = calloc(nrows ? nrows : 1, sizeof(*p.cur));
	p.series = calloc(nrows * w->n + 1, sizeof(*p.series));
	p.tmp = calloc(w->n + 1, sizeof(*p.tmp));
	if (!p.slot || !p.cur || !p.series || !p.tmp)
		goto out_free;
	memset(p.slot, 0xff, (rec->nstacks + 1) * sizeof(*p.slot));
	for (size_t r = 0; r < nrows; r++)
		p.slot[rows[r].stack_id] = (int32_t)r;
	second_pass(rows, nrows, w, &p);
	err = 0;
out_free:
	free(p.slot);
	free(p.cur);
	free(p.series);
	free(p.tmp);
	return err;
}

static int by_fit_slope(const void *pa, const void *pb)
{
	const struct hs_growth_row *a = pa, *b = pb;

	/* first pass: bytes_per_snapshot holds the least-squares slope */
	if (a->bytes_per_snapshot != b->bytes_per_snapshot)
		return a->bytes_per_snapshot < b->bytes_per_snapshot ? 1 : -1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static int by_rate(const void *pa, const void *pb)
{
	const struct hs_growth_row *a = pa, *b = pb;
	double ka = a->bytes_per_second ? a->bytes_per_second : a->bytes_per_snapshot;
	double kb = b->bytes_per_second ? b->bytes_per_second : b->bytes_per_snapshot;

	if (ka != kb)
		return ka < kb ? 1 : -1;
	if (a->last_bytes != b->last_bytes)
		return a->last_bytes < b->last_bytes ? 1 : -1;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

/* Judge every stack; the growing ones become rows (with their least-squares slope). */
static int collect(struct hs_growth *g, const struct window *w, const struct stack_stats *stats,
		   size_t nstacks)
{
	double r2;

	g->rows = calloc(nstacks + 1, sizeof(*g->rows));
	if (!g->rows)
		return -ENOMEM;
	for (size_t id = 0; id <= nstacks; id++) {
		enum verdict v = judge(&stats[id]);
		struct hs_growth_row *row = &g->rows[g->ngrowing];

		g->nonetime += v == ONE_TIME;
		g->nchurn += v == CHURN;
		if (v != GROWING)
			continue;
		row->stack_id = (uint32_t)id;
		row->bytes_per_snapshot = fit(w, &stats[id], &r2);
		describe(row, w, &stats[id]);
		g->ngrowing++;
	}
	return 0;
}

/* Keep the rows with a positive robust rate, fastest first, cut to top. */
static void rank(struct hs_growth *g, size_t top)
{
	size_t n = 0;

	for (size_t r = 0; r < g->nrows; r++) {
		if (g->rows[r].bytes_per_snapshot > 0)
			g->rows[n++] = g->rows[r];
	}
	g->ngrowing = n;
	qsort(g->rows, n, sizeof(*g->rows), by_rate);
	g->nrows = top && top < n ? top : n;
}

static int analyze(struct hs_growth *g, const struct window *w, struct stack_stats *stats,
		   size_t top)
{
	const struct hsr_recording *rec = w->rec;
	size_t cap = MAX_SERIES_VALUES / w->n;
	int err;

	first_pass(w, stats);
	err = collect(g, w, stats, rec->nstacks);
	if (err)
		return err;
	qsort(g->rows, g->ngrowing, sizeof(*g->rows), by_fit_slope);
	g->nrows = g->ngrowing < cap ? g->ngrowing : cap;
	err = rate_rows(g->rows, g->nrows, w, rec);
	if (!err)
		rank(g, top);
	return err;
}

int hs_growth_compute(const struct hsr_recording *rec, size_t top, struct hs_growth *out)
{
	struct stack_stats *stats;
	struct window w;
	int err;

	memset(out, 0, sizeof(*out));
	if (rec->nsnapshots == 0)
		return 0;
	err = window_init(&w, rec);
	out->first = w.first;
	out->nsnapshots = w.n;
	out->after_reset = rec->snapshots[w.first].reset;
	if (rec->snapshots[rec->nsnapshots - 1].t > rec->snapshots[w.first].t)
		out->span_ns = rec->snapshots[rec->nsnapshots - 1].t - rec->snapshots[w.first].t;
	if (err || w.n < HS_GROWTH_MIN_SNAPSHOTS) {
		window_release(&w);
		return err;
	}
	stats = calloc(rec->nstacks + 1, sizeof(*stats));
	err = stats ? analyze(out, &w, stats, top) : -ENOMEM;
	free(stats);
	window_release(&w);
	if (err)
		hs_growth_release(out);
	return err;
}

void hs_growth_release(struct hs_growth *g)
{
	free(g->rows);
	g->rows = NULL;
	g->nrows = g->ngrowing = 0;
}

const char *hs_growth_confidence_name(enum hs_growth_confidence c)
{
	return c == HS_GROWTH_HIGH ? "high" : c == HS_GROWTH_MEDIUM ? "medium" : "low";
}
