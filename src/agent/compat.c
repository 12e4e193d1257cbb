// SPDX-License-Identifier: MIT
/*
 * The interfaces of the in-house hook libraries heapscope replaces, so their users switch
 * without touching their code: liballoc_hook's `checkpoint(file)` and jhook's API
 * (jhook_init ... jhook_set_limit) with its `size alloc free diff addr` table. Their
 * meanings are in docs/AGENT.md ("Compatibility"). jhook grouped blocks by (size, stack);
 * heapscope counts by stack, so the table's size column is the stack's mean block size.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"
#include "control.h"
#include "dump.h"
#include "fmt.h"
#include "hsr_format.h"
#include "modules.h"
#include "stacktab.h"
#include "tracker.h"
#include "writer.h"

static int jhook_tail;		/* canary bytes asked for by jhook_init */
static int jhook_dup_flag, jhook_bound_flag;

HS_EXPORT void checkpoint(const char *file_name)
{
	if (!atomic_load(&hs_state.initialized))
		return;
	hs_writer_snapshot(HSR_REASON_API, file_name, 0);
	if (file_name)
		hs_dump_live(file_name, HS_DUMP_BY_BYTES, 0, "checkpoint");
}

HS_EXPORT int jhook_init(int tail_num)
{
	if (tail_num < 0 || tail_num > 256)
		return -1;
	hs_init();
	jhook_tail = tail_num;
	return atomic_load(&hs_state.failed) ? -1 : 0;
}

HS_EXPORT void jhook_uninit(void)
{
	hs_tracking_set(0);
	hs_control_tracking_off();
}

HS_EXPORT void jhook_start(void)
{
	hs_tracker_reset(hs_tracker_sample_interval());
	hs_tracking_set(1);
}

/* jhook: stopping clears everything recorded. */
HS_EXPORT void jhook_stop(void)
{
	hs_tracking_set(0);
	hs_tracker_reset(hs_tracker_sample_interval());
	hs_control_tracking_off();
}

HS_EXPORT void jhook_check_bound(void)
{
	if (!hs_opt.check)
		hs_say("jhook_check_bound: run with --check (HEAPSCOPE_CHECK=1) for heap canaries");
	else
		hs_check_all((uintptr_t)__builtin_return_address(0));
}

HS_EXPORT void jhook_set_flag(int dup_flag, int bound_flag)
{
	jhook_dup_flag = dup_flag;
	jhook_bound_flag = bound_flag;
}

HS_EXPORT void jhook_set_method(int method)
{
	static unsigned saved_depth;

	if (!saved_depth)
		saved_depth = hs_opt.depth;
	__atomic_store_n(&hs_opt.depth, method == 0 ? 1 : saved_depth, __ATOMIC_RELAXED);
}

HS_EXPORT void jhook_set_limit(size_t min_limit, size_t max_limit)
{
	hs_tracker_set_limits(min_limit, max_limit);
}

static int leak_row_wanted(int choice, uint64_t diff, int changed)
{
	if (choice == 0)
		return diff && changed;
	if (choice == 1)
		return changed;
	if (choice == 2)
		return diff != 0;
	if (choice == 3)
		return 1;
	if (choice > 3)
		return diff > (uint64_t)choice;
	return diff > (uint64_t)(-(int64_t)choice) && changed;
}

static void put_frames(struct hs_fmt *f, const struct hs_stack *s)
{
	Dl_info info;
	struct hs_frames it = hs_frames_of(s);
	unsigned i;

	for (i = 0; i < s->depth && f->len + 200 < f->cap; i++) {
		uintptr_t pc = hs_frames_next(&it);

		hs_fmt_str(f, i ? " | " : "");
		hs_fmt_hex(f, pc);
		if (dladdr((void *)(pc - 1), &info) && info.dli_sname) {
			hs_fmt_str(f, ":(");
			hs_fmt_str(f, info.dli_sname);
			hs_fmt_str(f, "+");
			hs_fmt_hex(f, pc - (uintptr_t)info.dli_saddr);
			hs_fmt_str(f, ")");
		}
	}
}

static void put_leak_row(struct hs_stack *s, uint64_t calls, uint64_t frees)
{
	char line[4096];
	struct hs_fmt f;
	uint64_t bytes = atomic_load(&s->alloc_bytes);

	hs_fmt_init(&f, line, sizeof(line));
	hs_fmt_uint(&f, calls ? bytes / calls : 0);
	hs_fmt_str(&f, " ");
	hs_fmt_uint(&f, calls);
	hs_fmt_str(&f, " ");
	hs_fmt_uint(&f, frees);
	hs_fmt_str(&f, " ");
	hs_fmt_uint(&f, calls - frees);
	hs_fmt_str(&f, " ");
	put_frames(&f, s);
	hs_fmt_str(&f, "\n");
	hs_write_out(STDERR_FILENO, line, f.len);
}

static int by_mean_size(const void *a, const void *b)
{
	const struct hs_stack *x = *(struct hs_stack *const *)a, *y = *(struct hs_stack *const *)b;
	uint64_t mx = atomic_load(&x->alloc_calls) ? atomic_load(&x->alloc_bytes) /
							    atomic_load(&x->alloc_calls) : 0;
	uint64_t my = atomic_load(&y->alloc_calls) ? atomic_load(&y->alloc_bytes) /
							    atomic_load(&y->alloc_calls) : 0;

	return mx < my ? -1 : mx > my;
}

/*
 * Each stack's calls and frees at the previous check, by stack id ("changed since the last
 * check"): kept here, not in every stack record, as only programs that call
 * jhook_check_leak need them. Under check_lock.
 */
struct checked {
	uint64_t calls, frees;
};

static atomic_flag check_lock;
static struct checked *checked;
static size_t checked_cap;

/* Room for ids up to max (0 when there is none: every stack then reads as changed). */
static int checked_room(uint32_t max)
{
	struct checked *c;
	size_t cap = checked_cap;

	if (max < checked_cap)
		return 0;
	while (cap <= max)
		cap = cap ? cap * 2 : 1024;
	c = realloc(checked, cap * sizeof(*c));
	if (!c)
		return -1;
	memset(c + checked_cap, 0, (cap - checked_cap) * sizeof(*c));
	checked = c;
	checked_cap = cap;
	return 0;
}

HS_EXPORT void jhook_check_leak(int choice)
{
	static const char head[] = "size alloc free diff addr\n";
	uint32_t id, max = hs_stacktab_max_id(), n = 0;
	struct hs_stack **list;
	struct hs_totals tot;
	char tail[128];
	struct hs_fmt f;
	int room;

	hs_self.internal++;
	while (atomic_flag_test_and_set_explicit(&check_lock, memory_order_acquire))
		hs_cpu_relax();
	room = checked_room(max + 1) == 0;
	list = malloc(((size_t)max + 1) * sizeof(*list));
	for (id = 1; list && id <= max; id++)
		if (hs_stacktab_get(id) && atomic_load(&hs_stacktab_get(id)->alloc_calls))
			list[n++] = hs_stacktab_get(id);
	if (list)
		qsort(list, n, sizeof(*list), by_mean_size);
	if (hs_write_out(STDERR_FILENO, head, sizeof(head) - 1))
		n = 0;
	for (id = 0; id < n; id++) {
		struct hs_stack *s = list[id];
		uint64_t calls = atomic_load(&s->alloc_calls), frees = atomic_load(&s->free_calls);
		struct checked *c = room && s->id < checked_cap ? &checked[s->id] : NULL;
		int changed = !c || calls != c->calls || frees != c->frees;

		if (leak_row_wanted(choice, calls - frees, changed))
			put_leak_row(s, calls, frees);
		if (c) {
			c->calls = calls;
			c->frees = frees;
		}
	}
	free(list);
	atomic_flag_clear_explicit(&check_lock, memory_order_release);
	hs_tracker_totals(&tot);
	hs_fmt_init(&f, tail, sizeof(tail));
	hs_fmt_str(&f, "----------- total=");
	hs_fmt_uint(&f, tot.alloc_bytes - tot.freed_bytes);
	hs_fmt_str(&f, " peak=");
	hs_fmt_uint(&f, tot.peak_bytes);
	hs_fmt_str(&f, " -----------\n");
	hs_write_out(STDERR_FILENO, tail, f.len);
	hs_self.internal--;
}

static uint64_t check_period_ns, next_check;

HS_EXPORT void jhook_set_check(int check_flag, int check_count)
{
	static int count = 100;	/* jhook's default: every second */

	if (check_count > 0)
		count = check_count;
	check_period_ns = check_flag ? (uint64_t)count * 10000000ull : 0;
	next_check = hs_now_ns() + check_period_ns;
}

void hs_compat_tick(uint64_t now)
{
	if (!check_period_ns || now < next_check)
		return;
	next_check = now + check_period_ns;
	jhook_check_leak(0);
	if (jhook_bound_flag)
		jhook_check_bound();
}
