// SPDX-License-Identifier: MIT
/*
 * The error log (see errors.h): a fixed open-addressing table keyed by (kind, allocation
 * stack, detection stack), behind a try-lock so that a fault handler never waits. Each new
 * error is written to stderr at once, with raw frames and exported symbol names.
 */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "dump.h"
#include "errors.h"
#include "fmt.h"
#include "hsr_format.h"
#include "modules.h"
#include "stacktab.h"

#define MAX_ERRORS 4096

static struct {
	atomic_flag lock;
	struct hs_error *list;
	unsigned n;
	_Atomic uint64_t total;
} log_;

static int same(const struct hs_error *a, const struct hs_error *b)
{
	return a->kind == b->kind && a->alloc == b->alloc && a->where == b->where;
}

static void say_stack(struct hs_fmt *f, const char *what, const struct hs_stack *s)
{
	struct hs_frames it;
	unsigned i;

	if (!s)
		return;
	it = hs_frames_of(s);
	hs_fmt_str(f, "  ");
	hs_fmt_str(f, what);
	hs_fmt_str(f, ":\n");
	for (i = 0; i < s->depth && i < 12 && f->len + 300 < f->cap; i++)
		hs_dump_frame(f, i, hs_frames_next(&it));
}

static void say(const struct hs_error *e)
{
	char buf[8192];
	struct hs_fmt f;

	if (hs_opt.quiet)
		return;
	hs_fmt_init(&f, buf, sizeof(buf));
	hs_fmt_str(&f, "heapscope: ERROR ");
	hs_fmt_str(&f, hsr_error_name(e->kind));
	hs_fmt_str(&f, " at ");
	hs_fmt_hex(&f, e->addr);
	if (e->nbytes) {
		hs_fmt_str(&f, ": ");
		hs_fmt_uint(&f, e->nbytes);
		hs_fmt_str(&f, " byte(s) written from offset ");
		hs_fmt_int(&f, e->offset);
		hs_fmt_str(&f, " of a ");
	} else if (e->size || e->alloc) {
		hs_fmt_str(&f, ": offset ");
		hs_fmt_int(&f, e->offset);
		hs_fmt_str(&f, " of a ");
	}
	if (e->nbytes || e->size || e->alloc) {
		hs_fmt_uint(&f, e->size);
		hs_fmt_str(&f, "-byte block [");
		hs_fmt_str(&f, hsr_kind_name(e->alloc_kind));
		hs_fmt_str(&f, "]");
	}
	hs_fmt_str(&f, "\n");
	say_stack(&f, "found at", e->where);
	say_stack(&f, "allocated at", e->alloc);
	say_stack(&f, "freed at", e->freed);
	hs_fmt_str(&f, "  (heapscope report --errors shows these stacks with files and lines)\n");
	hs_write_out(STDERR_FILENO, buf, f.len);
}

static void reference(struct hs_stack *s)
{
	if (s)
		atomic_store(&s->referenced, 1);
}

int hs_error_add(const struct hs_error *e)
{
	unsigned i;
	int fresh = 0;

	atomic_fetch_add(&log_.total, 1);
	if (atomic_flag_test_and_set_explicit(&log_.lock, memory_order_acquire))
		return 0;
	if (!log_.list)
		log_.list = hs_arena_map(MAX_ERRORS * sizeof(*log_.list));
	for (i = 0; log_.list && i < log_.n; i++)
		if (same(&log_.list[i], e))
			break;
	if (log_.list && i < log_.n) {
		log_.list[i].count++;
	} else if (log_.list && log_.n < MAX_ERRORS) {
		log_.list[log_.n] = *e;
		log_.list[log_.n].count = 1;
		log_.list[log_.n].t = hs_now_ns();
		reference(e->alloc);
		reference(e->freed);
		reference(e->where);
		log_.n++;
		fresh = 1;
	}
	atomic_flag_clear_explicit(&log_.lock, memory_order_release);
	if (fresh)
		say(e);
	return fresh;
}

void hs_errors_atfork_child(void)
{
	atomic_flag_clear_explicit(&log_.lock, memory_order_release);
}

unsigned hs_errors_count(void)
{
	return log_.n;
}

const struct hs_error *hs_error_at(unsigned i)
{
	return i < log_.n ? &log_.list[i] : NULL;
}

uint64_t hs_errors_total(void)
{
	return atomic_load(&log_.total);
}
