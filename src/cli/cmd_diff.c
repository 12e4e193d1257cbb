// SPDX-License-Identifier: MIT
/*
 * `heapscope diff A [B]`: what grew and what shrank per stack between two snapshots, of
 * one recording (--from, --to) or of two (by default the end of each), as text or JSON.
 * Parses options and wires reader, resolvers, analyze/diff.c and export/diff.c together;
 * computes and formats nothing itself. Data to stdout (or -o), messages to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "diff.h"
#include "export.h"
#include "hsr_reader.h"
#include "resolve.h"

#ifndef HEAPSCOPE_VERSION
#define HEAPSCOPE_VERSION "unknown"
#endif

struct diff_opts {
	const char *path[2];
	const char *snap[2];		/* --from, --to (or --snapshot twice) */
	size_t top;
	int json;
	const char *sysroot;
	const char **debug_dirs;	/* NULL-terminated */
	size_t ndebug_dirs;
	const char *output;
};

void hs_usage_diff(FILE *out)
{
	fputs("usage: heapscope diff RECORDING [RECORDING2] [options]\n"
	      "\n"
	      "Per stack, what grew and what shrank between two snapshots: the live bytes and\n"
	      "blocks and the allocations, largest change first. With one recording, between\n"
	      "its first and last snapshot (or --from/--to); with two, between the end of the\n"
	      "first and the end of the second, stacks matched by allocator and function names.\n"
	      "\n"
	      "  --from SNAP        the first side's snapshot: its seq number, 'first', 'last'\n"
	      "                     or a checkpoint name\n"
	      "  --to SNAP          the second side's snapshot (likewise)\n"
	      "  --snapshot SNAP    the first time as --from, the second as --to\n"
	      "  --top N            show the first N stacks (default 10; 0: all)\n"
	      "  --format FMT       text (default) or json\n"
	      "  --sysroot DIR      find the recordings' modules under DIR\n"
	      "  --debug-dir DIR    find separate debug info by build-id under DIR (repeatable)\n"
	      "  -o, --output FILE  write to FILE instead of standard output\n"
	      "  -h, --help         show this help\n",
	      out);
}

static int usage_error(const char *fmt, const char *a)
{
	fputs("heapscope: diff: ", stderr);
	fprintf(stderr, fmt, a);
	fputs("\nusage: heapscope diff RECORDING [RECORDING2] [options] (see 'heapscope help "
	      "diff')\n", stderr);
	return 2;
}

static int set_value(struct diff_opts *o, size_t k, const char *val)
{
	char *end;

	switch (k) {
	case 0:
	case 1:
		o->snap[k] = val;
		return 0;
	case 2:
		o->snap[o->snap[0] ? 1 : 0] = val;
		return 0;
	case 3:
		o->top = (size_t)strtoull(val, &end, 10);
		return *val && !*end && val[0] != '-' ? 0 : usage_error("--top: '%s' is not a number", val);
	case 4:
		if (strcmp(val, "text") && strcmp(val, "json"))
			return usage_error("--format: '%s' (text or json)", val);
		o->json = val[0] == 'j';
		return 0;
	case 5:
		o->sysroot = val;
		return 0;
	case 6:
		o->debug_dirs[o->ndebug_dirs++] = val;
		return 0;
	default:
		o->output = val;
		return 0;
	}
}

static int parse_option(struct diff_opts *o, int argc, char **argv, int *i)
{
	static const char *const names[] = { "--from", "--to", "--snapshot", "--top", "--format",
					     "--sysroot", "--debug-dir", "--output", "-o" };
	const char *val = NULL;
	int matched = 0;
	size_t k;

	if (!strcmp(argv[*i], "-h") || !strcmp(argv[*i], "--help")) {
		hs_usage_diff(stdout);
		return -1;
	}
	for (k = 0; k < sizeof(names) / sizeof(names[0]) && !matched; k++)
		val = hs_opt_value(argc, argv, i, names[k], &matched);
	if (!matched)
		return usage_error("unknown option '%s'", argv[*i]);
	if (matched < 0)
		return usage_error("option '%s' needs a value", names[k - 1]);
	return set_value(o, k - 1, val);
}

/* 0 to go on; otherwise the exit status (-1 after --help). */
static int parse_args(struct diff_opts *o, int argc, char **argv)
{
	int dashdash = 0, ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!dashdash && !strcmp(a, "--")) {
			dashdash = 1;
		} else if (!dashdash && a[0] == '-' && a[1]) {
			ret = parse_option(o, argc, argv, &i);
			if (ret)
				return ret;
		} else if (o->path[1]) {
			return usage_error("unexpected argument '%s'", a);
		} else {
			o->path[o->path[0] ? 1 : 0] = a;
		}
	}
	return o->path[0] ? 0 : usage_error("no recording given%s", "");
}

/* Pick side i's snapshot; 0, or 1 after a message. */
static int pick(const struct diff_opts *o, struct hs_diff_side *side, int i, int two)
{
	const char *spec = o->snap[i] ? o->snap[i] : (i == 0 && !two) ? "first" : "last";

	if (side->rec->nsnapshots == 0) {
		fprintf(stderr, "heapscope: '%s' has no snapshot\n", side->rec->path);
		return 1;
	}
	if (hs_diff_find_snapshot(side->rec, spec, &side->snapshot)) {
		fprintf(stderr, "heapscope: '%s' has no snapshot '%s' (a seq number, first, "
			"last or a checkpoint name)\n", side->rec->path, spec);
		return 1;
	}
	return 0;
}

static int write_diff(const struct diff_opts *o, struct hs_diff_side *side, FILE *out)
{
	struct hs_diff d;
	struct hs_diff_report dr = { &d, &side[0], &side[1], HEAPSCOPE_VERSION, 0 };
	int err = hs_diff_compute(&side[0], &side[1], o->top, &d);

	if (err)
		return err;
	dr.color = !o->json && !o->output && isatty(STDOUT_FILENO) && !(getenv("NO_COLOR") &&
										*getenv("NO_COLOR"));
	err = o->json ? hs_export_diff_json(out, &dr) : hs_export_diff_text(out, &dr);
	hs_diff_release(&d);
	if (fflush(out) && !err)
		err = -errno;
	return err;
}

static int run_diff(const struct diff_opts *o, struct hs_diff_side *side)
{
	FILE *out = stdout;
	int err;

	if (o->output && !(out = fopen(o->output, "w"))) {
		fprintf(stderr, "heapscope: cannot open '%s': %s\n", o->output, strerror(errno));
		return 1;
	}
	err = write_diff(o, side, out);
	if (out != stdout && fclose(out) && !err)
		err = -errno;
	if (err) {
		fprintf(stderr, "heapscope: cannot write '%s': %s\n",
			o->output ? o->output : "standard output", strerror(-err));
		return 1;
	}
	return 0;
}

/* Load the recordings and their resolvers, diff, release. The exit status. */
static int diff_recordings(const struct diff_opts *o)
{
	struct hs_symbolizer_opts sopts = { o->sysroot, o->ndebug_dirs ? o->debug_dirs : NULL };
	int two = o->path[1] != NULL, ret = 1, nres = 0;
	struct hsr_recording *rec[2] = { NULL, NULL };
	struct hs_resolver res[2];
	struct hs_diff_side side[2];
	char err[512];

	for (int i = 0; i <= two; i++) {
		if (hsr_recording_load(o->path[i], &rec[i], err, sizeof(err))) {
			fprintf(stderr, "heapscope: %s\n", err);
			goto out_free;
		}
		if (hs_resolver_init(&res[i], rec[i], &sopts))
			goto out_free;
		nres++;
	}
	for (int i = 0; i < 2; i++)
		side[i] = (struct hs_diff_side){ rec[two ? i : 0], &res[two ? i : 0], 0 };
	if (!pick(o, &side[0], 0, two) && !pick(o, &side[1], 1, two))
		ret = run_diff(o, side);
out_free:
	for (int i = 0; i < nres; i++)
		hs_resolver_release(&res[i]);
	hsr_recording_free(rec[0]);
	hsr_recording_free(rec[1]);
	return ret;
}

int hs_cmd_diff(int argc, char **argv)
{
	struct diff_opts o = { .top = 10 };
	int ret;

	o.debug_dirs = calloc((size_t)argc + 1, sizeof(*o.debug_dirs));
	if (!o.debug_dirs) {
		fprintf(stderr, "heapscope: %s\n", strerror(ENOMEM));
		return 1;
	}
	ret = parse_args(&o, argc, argv);
	if (!ret)
		ret = diff_recordings(&o);
	free(o.debug_dirs);
	return ret < 0 ? 0 : ret;
}
