// SPDX-License-Identifier: MIT
/*
 * The view as a call tree in text: from the outermost frame inwards, one line per node
 * with its share of the total, its value (the view's metric) and the function, indented
 * by depth, children largest first. Children below a threshold share of the total are
 * folded into one "(N more ...)" line, so that big recordings stay readable. Formats
 * only: the caller computes the view with every row.
 */
#include <errno.h>
#include <stdio.h>

#include "export.h"
#include "flame.h"
#include "human.h"

#define TREE_MIN_PERMILLE 10	/* children below 1.0% of the total are folded */

struct tree_ctx {
	FILE *out;
	const struct hs_flame *fl;
	uint64_t total;
	uint64_t min;		/* smallest value shown */
	int is_bytes;
};

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void put_line(const struct tree_ctx *c, uint32_t depth, uint64_t value,
		     const char *label)
{
	char v[HS_HUMAN_LEN];

	fprintf(c->out, "%7.2f%% %10s  %*s%s\n", pct(value, c->total),
		hs_human_value(v, value, c->is_bytes), (int)(2 * depth), "", label);
}

/* Node i and, recursively, its children (sorted by value, so the small ones come last). */
static void put_node(const struct tree_ctx *c, uint32_t i)
{
	const struct hs_flame_node *n = &c->fl->nodes[i];
	uint64_t rest = 0;
	unsigned nrest = 0;
	char label[96];

	put_line(c, n->depth, n->value, hs_flame_name(c->fl, i));
	for (uint32_t ch = n->first_child; ch != HS_FLAME_NONE; ch = c->fl->nodes[ch].next) {
		if (c->fl->nodes[ch].value >= c->min) {
			put_node(c, ch);
			continue;
		}
		rest += c->fl->nodes[ch].value;
		nrest++;
	}
	if (nrest == 0)
		return;
	snprintf(label, sizeof(label), "(%u more below %.1f%%)", nrest, TREE_MIN_PERMILLE / 10.0);
	put_line(c, n->depth + 1, rest, label);
}

int hs_export_tree(FILE *out, const struct hs_report *r)
{
	const struct hs_view_result *v = r->view;
	struct tree_ctx c = { .out = out };
	char a[HS_HUMAN_LEN];
	struct hs_flame fl;
	const char *what;
	int err;

	err = hs_flame_init(&fl, 0, NULL);
	if (!err)
		err = hs_flame_add_view(&fl, r->res, v);
	if (!err)
		err = hs_flame_sort(&fl, 1);
	if (err)
		goto out_release;
	c.fl = &fl;
	c.total = fl.nodes[0].value;
	c.min = c.total * TREE_MIN_PERMILLE / 1000;
	c.min = c.min ? c.min : 1;
	hs_view_metric(v->view, v->sort, &what, &c.is_bytes);
	fprintf(out, "%s call tree: %s %s in %zu stacks (callers above callees; children below "
		"%.1f%% folded)\n", hs_view_name(v->view), hs_human_value(a, c.total, c.is_bytes),
		what, fl.nstacks, TREE_MIN_PERMILLE / 10.0);
	if (c.total)
		put_node(&c, 0);
	err = ferror(out) ? -EIO : 0;
out_release:
	hs_flame_release(&fl);
	return err;
}
