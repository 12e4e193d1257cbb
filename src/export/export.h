/* SPDX-License-Identifier: MIT */
/*
 * Writing a report: the summary of a recording and one view of it, as text for people
 * (text.c) or as JSON for programs (json.c, schema in docs/JSON.md), or in the formats other
 * tools read (docs/EXPORT.md): pprof, folded stacks, an SVG flame graph, a self-contained
 * HTML page, massif.out, and pprof-like text (top by function, call tree). The caller loads
 * the recording, computes the view and prepares the resolver; exporters only format. The
 * view of the graph-like formats should hold every row (computed with top 0).
 */
#ifndef HS_EXPORT_H
#define HS_EXPORT_H

#include <stdio.h>

#include "diff.h"
#include "growth.h"
#include "hsr_reader.h"
#include "leaks.h"
#include "profile.h"
#include "resolve.h"

struct hs_report {
	const struct hsr_recording *rec;
	struct hs_summary summary;
	const struct hs_view_result *view;	/* the view to show */
	struct hs_resolver *res;		/* symbols for the view's stacks */
	const char *version;			/* heapscope's version, for JSON */
	int color;				/* text: ANSI bold on headings */
	const struct hs_leak_summary *leaks;	/* the LEAK SUMMARY, or NULL */
	const struct hs_growth *growth;		/* --growth: shown instead of the view; or NULL */
	int show_reachable;			/* the leaks view holds still-reachable stacks */
	int errors_only;			/* --errors: the heap errors alone */
};

/*
 * The full text report: summary, the view's stacks, and a line naming the other views.
 * Returns 0, or -errno (-EIO when writing fails, -ENOMEM).
 */
int hs_export_text(FILE *out, const struct hs_report *r);

/*
 * Heap errors (--check) of the recording, each with its stacks; at most `top` (0: all).
 * 0, -ENOMEM or -EIO.
 */
int hs_export_text_errors(FILE *out, const struct hs_report *r, unsigned top);

/* The summary block alone (first lines of the text report). 0 or -EIO. */
int hs_export_text_summary(FILE *out, const struct hs_report *r);

/*
 * One view in text: a heading line, then each of v's rows with its frames; `compact`
 * leaves out the blank lines between stacks. 0 or -errno.
 */
int hs_export_text_view(FILE *out, const struct hs_report *r, const struct hs_view_result *v,
			int compact);

/* The frames of stack `id` as the text report shows them (indented, program start left
 * out). 0 or -ENOMEM. */
int hs_export_text_frames(FILE *out, struct hs_resolver *res, uint32_t id);

/* The LEAK SUMMARY block (memcheck's figures), when r->leaks has a scan or suppressions
 * took something out; nothing otherwise. 0 or -EIO. */
int hs_export_text_leak_summary(FILE *out, const struct hs_report *r);

/* The growth section of r->growth: the growing stacks with rates and confidence, or why
 * there are none. 0 or -errno. */
int hs_export_text_growth(FILE *out, const struct hs_report *r);

/*
 * LeakSanitizer suppressions for the rows of r->view (a leaks view): per stack, comments
 * with its figures and frames, then `leak:FUNCTION` for its innermost named frame. The
 * output is a valid suppressions file. 0 or -errno.
 */
int hs_export_suppressions(FILE *out, const struct hs_report *r);

/* A diff between two snapshots (heapscope diff), with the labels of its two sides. */
struct hs_diff_report {
	const struct hs_diff *diff;
	const struct hs_diff_side *from, *to;
	const char *version;
	int color;
};

/* The diff as text: the two sides, totals, then each changed stack. 0 or -errno. */
int hs_export_diff_text(FILE *out, const struct hs_diff_report *d);

/* The diff as one JSON object (docs/JSON.md, "The diff"), then a newline. 0 or -errno. */
int hs_export_diff_json(FILE *out, const struct hs_diff_report *d);

/* The report as one JSON object (docs/JSON.md), then a newline. 0 or -errno. */
int hs_export_json(FILE *out, const struct hs_report *r);

/*
 * The view as a gzipped pprof profile (profile.proto): four sample types on every sample,
 * inline frames as Lines, the modules as mappings. Binary. 0 or -errno.
 */
int hs_export_pprof(FILE *out, const struct hs_report *r);

/* The view as folded stacks ("a;b;c 123" root-first, sorted by path). 0 or -errno. */
int hs_export_folded(FILE *out, const struct hs_report *r);

/* The view by function, pprof -top style; `top` lines at most (0: all). 0 or -errno. */
int hs_export_top(FILE *out, const struct hs_report *r, size_t top);

/* The view as an indented call tree, small children folded. 0 or -errno. */
int hs_export_tree(FILE *out, const struct hs_report *r);

/* The view as an interactive SVG flame graph (hover, click to zoom, search). 0 or -errno. */
int hs_export_svg(FILE *out, const struct hs_report *r);

/*
 * One self-contained HTML page: summary, heap over time, the flame graph of the view and
 * tables of every view (computed here from r->rec). 0 or -errno.
 */
int hs_export_html(FILE *out, const struct hs_report *r);

/*
 * The recording as massif.out (valgrind's massif format, for ms_print and
 * massif-visualizer): the timeline as snapshots, a detailed heap tree at each recorded
 * snapshot and at the peak. Independent of the view. 0 or -errno.
 */
int hs_export_massif(FILE *out, const struct hs_report *r);

#endif
