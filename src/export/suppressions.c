// SPDX-License-Identifier: MIT
/*
 * --gen-suppressions (export.h): a LeakSanitizer suppressions file with one rule per
 * reported leak, each after comments saying what it suppresses. The output must always
 * parse as a suppressions file (suppress.h): only comments and `leak:` lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "hsr_format.h"

#define COMMENT_FRAMES 8

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Length of a function name without its parameter list ("f(int)" -> 1; "operator()" kept). */
static size_t name_len(const char *fn)
{
	const char *p = fn;

	while ((p = strchr(p, '(')) != NULL) {
		if (p - fn >= 8 && strncmp(p - 8, "operator", 8) == 0 && p[1] == ')') {
			p += 2;
			continue;
		}
		if (p > fn)
			return (size_t)(p - fn);
		p++;
	}
	return strlen(fn);
}

/* A comment line, with anything that would end it (newlines) replaced. */
static void comment(FILE *out, const char *prefix, const char *text)
{
	fputs(prefix, out);
	for (; *text; text++)
		fputc(*text == '\n' || *text == '\r' ? ' ' : *text, out);
	fputc('\n', out);
}

static void rule(FILE *out, const struct hs_frame *frames, size_t n)
{
	for (size_t i = 0; i < n && !hs_frame_is_program_start(&frames[i]); i++) {
		if (frames[i].function && !strpbrk(frames[i].function, "\n\r")) {
			fprintf(out, "leak:%.*s\n", (int)name_len(frames[i].function),
				frames[i].function);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (frames[i].module && !strpbrk(frames[i].module, "\n\r")) {
			fputs("# no function name is known: this suppresses the whole module\n", out);
			fprintf(out, "leak:%s\n", base_name(frames[i].module));
			return;
		}
	}
	fputs("# no function or module is known for this stack: it cannot be suppressed\n", out);
}

static int one_stack(FILE *out, const struct hs_report *r, const struct hs_row *row)
{
	const struct hs_figures *f = &row->f;
	int classified = r->leaks && r->leaks->classified;
	const struct hs_frame *frames;
	char line[1024];
	size_t n;

	if (hs_resolver_stack(r->res, row->stack_id, &frames, &n))
		return -ENOMEM;
	fprintf(out, "# %" PRIu64 " bytes in %" PRIu64 " blocks %s [%s], stack %" PRIu32 ":\n",
		classified ? hs_leak_lost_bytes(&f->leak) : f->live_bytes,
		classified ? hs_leak_lost_blocks(&f->leak) : f->live_blocks,
		classified ? "lost" : "live at the end",
		hsr_kind_name(r->rec->stacks[row->stack_id].kind), row->stack_id);
	for (size_t i = 0; i < n && i < COMMENT_FRAMES; i++) {
		if (hs_frame_is_program_start(&frames[i]))
			break;
		if (frames[i].function && frames[i].file)
			snprintf(line, sizeof(line), "%s (%s:%u)", frames[i].function,
				 base_name(frames[i].file), frames[i].line);
		else
			snprintf(line, sizeof(line), "%s", frames[i].function ? frames[i].function
				 : frames[i].module ? base_name(frames[i].module) : "??");
		comment(out, "#   ", line);
	}
	rule(out, frames, n);
	fputc('\n', out);
	return 0;
}

int hs_export_suppressions(FILE *out, const struct hs_report *r)
{
	const struct hs_view_result *v = r->view;
	size_t shown = 0;

	comment(out, "# LeakSanitizer-style suppressions written by heapscope for ", r->rec->path);
	for (size_t i = 0; i < v->nrows; i++) {
		const struct hs_figures *f = &v->rows[i].f;

		if (hs_leak_figures_any(&f->leak) && !hs_leak_lost_blocks(&f->leak))
			continue;	/* still reachable: not a leak */
		if (one_stack(out, r, &v->rows[i]))
			return -ENOMEM;
		shown++;
	}
	if (!shown)
		fputs("# no leak to suppress\n", out);
	return ferror(out) ? -EIO : 0;
}
