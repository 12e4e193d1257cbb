// SPDX-License-Identifier: MIT
/*
 * The stack walk (see unwind.h and docs/UNWIND.md): architecture-neutral. Each frame's
 * rule comes from a lock-free cache of one-word entries (2-way, keyed by the address
 * the rule is for); a miss finds the module, reads its CFI (cfi.c), packs the row
 * (unwind_<arch>.c) and stores it. Rules that do not pack are evaluated from the CFI each
 * time; frames without CFI take a frame-pointer step when one is plausible. A thread's
 * memo of its last walk lets the next one take the frames both share by reading back the
 * words their steps read instead of looking rules up (see record_memo).
 *
 * Runs on every tracked allocation, in any thread, in signal handlers: it must not
 * allocate, lock, or read stack memory outside the caller's bounds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arena.h"
#include "unwind.h"
#include "unwind_arch.h"

/*
 * A word is tag (key >> TAG_SHIFT) << 31 | rule, so keys must fit in TAG_SHIFT + 33 bits.
 * x86_64 code lies below 2^47: 16K sets x 2 ways, 256 KiB (every page of it gets touched;
 * python3 uses 2,900 rules); elsewhere (aarch64 maps libraries near 2^48) 32K sets, 512 KiB.
 */
#if defined(__x86_64__)
#define TAG_SHIFT 14
#else
#define TAG_SHIFT 15
#endif
#define CACHE_SETS (1u << TAG_SHIFT)
#if UINTPTR_MAX > 0xffffffffu
#define KEY_CACHEABLE(key) ((key) < ((uintptr_t)1 << (TAG_SHIFT + 33)))	/* else not cached */
#else
#define KEY_CACHEABLE(key) 1
#endif
#define SKIP_MAX 8			/* frames searched for first_ra */
#define SHARDS 16
#define RULE_TRANSIENT (1u << 31)	/* a rule not cached (modules being refreshed) */

struct bounds {
	uintptr_t lo, hi;
};

struct walk {
	struct bounds b;
	int fp_only;
	unsigned hits, misses, reused;
};

struct shard {
	_Atomic uint64_t counts[5];	/* struct hs_unwind_counts' order */
} __attribute__((aligned(64)));

static _Atomic uint64_t *cache;
static atomic_int method;
static uintptr_t self_lo, self_hi;	/* the agent's own code, once known */
static struct shard shards[SHARDS];
static atomic_uint memo_epoch = 1;	/* memos of other epochs are empty */
static atomic_int memo_off;

static inline uint32_t cache_get(uintptr_t key)
{
	_Atomic uint64_t *set;
	uint64_t tag = (uint64_t)key >> TAG_SHIFT, w;

	if (!KEY_CACHEABLE(key))
		return 0;
	set = &cache[(key & (CACHE_SETS - 1)) * 2];
	w = atomic_load_explicit(&set[0], memory_order_relaxed);
	if (w >> HS_RULE_BITS == tag)
		return (uint32_t)w & HS_RULE_MASK;
	w = atomic_load_explicit(&set[1], memory_order_relaxed);
	if (w >> HS_RULE_BITS == tag)
		return (uint32_t)w & HS_RULE_MASK;
	return 0;
}

/* Most recent in way 0, the previous one moves to way 1. Racing writers may lose one. */
static void cache_put(uintptr_t key, uint32_t rule)
{
	_Atomic uint64_t *set;
	uint64_t tag = (uint64_t)key >> TAG_SHIFT, old;

	if (!KEY_CACHEABLE(key))
		return;
	set = &cache[(key & (CACHE_SETS - 1)) * 2];
	old = atomic_load_explicit(&set[0], memory_order_relaxed);
	if (old && old >> HS_RULE_BITS != tag)
		atomic_store_explicit(&set[1], old, memory_order_relaxed);
	atomic_store_explicit(&set[0], tag << HS_RULE_BITS | rule, memory_order_relaxed);
}

/* The rule for the frame at key (pc, or pc - 1 when pc is a return address). */
static __attribute__((noinline, cold)) uint32_t rule_miss(uintptr_t key, uintptr_t pc,
							   uintptr_t ra)
{
	const struct hs_module *m;
	struct hs_cfi_rules cr;
	uint32_t rule;

	if (hs_module_lookup(key, &m) == -EAGAIN)	/* being refreshed: ask again later */
		return HS_RULE_FPSTEP | RULE_TRANSIENT;
	rule = HS_RULE_FPSTEP;		/* no module, or no usable CFI */
	if (m && ra && hs_arch_is_sigreturn(m, pc))
		rule = HS_RULE_SIGNAL;
#ifdef HS_ARCH_TABLES
	else if (m && hs_arch_table_rule(m, key, &rule) == 0)
		;	/* the arch's own unwind tables (ARM: .ARM.exidx) */
#endif
	else if (m && hs_cfi_find(m, key, &cr) == 0)
		rule = hs_arch_pack(&cr);
	cache_put(key, rule);
	return rule;
}

static int in_stack(const struct bounds *b, uintptr_t addr)
{
	return addr >= b->lo && addr < b->hi && b->hi - addr >= sizeof(uintptr_t);
}

/* The value a register rule gives: 0, or -1 when it cannot be evaluated. */
static int rule_value(const struct bounds *b, const struct hs_uregs *r, uintptr_t cfa,
		      const struct hs_cfi_reg *rr, uint32_t reg, uintptr_t *v)
{
	switch (rr->how) {
	case HS_CFI_SAME:
		return hs_arch_reg(r, reg, v);
	case HS_CFI_OFFSET:
		if (!in_stack(b, cfa + (uintptr_t)(intptr_t)rr->off))
			return -1;
		*v = hs_load_word(cfa + (uintptr_t)(intptr_t)rr->off);
		return 0;
	case HS_CFI_VAL_OFFSET:
		*v = cfa + (uintptr_t)(intptr_t)rr->off;
		return 0;
	case HS_CFI_REGISTER:
		return hs_arch_reg(r, (uint32_t)rr->off, v);
	case HS_CFI_UNDEF:
		*v = 0;
		return 0;
	default:
		return -1;
	}
}

/* One step by a full CFI row. 0, -1 when it cannot be evaluated, -2 at the outermost. */
static int step_row(const struct bounds *b, struct hs_uregs *r, const struct hs_cfi_rules *cr)
{
	const struct hs_cfi_row *row = &cr->row;
	uintptr_t base, cfa, pc, fp;

	if (row->cfa_expr || cr->ra_reg >= HS_CFI_NREGS || hs_arch_reg(r, row->cfa_reg, &base))
		return -1;
	if (row->regs[cr->ra_reg].how == HS_CFI_UNDEF)
		return -2;
	cfa = base + (uintptr_t)row->cfa_off;
	/* The CFA goes up; only a leaf interrupted by a signal (ra = 0) may keep its sp. */
	if (cfa < r->sp || (cfa == r->sp && r->ra) || cfa > b->hi)
		return -1;
	if (rule_value(b, r, cfa, &row->regs[cr->ra_reg], cr->ra_reg, &pc) ||
	    rule_value(b, r, cfa, &row->regs[HS_ARCH_DW_FP], HS_ARCH_DW_FP, &fp))
		return -1;
	r->pc = pc;
	r->sp = cfa;
	r->fp = fp;
	r->ra = !cr->signal;
#ifdef HS_ARCH_AFTER_ROW
	hs_arch_after_row(r);
	pc = r->pc;
#endif
	return pc ? 0 : -2;
}

/* CFI that did not pack: evaluate it again, else try the frame pointer. */
static int step_complex(const struct bounds *b, struct hs_uregs *r)
{
	uintptr_t key = r->pc - r->ra;
	const struct hs_module *m = hs_module_find(key);
	struct hs_cfi_rules cr;

#ifdef HS_ARCH_TABLES
	if (m) {
		int rc = hs_arch_table_step(m, key, r, b->lo, b->hi);

		if (rc != -ENOENT)
			return rc;
	}
#endif
	if (m && hs_cfi_find(m, key, &cr) == 0) {
		int rc = step_row(b, r, &cr);

		if (rc != -1)
			return rc < 0 ? -1 : 0;
	}
	return hs_arch_step_fp(r, b->lo, b->hi);
}

static __attribute__((noinline)) int step_slow(struct hs_uregs *r, uint32_t rule,
					       struct bounds b)
{
	switch (HS_RULE_KIND(rule)) {
	case HS_RULE_COMPLEX:
		return step_complex(&b, r);
	case HS_RULE_SIGNAL:
		return hs_arch_step_signal(r, b.lo, b.hi);
	default:
		return -1;	/* HS_RULE_END, HS_RULE_EMPTY */
	}
}

static inline __attribute__((always_inline)) uint32_t frame_rule(struct walk *w,
								  const struct hs_uregs *r)
{
	uintptr_t key = r->pc - r->ra;
	uint32_t rule;

	if (w->fp_only)
		return HS_RULE_FPSTEP;
	rule = cache_get(key);
	if (__builtin_expect(rule != 0, 1)) {
		w->hits++;
		return rule;
	}
	w->misses++;
	return rule_miss(key, r->pc, r->ra);
}

/* Move r to the caller's frame. 0, or -1 when the walk ends. */
static inline __attribute__((always_inline)) int frame_step(const struct walk *w,
							     struct hs_uregs *r, uint32_t rule)
{
	struct hs_uregs t;
	int rc;

	if (__builtin_expect(HS_RULE_KIND(rule) >= HS_RULE_ARCH, 1))
		return hs_arch_step_packed(r, rule, w->b.lo, w->b.hi);
	if (HS_RULE_KIND(rule) == HS_RULE_FPSTEP)
		return hs_arch_step_fp(r, w->b.lo, w->b.hi);
	t = *r;	/* keeps r itself in registers on the fast path */
	rc = step_slow(&t, rule, w->b);
	*r = t;
	return rc;
}

/*
 * What frames[] holds for a frame: an address whose predecessor is the instruction the
 * frame executes, so that consumers uniformly look up addr - 1. For a return address that
 * is the address itself; after a signal (pc is the interrupted instruction) and for the
 * trampoline (pc is its first instruction) it is pc + 1.
 */
static inline uintptr_t frame_addr(const struct hs_uregs *r, uint32_t rule)
{
	if (HS_RULE_KIND(rule) == HS_RULE_SIGNAL)
		return r->pc + 1;
	return r->pc - r->ra + 1;
}

static int in_self(uintptr_t pc)
{
	const struct hs_module *self = hs_module_self();

	return self && pc >= self->lo && pc < self->hi;
}

/* first_ra was not met: start after the last of the agent's frames among those seen. */
static int start_after_self(struct walk *w, struct hs_uregs *r, const struct hs_uregs *seen,
			    unsigned n)
{
	int last = -1;

	for (unsigned i = 0; i < n; i++)
		if (in_self(seen[i].pc))
			last = (int)i;
	if (last < 0) {
		*r = seen[0];
		return 0;
	}
	if ((unsigned)last + 1 < n) {
		*r = seen[last + 1];
		return 0;
	}
	*r = seen[last];
	return frame_step(w, r, frame_rule(w, r));
}

#ifdef HS_ARCH_SELF_FP
/*
 * The frames between hs_unwind and the hook are the agent's own, with frame pointers:
 * step through them by frame pointer, no rule lookups, while pc lies in the agent. 1 when
 * that reaches first_ra (r is then there), 0 to search the usual way (r unchanged).
 */
static int skip_self_fp(const struct walk *w, struct hs_uregs *r, uintptr_t first_ra)
{
	if (!self_hi || !r->ra)
		return 0;
	return hs_arch_skip_self_fp(r, first_ra, self_lo, self_hi, w->b.lo, w->b.hi, SKIP_MAX);
}
#endif

/* Move r to the frame whose return address is first_ra. 0, or -1: nothing to record. */
static int find_start(struct walk *w, struct hs_uregs *r, uintptr_t first_ra)
{
	struct hs_uregs seen[SKIP_MAX + 1];
	unsigned n = 0;

	if (!first_ra)
		return 0;
#ifdef HS_ARCH_SELF_FP
	if (skip_self_fp(w, r, first_ra))
		return 0;
#endif
	for (;;) {
		if (r->pc == first_ra && r->ra)
			return 0;
		seen[n++] = *r;
		if (n == SKIP_MAX + 1 || frame_step(w, r, frame_rule(w, r)) < 0)
			break;
	}
	return start_after_self(w, r, seen, n);
}

static size_t record(struct walk *w, const struct hs_uregs *start, uintptr_t *frames,
		     size_t max)
{
	struct hs_uregs r = *start;
	size_t n = 0;

	for (;;) {
		uint32_t rule = frame_rule(w, &r);

		frames[n++] = frame_addr(&r, rule);
		if (n == max || frame_step(w, &r, rule) < 0)
			return n;
	}
}

#ifdef HS_ARCH_MEMO
/* Where a memo frame's step read the return address, below the next frame's sp. */
#ifdef HS_ARCH_MEMO_RA_OFF
#define memo_ra_off(off) ((void)(off), (uintptr_t)HS_ARCH_MEMO_RA_OFF)
#else
#define memo_ra_off(off) ((uintptr_t)(off))
#endif

/*
 * The memo. A step from a frame depends on its registers (pc, sp and, for some rules, the
 * frame pointer), on its pc's rule (fixed while no module goes away: the memo's epoch) and
 * on the stack words it reads. So where this walk reaches a frame with the pc and sp of
 * frame j of the last walk, and the words that the last walk's step from j read still hold
 * what it read, the step lands in the last walk's frame j + 1 (its pc and sp), and so on:
 * each such frame costs one or two loads that do not depend on each other, not a rule
 * lookup and a step. The frame pointer is carried along as this walk has it: in code
 * without frame pointers rbp is an ordinary register whose value (an outer function's
 * loop counter, say) differs from one walk to the next, so it is compared only where a
 * step computes the CFA from it. The first word found changed, a step that needs the
 * frame pointer while it differs, a rule that cannot be checked so (signal frames, complex
 * or uncached rules), or the end of the memo, and the walk goes on the usual way from
 * there. The memo covers the first HS_UNWIND_MEMO_FRAMES frames.
 */
static inline int memo_same(const struct hs_unwind_memo_frame *f, const struct hs_uregs *r)
{
	return f->sp == r->sp && f->pc == r->pc && f->ra == hs_arch_memo_flags(r);
}

static inline void memo_put(struct hs_unwind_memo_frame *f, const struct hs_uregs *r,
			    uintptr_t addr)
{
	f->pc = r->pc;
	f->sp = r->sp;
	f->fp = r->fp;
	f->ra = (uint8_t)hs_arch_memo_flags(r);
	f->after = (uint8_t)(addr - r->pc);	/* 0 or 1 (frame_addr) */
	f->step = HS_MEMO_STEP_NONE;
	f->ends = 0;
}

/*
 * f stepped by rule to a frame at next_sp: note where the words its step read lie. Only
 * words at or above f's sp, which any later walk that meets f in the same state may read
 * (its bounds start below f's sp).
 */
static inline void memo_link(struct hs_unwind_memo_frame *f, uint32_t rule, uintptr_t next_sp)
{
	uint32_t ra_off, fp_off;
	int uses_fp;

	if (!(rule & RULE_TRANSIENT) &&
	    hs_arch_memo_reads(rule, f->ra, &ra_off, &fp_off, &uses_fp) &&
	    ra_off && ra_off <= UINT16_MAX && fp_off <= UINT16_MAX &&
	    memo_ra_off(ra_off) == ra_off &&
	    next_sp - ra_off >= f->sp && (!fp_off || next_sp - fp_off >= f->sp)) {
		f->ra_off = (uint16_t)ra_off;
		f->fp_off = (uint16_t)fp_off;
		f->step = uses_fp ? HS_MEMO_STEP_RA_FP : HS_MEMO_STEP_RA;
	}
}

/* The walk ended at f by its rule alone (the outermost frame): so will the next from f. */
static inline void memo_end(struct hs_unwind_memo_frame *f, uint32_t rule)
{
	f->ends = HS_RULE_KIND(rule) == HS_RULE_END && !(rule & RULE_TRANSIENT);
}

/*
 * Frames a walk took from the memo (new frames run.. are old[j..]) that will not stay where
 * they are: into tmp, with the frames before them.
 */
static inline void memo_keep(struct hs_unwind_memo *m, const struct hs_unwind_memo_frame *old,
			     size_t run, unsigned j, size_t n)
{
	for (; run < n && run < HS_UNWIND_MEMO_FRAMES; run++, j++)
		m->tmp[run] = old[j];
}

/*
 * Where the frames lie for the next walk. A walk that ended in a run of the last one's
 * frames (new frames run.. are old[j..]) leaves those in place and puts the frames before
 * them in front, when the window fits; anything else goes from tmp to the middle.
 */
static void memo_place(struct hs_unwind_memo *m, const struct hs_unwind_memo_frame *old,
		       int in_run, size_t run, unsigned j, size_t n)
{
	size_t keep = n < HS_UNWIND_MEMO_FRAMES ? n : HS_UNWIND_MEMO_FRAMES;
	ptrdiff_t base = (ptrdiff_t)m->base + (ptrdiff_t)j - (ptrdiff_t)run;

	if (!in_run || run >= keep || base < 0 ||
	    base + (ptrdiff_t)keep > (ptrdiff_t)HS_UNWIND_MEMO_SPAN) {
		if (in_run)
			memo_keep(m, old, run, j, n);
		base = HS_UNWIND_MEMO_FRAMES;
		run = keep;
	}
	for (size_t k = 0; k < run; k++)
		m->f[base + (ptrdiff_t)k] = m->tmp[k];
	m->base = (unsigned)base;
	if (keep)	/* nothing after it to check against: the next walk's stop */
		m->f[base + (ptrdiff_t)keep - 1].step = HS_MEMO_STEP_NONE;
}

static size_t record_memo(struct walk *w, const struct hs_uregs *start,
			  uintptr_t *restrict frames, size_t max, struct hs_unwind_memo *m,
			  uint32_t epoch)
{
	struct hs_unwind_memo_frame *old = m->f + m->base, *tmp = m->tmp;
	unsigned whole = m->epoch == epoch && m->hi == w->b.hi ? m->n : 0, j = 0;
	unsigned on = whole < HS_UNWIND_MEMO_FRAMES ? whole : HS_UNWIND_MEMO_FRAMES;
	struct hs_uregs r = *start;
	size_t n = 0, run = 0;	/* in a run: frames run.. are old[jr..], in order */
	unsigned jr = 0;
	int in_run = 0;

	for (;;) {
		uint32_t rule;

		while (j < on && old[j].sp < r.sp)
			j++;
		if (j < on && memo_same(&old[j], &r)) {
			struct hs_unwind_memo_frame *f = &old[j], *first = f;
			uintptr_t fp = r.fp;		/* this walk's, at frame j */

			if (!in_run || j - jr != n - run) {
				if (in_run)
					memo_keep(m, old, run, jr, n);
				run = n;
				jr = j;
			}
			in_run = 1;
			/*
			 * The memo's frames from one restore of the frame pointer to the next hold
			 * the one value the last walk had there, so a step that computes the CFA
			 * from it compares that with this walk's (before this walk's replaces it).
			 */
			for (;;) {
				const struct hs_unwind_memo_frame *nx = f + 1;
				int go = f->step == HS_MEMO_STEP_RA ||
					 (f->step == HS_MEMO_STEP_RA_FP && f->fp == fp);

				frames[n] = f->pc + f->after;
				f->fp = fp;	/* the memo keeps this walk's */
				if (++n == max) {
					w->reused += (unsigned)(f - first) + 1;
					goto done;
				}
				if (!go ||
				    hs_arch_memo_ra(hs_load_word(nx->sp - memo_ra_off(f->ra_off))) !=
					    nx->pc)
					break;
				if (f->fp_off)	/* restored from the stack */
					fp = hs_load_word(nx->sp - f->fp_off);
				f++;
			}
			w->reused += (unsigned)(f - first);	/* frames without a lookup */
			if (f->ends)
				goto done;
			/*
			 * From frame j on the usual way (its step had to be checked by a rule),
			 * in the state a step led to it in, or as this walk met it.
			 */
			j = (unsigned)(f - old);
			if (f != first)
				hs_arch_memo_state(&r, f->pc, f->sp, fp, f->ra);
			j++;
			rule = frame_rule(w, &r);
			f->step = HS_MEMO_STEP_NONE;
			if (frame_step(w, &r, rule) < 0) {
				memo_end(f, rule);
				goto done;
			}
			memo_link(f, rule, r.sp);	/* what this step read */
			continue;
		}
		if (in_run) {
			memo_keep(m, old, run, jr, n);
			in_run = 0;
		}
		rule = frame_rule(w, &r);
		frames[n] = frame_addr(&r, rule);
		if (n < HS_UNWIND_MEMO_FRAMES)
			memo_put(&tmp[n], &r, frames[n]);
		if (++n == max)
			break;
		if (frame_step(w, &r, rule) < 0) {
			if (n <= HS_UNWIND_MEMO_FRAMES)
				memo_end(&tmp[n - 1], rule);
			break;
		}
		if (n <= HS_UNWIND_MEMO_FRAMES)
			memo_link(&tmp[n - 1], rule, r.sp);
	}
done:
	/*
	 * The outer frames this walk shares with the last: a run of the last walk's frames
	 * that ends with its outermost, all in the memo (so all compared).
	 */
	m->shared = in_run && whole <= HS_UNWIND_MEMO_FRAMES && n - run == whole - jr
			    ? (unsigned)(n - run) : 0;
	m->same = n && m->shared == n && n == whole;
	memo_place(m, old, in_run, run, jr, n);
	m->n = (unsigned)n;
	m->epoch = epoch;
	m->hi = w->b.hi;
	return n;
}
#endif

/*
 * A memo's counts are added by its thread alone, its memo taken: plain loads and stores. A
 * shard's are added by walks without a memo (signal handlers while the memo is taken, from
 * any thread, one handler interrupting another): locked adds, out of the way, which are
 * rare (plain ones lost a walk now and then in t1040's handlers, whose count is checked
 * exactly).
 */
static inline void count_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void counts_add(_Atomic uint64_t *c, const struct walk *w, size_t n)
{
	count_add(&c[0], 1);
	count_add(&c[1], n);
	count_add(&c[2], w->hits);
	if (w->misses)
		count_add(&c[3], w->misses);
	count_add(&c[4], w->reused);
}

static __attribute__((noinline, cold)) void counts_add_shared(_Atomic uint64_t *c,
							      const struct walk *w, size_t n)
{
	atomic_fetch_add_explicit(&c[0], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c[1], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&c[2], w->hits, memory_order_relaxed);
	atomic_fetch_add_explicit(&c[3], w->misses, memory_order_relaxed);
	atomic_fetch_add_explicit(&c[4], w->reused, memory_order_relaxed);
}

/*
 * A walk that runs on another stack than its thread's (a coroutine's: makecontext,
 * boost.context, a fiber library; or a signal handler's sigaltstack) is bounded by the
 * pages from its own frame's up that the kernel could read just now: a process_vm_readv
 * of 16 KiB, else the page of the walk's own frame alone (in use, so there).
 * The copy goes to a scratch area nobody reads (threads may share it). What lies above
 * the coroutine's outermost frame is read only where its unwind information leads, as on
 * the thread's stack. It costs a system call a walk (about 2.4 us a walk here), so it can
 * be turned off (hs_unwind_set_other_stacks): such walks then keep the thread's bounds and
 * give their first frame only. Where the call is refused (a seccomp filter, qemu-user),
 * the page alone, which the agent's own frames mostly fill.
 */
#define OTHER_STACK_SPAN (16 * 1024)

static atomic_int other_stacks = 1;
static char other_scratch[OTHER_STACK_SPAN];

void hs_unwind_set_other_stacks(int on)
{
	atomic_store_explicit(&other_stacks, on, memory_order_relaxed);
}

static uintptr_t other_stack_hi(uintptr_t own)
{
	static atomic_size_t page_size;
	size_t page = atomic_load_explicit(&page_size, memory_order_relaxed);
	uintptr_t start;

	if (!atomic_load_explicit(&other_stacks, memory_order_relaxed))
		return 0;
	if (!page) {
		long ps = sysconf(_SC_PAGESIZE);

		page = ps > 0 ? (size_t)ps : 4096;
		atomic_store_explicit(&page_size, page, memory_order_relaxed);
	}
	start = own & ~(uintptr_t)(page - 1);
	for (size_t span = OTHER_STACK_SPAN; span > page; span /= 4) {
		struct iovec local = { other_scratch, span }, remote = { (void *)start, span };

		if (start + span > start &&
		    process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)span)
			return start + span;
	}
	return start + page > start ? start + page : 0;
}

__attribute__((noinline, cold)) size_t hs_unwind_elsewhere(uintptr_t *frames, size_t max,
							  uintptr_t first_ra,
							  uintptr_t stack_lo,
							  uintptr_t stack_hi,
							  struct hs_unwind_memo *memo)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0), top = other_stack_hi(here);

	if (top > here) {
		stack_lo = here;
		stack_hi = top;
	}
	return hs_unwind(frames, max, first_ra, stack_lo, stack_hi, memo);
}

__attribute__((noinline)) size_t hs_unwind(uintptr_t *frames, size_t max, uintptr_t first_ra,
					    uintptr_t stack_lo, uintptr_t stack_hi,
					    struct hs_unwind_memo *memo)
{
	uintptr_t own = (uintptr_t)__builtin_frame_address(0);
	struct hs_uregs r;
	struct walk w;
	size_t n = 0;

	HS_ARCH_CAPTURE(&r);
	if (memo) {
		memo->same = -1;	/* not recorded in it (yet) */
		memo->shared = 0;
	}
	if (!max)
		return 0;	/* not a walk */
#ifdef HS_ARCH_RA_MASK
	first_ra &= HS_ARCH_RA_MASK;	/* ARM: frames are kept without the Thumb bit */
#endif
	/* Nothing below our own frame belongs to the frames we walk. */
	w.b.lo = stack_lo > own ? stack_lo : own;
	w.b.hi = stack_hi;
	w.fp_only = !cache || atomic_load_explicit(&method, memory_order_relaxed) == HS_UNWIND_FP;
	w.hits = w.misses = w.reused = 0;
#ifdef HS_ARCH_CAPTURE_SELF
	/* r is hs_unwind's own frame (aarch64, ARM): start in its caller, as documented. */
	if (frame_step(&w, &r, frame_rule(&w, &r)) < 0)
		goto out;
#endif
	if (find_start(&w, &r, first_ra) == 0) {
#ifdef HS_ARCH_MEMO
		uint32_t epoch = atomic_load_explicit(&memo_epoch, memory_order_relaxed);

		if (memo && !atomic_load_explicit(&memo_off, memory_order_relaxed))
			n = record_memo(&w, &r, frames, max, memo, epoch);
		else
#endif
			n = record(&w, &r, frames, max);
	}
#ifdef HS_ARCH_CAPTURE_SELF
out:
#endif
	/* a memo is its thread's; walks without one go to a shard of the stack's */
	if (__builtin_expect(memo != NULL, 1))
		counts_add(memo->counts, &w, n);
	else
		counts_add_shared(shards[((own >> 16) * 0x9E3779B97F4A7C15ull) >> 60].counts, &w, n);
	return n;
}

void hs_unwind_set_reuse(int on)
{
	atomic_store_explicit(&memo_off, !on, memory_order_relaxed);
}

int hs_unwind_init(enum hs_unwind_method how)
{
	const struct hs_module *self = hs_module_self();

	if (self && !self_hi) {
		self_lo = self->lo;
		self_hi = self->hi;
	}
	if (!cache) {
		cache = hs_arena_map(sizeof(*cache) * CACHE_SETS * 2);
		if (!cache)
			return -ENOMEM;
	}
	atomic_store_explicit(&method, how, memory_order_relaxed);
	atomic_fetch_add_explicit(&memo_epoch, 1, memory_order_relaxed);	/* other rules */
	return 0;
}

void hs_unwind_invalidate(void)
{
	atomic_fetch_add_explicit(&memo_epoch, 1, memory_order_relaxed);
	if (!cache)
		return;
	for (unsigned i = 0; i < CACHE_SETS * 2; i++)
		atomic_store_explicit(&cache[i], 0, memory_order_relaxed);
}

static void counts_read(const _Atomic uint64_t *c, struct hs_unwind_counts *out)
{
	out->walks += atomic_load_explicit(&c[0], memory_order_relaxed);
	out->frames += atomic_load_explicit(&c[1], memory_order_relaxed);
	out->hits += atomic_load_explicit(&c[2], memory_order_relaxed);
	out->misses += atomic_load_explicit(&c[3], memory_order_relaxed);
	out->reused += atomic_load_explicit(&c[4], memory_order_relaxed);
}

void hs_unwind_stats(struct hs_unwind_counts *c)
{
	for (unsigned i = 0; i < SHARDS; i++)
		counts_read(shards[i].counts, c);
}

void hs_unwind_memo_counts(const struct hs_unwind_memo *m, struct hs_unwind_counts *c)
{
	counts_read(m->counts, c);
}
