// SPDX-License-Identifier: MIT
/*
 * The reachability scan (see leakscan.h), after valgrind's memcheck (mc_leakcheck.c):
 *
 * 1. Stop the other threads (threads.c) and list the live blocks of the pointer map,
 *    sorted by address.
 * 2. Roots: the writable PT_LOAD segments of every loaded module except the agent's own;
 *    each thread's stack from its stack pointer (less the red zone) up, its saved
 *    registers, and the static TLS around its thread pointer. An aligned word that points
 *    to the start of a block makes it reachable; into its middle, possibly lost.
 * 3. Reached blocks are scanned in turn: a start pointer from a reachable block makes the
 *    target reachable, any other path possibly lost.
 * 4. Every block still unreached leads a "clique": blocks reachable only from it become
 *    indirectly lost; the leader stays definitely lost (an earlier leader found from a
 *    later one joins that clique, as in memcheck).
 *
 * While the world is stopped nothing here may allocate: memory comes from mappings, the
 * sort is a radix sort, and memory that might not be mapped is read with
 * process_vm_readv. The agent's own memory (its arenas, the pointer map) is never a root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "leakscan.h"
#include "modules.h"
#include "ptrmap.h"
#include "stacktab.h"
#include "threads.h"
#include "tracker.h"

enum { UNREACHED, POSSIBLE, REACHABLE, INDIRECT };

struct block {
	uintptr_t start;
	uint64_t size;
	uint32_t id;
	uint32_t state;
};

struct scan {
	struct block *b;
	size_t n, cap;
	uint32_t *stack;	/* the mark stack: block indices */
	size_t top, stack_cap;
	uintptr_t lo, hi;	/* all blocks lie in [lo, hi) */
	int safe;		/* read block contents with process_vm_readv */
	uint32_t leader;	/* clique phase: the leader; UINT32_MAX outside it */
	unsigned threads;
};

static atomic_flag scan_lock;
static struct hs_leak_result result;
static size_t result_mapped;

static void collect(uintptr_t p, const struct hs_ptrmap_entry *e, void *arg)
{
	struct scan *s = arg;

	if (s->n == s->cap)
		return;
	s->b[s->n].start = p;
	s->b[s->n].size = e->size;
	s->b[s->n].id = e->id;
	s->b[s->n].state = UNREACHED;
	s->n++;
}

/* LSD radix sort on the address, 8 bits a pass; tmp has room for n blocks. */
static void sort_blocks(struct block *b, struct block *tmp, size_t n)
{
	unsigned shift, i;

	for (shift = 0; shift < 64; shift += 8) {
		size_t count[257] = { 0 };

		for (i = 0; i < n; i++)
			count[((b[i].start >> shift) & 0xff) + 1]++;
		if (count[1] == n && shift >= 48)
			continue;	/* every address has this byte 0 */
		for (i = 1; i < 257; i++)
			count[i] += count[i - 1];
		for (i = 0; i < n; i++)
			tmp[count[(b[i].start >> shift) & 0xff]++] = b[i];
		memcpy(b, tmp, n * sizeof(*b));
	}
}

/* The block containing address v, or -1. */
static long find_block(const struct scan *s, uintptr_t v)
{
	size_t lo = 0, hi = s->n;

	if (v < s->lo || v >= s->hi)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->b[mid].start <= v)
			lo = mid;
		else
			hi = mid;
	}
	if (v < s->b[lo].start)
		return -1;
	if (v == s->b[lo].start || v - s->b[lo].start < s->b[lo].size)
		return (long)lo;
	return -1;
}

static void push(struct scan *s, uint32_t i)
{
	if (s->top < s->stack_cap)
		s->stack[s->top++] = i;
}

/*
 * The C library's allocator keeps pointers to the chunk after a block (its "top", its
 * free lists), whose header overlaps the last 8 bytes of the block's usable size: such a
 * pointer is the allocator's, not the program's, and does not reach the block.
 */
static int allocator_pointer(const struct block *bl, uintptr_t v)
{
	size_t usable;

	if (hs_opt.check || !hs_real.malloc_usable_size)
		return 0;
	usable = hs_real.malloc_usable_size((void *)bl->start);
	return usable >= 8 && v == bl->start + usable - 8;
}

/* A pointer v found in memory reached as `from` (REACHABLE, POSSIBLE, or a clique). */
static void found(struct scan *s, uintptr_t v, unsigned from)
{
	long i = find_block(s, v);
	struct block *bl;
	unsigned how;

	if (i < 0)
		return;
	bl = &s->b[i];
	if (v != bl->start && allocator_pointer(bl, v))
		return;
	if (s->leader != UINT32_MAX) {
		if (bl->state == UNREACHED && (uint32_t)i != s->leader) {
			bl->state = INDIRECT;
			push(s, (uint32_t)i);
		}
		return;
	}
	how = from == REACHABLE && v == bl->start ? REACHABLE : POSSIBLE;
	if (bl->state == UNREACHED || (bl->state == POSSIBLE && how == REACHABLE)) {
		bl->state = how;
		push(s, (uint32_t)i);
	}
}

static void scan_words(struct scan *s, const uintptr_t *w, size_t n, unsigned from)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (w[k] >= s->lo && w[k] < s->hi)
			found(s, w[k], from);
}

/* Scan [lo, hi) read through the kernel: parts that are not mapped are skipped. */
static void scan_safe(struct scan *s, uintptr_t lo, uintptr_t hi, unsigned from)
{
	uintptr_t buf[512];

	lo &= ~(uintptr_t)7;
	while (lo < hi) {
		size_t len = hi - lo < sizeof(buf) ? (hi - lo) & ~(size_t)7 : sizeof(buf);
		struct iovec local = { buf, len }, remote = { (void *)lo, len };
		ssize_t got = len ? process_vm_readv(getpid(), &local, 1, &remote, 1, 0) : 0;

		if (!len)
			break;
		if (got > 0)
			scan_words(s, buf, (size_t)got / sizeof(uintptr_t), from);
		lo += got > 0 ? (uintptr_t)got : 4096 - (lo & 4095);
	}
}

static void scan_range(struct scan *s, uintptr_t lo, uintptr_t hi, unsigned from, int safe)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	if (hi <= lo)
		return;
	if (safe)
		scan_safe(s, lo, hi, from);
	else
		scan_words(s, (const uintptr_t *)lo, (hi - lo) / sizeof(uintptr_t), from);
}

static void drain(struct scan *s)
{
	while (s->top) {
		struct block *bl = &s->b[s->stack[--s->top]];
		unsigned from = s->leader != UINT32_MAX ? INDIRECT : bl->state;

		scan_range(s, bl->start, bl->start + bl->size, from, s->safe);
	}
}

static void scan_modules(struct scan *s)
{
	const struct hs_module *self = hs_module_self();
	unsigned i, j, n = hs_modules_count();

	for (i = 0; i < n; i++) {
		const struct hs_module *m = hs_module_at(i);

		if (m == self || atomic_load(&m->unloaded))
			continue;
		for (j = 0; j < m->nsegs; j++) {
			const struct hs_segment *g = &m->segs[j];

			if (g->flags & 2)	/* PF_W: data, bss */
				scan_range(s, g->start, g->start + g->memsz, REACHABLE, 0);
		}
	}
}

struct thread_ctx {
	struct scan *s;
	const struct hs_leak_self *self;
};

static void scan_thread(const struct hs_thread_rec *r, int self, void *arg)
{
	struct thread_ctx *c = arg;
	uintptr_t sp = self ? (c->self ? c->self->sp : 0) : r->sp, lo, hi;

	if (sp >= r->stack_lo && sp < r->stack_hi)
		scan_range(c->s, sp, r->stack_hi, REACHABLE, 0);
	else if (sp)	/* another stack (sigaltstack, coroutine): what is mapped above sp */
		scan_range(c->s, sp, sp + (256 << 10), REACHABLE, 1);
	if (self && c->self)
		scan_words(c->s, c->self->regs, c->self->nregs, REACHABLE);
	else if (!self)
		scan_words(c->s, r->regs, r->nregs, REACHABLE);
	if (r->tp) {
		hs_threads_tls_range(r->tp, &lo, &hi);
		scan_range(c->s, lo, hi, REACHABLE, 1);
	}
	c->s->threads++;
}

static void classify_unreached(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->b[i].state != UNREACHED)
			continue;
		s->leader = (uint32_t)i;
		push(s, (uint32_t)i);
		drain(s);
	}
	s->leader = UINT32_MAX;
}

static int result_prepare(void)
{
	uint32_t max = hs_stacktab_max_id() + 1;
	size_t need = ((size_t)max + 1) * sizeof(*result.per_stack);

	if (result.per_stack)
		munmap(result.per_stack, result_mapped);
	result.per_stack = hs_arena_map(need);
	result_mapped = need;
	result.nstacks = result.per_stack ? max : 0;
	memset(&result.total, 0, sizeof(result.total));
	return result.per_stack ? 0 : -ENOMEM;
}

static void tally(const struct scan *s)
{
	static const unsigned kind[] = {
		[UNREACHED] = HSR_LEAK_DEFINITE, [INDIRECT] = HSR_LEAK_INDIRECT,
		[POSSIBLE] = HSR_LEAK_POSSIBLE, [REACHABLE] = HSR_LEAK_REACHABLE,
	};
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct block *bl = &s->b[i];
		unsigned k = kind[bl->state];

		result.total.bytes[k] += bl->size;
		result.total.blocks[k]++;
		if (bl->id <= result.nstacks) {
			result.per_stack[bl->id].bytes[k] += bl->size;
			result.per_stack[bl->id].blocks[k]++;
		}
	}
}

struct scratch {
	struct block *tmp;
	size_t bytes, stack_bytes;
};

static int scratch_map(struct scan *s, struct scratch *x)
{
	s->cap = hs_ptrmap_count() + 64;
	x->bytes = s->cap * sizeof(struct block);
	x->stack_bytes = 2 * s->cap * sizeof(uint32_t);
	s->b = hs_arena_map(x->bytes);
	x->tmp = hs_arena_map(x->bytes);
	s->stack = hs_arena_map(x->stack_bytes);
	s->stack_cap = 2 * s->cap;
	return s->b && x->tmp && s->stack ? 0 : -ENOMEM;
}

static void scratch_unmap(struct scan *s, struct scratch *x)
{
	if (s->b)
		munmap(s->b, x->bytes);
	if (x->tmp)
		munmap(x->tmp, x->bytes);
	if (s->stack)
		munmap(s->stack, x->stack_bytes);
}

/* Everything between stopping and resuming the world. */
static int scan_stopped(struct scan *s, struct scratch *x, const struct hs_leak_self *self)
{
	struct thread_ctx ctx = { s, self };
	size_t i;
	int err = scratch_map(s, x);

	if (err)
		return err;
	hs_ptrmap_foreach(hs_tracker_gen(), collect, s);
	sort_blocks(s->b, x->tmp, s->n);
	s->lo = s->n ? s->b[0].start : 0;
	for (i = 0; i < s->n; i++)
		if (s->b[i].start + s->b[i].size + 1 > s->hi)
			s->hi = s->b[i].start + s->b[i].size + 1;
	s->leader = UINT32_MAX;
	scan_modules(s);
	hs_threads_foreach_stopped(scan_thread, &ctx);
	drain(s);
	classify_unreached(s);
	err = result_prepare();
	if (!err)
		tally(s);
	return err;
}

void hs_leakscan_lock(void)
{
	while (atomic_flag_test_and_set_explicit(&scan_lock, memory_order_acquire))
		hs_cpu_relax();	/* signals open: a scan may stop this thread meanwhile */
}

void hs_leakscan_unlock(void)
{
	atomic_flag_clear_explicit(&scan_lock, memory_order_release);
}

int hs_leakscan_run(unsigned reason, const struct hs_leak_self *self,
		    const struct hs_leak_result **out)
{
	struct scan s;
	struct scratch x;
	struct hs_world w = { 0, 0 };
	sigset_t held, old;
	int err;

	if (hs_tracker_sample_interval())
		return -ENOTSUP;
	hs_leakscan_lock();	/* signals open: another scan may stop this thread */
	/*
	 * The program's signals wait on this thread during the scan: a handler run while
	 * the scan walks the pointer map (shard by shard, under their locks) would find,
	 * under --check, a block's lock held by its own thread. Faults happen as they would.
	 */
	sigfillset(&held);
	sigdelset(&held, SIGSEGV);
	sigdelset(&held, SIGBUS);
	sigdelset(&held, SIGILL);
	sigdelset(&held, SIGFPE);
	pthread_sigmask(SIG_BLOCK, &held, &old);
	hs_self.internal++;
	memset(&s, 0, sizeof(s));
	memset(&x, 0, sizeof(x));
	err = hs_threads_stop(&w);
	if (!err) {
		s.safe = w.missed > 0;	/* a running thread may free what we read */
		err = scan_stopped(&s, &x, self);
		hs_threads_resume();
	}
	scratch_unmap(&s, &x);
	if (!err) {
		result.seq++;
		result.t = hs_now_ns();
		result.reason = reason;
		result.flags = w.missed ? HSR_LEAKS_FLAG_PARTIAL : HSR_LEAKS_FLAG_STOPPED;
		result.threads = s.threads;
		*out = &result;
	}
	hs_self.internal--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	hs_leakscan_unlock();
	return err;
}

const struct hs_leak_result *hs_leakscan_last(void)
{
	return result.seq ? &result : NULL;
}
