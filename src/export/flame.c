// SPDX-License-Identifier: MIT
/*
 * Building the call tree of flame.h: resolve each stack, walk its frames in the chosen
 * direction, and find or add a child per frame through a (parent, name) map, so that
 * recordings with 100k stacks build in linear time. Only builds; no output.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"

#define NAME_MAX_LEN 1024

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void hs_frame_name(char *buf, size_t len, const struct hs_frame *f)
{
	if (f->function)
		snprintf(buf, len, "%s", f->function);
	else if (f->module)
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(f->module), f->module_offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->address);
	for (char *p = buf; *p; p++) {
		if (*p == ';')
			*p = ':';
		else if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	}
}

int hs_flame_init(struct hs_flame *fl, int leaf_first, hs_frame_label_fn *label)
{
	memset(fl, 0, sizeof(*fl));
	fl->leaf_first = leaf_first;
	fl->label = label ? label : hs_frame_name;
	fl->nodes = calloc(64, sizeof(*fl->nodes));
	if (!fl->nodes || hs_strids_init(&fl->names)) {
		hs_flame_release(fl);
		return -ENOMEM;
	}
	fl->cap = 64;
	fl->n = 1;
	return 0;
}

void hs_flame_release(struct hs_flame *fl)
{
	free(fl->nodes);
	hs_strids_release(&fl->names);
	hs_idmap_release(&fl->children);
	memset(fl, 0, sizeof(*fl));
}

const char *hs_flame_name(const struct hs_flame *fl, uint32_t i)
{
	return i == 0 ? "all" : fl->names.str[fl->nodes[i].name];
}

static int new_child(struct hs_flame *fl, uint32_t parent, uint32_t name, uint32_t *out)
{
	struct hs_flame_node *c;

	if (fl->n == fl->cap) {
		struct hs_flame_node *p = reallocarray(fl->nodes, 2 * fl->cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		fl->nodes = p;
		fl->cap *= 2;
	}
	c = &fl->nodes[fl->n];
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->parent = parent;
	c->depth = fl->nodes[parent].depth + 1;
	c->next = fl->nodes[parent].first_child;
	fl->nodes[parent].first_child = fl->n;
	*out = fl->n++;
	return hs_idmap_put(&fl->children, (uint64_t)parent << 32 | name, *out);
}

/* Step from node `parent` into its child named `label`, creating it; adds the figures. */
static int step(struct hs_flame *fl, uint32_t *node, const char *label, uint64_t value,
		const struct hs_figures *f)
{
	uint32_t name, child;

	if (hs_strids_intern(&fl->names, label, &name))
		return -ENOMEM;
	if (hs_idmap_get(&fl->children, (uint64_t)*node << 32 | name, &child) &&
	    new_child(fl, *node, name, &child))
		return -ENOMEM;
	fl->nodes[child].value += value;
	hs_figures_add(&fl->nodes[child].f, f);
	*node = child;
	return 0;
}

/* Frames shown: up to (not including) the first frame of the program's start. */
static size_t shown_frames(const struct hs_frame *frames, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (hs_frame_is_program_start(&frames[i]))
			return i;
	}
	return n;
}

int hs_flame_add_stack(struct hs_flame *fl, struct hs_resolver *res, uint32_t id,
		       uint64_t value, const struct hs_figures *f)
{
	const struct hs_frame *frames;
	char label[NAME_MAX_LEN];
	uint32_t node = 0;
	size_t n;

	if (value == 0)
		return 0;
	if (hs_resolver_stack(res, id, &frames, &n))
		return -ENOMEM;
	n = shown_frames(frames, n);
	fl->nodes[0].value += value;
	hs_figures_add(&fl->nodes[0].f, f);
	fl->nstacks++;
	if (n == 0 && step(fl, &node, "[no stack]", value, f))
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		fl->label(label, sizeof(label), &frames[fl->leaf_first ? k : n - 1 - k]);
		if (step(fl, &node, label, value, f))
			return -ENOMEM;
	}
	fl->nodes[node].self += value;
	return 0;
}

int hs_flame_add_view(struct hs_flame *fl, struct hs_resolver *res,
		      const struct hs_view_result *v)
{
	for (size_t i = 0; i < v->nrows; i++) {
		const struct hs_row *row = &v->rows[i];
		uint64_t value = hs_view_key(v->view, v->sort, &row->f);

		if (hs_flame_add_stack(fl, res, row->stack_id, value, &row->f))
			return -ENOMEM;
	}
	return 0;
}

struct sort_ctx {
	const struct hs_flame *fl;
	int by_value;
};

static int child_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct hs_flame_node *a = &c->fl->nodes[*(const uint32_t *)pa];
	const struct hs_flame_node *b = &c->fl->nodes[*(const uint32_t *)pb];

	if (c->by_value && a->value != b->value)
		return a->value < b->value ? 1 : -1;
	return strcmp(c->fl->names.str[a->name], c->fl->names.str[b->name]);
}

/* Relink the children of node p in sorted order; tmp has room for every node. */
static void sort_children(struct hs_flame *fl, uint32_t p, uint32_t *tmp, struct sort_ctx *c)
{
	size_t k = 0;

	for (uint32_t ch = fl->nodes[p].first_child; ch != HS_FLAME_NONE; ch = fl->nodes[ch].next)
		tmp[k++] = ch;
	if (k < 2)
		return;
	qsort_r(tmp, k, sizeof(*tmp), child_cmp, c);
	fl->nodes[p].first_child = tmp[0];
	for (size_t i = 0; i < k; i++)
		fl->nodes[tmp[i]].next = i + 1 < k ? tmp[i + 1] : HS_FLAME_NONE;
}

int hs_flame_sort(struct hs_flame *fl, int by_value)
{
	struct sort_ctx c = { fl, by_value };
	uint32_t *tmp = calloc(fl->n, sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	for (uint32_t p = 0; p < fl->n; p++)
		sort_children(fl, p, tmp, &c);
	free(tmp);
	return 0;
}

uint32_t hs_flame_next(const struct hs_flame *fl, uint32_t i)
{
	if (fl->nodes[i].first_child != HS_FLAME_NONE)
		return fl->nodes[i].first_child;
	while (i != 0) {
		if (fl->nodes[i].next != HS_FLAME_NONE)
			return fl->nodes[i].next;
		i = fl->nodes[i].parent;
	}
	return 0;
}

void hs_view_metric(enum hs_view view, enum hs_sort sort, const char **what, int *is_bytes)
{
	static const char *const bytes[HS_VIEW_COUNT] = {
		[HS_VIEW_LEAKS] = "live",
		[HS_VIEW_PEAK] = "at the peak",
		[HS_VIEW_ALLOCS] = "allocated",
		[HS_VIEW_TEMPORARY] = "allocated",
	};
	static const char *const blocks[HS_VIEW_COUNT] = {
		[HS_VIEW_LEAKS] = "live blocks",
		[HS_VIEW_PEAK] = "blocks at the peak",
		[HS_VIEW_ALLOCS] = "allocation calls",
		[HS_VIEW_TEMPORARY] = "temporary allocations",
	};

	if (sort == HS_SORT_DEFAULT)
		sort = hs_view_default_sort(view);
	*is_bytes = sort == HS_SORT_BYTES;
	if (sort == HS_SORT_CALLS)
		*what = "allocation calls";
	else if (sort == HS_SORT_TEMPORARY)
		*what = "temporary allocations";
	else if ((unsigned)view < HS_VIEW_COUNT)
		*what = sort == HS_SORT_BYTES ? bytes[view] : blocks[view];
	else
		*what = sort == HS_SORT_BYTES ? "" : "blocks";
}
