/* SPDX-License-Identifier: MIT */
/*
 * Writing a report: the summary of a recording and one view of it, as text for people
 * (text.c) or as JSON for programs (json.c, schema in docs/JSON.md). The caller loads the
 * recording, computes the view and prepares the resolver; exporters only format.
 */
#ifndef HS_EXPORT_H
#define HS_EXPORT_H

#include <stdio.h>

#include "hsr_reader.h"
#include "profile.h"
#include "resolve.h"

struct hs_report {
	const struct hsr_recording *rec;
	struct hs_summary summary;
	const struct hs_view_result *view;	/* the view to show */
	struct hs_resolver *res;		/* symbols for the view's stacks */
	const char *version;			/* heapscope's version, for JSON */
	int color;				/* text: ANSI bold on headings */
};

/*
 * The full text report: summary, the view's stacks, and a line naming the other views.
 * Returns 0, or -errno (-EIO when writing fails, -ENOMEM).
 */
int hs_export_text(FILE *out, const struct hs_report *r);

/* The summary block alone (first lines of the text report). 0 or -EIO. */
int hs_export_text_summary(FILE *out, const struct hs_report *r);

/*
 * One view in text: a heading line, then each of v's rows with its frames; `compact`
 * leaves out the blank lines between stacks. 0 or -errno.
 */
int hs_export_text_view(FILE *out, const struct hs_report *r, const struct hs_view_result *v,
			int compact);

/* The report as one JSON object (docs/JSON.md), then a newline. 0 or -errno. */
int hs_export_json(FILE *out, const struct hs_report *r);

#endif
