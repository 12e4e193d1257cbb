// SPDX-License-Identifier: MIT
/*
 * `heapscope top PID`: a live view of a running process's heap, refreshed in place: the
 * stacks holding the most live memory, with how much each grew since the last refresh.
 * Each refresh asks the agent for a standalone snapshot recording (`snapshot FILE`) in a
 * private temporary directory and reads it like any other recording.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "commands.h"
#include "hsr_reader.h"
#include "human.h"
#include "profile.h"
#include "resolve.h"

struct top_opts {
	pid_t pid;
	double interval;
	long iterations;	/* 0: until interrupted */
	size_t rows;
};

struct top_state {
	char dir[64];
	uint64_t *prev;		/* live bytes per stack id at the previous refresh */
	size_t nprev;
	uint64_t prev_calls;
	int tty;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

void hs_usage_top(FILE *out)
{
	fprintf(out, "usage: heapscope top PID [-n ITERATIONS] [-d SECONDS] [--rows N]\n\n"
		     "A live view of the stacks holding the most memory in a running process\n"
		     "that carries the agent. Ctrl-C ends it.\n\n"
		     "  -n N         refresh N times, then exit (default: until interrupted)\n"
		     "  -d SECONDS   time between refreshes (default 1)\n"
		     "  --rows N     stacks shown (default 20)\n");
}

static int parse(int argc, char **argv, struct top_opts *o)
{
	int i;

	o->interval = 1;
	o->iterations = 0;
	o->rows = 20;
	if (argc < 2 || (o->pid = hs_parse_pid(argv[1])) < 0)
		return -1;
	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(argv[i], "-n"))
			o->iterations = atol(argv[++i]);
		else if (!strcmp(argv[i], "-d"))
			o->interval = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rows"))
			o->rows = (size_t)atol(argv[++i]);
		else
			return -1;
	}
	return o->interval > 0 && o->rows > 0 ? 0 : -1;
}

/* Where the innermost frame of a stack is, for one line. */
static void describe(struct hs_resolver *r, uint32_t id, char *out, size_t cap)
{
	const struct hs_frame *fr;
	size_t n, i;

	if (hs_resolver_stack(r, id, &fr, &n) < 0 || !n) {
		snprintf(out, cap, "(no stack)");
		return;
	}
	i = 0;	/* the innermost function, inlined or not */
	if (fr[i].function && fr[i].file) {
		const char *base = strrchr(fr[i].file, '/');

		snprintf(out, cap, "%s (%s:%u)", fr[i].function, base ? base + 1 : fr[i].file,
			 fr[i].line);
	} else if (fr[i].function) {
		snprintf(out, cap, "%s", fr[i].function);
	} else {
		const char *m = fr[i].module ? strrchr(fr[i].module, '/') : NULL;

		snprintf(out, cap, "%s+0x%llx", m ? m + 1 : "??",
			 (unsigned long long)fr[i].module_offset);
	}
}

static void header(const struct top_opts *o, struct top_state *st,
		   const struct hsr_recording *rec, const struct hs_summary *sum)
{
	char live[32], peak[32], blocks[32], calls[32];
	const char *exe = rec->process.exe ? strrchr(rec->process.exe, '/') : NULL;
	uint64_t rate = sum->total.alloc_calls > st->prev_calls && st->prev_calls ?
				(uint64_t)((sum->total.alloc_calls - st->prev_calls) / o->interval) : 0;

	if (st->tty)
		fputs("\033[H\033[2J", stdout);
	printf("heapscope top - pid %ld (%s)%s\n", (long)o->pid, exe ? exe + 1 : "?",
	       rec->process.sample_interval ? "  [sampled: estimates]" : "");
	printf("live %s in %s blocks   peak %s   allocation calls %s (%llu/s)\n\n",
	       hs_human_bytes(live, sum->live_bytes), hs_human_count(blocks, sum->live_blocks),
	       hs_human_bytes(peak, sum->peak_bytes), hs_human_count(calls, sum->total.alloc_calls),
	       (unsigned long long)rate);
	printf("%10s %10s %10s  %s\n", "LIVE", "BLOCKS", "CHANGE", "ALLOCATED AT");
	st->prev_calls = sum->total.alloc_calls;
}

static void rows(const struct top_opts *o, struct top_state *st, struct hsr_recording *rec,
		 struct hs_resolver *r)
{
	struct hs_view_result v;
	char live[32], blocks[32], change[40], where[512];
	size_t i;

	if (hs_view_compute(rec, HS_VIEW_LEAKS, HS_SORT_BYTES, o->rows, &v) < 0)
		return;
	for (i = 0; i < v.nrows; i++) {
		uint32_t id = v.rows[i].stack_id;
		uint64_t now = v.rows[i].f.live_bytes, before = id < st->nprev ? st->prev[id] : 0;

		describe(r, id, where, sizeof(where));
		if (now >= before)
			snprintf(change, sizeof(change), "+%s", hs_human_bytes(blocks, now - before));
		else
			snprintf(change, sizeof(change), "-%s", hs_human_bytes(blocks, before - now));
		printf("%10s %10s %10s  %s\n", hs_human_bytes(live, now),
		       hs_human_count(blocks, v.rows[i].f.live_blocks), change, where);
	}
	hs_view_release(&v);
}

/* Remember each stack's live bytes for the next refresh's CHANGE column. */
static void remember(struct top_state *st, const struct hsr_recording *rec)
{
	uint64_t *prev = realloc(st->prev, (rec->nstacks + 1) * sizeof(*prev));
	size_t i;

	if (!prev)
		return;
	st->prev = prev;
	st->nprev = rec->nstacks + 1;
	for (i = 0; i <= rec->nstacks; i++) {
		const struct hsr_counters *c = &rec->stacks[i].last;

		prev[i] = c->alloc_bytes >= c->freed_bytes ? c->alloc_bytes - c->freed_bytes : 0;
	}
}

static int refresh(const struct top_opts *o, struct top_state *st, unsigned n)
{
	char path[128], line[160], reply[256], err[512];
	struct hsr_recording *rec;
	struct hs_resolver r;
	struct hs_summary sum;
	int ret;

	snprintf(path, sizeof(path), "%s/snapshot.%u.hsr", st->dir, n);
	snprintf(line, sizeof(line), "snapshot %s", path);
	ret = hs_agent_request(o->pid, line, reply, sizeof(reply), 60000);
	if (ret)
		return hs_agent_error(o->pid, ret);
	if (strncmp(reply, "ok", 2)) {
		fprintf(stderr, "heapscope: process %ld: %s", (long)o->pid, reply);
		return 1;
	}
	if (hsr_recording_load(path, &rec, err, sizeof(err)) < 0) {
		fprintf(stderr, "heapscope: %s\n", err);
		unlink(path);
		return 1;
	}
	unlink(path);
	hs_summary_compute(rec, &sum);
	if (hs_resolver_init(&r, rec, NULL) == 0) {
		header(o, st, rec, &sum);
		rows(o, st, rec, &r);
		hs_resolver_release(&r);
	}
	fflush(stdout);
	remember(st, rec);
	hsr_recording_free(rec);
	return 0;
}

int hs_cmd_top(int argc, char **argv)
{
	struct top_opts o;
	struct top_state st = { .tty = isatty(STDOUT_FILENO) };
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec ts;
	long i;
	int ret = 0;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "heapscope: top: needs a PID (see 'heapscope help top')\n");
		return 2;
	}
	snprintf(st.dir, sizeof(st.dir), "/tmp/heapscope-top.XXXXXX");
	if (!mkdtemp(st.dir)) {
		fprintf(stderr, "heapscope: cannot create a temporary directory: %s\n",
			strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; !stop && (!o.iterations || i < o.iterations) && !ret; i++) {
		ret = refresh(&o, &st, (unsigned)i);
		if (ret || (o.iterations && i + 1 >= o.iterations))
			break;
		ts.tv_sec = (time_t)o.interval;
		ts.tv_nsec = (long)((o.interval - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
	}
	rmdir(st.dir);
	free(st.prev);
	return ret;
}
