// SPDX-License-Identifier: MIT
/*
 * The recording as massif.out, valgrind massif's format, for ms_print and
 * massif-visualizer: the heap timeline as plain snapshots, a detailed heap tree at each
 * snapshot the recording holds (checkpoints, exit) and at the peak, which massif marks
 * "peak". Trees are massif's: rooted at the allocation functions, each node an address
 * with its function, then its callers; children below 1% of the snapshot's heap are
 * merged into one "in N places" node. Times are milliseconds since the process started,
 * as massif's --time-unit=ms. Independent of the view; formats only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "flame.h"

#define MAX_PLAIN_SNAPSHOTS 200	/* timeline points kept, evenly spaced */
#define THRESHOLD_PERMILLE 10	/* massif's default --threshold=1.0 */

enum shot_kind { SHOT_EMPTY, SHOT_DETAILED, SHOT_PEAK };

struct shot {
	uint64_t t;
	uint64_t heap;
	enum shot_kind kind;
	size_t k;		/* SHOT_DETAILED: index of the recording's snapshot */
};

struct massif {
	FILE *out;
	const struct hs_report *r;
	struct shot *shots;
	size_t nshots;
	struct hsr_counters *state;	/* per stack, at one snapshot */
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "0x4005A4: main (prog.c:20)", as massif names a frame. */
static void massif_label(char *buf, size_t len, const struct hs_frame *f)
{
	const char *fn = f->function ? f->function : "???";

	if (f->function && f->file && f->line)
		snprintf(buf, len, "0x%" PRIX64 ": %s (%s:%u)", f->address, fn, base_name(f->file),
			 f->line);
	else if (f->module)
		snprintf(buf, len, "0x%" PRIX64 ": %s (in %s)", f->address, fn, f->module);
	else
		snprintf(buf, len, "0x%" PRIX64 ": %s", f->address, fn);
	for (char *p = buf; *p; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
}

static void put_header(struct massif *m)
{
	const struct hsr_process *p = &m->r->rec->process;

	fprintf(m->out, "desc: heapscope %s, recording %s", m->r->version, m->r->rec->path);
	if (m->r->rec->process.sample_interval)
		fprintf(m->out, ", sampled every %llu bytes: estimates",
			(unsigned long long)m->r->rec->process.sample_interval);
	fputc('\n', m->out);
	fprintf(m->out, "cmd:");
	for (size_t i = 0; i < p->argc; i++)
		fprintf(m->out, " %s", p->argv[i]);
	if (p->argc == 0)
		fprintf(m->out, " %s", p->exe ? p->exe : "?");
	fprintf(m->out, "\ntime_unit: ms\n");
}

static void add_shot(struct massif *m, uint64_t t, uint64_t heap, enum shot_kind kind, size_t k)
{
	m->shots[m->nshots++] = (struct shot){ t, heap, kind, k };
}

static int shot_cmp(const void *pa, const void *pb)
{
	const struct shot *a = pa, *b = pb;

	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (int)a->kind - (int)b->kind;
}

/* Every snapshot to write, in time order. 0 or -ENOMEM. */
static int collect_shots(struct massif *m)
{
	const struct hsr_recording *rec = m->r->rec;
	size_t step = rec->ntimeline / MAX_PLAIN_SNAPSHOTS + 1;

	m->shots = calloc(rec->ntimeline / step + rec->nsnapshots + 3, sizeof(*m->shots));
	if (!m->shots)
		return -ENOMEM;
	add_shot(m, 0, 0, SHOT_EMPTY, 0);
	for (size_t i = 0; i < rec->ntimeline; i += step)
		add_shot(m, rec->timeline[i].t, rec->timeline[i].live_bytes, SHOT_EMPTY, 0);
	for (size_t k = 0; k < rec->nsnapshots; k++) {
		const struct hsr_counters *c = &rec->snapshots[k].total;

		add_shot(m, rec->snapshots[k].t,
			 c->alloc_bytes > c->freed_bytes ? c->alloc_bytes - c->freed_bytes : 0,
			 SHOT_DETAILED, k);
	}
	if (m->r->summary.peak_bytes)
		add_shot(m, m->r->summary.peak_t, m->r->summary.peak_bytes, SHOT_PEAK, 0);
	qsort(m->shots, m->nshots, sizeof(*m->shots), shot_cmp);
	return 0;
}

static void put_node(struct massif *m, const struct hs_flame *fl, uint32_t i, uint64_t min)
{
	const struct hs_flame_node *n = &fl->nodes[i];
	unsigned nsig = 0, nrest = 0;
	uint64_t rest = 0;

	for (uint32_t c = n->first_child; c != HS_FLAME_NONE; c = fl->nodes[c].next) {
		if (fl->nodes[c].value >= min)
			nsig++;
		else {
			nrest++;
			rest += fl->nodes[c].value;
		}
	}
	fprintf(m->out, "%*sn%u: %" PRIu64 " %s\n", (int)n->depth, "", nsig + (nrest > 0), n->value,
		i ? hs_flame_name(fl, i)
		  : "(heap allocation functions) malloc/new/new[], --alloc-fns, etc.");
	for (uint32_t c = n->first_child; c != HS_FLAME_NONE; c = fl->nodes[c].next) {
		if (fl->nodes[c].value >= min)
			put_node(m, fl, c, min);
	}
	if (nrest == 1)
		fprintf(m->out, "%*sn0: %" PRIu64 " in 1 place, below massif's threshold (%.2f%%)\n",
			(int)n->depth + 1, "", rest, THRESHOLD_PERMILLE / 10.0);
	else if (nrest)
		fprintf(m->out, "%*sn0: %" PRIu64 " in %u places, all below massif's threshold "
			"(%.2f%%)\n", (int)n->depth + 1, "", rest, nrest, THRESHOLD_PERMILLE / 10.0);
}

/* The heap tree of a detailed snapshot: live bytes per stack then, or at the peak. */
static int put_tree(struct massif *m, const struct shot *s)
{
	const struct hsr_recording *rec = m->r->rec;
	struct hs_figures none = { 0 };
	struct hs_flame fl;
	uint64_t min;
	int err;

	if (s->kind == SHOT_DETAILED && hsr_recording_state_at(rec, s->k, m->state))
		return -ERANGE;
	err = hs_flame_init(&fl, 1, massif_label);
	for (uint32_t id = 0; id <= rec->nstacks && !err; id++) {
		const struct hsr_counters *c = &m->state[id];
		uint64_t v = s->kind == SHOT_PEAK ? rec->stacks[id].peak_bytes
			   : c->alloc_bytes > c->freed_bytes ? c->alloc_bytes - c->freed_bytes : 0;

		err = hs_flame_add_stack(&fl, m->r->res, id, v, &none);
	}
	if (!err)
		err = hs_flame_sort(&fl, 1);
	if (!err) {
		min = fl.nodes[0].value * THRESHOLD_PERMILLE / 1000;
		put_node(m, &fl, 0, min ? min : 1);
	}
	hs_flame_release(&fl);
	return err;
}

static int put_shot(struct massif *m, size_t i)
{
	static const char *const tree[] = { "empty", "detailed", "peak" };
	const struct shot *s = &m->shots[i];

	fprintf(m->out, "#-----------\nsnapshot=%zu\n#-----------\n", i);
	fprintf(m->out, "time=%" PRIu64 "\nmem_heap_B=%" PRIu64 "\nmem_heap_extra_B=0\n"
		"mem_stacks_B=0\nheap_tree=%s\n", s->t / 1000000, s->heap, tree[s->kind]);
	return s->kind == SHOT_EMPTY ? 0 : put_tree(m, s);
}

int hs_export_massif(FILE *out, const struct hs_report *r)
{
	struct massif m = { .out = out, .r = r };
	int err;

	m.state = calloc(r->rec->nstacks + 1, sizeof(*m.state));
	if (!m.state)
		return -ENOMEM;
	err = collect_shots(&m);
	if (!err)
		put_header(&m);
	for (size_t i = 0; i < m.nshots && !err; i++)
		err = put_shot(&m, i);
	free(m.shots);
	free(m.state);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}
