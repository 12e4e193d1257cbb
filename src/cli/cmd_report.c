// SPDX-License-Identifier: MIT
/*
 * `heapscope report RECORDING`: reads a recording and writes its summary and one view
 * (leaks, peak, allocs, temporary) as text, JSON or one of the export formats (pprof,
 * folded, top, tree, svg, html, massif); also the summary `heapscope run` prints when its
 * target ends. Parses options, wires reader, views, symbolizer and
 * exporters together; computes and formats nothing itself. Data goes to stdout (or -o),
 * messages to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "export.h"
#include "progress.h"
#include "hsr_reader.h"
#include "growth.h"
#include "leaks.h"
#include "profile.h"
#include "resolve.h"
#include "suppress.h"

#ifndef HEAPSCOPE_VERSION
#define HEAPSCOPE_VERSION "unknown"
#endif

#define DEFAULT_TOP 10
#define OUTPUT_BUFFER (256 * 1024)	/* stdio buffer of a report not going to a terminal */

enum report_format {
	FMT_TEXT,
	FMT_JSON,
	FMT_PPROF,
	FMT_FOLDED,
	FMT_TOP,
	FMT_TREE,
	FMT_SVG,
	FMT_HTML,
	FMT_MASSIF,
	FMT_COUNT
};

/* The formats: name, binary (refused on a terminal), whole view (every row by default). */
static const struct {
	const char *name;
	int binary;
	int whole_view;
} formats[FMT_COUNT] = {
	[FMT_TEXT] = { "text", 0, 0 },	    [FMT_JSON] = { "json", 0, 0 },
	[FMT_PPROF] = { "pprof", 1, 1 },    [FMT_FOLDED] = { "folded", 0, 1 },
	[FMT_TOP] = { "top", 0, 1 },	    [FMT_TREE] = { "tree", 0, 1 },
	[FMT_SVG] = { "svg", 0, 1 },	    [FMT_HTML] = { "html", 0, 1 },
	[FMT_MASSIF] = { "massif", 0, 1 },
};

struct report_opts {
	const char *path;
	int view_set;
	enum hs_view view;
	enum hs_sort sort;
	size_t top;
	int top_set;
	enum report_format format;
	const char *sysroot;
	const char **debug_dirs;	/* NULL-terminated, or NULL */
	size_t ndebug_dirs;
	const char *output;		/* NULL: stdout */
	int growth;			/* --growth */
	int errors;			/* --errors */
	int show_reachable;		/* --show-reachable */
	int gen_suppressions;		/* --gen-suppressions */
	struct hs_suppressions supp;	/* --suppressions FILE */
	const char *supp_path;
	struct hs_progress progress;	/* on a terminal: the progress line on stderr */
	int progress_stacks;		/* show progress over stacks too (output not on it) */
	size_t progress_total;		/* stacks the current phase expects to resolve */
	size_t progress_base;		/* stacks resolved before it */
	char progress_label[48];
	const char *heap;		/* --heap NAME, or NULL */
};

void hs_usage_report(FILE *out)
{
	fputs("usage: heapscope report RECORDING [options]\n"
	      "\n"
	      "Show what a recording says: a summary of the run, then one view of its stacks.\n"
	      "\n"
	      "Views (one; default --leaks if blocks were live at the end, else --peak):\n"
	      "  --leaks            stacks holding blocks never freed\n"
	      "  --peak             stacks holding memory at the highest heap\n"
	      "  --allocs           stacks that allocate the most\n"
	      "  --temporary        stacks whose blocks are freed right after allocation\n"
	      "  --heap NAME        one heap only (docs/HEAPS.md): host, dma-buf (or dma),\n"
	      "                     or a heap the program registered; with --peak, the\n"
	      "                     stacks at that heap's own peak\n"
	      "\n"
	      "Options:\n"
	      "  --top N            show the first N stacks (default 10; 0: all); with\n"
	      "                     --format top, N functions; graph formats: all stacks\n"
	      "                     unless --top is given\n"
	      "  --sort KEY         bytes, blocks, calls or temporary (default: bytes;\n"
	      "                     temporary count for --temporary); the value graph\n"
	      "                     formats show\n"
	      "  --format FMT       text (default), json, or for other tools:\n"
	      "                       pprof    gzipped profile.proto (go tool pprof, Pyroscope,\n"
	      "                                Parca, speedscope); binary, use -o\n"
	      "                       folded   collapsed stacks (flamegraph.pl, inferno)\n"
	      "                       top      by function: flat, flat%, sum%, cum, cum%\n"
	      "                       tree     call tree with percentages\n"
	      "                       svg      interactive flame graph\n"
	      "                       html     self-contained page: summary, heap over time,\n"
	      "                                flame graph, tables of every view\n"
	      "                       massif   massif.out for ms_print, massif-visualizer\n"
	      "\n"
	      "Leaks and growth (docs/LEAKS.md):\n"
	      "  --show-reachable   list still-reachable stacks too (after the lost ones)\n"
	      "  --suppressions FILE  leave out leaks matching LeakSanitizer-style\n"
	      "                     'leak:PATTERN' lines; counted as suppressed\n"
	      "  --gen-suppressions write a suppression for each leak instead of the report\n"
	      "  --errors           the heap errors found under --check, each with its stacks\n"
	      "  --growth           the stacks whose live bytes grow steadily across the\n"
	      "                     snapshots, with rates and confidence (needs 3 snapshots)\n"
	      "\n"
	      "  --sysroot DIR      find the recording's modules under DIR\n"
	      "  --debug-dir DIR    find separate debug info by build-id under DIR\n"
	      "                     (repeatable; default /usr/lib/debug)\n"
	      "  -o, --output FILE  write the report to FILE instead of standard output\n"
	      "  -h, --help         show this help\n",
	      out);
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
	fputs("heapscope: report: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputs("\nusage: heapscope report RECORDING [options] (see 'heapscope help report')\n",
	      stderr);
	return 2;
}

static int set_view(struct report_opts *o, const char *arg)
{
	enum hs_view v;

	if (hs_view_parse(arg + 2, &v))
		return -EINVAL;
	if (o->view_set && o->view != v)
		return usage_error("choose one view ('--%s' and '%s' given)", hs_view_name(o->view),
				   arg);
	o->view = v;
	o->view_set = 1;
	return 0;
}

static int set_top(struct report_opts *o, const char *val)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(val, &end, 10);
	if (!*val || *end || errno || val[0] == '-')
		return usage_error("--top: '%s' is not a number%s", val, "");
	o->top = (size_t)n;
	o->top_set = 1;
	return 0;
}

static int set_format(struct report_opts *o, const char *val)
{
	for (unsigned f = 0; f < FMT_COUNT; f++) {
		if (strcmp(val, formats[f].name) == 0) {
			o->format = f;
			return 0;
		}
	}
	return usage_error("--format: unknown format '%s'%s", val,
			   " (text, json, pprof, folded, top, tree, svg, html, massif)");
}

/* Options that take a value. 0 when handled, 2 on a usage error, -EINVAL if not one. */
static int value_option(struct report_opts *o, int argc, char **argv, int *i)
{
	static const char *const names[] = { "--top", "--sort", "--format", "--sysroot",
					     "--debug-dir", "--heap", "--output", "-o" };
	const char *val = NULL;
	int matched = 0;
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]) && !matched; k++)
		val = hs_opt_value(argc, argv, i, names[k], &matched);
	if (!matched)
		return -EINVAL;
	if (matched < 0)
		return usage_error("option '%s' needs a value%s", names[k - 1], "");
	switch (k - 1) {
	case 0:
		return set_top(o, val);
	case 1:
		if (hs_sort_parse(val, &o->sort))
			return usage_error("--sort: unknown key '%s'%s", val,
					   " (bytes, blocks, calls, temporary)");
		return 0;
	case 2:
		return set_format(o, val);
	case 3:
		o->sysroot = val;
		return 0;
	case 4:
		o->debug_dirs[o->ndebug_dirs++] = val;
		return 0;
	case 5:
		o->heap = val;
		return 0;
	default:
		o->output = val;
		return 0;
	}
}

/* --growth, --show-reachable, --gen-suppressions, --suppressions FILE (read here: a bad
 * file is a usage error). 0 when handled, 2 on a usage error, -EINVAL if not one. */
static int leak_option(struct report_opts *o, int argc, char **argv, int *i)
{
	int *flag = !strcmp(argv[*i], "--growth") ? &o->growth
		  : !strcmp(argv[*i], "--errors") ? &o->errors
		  : !strcmp(argv[*i], "--show-reachable") ? &o->show_reachable
		  : !strcmp(argv[*i], "--gen-suppressions") ? &o->gen_suppressions : NULL;
	const char *val;
	int matched = 0;
	char err[512];

	if (flag) {
		*flag = 1;
		return 0;
	}
	val = hs_opt_value(argc, argv, i, "--suppressions", &matched);
	if (!matched)
		return -EINVAL;
	if (matched < 0)
		return usage_error("option '%s' needs a value%s", "--suppressions", "");
	if (o->supp_path)
		return usage_error("--suppressions given twice%s%s", "", "");
	o->supp_path = val;
	if (hs_suppressions_load(&o->supp, val, err, sizeof(err))) {
		fprintf(stderr, "heapscope: %s\n", err);
		return 2;
	}
	return 0;
}

/* One argument. 0 to go on, 2 on a usage error, 1 after --help. */
static int parse_arg(struct report_opts *o, int argc, char **argv, int *i, int *dashdash)
{
	const char *arg = argv[*i];
	int ret;

	if (*dashdash || arg[0] != '-' || arg[1] == '\0') {
		if (o->path)
			return usage_error("unexpected argument '%s'%s", arg, "");
		o->path = arg;
		return 0;
	}
	if (strcmp(arg, "--") == 0) {
		*dashdash = 1;
		return 0;
	}
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
		hs_usage_report(stdout);
		return 1;
	}
	ret = set_view(o, arg);
	if (ret != -EINVAL)
		return ret;
	ret = leak_option(o, argc, argv, i);
	if (ret != -EINVAL)
		return ret;
	ret = value_option(o, argc, argv, i);
	if (ret != -EINVAL)
		return ret;
	return usage_error("unknown option '%s'%s", arg, "");
}

/* Parse argv into o. 0 to go on; otherwise the exit status (0 after --help, 2). */
static int parse_args(struct report_opts *o, int argc, char **argv)
{
	int dashdash = 0, ret;

	for (int i = 1; i < argc; i++) {
		ret = parse_arg(o, argc, argv, &i, &dashdash);
		if (ret)
			return ret == 1 ? -1 : ret;
	}
	if (!o->path)
		return usage_error("no recording given%s%s", "", "");
	return 0;
}

static int use_color(FILE *out)
{
	const char *no = getenv("NO_COLOR");

	return isatty(fileno(out)) && !(no && *no);
}

static int export(FILE *out, const struct report_opts *o, const struct hs_report *r)
{
	switch (o->format) {
	case FMT_JSON:
		return hs_export_json(out, r);
	case FMT_PPROF:
		return hs_export_pprof(out, r);
	case FMT_FOLDED:
		return hs_export_folded(out, r);
	case FMT_TOP:
		return hs_export_top(out, r, o->top);
	case FMT_TREE:
		return hs_export_tree(out, r);
	case FMT_SVG:
		return hs_export_svg(out, r);
	case FMT_HTML:
		return hs_export_html(out, r);
	case FMT_MASSIF:
		return hs_export_massif(out, r);
	default:
		return hs_export_text(out, r);
	}
}

/* Stacks in the view: --top N; formats that draw the whole view default to every stack. */
static size_t view_top(const struct report_opts *o)
{
	if (o->format == FMT_TOP || (formats[o->format].whole_view && !o->top_set))
		return 0;
	return o->top;
}

/* What the leaks and growth options add to a report; released by report_extras_release. */
struct report_extras {
	uint8_t *suppressed;		/* per stack, or NULL */
	struct hs_view_opts vopts;
	struct hs_leak_summary leaks;
	struct hs_growth growth;
};

static int report_extras_init(struct report_extras *x, struct report_opts *o,
			      const struct hsr_recording *rec, struct hs_resolver *res,
			      struct hs_report *r)
{
	int err = 0;

	memset(x, 0, sizeof(*x));
	if (o->supp_path)
		err = hs_suppressions_apply(&o->supp, rec, res, &x->suppressed);
	if (err)
		return err;
	x->vopts.show_reachable = o->show_reachable;
	x->vopts.suppressed = x->suppressed;
	hs_leak_summary_compute(rec, &x->vopts, &x->leaks);
	r->leaks = x->leaks.classified || o->supp_path ? &x->leaks : NULL;
	r->show_reachable = o->show_reachable;
	r->errors_only = o->errors;
	if (!o->growth)
		return 0;
	err = hs_growth_compute(rec, o->top, &x->growth);
	r->growth = err ? NULL : &x->growth;
	return err;
}

static void report_extras_release(struct report_extras *x)
{
	hs_growth_release(&x->growth);
	free(x->suppressed);
}

/* The resolver's callback: how far the current phase has got. */
static void stack_progress(void *arg, size_t resolved)
{
	struct report_opts *o = arg;

	hs_progress_set(&o->progress, resolved - o->progress_base, o->progress_total);
}

/* Start a phase of resolving about `total` stacks, shown as "WHAT FORMAT". */
static void stacks_phase(struct report_opts *o, struct hs_resolver *res, const char *what,
			 const char *format, size_t total)
{
	if (!o->progress_stacks)
		return;
	snprintf(o->progress_label, sizeof(o->progress_label), "%s%s", what, format);
	o->progress_total = total;
	o->progress_base = res->resolved;
	res->on_stack = stack_progress;
	res->on_stack_arg = o;
	hs_progress_phase(&o->progress, o->progress_label);
}

/* Compute the view and write the report for o to out. 0 or -errno. */
static int write_report(struct report_opts *o, const struct hsr_recording *rec, FILE *out)
{
	struct hs_symbolizer_opts sopts = { o->sysroot, o->ndebug_dirs ? o->debug_dirs : NULL };
	enum hs_view view = o->view_set ? o->view : hs_view_default(rec);
	struct hs_view_result v;
	struct hs_resolver res;
	struct report_extras x;
	struct hs_report r = { .rec = rec, .view = &v, .res = &res, .version = HEAPSCOPE_VERSION };
	int err;

	hs_summary_compute(rec, &r.summary);
	err = hs_resolver_init(&res, rec, &sopts);
	if (err)
		return err;
	if (o->supp_path)
		stacks_phase(o, &res, "matching suppressions", "", rec->nstacks);
	err = report_extras_init(&x, o, rec, &res, &r);
	if (err)
		goto out_extras;
	if (o->gen_suppressions)
		view = HS_VIEW_LEAKS;
	err = hs_view_compute_opts(rec, view, o->sort, o->gen_suppressions && !o->top_set ? 0 :
				   view_top(o), &x.vopts, &v);
	if (err)
		goto out_extras;
	r.color = o->format == FMT_TEXT && use_color(out);
	stacks_phase(o, &res, "symbolizing stacks, writing ",
		     o->gen_suppressions ? "suppressions" : formats[o->format].name, v.nrows);
	err = o->gen_suppressions ? hs_export_suppressions(out, &r) : export(out, o, &r);
	hs_progress_clear(&o->progress);
	hs_view_release(&v);
out_extras:
	report_extras_release(&x);
	hs_resolver_release(&res);
	return err;
}

/* After writing a file: what was written, and the other views (messages go to stderr). */
static void tell_written(const struct report_opts *o, const struct hsr_recording *rec)
{
	enum hs_view shown = o->view_set ? o->view : hs_view_default(rec);

	if (o->format == FMT_MASSIF) {
		fprintf(stderr, "heapscope: wrote massif.out to '%s' (read it with ms_print)\n",
			o->output);
		return;
	}
	fprintf(stderr, "heapscope: wrote the %s view as %s to '%s'; other views:", hs_view_name(shown),
		formats[o->format].name, o->output);
	for (unsigned v = 0; v < HS_VIEW_COUNT; v++) {
		if (v != shown)
			fprintf(stderr, " --%s", hs_view_name(v));
	}
	fputc('\n', stderr);
}

static int report_to(struct report_opts *o, const struct hsr_recording *rec)
{
	FILE *out = stdout;
	int err;

	if (!o->output && formats[o->format].binary && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "heapscope: report: %s output is binary; not writing it to a "
			"terminal (use -o FILE or redirect standard output)\n",
			formats[o->format].name);
		return 2;
	}
	if (o->output && !(out = fopen(o->output, "w"))) {
		fprintf(stderr, "heapscope: cannot open '%s': %s\n", o->output, strerror(errno));
		return 1;
	}
	if (!isatty(fileno(out)))
		setvbuf(out, NULL, _IOFBF, OUTPUT_BUFFER);
	/* Progress over stacks only when the report does not go to the same terminal. */
	o->progress_stacks = hs_progress_enabled(&o->progress) && !isatty(fileno(out));
	flockfile(out);	/* once, not on every call: the progress thread made stdio lock */
	err = write_report(o, rec, out);
	funlockfile(out);
	if (fflush(out) && !err)
		err = -errno;
	if (out != stdout && fclose(out) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr, "heapscope: cannot write '%s': %s\n",
			o->output ? o->output : "standard output", strerror(-err));
		return 1;
	}
	if (o->output && o->format != FMT_TEXT && o->format != FMT_JSON)
		tell_written(o, rec);
	return 0;
}

int hs_cmd_report(int argc, char **argv)
{
	struct report_opts o = { .top = DEFAULT_TOP };
	struct hsr_recording *rec;
	char err[512];
	int ret, loaded;

	o.debug_dirs = calloc((size_t)argc + 1, sizeof(*o.debug_dirs));
	if (!o.debug_dirs) {
		fprintf(stderr, "heapscope: %s\n", strerror(ENOMEM));
		return 1;
	}
	ret = parse_args(&o, argc, argv);
	if (ret)
		goto out_free;
	ret = 1;
	hs_progress_init(&o.progress);
	hs_progress_watch_read(&o.progress, o.path);
	loaded = hsr_recording_load(o.path, &rec, err, sizeof(err)) == 0;
	hs_progress_unwatch(&o.progress);
	if (!loaded) {
		fprintf(stderr, "heapscope: %s\n", err);
		goto out_free;
	}
	if (rec->truncated && o.format != FMT_TEXT)
		fprintf(stderr, "heapscope: warning: '%s' was cut short (%s)\n", o.path,
			rec->problem);
	if (o.heap && hsr_recording_select_heap(rec, o.heap) < 0) {
		fprintf(stderr, "heapscope: report: no heap '%s' in '%s' (heaps: host", o.heap,
			o.path);
		for (size_t i = 0; i < rec->heaps.nheaps; i++)
			fprintf(stderr, ", %s", rec->heaps.heaps[i].name);
		fputs(")\n", stderr);
		hsr_recording_free(rec);
		goto out_free;
	}
	ret = report_to(&o, rec);
	hsr_recording_free(rec);
out_free:
	hs_suppressions_release(&o.supp);
	free(o.debug_dirs);
	return ret < 0 ? 0 : ret;
}

/* The leaks part of the run summary: the lost stacks (with a scan; else live ones). */
static int run_summary_leaks(FILE *out, struct hs_report *r, const struct hs_run_summary_opts *o,
			     const struct hs_view_opts *vopts)
{
	struct hs_view_result v;
	int err;

	if (o->leak_check == HS_LEAK_CHECK_SUMMARY && r->leaks && r->leaks->classified)
		return 0;
	if (!hs_leaks_classified(r->rec) && r->summary.live_blocks == 0)
		return 0;
	err = hs_view_compute_opts(r->rec, HS_VIEW_LEAKS, HS_SORT_DEFAULT, o->top, vopts, &v);
	if (err)
		return err;
	r->view = &v;
	fputc('\n', out);
	err = hs_export_text_view(out, r, &v, 1);
	if (!err && o->gen_suppressions) {
		fputc('\n', out);
		err = hs_export_suppressions(out, r);
	}
	hs_view_release(&v);
	return err;
}

static int run_summary_peak(FILE *out, struct hs_report *r, unsigned top)
{
	struct hs_view_result v;
	int err = hs_view_compute(r->rec, HS_VIEW_PEAK, HS_SORT_DEFAULT, top, &v);

	if (err)
		return err;
	r->view = &v;
	fputc('\n', out);
	err = hs_export_text_view(out, r, &v, 1);
	hs_view_release(&v);
	return err;
}

/* The summary, its LEAK SUMMARY, then the top lost (or live) stacks and those of the peak. */
static int write_run_summary(const struct hsr_recording *rec, FILE *out,
			     const struct hs_run_summary_opts *o, uint64_t *errors)
{
	struct hs_report r = { .rec = rec, .res = NULL, .version = HEAPSCOPE_VERSION };
	struct hs_view_opts vopts = { .show_reachable = o->show_reachable };
	struct hs_leak_summary leaks;
	struct hs_resolver res;
	uint8_t *suppressed = NULL;
	int err;

	hs_summary_compute(rec, &r.summary);
	r.color = out && use_color(out);
	r.show_reachable = o->show_reachable;
	err = hs_resolver_init(&res, rec, NULL);
	if (err)
		return err;
	r.res = &res;
	if (o->supp && o->supp->n)
		err = hs_suppressions_apply(o->supp, rec, &res, &suppressed);
	vopts.suppressed = suppressed;
	hs_leak_summary_compute(rec, &vopts, &leaks);
	/* --leak-check=none: the user asked for no leak checking, so leaks are no errors. */
	*errors = o->leak_check == HS_LEAK_CHECK_NONE ? 0
						      : hs_leak_error_blocks(&leaks, o->error_kinds);
	r.leaks = leaks.classified || o->supp ? &leaks : NULL;
	if (!err && out)
		err = hs_export_text_summary(out, &r);
	if (!err && out && o->top)
		err = run_summary_leaks(out, &r, o, &vopts);
	if (!err && out && o->top)
		err = run_summary_peak(out, &r, o->top);
	if (!err && rec->nerrors) {
		for (size_t i = 0; i < rec->nerrors; i++)
			*errors += rec->errors[i].count;
		if (out)
			fputc('\n', out);
		if (out)
			err = hs_export_text_errors(out, &r, o->top ? o->top : 5);
	}
	free(suppressed);
	hs_resolver_release(&res);
	return err;
}

int hs_report_run_summary(const char *path, FILE *out, const struct hs_run_summary_opts *o,
			  uint64_t *errors)
{
	struct hsr_recording *rec;
	char err[512];
	int ret;

	*errors = 0;
	if (hsr_recording_load(path, &rec, err, sizeof(err))) {
		fprintf(out ? out : stderr, "heapscope: %s\n", err);
		return 1;
	}
	ret = write_run_summary(rec, out, o, errors);
	if (!ret && out)
		fprintf(out, "full report: heapscope report %s\n", path);
	hsr_recording_free(rec);
	if (ret)
		fprintf(out ? out : stderr, "heapscope: cannot report on '%s': %s\n", path,
			strerror(-ret));
	return ret ? 1 : 0;
}
