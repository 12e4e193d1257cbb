// SPDX-License-Identifier: MIT
/*
 * Per-stack differences between two snapshots (diff.h). Each side's stacks at its
 * snapshot become keyed entries; entries are sorted by key and merged, so matching costs
 * O(n log n) without a hash table, and rows whose figures did not move are dropped.
 */
#define _GNU_SOURCE	/* open_memstream */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "hsr_format.h"

struct entry {
	char *key;		/* NULL when matching by id */
	uint32_t id;
	int side;		/* 0 from, 1 to */
	struct hs_diff_figures f;
};

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void figures_of(const struct hsr_counters *c, struct hs_diff_figures *f)
{
	f->live_bytes = sat_sub(c->alloc_bytes, c->freed_bytes);
	f->live_blocks = sat_sub(c->alloc_calls, c->free_calls);
	f->alloc_bytes = c->alloc_bytes;
	f->alloc_calls = c->alloc_calls;
}

static void figures_add(struct hs_diff_figures *d, const struct hs_diff_figures *s)
{
	d->live_bytes += s->live_bytes;
	d->live_blocks += s->live_blocks;
	d->alloc_bytes += s->alloc_bytes;
	d->alloc_calls += s->alloc_calls;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "malloc;f;g;libx.so+0x12" for stack id of side s; NULL when out of memory. */
static char *stack_key(const struct hs_diff_side *s, uint32_t id)
{
	const struct hs_frame *frames;
	size_t n, len;
	char *key = NULL;
	FILE *f;

	if (hs_resolver_stack(s->res, id, &frames, &n) || !(f = open_memstream(&key, &len)))
		return NULL;
	fputs(hsr_kind_name(s->rec->stacks[id].kind), f);
	for (size_t i = 0; i < n; i++) {
		if (frames[i].function)
			fprintf(f, ";%s", frames[i].function);
		else if (frames[i].module)
			fprintf(f, ";%s+0x%" PRIx64, base_name(frames[i].module),
				frames[i].module_offset);
		else
			fprintf(f, ";0x%" PRIx64, frames[i].address);
	}
	if (fclose(f)) {
		free(key);
		return NULL;
	}
	return key;
}

/* Append side s's stacks with any allocation at its snapshot to e[*n ...]. */
static int add_side(const struct hs_diff_side *s, int side, int by_id, struct entry *e,
		    size_t *n, struct hs_diff_figures *total)
{
	struct hsr_counters *st = calloc(s->rec->nstacks + 1, sizeof(*st));

	if (!st || hsr_recording_state_at(s->rec, s->snapshot, st)) {
		free(st);
		return -ENOMEM;
	}
	figures_of(&s->rec->snapshots[s->snapshot].total, total);
	for (uint32_t id = 0; id <= s->rec->nstacks; id++) {
		if (!st[id].alloc_calls)
			continue;
		e[*n] = (struct entry){ .id = id, .side = side };
		figures_of(&st[id], &e[*n].f);
		if (!by_id && !(e[*n].key = stack_key(s, id))) {
			free(st);
			return -ENOMEM;
		}
		(*n)++;
	}
	free(st);
	return 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int r = a->key && b->key ? strcmp(a->key, b->key) : 0;

	if (!r && !a->key)
		r = a->id < b->id ? -1 : a->id > b->id;
	if (!r)
		r = a->side - b->side;
	return r;
}

static int same_key(const struct entry *a, const struct entry *b)
{
	return a->key ? strcmp(a->key, b->key) == 0 : a->id == b->id;
}

static void row_finish(struct hs_diff_row *r)
{
	r->d_live_bytes = (int64_t)(r->to.live_bytes - r->from.live_bytes);
	r->d_live_blocks = (int64_t)(r->to.live_blocks - r->from.live_blocks);
	r->d_alloc_bytes = (int64_t)(r->to.alloc_bytes - r->from.alloc_bytes);
	r->d_alloc_calls = (int64_t)(r->to.alloc_calls - r->from.alloc_calls);
}

/* Merge runs of equal keys into rows; keep those that changed. */
static void merge(struct hs_diff *d, const struct entry *e, size_t n)
{
	for (size_t i = 0; i < n;) {
		struct hs_diff_row r = { 0 };
		size_t j = i;

		for (; j < n && same_key(&e[i], &e[j]); j++) {
			int to = e[j].side;

			if (!(to ? r.in_to : r.in_from)) {
				*(to ? &r.id_to : &r.id_from) = e[j].id;
				*(to ? &r.in_to : &r.in_from) = 1;
			}
			figures_add(to ? &r.to : &r.from, &e[j].f);
		}
		i = j;
		row_finish(&r);
		if (r.d_live_bytes || r.d_live_blocks || r.d_alloc_calls || r.d_alloc_bytes)
			d->rows[d->nchanged++] = r;
	}
}

static uint64_t abs64(int64_t v)
{
	return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct hs_diff_row *a = pa, *b = pb;

	if (abs64(a->d_live_bytes) != abs64(b->d_live_bytes))
		return abs64(a->d_live_bytes) < abs64(b->d_live_bytes) ? 1 : -1;
	if (abs64(a->d_alloc_bytes) != abs64(b->d_alloc_bytes))
		return abs64(a->d_alloc_bytes) < abs64(b->d_alloc_bytes) ? 1 : -1;
	if (a->id_to != b->id_to)
		return a->id_to < b->id_to ? -1 : 1;
	return a->id_from < b->id_from ? -1 : a->id_from > b->id_from;
}

static void totals(struct hs_diff *d)
{
	for (size_t i = 0; i < d->nchanged; i++) {
		int64_t v = d->rows[i].d_live_bytes;

		if (v > 0) {
			d->grew_bytes += (uint64_t)v;
			d->grew_stacks++;
		} else if (v < 0) {
			d->shrank_bytes += abs64(v);
			d->shrank_stacks++;
		}
	}
}

static int reset_between(const struct hsr_recording *rec, size_t a, size_t b)
{
	for (size_t k = (a < b ? a : b) + 1; k <= (a < b ? b : a); k++) {
		if (rec->snapshots[k].reset)
			return 1;
	}
	return 0;
}

int hs_diff_compute(const struct hs_diff_side *from, const struct hs_diff_side *to, size_t top,
		    struct hs_diff *out)
{
	size_t cap = from->rec->nstacks + to->rec->nstacks + 2, n = 0;
	struct entry *e = calloc(cap, sizeof(*e));
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->same_recording = from->rec == to->rec;
	if (out->same_recording)
		out->reset_between = reset_between(from->rec, from->snapshot, to->snapshot);
	out->rows = calloc(cap, sizeof(*out->rows));
	if (!e || !out->rows)
		goto out_free;
	err = add_side(from, 0, out->same_recording, e, &n, &out->from);
	if (!err)
		err = add_side(to, 1, out->same_recording, e, &n, &out->to);
	if (err)
		goto out_free;
	qsort(e, n, sizeof(*e), entry_cmp);
	merge(out, e, n);
	qsort(out->rows, out->nchanged, sizeof(*out->rows), row_cmp);
	totals(out);
	out->nrows = top && top < out->nchanged ? top : out->nchanged;
out_free:
	for (size_t i = 0; e && i < n; i++)
		free(e[i].key);
	free(e);
	if (err)
		hs_diff_release(out);
	return err;
}

void hs_diff_release(struct hs_diff *d)
{
	free(d->rows);
	d->rows = NULL;
	d->nrows = d->nchanged = 0;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
	}
	return 1;
}

int hs_diff_find_snapshot(const struct hsr_recording *rec, const char *spec, size_t *k)
{
	if (rec->nsnapshots == 0)
		return -ENOENT;
	if (strcmp(spec, "first") == 0 || strcmp(spec, "last") == 0) {
		*k = spec[0] == 'f' ? 0 : rec->nsnapshots - 1;
		return 0;
	}
	for (size_t i = rec->nsnapshots; i-- > 0;) {
		const struct hsr_snapshot *s = &rec->snapshots[i];

		if (all_digits(spec) ? s->seq == strtoull(spec, NULL, 10) : strcmp(s->name, spec) == 0) {
			*k = i;
			return 0;
		}
	}
	return -ENOENT;
}
