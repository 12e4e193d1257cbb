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
#include "hsr_format.h"

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

/* With sampling, the 95% margins of the byte figures (hs_sample_margin), for the page. */
static void put_margins(FILE *out, const struct hs_report *r, uint64_t alloc, uint64_t live,
			uint64_t peak)
{
	uint64_t i = r->rec->process.sample_interval;

	if (!i)
		return;
	fprintf(out, ", \"alloc_bytes_margin\": %" PRIu64 ", \"live_bytes_margin\": %" PRIu64
		", \"peak_bytes_margin\": %" PRIu64, hs_sample_margin(alloc, i, 0),
		hs_sample_margin(live, i, 0), hs_sample_margin(peak, i, 1));
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
		", \"live_blocks\": %" PRIu64 ", \"duration_s\": %.6f, \"stacks\": %zu",
		p->sample_interval, s->total.alloc_calls, s->total.alloc_bytes, s->total.free_calls,
		s->total.temporary, s->peak_bytes, seconds(s->peak_t), s->live_bytes, s->live_blocks,
		seconds(s->duration_ns), s->nstacks);
	put_margins(out, r, s->total.alloc_bytes, s->live_bytes, s->peak_bytes);
	fputs(", \"problem\": ", out);
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

/* Which nodes stay: those holding MIN_NODE_PERMILLE of the total, under kept parents. */
static size_t choose_nodes(const struct hs_flame *fl, uint8_t *keep, size_t *pruned)
{
	uint64_t total = fl->nodes[0].value;
	uint32_t i = 0;
	size_t kept = 0;

	*pruned = 0;
	do {
		const struct hs_flame_node *n = &fl->nodes[i];

		keep[i] = (i == 0 || keep[n->parent]) && n->value > 0 && kept < MAX_NODES &&
			  (double)n->value * 1000 >= (double)total * MIN_NODE_PERMILLE;
		kept += keep[i];
		*pruned += !keep[i];
		i = hs_flame_next(fl, i);
	} while (i != 0);
	return kept;
}

/* Kept nodes in preorder as [name, depth, value, self], then the names they use. */
static void put_flame_nodes(FILE *out, const struct hs_flame *fl, const uint8_t *keep,
			    uint32_t *name_index, uint32_t *names)
{
	uint32_t i = 0, nnames = 0;

	fputs("\"nodes\": [", out);
	do {
		const struct hs_flame_node *n = &fl->nodes[i];

		if (keep[i] && i && name_index[n->name] == UINT32_MAX) {
			names[nnames] = n->name;
			name_index[n->name] = nnames++;
		}
		if (keep[i])
			fprintf(out, "%s[%d, %u, %" PRIu64 ", %" PRIu64 "]", i ? ",\n" : "",
				i ? (int)name_index[n->name] : -1, n->depth, n->value, n->self);
		i = hs_flame_next(fl, i);
	} while (i != 0);
	fputs("],\n\"names\": [", out);
	for (uint32_t k = 0; k < nnames; k++) {
		fputs(k ? ", " : "", out);
		put_str(out, fl->names.str[names[k]]);
	}
	fputs("]", out);
}

/* The chosen view's call tree, pruned, and what was pruned. 0 or -ENOMEM. */
static int put_flame(FILE *out, const struct hs_report *r)
{
	uint32_t *name_index = NULL, *names = NULL;
	uint8_t *keep = NULL;
	struct hs_flame fl;
	size_t kept, pruned;
	int err;

	err = hs_flame_init(&fl, 0, NULL);
	if (!err)
		err = hs_flame_add_view(&fl, r->res, r->view);
	if (!err)
		err = hs_flame_sort(&fl, 0);
	if (!err) {
		keep = calloc(fl.n, 1);
		name_index = malloc(fl.names.n * sizeof(*name_index));
		names = malloc(fl.names.n * sizeof(*names));
	}
	if (!err && (!keep || !name_index || !names))
		err = -ENOMEM;
	if (err)
		goto out_free;
	memset(name_index, 0xff, fl.names.n * sizeof(*name_index));
	kept = choose_nodes(&fl, keep, &pruned);
	fprintf(out, "\"flame\": {\"total\": %" PRIu64 ", \"stacks\": %zu, \"nodes_all\": %u, "
		"\"nodes_kept\": %zu, \"nodes_pruned\": %zu, \"min_permille\": %d,\n",
		fl.nodes[0].value, fl.nstacks, fl.n, kept, pruned, MIN_NODE_PERMILLE);
	put_flame_nodes(out, &fl, keep, name_index, names);
	fputs("},\n", out);
out_free:
	free(keep);
	free(name_index);
	free(names);
	hs_flame_release(&fl);
	return err;
}

static int put_row(FILE *out, const struct hs_report *r, const struct hs_row *row)
{
	const struct hs_figures *f = &row->f;
	const struct hs_frame *frames;
	char where[512];
	size_t n;

	if (hs_resolver_stack(r->res, row->stack_id, &frames, &n))
		return -ENOMEM;
	fprintf(out, "{\"id\": %u, \"allocator\": ", row->stack_id);
	put_str(out, hsr_kind_name(r->rec->stacks[row->stack_id].kind));
	fprintf(out, ", \"alloc_calls\": %" PRIu64 ", \"alloc_bytes\": %" PRIu64 ", \"free_calls\": %"
		PRIu64 ", \"temporary\": %" PRIu64 ", \"live_bytes\": %" PRIu64 ", \"live_blocks\": %"
		PRIu64 ", \"peak_bytes\": %" PRIu64 ", \"peak_blocks\": %" PRIu64,
		f->alloc_calls, f->alloc_bytes, f->free_calls, f->temporary, f->live_bytes,
		f->live_blocks, f->peak_bytes, f->peak_blocks);
	put_margins(out, r, f->alloc_bytes, f->live_bytes, f->peak_bytes);
	fputs(", \"frames\": [", out);
	for (size_t i = 0; i < n && i < MAX_FRAMES && !hs_frame_is_program_start(&frames[i]); i++) {
		char name[1024];

		hs_frame_name(name, sizeof(name), &frames[i]);
		where[0] = '\0';
		if (frames[i].file)
			snprintf(where, sizeof(where), frames[i].line ? "%s:%u" : "%s",
				 base_name(frames[i].file), frames[i].line);
		fputs(i ? ", [" : "[", out);
		put_str(out, name);
		fputs(", ", out);
		put_str(out, where);
		fputc(']', out);
	}
	fputs("]}", out);
	return 0;
}

/* Every view as a table: its first MAX_ROWS stacks in its default order. */
static int put_tables(FILE *out, const struct hs_report *r)
{
	struct hs_view_result v;
	int err = 0;

	fputs("\"tables\": [", out);
	for (unsigned view = 0; view < HS_VIEW_COUNT && !err; view++) {
		err = hs_view_compute(r->rec, view, HS_SORT_DEFAULT, MAX_ROWS, &v);
		if (err)
			break;
		fprintf(out, "%s{\"view\": ", view ? ",\n" : "");
		put_str(out, hs_view_name(view));
		fprintf(out, ", \"sort\": \"%s\", \"total_rows\": %zu, \"rows\": [\n",
			hs_sort_name(v.sort), v.nmatching);
		for (size_t i = 0; i < v.nrows && !err; i++) {
			fputs(i ? ",\n" : "", out);
			err = put_row(out, r, &v.rows[i]);
		}
		fputs("]}", out);
		hs_view_release(&v);
	}
	fputs("]\n", out);
	return err;
}

static int put_data(FILE *out, const struct hs_report *r)
{
	const char *what;
	int is_bytes, err;

	hs_view_metric(r->view->view, r->view->sort, &what, &is_bytes);
	fputs("{\"tool\": \"heapscope\", \"version\": ", out);
	put_str(out, r->version);
	fputs(", \"view\": ", out);
	put_str(out, hs_view_name(r->view->view));
	fprintf(out, ", \"sort\": \"%s\", \"metric\": ", hs_sort_name(r->view->sort));
	put_str(out, what);
	fprintf(out, ", \"is_bytes\": %s,\n", is_bytes ? "true" : "false");
	put_summary(out, r);
	put_timeline(out, r);
	err = put_flame(out, r);
	if (!err)
		err = put_tables(out, r);
	fputs("}", out);
	return err;
}

/* Fill slot `name` of the template. 0, -ENOENT for an unknown slot, or -errno. */
static int put_slot(FILE *out, const struct hs_report *r, const char *name, size_t len)
{
	if (len == 3 && !memcmp(name, "CSS", 3))
		fputs(hs_asset_report_css, out);
	else if (len == 2 && !memcmp(name, "JS", 2))
		fputs(hs_asset_report_js, out);
	else if (len == 4 && !memcmp(name, "DATA", 4))
		return put_data(out, r);
	else if (len == 5 && !memcmp(name, "TITLE", 5))
		fprintf(out, "heapscope: %s", hs_view_name(r->view->view));
	else
		return -ENOENT;
	return 0;
}

int hs_export_html(FILE *out, const struct hs_report *r)
{
	const char *t = hs_asset_report_html, *at, *end;
	int err = 0;

	while (!err && (at = strstr(t, "@@")) && (end = strstr(at + 2, "@@"))) {
		fwrite(t, 1, (size_t)(at - t), out);
		err = put_slot(out, r, at + 2, (size_t)(end - at - 2));
		t = end + 2;
		if (err == -ENOENT) {	/* not a slot: keep the text */
			fputs("@@", out);
			t = at + 2;
			err = 0;
		}
	}
	fputs(t, out);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
