// SPDX-License-Identifier: MIT
/*
 * The report as one self-contained HTML page: the page (assets/report.html), its style
 * and script (report.css, report.js) and the data as JSON, all in one file that any browser
 * opens from disk, with no network (the page's Content-Security-Policy forbids it). The
 * script draws the summary, the heap over time, the flame graph of the chosen view and
 * sortable tables of every view from the data written here.
 *
 * Big recordings stay fast: the flame graph keeps only nodes holding at least 0.1% of the
 * view's total (and at most MAX_NODES), each table its first MAX_ROWS stacks; the data
 * says what was left out and the page shows it. Formats only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "export.h"
#include "flame.h"

#define MIN_NODE_PERMILLE 1	/* flame graph nodes below 0.1% of the total are pruned */
#define MAX_NODES 20000
#define MAX_ROWS 500		/* per table */
#define MAX_FRAMES 16		/* per table row */
#define MAX_POINTS 2000		/* heap-over-time points */

/* Length of the valid UTF-8 sequence at s (1 for ASCII), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/* A JSON string safe inside <script>: '<', '>', '&' escaped, invalid UTF-8 as U+FFFD. */
static void put_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	fputc('"', out);
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", out);
			s++;
		} else if (*s < 0x20 || *s == '<' || *s == '>' || *s == '&') {
			fprintf(out, "\\u%04x", *s++);
		} else if (*s == '"' || *s == '\\') {
			fprintf(out, "\\%c", *s++);
		} else {
			fwrite(s, 1, n, out);
			s += n;
		}
	}
	fputc('"', out);
}

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path ? path : "";
}

static void put_summary(FILE *out, const struct hs_report *r)
{
	const struct hs_summary *s = &r->summary;
	const struct hsr_process *p = &r->rec->process;

	fputs("\"summary\": {\"program\": ", out);
	put_str(out, p->argc ? p->argv[0] : p->exe);
	fputs(", \"cmdline\": [", out);
	for (size_t i = 0; i < p->argc; i++) {
		fputs(i ? ", " : "", out);
		put_str(out, p->argv[i]);
	}
	fprintf(out, "], \"pid\": %" PRIu64 ", \"arch\": ", p->pid);
	put_str(out, p->arch);
	fputs(", \"recording\": ", out);
	put_str(out, r->rec->path);
	fprintf(out, ", \"sample_interval\": %" PRIu64 ", \"alloc_calls\": %" PRIu64
		", \"alloc_bytes\": %" PRIu64 ", \"free_calls\": %" PRIu64 ", \"temporary\": %" PRIu64
		", \"peak_bytes\": %" PRIu64 ", \"peak_time_s\": %.6f, \"live_bytes\": %" PRIu64
		", \"live_blocks\": %" PRIu64 ", \"duration_s\": %.6f, \"stacks\": %zu, \"problem\": ",
		p->sample_interval, s->total.alloc_calls, s->total.alloc_bytes, s->total.free_calls,
		s->total.temporary, s->peak_bytes, seconds(s->peak_t), s->live_bytes, s->live_blocks,
		seconds(s->duration_ns), s->nstacks);
	put_str(out, r->rec->truncated ? r->rec->problem : "");
	fputs("},\n", out);
}

/* The heap over time: timeline points (evenly thinned), snapshots, the peak. */
static void put_timeline(FILE *out, const struct hs_report *r)
{
	const struct hsr_recording *rec = r->rec;
	size_t step = rec->ntimeline / MAX_POINTS + 1;

	fputs("\"timeline\": [", out);
	for (size_t i = 0; i < rec->ntimeline; i += step)
		fprintf(out, "%s[%.6f, %" PRIu64 "]", i ? ", " : "", seconds(rec->timeline[i].t),
			rec->timeline[i].live_bytes);
	fputs("],\n\"snapshots\": [", out);
	for (size_t k = 0; k < rec->nsnapshots; k++) {
		const struct hsr_snapshot *s = &rec->snapshots[k];
		uint64_t live = s->total.alloc_bytes > s->total.freed_bytes
				? s->total.alloc_bytes - s->total.freed_bytes : 0;

		fprintf(out, "%s{\"t\": %.6f, \"bytes\": %" PRIu64 ", \"reason\": ", k ? ", " : "",
			seconds(s->t), live);
		put_str(out, hsr_reason_name(s->reason));
		fputs(", \"name\": ", out);
		put_str(out, s->name);
		fputc('}', out);
	}
	fprintf(out, "],\n\"peak\": {\"t\": %.6f, \"bytes\": %" PRIu64 "},\n",
		seconds(r->summary.peak_t), r->summary.peak_bytes);
}
