// SPDX-License-Identifier: MIT
/*
 * The view as an SVG flame graph, in the manner of flamegraph.pl: the outermost frame at
 * the bottom, each frame as wide as its share of the view's metric, siblings in name
 * order, a warm colour per name. The file carries its own script (assets/flamegraph.js):
 * hover details, click to zoom, search with Ctrl-F. No outside resources: it opens from
 * disk in any browser. Frames narrower than a tenth of a pixel are left out, as
 * flamegraph.pl does. Formats only: the caller computes the view with every row.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "export.h"
#include "flame.h"
#include "human.h"

#define SVG_WIDTH 1200
#define SVG_PAD 10
#define FRAME_H 16
#define TOP_SPACE 40		/* title and buttons */
#define BOTTOM_SPACE 24		/* details line */
#define MIN_WIDTH_PX 0.1
#define CHAR_PX 7

struct svg {
	FILE *out;
	const struct hs_flame *fl;
	uint64_t *offset;	/* per node: where it starts, in value units */
	uint32_t max_depth;
	double scale;		/* pixels per value unit */
	int is_bytes;
	const char *what;
	unsigned height;
};

/* Write s with XML's special characters escaped; at most max characters (0: all). */
static void put_xml(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && (!max || i < max); i++) {
		switch (s[i]) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if ((unsigned char)s[i] >= 0x20 || s[i] == '\t')
				fputc(s[i], out);
		}
	}
}

/* Node offsets (children packed left to right within their parent) and the depth. */
static void lay_out(struct svg *s)
{
	const struct hs_flame *fl = s->fl;

	uint32_t p = 0;

	do {
		uint64_t x = s->offset[p];

		if (fl->nodes[p].depth > s->max_depth)
			s->max_depth = fl->nodes[p].depth;
		for (uint32_t c = fl->nodes[p].first_child; c != HS_FLAME_NONE; c = fl->nodes[c].next) {
			s->offset[c] = x;
			x += fl->nodes[c].value;
		}
		p = hs_flame_next(fl, p);
	} while (p != 0);
}

/* A warm colour from the name, the same for the same name in every graph. */
static void colour(const char *name, unsigned rgb[3])
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	rgb[0] = 205 + (h & 0x3f) % 50;
	rgb[1] = (h >> 8) % 230;
	rgb[2] = (h >> 16) % 55;
}

static void put_header(struct svg *s, const struct hs_report *r)
{
	FILE *out = s->out;

	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\" data-width=\"%d\" data-pad=\"%d\" "
		"data-total=\"%" PRIu64 "\">\n", SVG_WIDTH, s->height, SVG_WIDTH, s->height, SVG_WIDTH,
		SVG_PAD, s->fl->nodes[0].value);
	fprintf(out, "<style>\n"
		"text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
		"#title { font-size: 17px; }\n"
		".button { cursor: pointer; fill: #1a5fb4; }\n"
		".hide { display: none; }\n"
		"g.frame { cursor: pointer; }\n"
		"g.frame:hover rect { stroke: #000; stroke-width: 0.5; }\n"
		"g.parent rect { opacity: 0.5; }\n"
		"g.match rect { fill: rgb(230,0,230); }\n"
		"g.frame text { pointer-events: none; font-size: 11px; }\n"
		"</style>\n");
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#fafaf5\"/>\n"
		"<text id=\"title\" x=\"%d\" y=\"24\" text-anchor=\"middle\">heapscope: ",
		SVG_WIDTH / 2);
	put_xml(out, hs_view_name(r->view->view), 0);
	fprintf(out, ", %s%s</text>\n", s->is_bytes ? "bytes " : "", s->what);
	fprintf(out, "<text id=\"unzoom\" class=\"button hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
		"<text id=\"search\" class=\"button\" x=\"%d\" y=\"24\">Search</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%u\"> </text>\n",
		SVG_PAD, SVG_WIDTH - 110, SVG_PAD, s->height - 8, SVG_WIDTH - 130, s->height - 8);
}

static void put_frame(struct svg *s, uint32_t i)
{
	const struct hs_flame_node *n = &s->fl->nodes[i];
	const char *name = hs_flame_name(s->fl, i);
	double x = SVG_PAD + (double)s->offset[i] * s->scale, w = (double)n->value * s->scale;
	unsigned y = s->height - BOTTOM_SPACE - (n->depth + 1) * FRAME_H, rgb[3];
	char v[HS_HUMAN_LEN];
	int chars = (int)((w - 6) / CHAR_PX);

	colour(name, rgb);
	fprintf(s->out, "<g class=\"frame\" data-x=\"%" PRIu64 "\" data-w=\"%" PRIu64
		"\" data-d=\"%u\" data-name=\"", s->offset[i], n->value, n->depth);
	put_xml(s->out, name, 0);
	fprintf(s->out, "\"><title>");
	put_xml(s->out, name, 0);
	fprintf(s->out, ": %s%s %s (%.2f%%)</title>", hs_human_count(v, n->value),
		s->is_bytes ? " B" : "", s->what,
		s->fl->nodes[0].value ? 100.0 * (double)n->value / (double)s->fl->nodes[0].value : 0);
	fprintf(s->out, "<rect x=\"%.1f\" y=\"%u\" width=\"%.1f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" "
		"rx=\"2\"/><text x=\"%.1f\" y=\"%u\">", x, y, w > 1 ? w - 1 : w, FRAME_H - 1, rgb[0],
		rgb[1], rgb[2], x + 3, y + FRAME_H - 4);
	if (chars >= 3 && (size_t)chars >= strlen(name))
		put_xml(s->out, name, 0);
	else if (chars >= 3) {
		put_xml(s->out, name, (size_t)chars - 2);
		fputs("..", s->out);
	}
	fputs("</text></g>\n", s->out);
}

int hs_export_svg(FILE *out, const struct hs_report *r)
{
	struct svg s = { .out = out };
	struct hs_flame fl;
	int err;

	err = hs_flame_init(&fl, 0, NULL);
	if (!err)
		err = hs_flame_add_view(&fl, r->res, r->view);
	if (!err)
		err = hs_flame_sort(&fl, 0);
	s.offset = err ? NULL : calloc(fl.n, sizeof(*s.offset));
	if (!err && !s.offset)
		err = -ENOMEM;
	if (err)
		goto out_release;
	s.fl = &fl;
	lay_out(&s);
	hs_view_metric(r->view->view, r->view->sort, &s.what, &s.is_bytes);
	s.height = TOP_SPACE + BOTTOM_SPACE + (s.max_depth + 1) * FRAME_H;
	s.scale = fl.nodes[0].value ? (SVG_WIDTH - 2.0 * SVG_PAD) / (double)fl.nodes[0].value : 0;
	put_header(&s, r);
	fputs("<g id=\"frames\">\n", out);
	for (uint32_t i = 0, first = 1; first || i != 0; i = hs_flame_next(&fl, i), first = 0) {
		if ((double)fl.nodes[i].value * s.scale >= MIN_WIDTH_PX)
			put_frame(&s, i);
	}
	fprintf(out, "</g>\n<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
		hs_asset_flamegraph_js);
	err = ferror(out) ? -EIO : 0;
out_release:
	free(s.offset);
	hs_flame_release(&fl);
	return err;
}
