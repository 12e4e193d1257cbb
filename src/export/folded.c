// SPDX-License-Identifier: MIT
/*
 * Folded ("collapsed") stacks, the input of flamegraph.pl, inferno and speedscope: one line
 * per distinct call path, frames root-first separated by ';', a space, then the view's
 * metric (its sort key: live bytes for leaks, ...). Lines are sorted by path, so that the
 * output of a recording is stable. Formats only: the caller computes the view.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "export.h"
#include "flame.h"

/* Write the path from the root's child down to node i, separated by ';'. */
static void put_path(FILE *out, const struct hs_flame *fl, uint32_t i, uint32_t *path)
{
	size_t n = 0;

	for (; i != 0; i = fl->nodes[i].parent)
		path[n++] = i;
	while (n-- > 0)
		fprintf(out, "%s%s", hs_flame_name(fl, path[n]), n ? ";" : "");
}

int hs_export_folded(FILE *out, const struct hs_report *r)
{
	struct hs_flame fl;
	uint32_t *path;
	int err;

	err = hs_flame_init(&fl, 0, NULL);
	if (err)
		return err;
	err = hs_flame_add_view(&fl, r->res, r->view);
	if (!err)
		err = hs_flame_sort(&fl, 0);
	path = err ? NULL : calloc(fl.n, sizeof(*path));
	if (!err && !path)
		err = -ENOMEM;
	for (uint32_t i = err ? 0 : hs_flame_next(&fl, 0); i != 0; i = hs_flame_next(&fl, i)) {
		if (fl.nodes[i].self == 0)
			continue;
		put_path(out, &fl, i, path);
		fprintf(out, " %" PRIu64 "\n", fl.nodes[i].self);
	}
	free(path);
	hs_flame_release(&fl);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
