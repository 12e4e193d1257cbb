// SPDX-License-Identifier: MIT
/*
 * The accounting behind every hook (see tracker.h). On the allocation path: one unwind, one
 * stack-table lookup, relaxed atomic counter updates and one pointer-map operation; with
 * sampling, a per-thread byte countdown decides first and most calls stop there. A call
 * that arrives while this thread is already inside the bookkeeping (a signal handler)
 * captures its stack at once but queues the rest for the outer call, so no lock is ever
 * taken twice by one thread. Must never call malloc except under hs_self.internal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "agent.h"
#include "arena.h"
#include "check.h"
#include "control.h"
#include "heaps.h"
#include "hooks_sig.h"
#include "hsr_format.h"
#include "modules.h"
#include "ptrmap.h"
#include "ptrmap_inline.h"
#include "sample.h"
#include "siglock.h"
#include "stacktab.h"
#include "threads.h"
#include "tracker.h"
#include "unwind.h"
#include "writer.h"

__thread struct hs_thread hs_self __attribute__((tls_model("initial-exec")));

/* Contended by every thread: one cache line for what changes on each call. */
static struct {
	_Atomic int64_t live_bytes;
	_Atomic uint64_t alloc_calls;
	_Atomic uint64_t peak_epoch;
	/* sampling: each half of the samples' own estimate of the live heap (see below) */
	_Atomic int64_t live_sel, live_half;
} g __attribute__((aligned(64)));

/* What changes rarely: the mode, the peak, the threshold. */
static struct {
	_Atomic uint64_t bytes;
	_Atomic uint64_t t;
	atomic_int threshold_hit;
	_Atomic uint64_t min_size, max_size;	/* only blocks in [min, max] are tracked */
	_Atomic uint64_t reset_t;	/* when the counters were last reset, 0 never */
	/* other heaps (heaps.c): host live bytes at which host + others pass their peak */
	_Atomic uint64_t total_at;	/* UINT64_MAX while no other heap is in use */
	_Atomic uint64_t trigger;	/* min(bytes, total_at): the allocation path's test */
	_Atomic int64_t sel;		/* sampling: the selecting half's highest estimate */
} peak __attribute__((aligned(64)));

/*
 * The peak under sampling. The sampled live heap is an estimate; its running maximum is
 * the maximum of a noisy series and lands well above the real peak (+98% on a 10 MB heap
 * at 512 KiB, +21% at 32 KiB, measured by bench/). So each sample point goes, by a fair
 * coin, to one of two halves, each a Poisson sample at twice the interval and an unbiased
 * estimator in its own right (hs_sample_halves: a block is in one half or both): the
 * selecting half only says when the heap peaks, and the figures at that moment, the
 * heap's and every stack's, come from the other half, whose noise had no say in choosing
 * the moment. Unbiased, at the price of resting on half the sample points; blocks large
 * beside the interval are in both halves and stay as exact as sampling makes them. Every
 * other figure (live, allocated, freed) still uses all the samples.
 */
static inline int sampling(void)
{
	return atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed) != 0;
}

struct hs_sampling hs_sampling = { .fast = HS_SAMPLE_NO_FAST };

#define TIMELINE_CAP 4096

static struct {
	atomic_flag lock;
	_Atomic uint64_t next_t;	/* no point before this time */
	uint64_t interval;
	unsigned n;
	struct hs_timeline_point *pts;
} tl;

/* A forked child with tracking off: its hooks take the slow path until its control starts. */
static atomic_int fork_poll;

/* hs_sampling.fast from the state it sums up (agent.h). */
static void sampling_refresh(void)
{
	uint32_t fast = HS_SAMPLE_NO_FAST;

	if (hs_opt.check || atomic_load(&fork_poll))
		;	/* every call goes by the checks, or by hs_tracker_poll_untracked */
	else if (!atomic_load(&hs_state.tracking))
		fast = hs_real.malloc && hs_real.free && hs_real.calloc && hs_real.realloc
			       ? HS_FAST_TRACKING_OFF : HS_SAMPLE_NO_FAST;
	else if (atomic_load(&hs_sampling.interval))
		fast = hs_sample_tag(atomic_load(&hs_sampling.gen));
	atomic_store(&hs_sampling.fast, fast);
}

void hs_tracking_set(int on)
{
	atomic_store(&hs_state.tracking, on);
	sampling_refresh();
}

static void solo_begin(void);

int hs_tracker_init(void)
{
	tl.pts = hs_arena_map(TIMELINE_CAP * sizeof(*tl.pts));
	hs_sampling.filter = hs_arena_map(sizeof(*hs_sampling.filter) << HS_FILTER_BITS);
	if (!tl.pts || !hs_sampling.filter)
		return -1;
	hs_bootstrap_pin();	/* their frees never take the fast path (hs_fast_free) */
	tl.interval = hs_opt.timeline_ns;
	if (hs_opt.sample && hs_stacktab_halves() < 0)
		return -1;
	atomic_store(&hs_sampling.interval, hs_opt.sample);
	atomic_store(&peak.max_size, UINT64_MAX);
	atomic_store(&peak.total_at, UINT64_MAX);
	sampling_refresh();
	solo_begin();
	return 0;
}

static struct hs_stack *stack_by_id(uint32_t id)
{
	struct hs_stack *s = hs_stacktab_get(id);

	if (!s && id == hs_stacktab_overflow()->id)
		s = hs_stacktab_overflow();
	return s;
}

static __attribute__((noinline)) void save_peak_half(struct hs_stack *s, uint64_t epoch)
{
	struct hs_stack_half *h = hs_stacktab_half_of_sampled(s);

	atomic_store_explicit(&s->peak_bytes, atomic_load_explicit(&h->bytes, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&s->peak_blocks,
			      atomic_load_explicit(&h->blocks, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&s->peak_epoch, epoch, memory_order_relaxed);
}

/* Save s's live figures as they were at the latest peak, before they change. */
static inline void peak_touch(struct hs_stack *s, int sampled)
{
	uint64_t epoch = atomic_load_explicit(&g.peak_epoch, memory_order_relaxed);

	if (!sampled)
		hs_stack_save_peak(s, epoch);
	else if (atomic_load_explicit(&s->peak_epoch, memory_order_relaxed) != epoch)
		save_peak_half(s, epoch);
}

void hs_tracker_stack_peak(struct hs_stack *s, uint64_t epoch, uint64_t *bytes,
			   uint64_t *blocks)
{
	if (atomic_load_explicit(&s->peak_epoch, memory_order_relaxed) == epoch) {
		*bytes = atomic_load_explicit(&s->peak_bytes, memory_order_relaxed);
		*blocks = atomic_load_explicit(&s->peak_blocks, memory_order_relaxed);
		return;
	}
	if (sampling()) {
		struct hs_stack_half *h = hs_stacktab_half_of_sampled(s);

		*bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
		*blocks = atomic_load_explicit(&h->blocks, memory_order_relaxed);
		return;
	}
	*bytes = atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed) -
		 atomic_load_explicit(&s->freed_bytes, memory_order_relaxed);
	*blocks = atomic_load_explicit(&s->alloc_calls, memory_order_relaxed) -
		  atomic_load_explicit(&s->free_calls, memory_order_relaxed);
}

static void threshold_check(uint64_t live)
{
	if (hs_opt.threshold && live > hs_opt.threshold &&
	    !atomic_exchange_explicit(&peak.threshold_hit, 1, memory_order_relaxed))
		hs_control_request(HS_REQ_THRESHOLD);
}

static void raise_peak(uint64_t live)
{
	uint64_t old = atomic_load_explicit(&peak.bytes, memory_order_relaxed);

	while (live > old) {
		if (atomic_compare_exchange_weak_explicit(&peak.bytes, &old, live,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_store_explicit(&peak.t, hs_now_ns(), memory_order_relaxed);
			atomic_fetch_add_explicit(&g.peak_epoch, 1, memory_order_relaxed);
			break;
		}
	}
	threshold_check(live);
}

/* Sampling: the selecting half's estimate passed its highest; the peak is now. */
static void raise_peak_sampled(int64_t sel)
{
	int64_t old = atomic_load_explicit(&peak.sel, memory_order_relaxed), half;

	while (sel > old) {
		if (atomic_compare_exchange_weak_explicit(&peak.sel, &old, sel,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			half = atomic_load_explicit(&g.live_half, memory_order_relaxed);
			atomic_store_explicit(&peak.bytes, half > 0 ? (uint64_t)half : 0,
					      memory_order_relaxed);
			atomic_store_explicit(&peak.t, hs_now_ns(), memory_order_relaxed);
			atomic_fetch_add_explicit(&g.peak_epoch, 1, memory_order_relaxed);
			break;
		}
	}
}

static void update_trigger(void)
{
	uint64_t a = atomic_load_explicit(&peak.bytes, memory_order_relaxed);
	uint64_t b = atomic_load_explicit(&peak.total_at, memory_order_relaxed);

	atomic_store_explicit(&peak.trigger, a < b ? a : b, memory_order_relaxed);
}

/* Live bytes passed the trigger: a new host peak, or host + other heaps a new total peak. */
static __attribute__((noinline)) void live_crossed(uint64_t live)
{
	if (sampling())
		threshold_check(live);	/* the peak is the halves' business */
	else if (live > atomic_load_explicit(&peak.bytes, memory_order_relaxed))
		raise_peak(live);
	if (hs_unlikely(live > atomic_load_explicit(&peak.total_at, memory_order_relaxed)))
		hs_heaps_host_crossed(live);
	update_trigger();
}

void hs_tracker_set_total_at(uint64_t host_live)
{
	atomic_store_explicit(&peak.total_at, host_live, memory_order_relaxed);
	update_trigger();
}

void hs_tracker_host(uint64_t *live, uint64_t *peak_bytes, uint64_t *peak_t)
{
	int64_t l = atomic_load_explicit(&g.live_bytes, memory_order_relaxed);

	*live = l > 0 ? (uint64_t)l : 0;
	*peak_bytes = atomic_load_explicit(&peak.bytes, memory_order_relaxed);
	*peak_t = atomic_load_explicit(&peak.t, memory_order_relaxed);
}

static void timeline_add(uint64_t now)
{
	unsigned i;

	if (atomic_flag_test_and_set_explicit(&tl.lock, memory_order_acquire))
		return;
	if (tl.n == TIMELINE_CAP) {
		/* Full: keep every other point and sample half as often. */
		for (i = 0; i < TIMELINE_CAP / 2; i++)
			tl.pts[i] = tl.pts[2 * i + 1];
		tl.n = TIMELINE_CAP / 2;
		tl.interval *= 2;
	}
	tl.pts[tl.n].t = now;
	tl.pts[tl.n].live_bytes = (uint64_t)atomic_load_explicit(&g.live_bytes,
								 memory_order_relaxed);
	tl.pts[tl.n].alloc_calls = atomic_load_explicit(&g.alloc_calls, memory_order_relaxed);
	tl.n++;
	atomic_store_explicit(&tl.next_t, now + tl.interval, memory_order_relaxed);
	atomic_flag_clear_explicit(&tl.lock, memory_order_release);
}

/*
 * Every 64 allocations of a thread: the global call count (for the timeline only, so it
 * may lag by 64 per thread), and a timeline point when one is due.
 */
static inline void timeline_tick(struct hs_thread *t)
{
	uint64_t now;

	if (hs_likely(++t->tick & 63))
		return;
	atomic_fetch_add_explicit(&g.alloc_calls, 64, memory_order_relaxed);
	now = hs_now_ns();
	if (now >= atomic_load_explicit(&tl.next_t, memory_order_relaxed))
		timeline_add(now);
	if (hs_unlikely(hs_control_due(now)))
		t->need_control = 2;	/* started once this call leaves the bookkeeping */
}

void hs_tracker_timeline_drain(void (*cb)(const struct hs_timeline_point *, unsigned, void *),
			       void *arg)
{
	timeline_add(hs_now_ns());
	while (atomic_flag_test_and_set_explicit(&tl.lock, memory_order_acquire))
		hs_cpu_relax();
	cb(tl.pts, tl.n, arg);
	tl.n = 0;
	atomic_flag_clear_explicit(&tl.lock, memory_order_release);
}

/*
 * One program thread (docs/AGENT.md, "One program thread"): while no second program thread
 * was ever made, every counter is changed by that thread alone, and never by two of its
 * calls at once (a signal handler's calls are queued while it is busy, pending_push), so
 * its adds need no locked instruction: a load and a store, which readers on other threads
 * see whole. Locked adds were a quarter of cxx_containers' overhead (3.12 -> 2.67 s without,
 * plain 1.19 s). The pthread_create hook ends it before the second thread exists
 * (hs_tracker_solo_end); a thread made otherwise (a raw clone) ends it when it registers,
 * and until then an add of the two threads at the same moment may be lost. A reset from
 * another thread (the control thread's commands) waits for the program's thread to leave
 * the bookkeeping, and holds it out meanwhile (busy_enter).
 * Never in libheapscope_wrap.a, whose static programs' pthread_create is not hooked.
 */
_Atomic int hs_solo;
static _Atomic int solo_over;

void hs_tracker_solo_end(void)
{
	atomic_store(&solo_over, 1);
	atomic_store(&hs_solo, 0);
}

static void solo_begin(void)
{
#ifndef HEAPSCOPE_WRAP
	if (!hs_opt.solo || atomic_load(&solo_over) || hs_threads_fence_init() < 0)
		return;
	atomic_store(&hs_solo, 1);
	if (atomic_load(&solo_over))	/* a thread was made meanwhile */
		atomic_store(&hs_solo, 0);
#endif
}

static inline void count_add(_Atomic uint64_t *c, uint64_t v, int solo)
{
	if (solo)
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
				      memory_order_relaxed);
	else
		atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* The live heap after adding v. */
static inline int64_t live_add(int64_t v, int solo)
{
	int64_t l;

	if (!solo)
		return atomic_fetch_add_explicit(&g.live_bytes, v, memory_order_relaxed) + v;
	l = atomic_load_explicit(&g.live_bytes, memory_order_relaxed) + v;
	atomic_store_explicit(&g.live_bytes, l, memory_order_relaxed);
	return l;
}

/*
 * What one recorded block of `size` bytes at addr (the key of its weights' rounding) stands
 * for: itself, or its sampling estimate. Blocks are passed around as size and address, not
 * as a struct of these: a struct built by 8-byte stores and copied by 16-byte loads stalled
 * on store forwarding (a third of do_alloc's and do_free's time in cxx_containers).
 */
struct weight {
	uint64_t calls;
	uint64_t bytes;
};

/*
 * A sampled block's bits, kept with it in the map (`halves` everywhere): the halves it is
 * in, and how its calls were rounded (hs_sample_rounding), for all samples and in a half.
 */
#define HALF_SEL 1u	/* the selecting half: when the peak is */
#define HALF_EST 2u	/* the estimating half: the figures then */
#define ROUNDING_SHIFT 2	/* bit 2: calls rounded up; bit 3: in a half, rounded up */

static inline struct weight weigh(uint64_t size, uintptr_t addr, int halves)
{
	uint64_t interval = atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed);
	struct weight w = { 1, size };

	if (interval)
		hs_sample_weight(size, interval, addr, (unsigned)halves >> ROUNDING_SHIFT, &w.calls,
				 &w.bytes);
	return w;
}

/* Sampling: a sampled block comes (+1) or goes (-1) in the halves it is in. */
static void account_half(struct hs_stack *s, uint64_t size, uintptr_t addr, int halves,
			 int sign)
{
	uint64_t calls, bytes;
	int64_t b, sel;

	if (!(halves & (HALF_SEL | HALF_EST)))
		return;
	/* in one half, a block stands for what it does when sampling at twice the interval */
	hs_sample_weight(size, 2 * atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed),
			 addr, (unsigned)halves >> (ROUNDING_SHIFT + 1), &calls, &bytes);
	b = sign * (int64_t)bytes;
	if (halves & HALF_EST) {
		struct hs_stack_half *h = hs_stacktab_half_of_sampled(s);

		atomic_fetch_add_explicit(&h->bytes, (uint64_t)b, memory_order_relaxed);
		atomic_fetch_add_explicit(&h->blocks, (uint64_t)(sign * (int64_t)calls),
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&g.live_half, b, memory_order_relaxed);
	}
	if (halves & HALF_SEL) {
		sel = atomic_fetch_add_explicit(&g.live_sel, b, memory_order_relaxed) + b;
		if (sign > 0 && sel > atomic_load_explicit(&peak.sel, memory_order_relaxed))
			raise_peak_sampled(sel);
	}
}

/*
 * HOT: inline where it is called. The path of an allocation and of a free, from the hooks'
 * entry points (hs_hook_track_alloc, hs_hook_track_free) through the walk's caller, the
 * counting and the map, is one function each: it went through five calls of its own, each
 * saving and restoring registers (the instruction counts are in bench/RESULTS.md).
 */
#define HOT static inline __attribute__((always_inline))

HOT void account_alloc(struct hs_stack *s, uint64_t size, uintptr_t addr, int halves)
{
	int sampled = sampling(), solo = atomic_load_explicit(&hs_solo, memory_order_relaxed);
	struct weight w = weigh(size, addr, halves);
	int64_t live;

	peak_touch(s, sampled);
	count_add(&s->alloc_calls, w.calls, solo);
	count_add(&s->alloc_bytes, w.bytes, solo);
	if (sampled)
		account_half(s, size, addr, halves, 1);
	live = live_add((int64_t)w.bytes, solo);
	if (live > 0 && (uint64_t)live > atomic_load_explicit(&peak.trigger, memory_order_relaxed))
		live_crossed((uint64_t)live);
}

HOT void account_free(struct hs_stack *s, uint64_t size, uintptr_t addr, int temporary,
		      int halves)
{
	int sampled = sampling(), solo = atomic_load_explicit(&hs_solo, memory_order_relaxed);
	struct weight w = weigh(size, addr, halves);

	peak_touch(s, sampled);
	count_add(&s->free_calls, w.calls, solo);
	count_add(&s->freed_bytes, w.bytes, solo);
	if (temporary)
		count_add(&s->temporary, w.calls, solo);
	if (sampled)
		account_half(s, size, addr, halves, -1);
	live_add(-(int64_t)w.bytes, solo);
}

/*
 * The stack record of a walk the memo recorded. The hash's state after each of the last
 * walk's outermost frames is kept beside the memo (m->outer, by distance from the
 * outermost), so only the frames this walk does not share with the last are hashed (python3:
 * about 4.5 of 17.3) and the states of those are kept for the next walk.
 */
HOT struct hs_stack *intern_memo(struct hs_unwind_memo *m, unsigned kind,
				    const uintptr_t *frames, size_t n)
{
	struct hs_stack_hash st = hs_stack_hash_seed();
	size_t k = m->shared;
	uint64_t h1, h2;

	if (k) {
		st.a = m->outer[k - 1][0];
		st.b = m->outer[k - 1][1];
	}
	for (; k < n; k++) {
		st = hs_stack_hash_step(st, frames[n - 1 - k]);
		if (k < HS_UNWIND_MEMO_FRAMES) {
			m->outer[k][0] = st.a;
			m->outer[k][1] = st.b;
		}
	}
	hs_stack_hash_final(st, kind, n, &h1, &h2);
	return hs_stacktab_intern_hashed(kind, frames, n, h1, h2);
}

/*
 * The walk and the stack record go under the memo: a walk with the frames of the last one
 * recorded (the same call site from the same callers: 54% of cxx_containers' calls, 25% of
 * sqlite3's, 7% of python3's) has that walk's record, without hashing its frames and
 * looking the hash up; another hashes only the frames it does not share with the last. A
 * call in a signal handler while the memo is taken goes without.
 */
HOT struct hs_stack *capture_walk(unsigned kind, uintptr_t ra)
{
	struct hs_thread *t = &hs_self;
	/* read once: jhook's method switch (compat.c) changes it while other threads walk */
	size_t depth = __atomic_load_n(&hs_opt.depth, __ATOMIC_RELAXED);
	struct hs_unwind_memo *m;
	uintptr_t frames[depth ? depth : 1];	/* not HS_MAX_DEPTH: 2 KB of a 16 KB stack */
	struct hs_stack *s;
	size_t n;

	if (hs_unlikely(!t->ready))
		hs_threads_register(t);
	m = t->memo;
	if (m && !hs_unwind_memo_take(m))
		m = NULL;
	n = hs_unwind_from((uintptr_t)frames, frames, depth, ra, t->stack_lo, t->stack_hi, m);
	if (n == 0 && depth) {
		frames[0] = ra;
		n = 1;
	}
	if (!m)
		return hs_stacktab_intern(kind, frames, n);
	if (m->same < 0) {
		s = hs_stacktab_intern(kind, frames, n);	/* not recorded: as without */
	} else if (m->same && m->note && m->note_kind == kind) {
		s = m->note;
	} else {
		s = intern_memo(m, kind, frames, n);
		m->note = s;
		m->note_kind = kind;
	}
	hs_unwind_memo_give(m);
	return s;
}

struct hs_stack *hs_tracker_capture(unsigned kind, uintptr_t ra)
{
	return capture_walk(kind, ra);
}

/*
 * The stack of the current call; blocks below BACKTRACE_MIN_SIZE get none (depth 0). The
 * thread is registered either way (its memo, and its queue should a signal handler need it).
 */
HOT struct hs_stack *capture(unsigned kind, uintptr_t ra, size_t size)
{
	if (hs_unlikely(size < hs_opt.min_stack_size)) {
		if (hs_unlikely(!hs_self.ready))
			hs_threads_register(&hs_self);
		return hs_stacktab_intern(kind, NULL, 0);
	}
	return capture_walk(kind, ra);	/* inline: a frame fewer to walk past, too */
}

/* An entry of an older generation, or a stale one: forget it without counting. */
static int counts(const struct hs_ptrmap_entry *e)
{
	return e->gen == (atomic_load_explicit(&hs_sampling.gen, memory_order_relaxed) & 0xffff);
}

/* Insert a new block; a stale entry at the same address was freed behind our back. */
HOT void map_insert(void *p, uint64_t size, struct hs_stack *s, int halves)
{
	struct hs_ptrmap_entry e = { size, s->id, atomic_load(&hs_sampling.gen) & 0xffff,
				     (uint32_t)halves }, old = { 0 };	/* set when 1 */
	struct hs_stack *os;

	if (atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed))
		atomic_fetch_add_explicit(hs_sample_filter_slot((uintptr_t)p), 1, memory_order_relaxed);
	if (hs_ptrmap_insert_inline((uintptr_t)p, &e, &old, 0) != 1 || !counts(&old))
		return;
	os = stack_by_id(old.id);
	if (os)
		account_free(os, old.size, (uintptr_t)p, 0, (int)old.halves);
}

/* Remove p from the map; 1 and its entry if it was there and counts. */
HOT int map_remove(void *p, struct hs_ptrmap_entry *e)
{
	_Atomic uint16_t *slot = NULL;

	if (atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed)) {
		slot = hs_sample_filter_slot((uintptr_t)p);
		if (!atomic_load_explicit(slot, memory_order_relaxed))
			return 0;	/* never sampled: the common case, no lock */
	}
	if (!hs_ptrmap_lookup_inline((uintptr_t)p, e, 1, 0))
		return 0;
	if (slot)
		atomic_fetch_sub_explicit(slot, 1, memory_order_relaxed);
	return counts(e);
}

HOT void do_alloc(struct hs_thread *t, void *p, uint64_t size, struct hs_stack *s)
{
	uint64_t interval = atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed);
	int halves = interval ? (int)(hs_sample_halves(size, interval, &t->coin) |
				      hs_sample_rounding(size, interval, &t->coin) << ROUNDING_SHIFT)
			      : 0;

	account_alloc(s, size, (uintptr_t)p, halves);
	map_insert(p, size, s, halves);
	t->last_alloc = ~(uintptr_t)p;
	t->left_at_alloc = t->sample_left;
	timeline_tick(t);
}

/*
 * Forget p and count its free. With `release`, the block also goes back to the allocator,
 * between the map's lookup and the counting: the stack's counters are a cache miss of
 * their own (they lie where the block's allocation left them), and the allocator's work
 * overlaps it. 1 when p was released here (it was tracked), 0 when the caller is to.
 */
HOT int do_free(struct hs_thread *t, void *p, int release)
{
	struct hs_ptrmap_entry e;
	struct hs_stack *s;
	int last = t->last_alloc == ~(uintptr_t)p;
	/* freed before this thread allocated again (sampling's skipped allocations included:
	   they moved the countdown) */
	int temporary = last && t->sample_left == t->left_at_alloc;

	if (last)
		t->last_alloc = 0;
	if (!map_remove(p, &e))
		return 0;
	s = stack_by_id(e.id);
	if (release) {
		if (s)
			__builtin_prefetch(&s->free_calls, 1);
		hs_real.free(p);
	}
	if (s)
		account_free(s, e.size, (uintptr_t)p, temporary, (int)e.halves);
	return release;
}

enum { PENDING_ALLOC, PENDING_FREE, PENDING_FORGET, PENDING_RETIRE };

static atomic_int pending_dropped;

/* The queue is full: the event is lost; said once (figures are then approximate). */
static int pending_overflow(void)
{
	if (!atomic_exchange(&pending_dropped, 1))
		hs_writer_message(HSR_MSG_WARNING, "a signal handler allocated more than the agent "
				  "could queue while interrupted; some of its calls were not counted");
	return -1;
}

/*
 * The slot is taken with one atomic add before it is filled: a second signal handler that
 * interrupts this one between reading the count and storing it would otherwise take the
 * same slot, and one of the two events was lost (t1000-torture-signals, about one run in
 * 30 under load, once shards by page made nested calls queue often). Whoever reads the
 * queue (the drain, in the interrupted call) runs only after every handler that took a
 * slot has filled it and returned.
 */
static int pending_push(struct hs_thread *t, void *p, uint64_t size, struct hs_stack *s)
{
	unsigned i = __atomic_fetch_add(&t->npending, 1, __ATOMIC_ACQ_REL);

	if (i >= HS_PENDING_MAX || !t->pending) {
		__atomic_fetch_sub(&t->npending, 1, __ATOMIC_ACQ_REL);
		return pending_overflow();
	}
	t->pending[i].ptr = p;
	t->pending[i].size = size;
	t->pending[i].stack = s;
	return 0;
}

/*
 * The last of this thread's queued events about p (a nested call, nothing races): 1 an
 * allocation, 0 a free, -1 none. An empty queue (no slot for one: n is 0) says none.
 */
static int pending_state_of(const struct hs_thread *t, const void *p)
{
	unsigned n = __atomic_load_n(&t->npending, __ATOMIC_ACQUIRE);
	int state = -1;

	for (unsigned i = 0; i < n && i < HS_PENDING_MAX; i++)
		if (t->pending[i].ptr == p)
			state = t->pending[i].stack != NULL;
	return state;
}

/*
 * Resets wait for the threads in the bookkeeping, without stopping anyone: a thread's
 * calls between its counters' adds and its pointer-map entry saw the counters zeroed under
 * them, or an entry of the old generation freed after them, and its stack's figures did not
 * balance since the reset (t0640: a free more than the allocations in 5 of 6 runs with ten
 * resets); with one program thread's unlocked adds (hs_solo), an add that straddled the
 * reset would have put back its counter's old value. The hot path pays a store and a load
 * (busy_enter); the fence that orders them against the resetter's flag is the resetter's
 * (hs_threads_fence, a membarrier). Where the kernel has none, resets go as before and
 * hs_solo is never on.
 */
static _Atomic int resetting;
static atomic_flag reset_lock = ATOMIC_FLAG_INIT;

static __attribute__((noinline, cold)) void busy_wait_reset(struct hs_thread *t)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&resetting, memory_order_acquire)) {
		atomic_store_explicit(&t->rec->counting, 0, memory_order_release);
		while (atomic_load_explicit(&resetting, memory_order_acquire))
			hs_backoff(&spins);
		atomic_store_explicit(&t->rec->counting, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
	}
}

/* Into the bookkeeping: after a reset under way, if any. */
static inline void busy_enter(struct hs_thread *t)
{
	t->busy = 1;
	if (hs_unlikely(!t->rec)) {
		atomic_signal_fence(memory_order_seq_cst);	/* busy before the bookkeeping */
		return;
	}
	atomic_store_explicit(&t->rec->counting, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);	/* the resetter's membarrier does the rest */
	if (hs_unlikely(atomic_load_explicit(&resetting, memory_order_relaxed)))
		busy_wait_reset(t);
}

/*
 * Out of the bookkeeping. The fence keeps the callers' look at the queue after it: the
 * compiler had loaded npending before storing busy = 0, so an event a signal handler queued
 * in between waited for the thread's next call (and was lost if the thread ended first).
 */
static inline void busy_leave(struct hs_thread *t)
{
	if (t->rec)
		atomic_store_explicit(&t->rec->counting, 0, memory_order_release);
	t->busy = 0;
	atomic_signal_fence(memory_order_seq_cst);
}

/* Finish what nested calls queued while this thread was busy. */
static void pending_drain(struct hs_thread *t)
{
	unsigned i, n;

again:
	i = 0;
	busy_enter(t);
	for (;;) {
		n = __atomic_load_n(&t->npending, __ATOMIC_ACQUIRE);
		if (i == n) {
			if (__atomic_compare_exchange_n(&t->npending, &n, 0, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				break;
			continue;
		}
		struct hs_pending ev = t->pending[i++];

		if (ev.stack) {
			do_alloc(t, ev.ptr, ev.size, ev.stack);
		} else {
			do_free(t, ev.ptr, 0);
			if (ev.size == PENDING_FREE)
				hs_real.free(ev.ptr);
			else if (ev.size == PENDING_RETIRE)
				hs_check_retire(ev.ptr);
		}
	}
	busy_leave(t);
	/*
	 * A handler that ran after the last entry and before busy_leave may have queued one
	 * (its shard's lock taken by another thread): applied now, not at this thread's next
	 * call, which may never come.
	 */
	if (__atomic_load_n(&t->npending, __ATOMIC_ACQUIRE))
		goto again;
}

/* Leaving the bookkeeping: queued events, then a scan's request to stop. */
static __attribute__((noinline, cold)) void after_busy(struct hs_thread *t)
{
	if (t->npending)
		pending_drain(t);
	if (t->term_sig && hs_term_deliver) {
		int sig = t->term_sig;

		t->term_sig = 0;
		hs_term_deliver(sig);	/* returns only if the signal did not end the process */
	}
	if (t->park)
		hs_threads_park_if_asked();
}

/*
 * While the control thread waits for its delayed start, a thread's countdown runs out at
 * least every POLL_BYTES, the rest kept aside (sample_rest), so that its calls reach the
 * tracker now and then to start it: sampling's fast path has no tick of its own (it was a
 * counter of skipped calls, an increment and a test on every allocation).
 */
#define POLL_BYTES (64 * 1024)

static void countdown_set(struct hs_thread *t, int64_t n)
{
	t->sample_rest = 0;
	if (hs_unlikely(hs_control_pending()) && n > POLL_BYTES) {
		t->sample_rest = n - POLL_BYTES;
		n = POLL_BYTES;
	}
	t->sample_left = n;
}

/*
 * The countdown ran out before its rest: take the rest, or while the control thread is
 * still to start as much as leaves POLL_BYTES to go, and see to that thread.
 */
static __attribute__((noinline, cold)) void countdown_refill(struct hs_thread *t)
{
	int pending = hs_control_pending();
	int64_t n = t->sample_rest;

	if (pending && n > POLL_BYTES - t->sample_left)
		n = POLL_BYTES - t->sample_left;
	t->sample_left += n;
	t->sample_rest -= n;
	if (pending)
		hs_control_poll();
}

/*
 * Sampling: 1 when this block is a sample point. The countdown is per thread and drawn
 * again after each sample (the exponential has no memory).
 */
static inline int sampled(struct hs_thread *t, uint64_t size)
{
	uint64_t interval = atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed);
	uint32_t gen;

	if (!interval)
		return 1;
	gen = atomic_load_explicit(&hs_sampling.gen, memory_order_relaxed);
	if (hs_unlikely(t->sample_gen != hs_sample_tag(gen))) {
		t->sample_gen = hs_sample_tag(gen);
		if (!t->rng) {
			t->rng = (uintptr_t)t ^ hs_now_ns();
			t->coin = t->rng * 0xd1342543de82ef95ull;
		}
		countdown_set(t, hs_sample_next(&t->rng, interval));
	}
	t->sample_left -= (int64_t)size;
	if (hs_unlikely(t->sample_left <= 0 && t->sample_rest))
		countdown_refill(t);
	if (hs_likely(t->sample_left > 0)) {
		t->last_alloc = 0;
		return 0;
	}
	countdown_set(t, hs_sample_next(&t->rng, interval));
	return 1;
}

static inline int size_wanted(uint64_t size)
{
	return size >= atomic_load_explicit(&peak.min_size, memory_order_relaxed) &&
	       size <= atomic_load_explicit(&peak.max_size, memory_order_relaxed);
}

static __attribute__((noinline, cold)) void need_control(struct hs_thread *t)
{
	if (atomic_exchange(&fork_poll, 0))
		sampling_refresh();	/* the hooks' fast path again */
	if (t->need_control == 2)
		hs_control_start_late();
	else
		hs_control_after_fork();
}

/*
 * Calls made while this thread is inside the bookkeeping (a signal handler): done at once
 * when the map's shard is free (the interrupted call holds at most one), queued for the
 * interrupted call otherwise. Sampling mode always queues (its filter is kept there).
 */
static void nested_alloc(struct hs_thread *t, void *p, uint64_t size, struct hs_stack *s)
{
	struct hs_ptrmap_entry e = { size, s->id, atomic_load(&hs_sampling.gen) & 0xffff, 0 }, old;
	struct hs_stack *os;
	int r = -EBUSY;

	/*
	 * Not at once while an event about p waits in the queue. A queued free or forgetting
	 * keeps its block from the allocator until the drain (hs_track_free_later,
	 * hs_check_retire), except where that cannot be done (an allocator without
	 * malloc_usable_size, a full queue): then the allocator may hand p out again at once,
	 * and the drain's forgetting must come before this block, not after.
	 */
	if (!atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed) &&
	    (!t->npending || pending_state_of(t, p) < 0))
		r = hs_ptrmap_try_insert((uintptr_t)p, &e, &old);
	if (r == -EBUSY) {
		pending_push(t, p, size, s);
		return;
	}
	if (r < 0)
		return;
	account_alloc(s, size, (uintptr_t)p, 0);	/* not sampling: halves unused */
	if (r == 1 && counts(&old) && (os = stack_by_id(old.id)))
		account_free(os, old.size, (uintptr_t)p, 0, 0);
}

/* 1: done (the caller frees), 0: queued (the agent frees it later). */
static int nested_free(struct hs_thread *t, void *p, int kind)
{
	struct hs_ptrmap_entry e;
	struct hs_stack *s;
	int r = -EBUSY;

	if (!atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed))
		r = hs_ptrmap_try_remove((uintptr_t)p, &e);
	if (r == 0 && pending_state_of(t, p) > 0)
		r = -EBUSY;	/* its allocation is still queued: the free goes after it */
	if (r == -EBUSY)
		return pending_push(t, p, (uint64_t)kind, NULL) == 0 ? 0 : 1;
	if (r == 1 && counts(&e) && (s = stack_by_id(e.id)))
		account_free(s, e.size, (uintptr_t)p, 0, (int)e.halves);
	return 1;
}

HOT struct hs_stack *track_alloc(void *p, size_t size, unsigned kind, uintptr_t ra)
{
	struct hs_thread *t = &hs_self;
	struct hs_stack *s;

	if (hs_unlikely(t->need_control))
		need_control(t);
	if (!size_wanted(size) || !sampled(t, size))
		return NULL;
	hs_ptrmap_prefetch_inline((uintptr_t)p);	/* its miss overlaps the stack walk */
	s = capture(kind, ra, size);
	if (hs_unlikely(t->busy)) {
		nested_alloc(t, p, size, s);
		return s;
	}
	busy_enter(t);
	do_alloc(t, p, size, s);
	busy_leave(t);
	if (hs_unlikely(t->npending | t->park | t->term_sig))
		after_busy(t);
	return s;
}

struct hs_stack *hs_track_alloc(void *p, size_t size, unsigned kind, uintptr_t ra)
{
	return track_alloc(p, size, kind, ra);
}

HOT int track_free(void *p)
{
	struct hs_thread *t = &hs_self;
	int now;

	if (hs_unlikely(!t->ready))
		hs_threads_register(t);	/* its queue, should a signal handler need it */
	if (hs_unlikely(t->busy))
		return nested_free(t, p, PENDING_FREE);

	busy_enter(t);
	now = !do_free(t, p, 1);
	busy_leave(t);
	if (hs_unlikely(t->npending | t->park | t->term_sig))
		after_busy(t);
	return now;
}

/*
 * The hooks' calls into the tracker (agent.h), keeping errno. Out of line, so that the
 * hooks' own fast path (sampling's countdown, tracking off) saves fewer registers and
 * touches no errno; here, so that the tracking itself is inline in them (a call and a
 * frame fewer under each allocation and free).
 */
__attribute__((noinline)) void *hs_hook_track_alloc(void *p, size_t size, unsigned kind,
						    uintptr_t ra)
{
	int saved = errno;

	track_alloc(p, size, kind, ra);
	errno = saved;
	return p;
}

/* 1 when the caller is to free p now, 0 when the agent did or will (agent.h). */
__attribute__((noinline)) int hs_hook_track_free(void *p)
{
	int saved = errno, now = track_free(p);

	errno = saved;
	return now;
}

int hs_track_forget(void *p, struct hs_block_info *out)
{
	struct hs_thread *t = &hs_self;
	struct hs_ptrmap_entry e;

	if (hs_unlikely(!t->ready))
		hs_threads_register(t);
	out->found = 0;
	if (hs_unlikely(t->busy)) {
		int r = atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed)
				? -EBUSY : hs_ptrmap_try_remove((uintptr_t)p, &e);

		if (r == 0 && pending_state_of(t, p) > 0)
			r = -EBUSY;

		if (r == -EBUSY)
			return pending_push(t, p, PENDING_FORGET, NULL) == 0;
		if (r == 1 && counts(&e))
			*out = (struct hs_block_info){ 1, e.size, stack_by_id(e.id), (int)e.halves,
						       (uintptr_t)p };
		return 0;
	}
	busy_enter(t);
	if (map_remove(p, &e)) {
		out->found = 1;
		out->size = e.size;
		out->stack = stack_by_id(e.id);
		out->halves = (int)e.halves;
		out->addr = (uintptr_t)p;
	}
	if (t->last_alloc == ~(uintptr_t)p)
		t->last_alloc = 0;
	busy_leave(t);
	if (hs_unlikely(t->npending | t->park | t->term_sig))
		after_busy(t);
	return 0;
}

/* After a forgetting that waits in the queue: p goes back to the allocator after it. */
void hs_track_free_later(void *p)
{
	if (pending_push(&hs_self, p, PENDING_FREE, NULL) < 0)
		hs_real.free(p);	/* the queue is full (said): now, as before */
}

void hs_track_retire_later(void *p)
{
	if (pending_push(&hs_self, p, PENDING_RETIRE, NULL) < 0)
		hs_check_retire(p);
}

int hs_track_is_live(void *p)
{
	struct hs_thread *t = &hs_self;
	struct hs_ptrmap_entry e;
	int r, entered;

	if (hs_unlikely(t->busy)) {	/* a signal handler inside this thread's bookkeeping */
		r = pending_state_of(t, p);
		if (r >= 0)
			return r;
		r = hs_ptrmap_try_find((uintptr_t)p, &e);
		return r == -EBUSY ? -1 : r;
	}
	entered = hs_tracker_enter();
	r = hs_ptrmap_find((uintptr_t)p, &e);
	hs_tracker_leave(entered);
	return r;
}

/*
 * Any code that takes a map lock does it inside the bookkeeping, so that a signal handler
 * that interrupts it queues its own calls instead of waiting for that lock (t1000's signal
 * storm under --check hung in check mode's lookups, which took it outside).
 */
int hs_tracker_enter(void)
{
	struct hs_thread *t = &hs_self;

	if (t->busy)
		return 0;
	busy_enter(t);	/* not registering the thread: that may call dlsym, and this can
			   run inside the C library's dlerror bookkeeping (hs_check_takes) */
	return 1;
}

void hs_tracker_leave(int entered)
{
	struct hs_thread *t = &hs_self;

	if (!entered)
		return;
	busy_leave(t);
	if (hs_unlikely(t->npending | t->park | t->term_sig))
		after_busy(t);
}

void hs_track_restore(void *p, const struct hs_block_info *info)
{
	struct hs_thread *t = &hs_self;

	if (!info->found || !info->stack || t->busy)
		return;
	busy_enter(t);
	map_insert(p, info->size, info->stack, info->halves);
	busy_leave(t);
	if (hs_unlikely(t->npending | t->park | t->term_sig))
		after_busy(t);
}

void hs_track_account_free(const struct hs_block_info *info)
{
	if (info->found && info->stack)
		account_free(info->stack, info->size, info->addr, 0, info->halves);
}

void hs_tracker_totals(struct hs_totals *out)
{
	uint32_t id, max = hs_stacktab_max_id();
	struct hs_stack *s;

	memset(out, 0, sizeof(*out));
	for (id = 1; id <= max + 1; id++) {
		s = id <= max ? hs_stacktab_get(id) : hs_stacktab_overflow();
		if (!s || hsr_kind_heap(s->kind))	/* other heaps: heaps.c */
			continue;
		out->alloc_calls += atomic_load_explicit(&s->alloc_calls, memory_order_relaxed);
		out->alloc_bytes += atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
		out->free_calls += atomic_load_explicit(&s->free_calls, memory_order_relaxed);
		out->freed_bytes += atomic_load_explicit(&s->freed_bytes, memory_order_relaxed);
		out->temporary += atomic_load_explicit(&s->temporary, memory_order_relaxed);
	}
	out->peak_bytes = atomic_load_explicit(&peak.bytes, memory_order_relaxed);
	out->peak_t = atomic_load_explicit(&peak.t, memory_order_relaxed);
	out->peak_epoch = atomic_load_explicit(&g.peak_epoch, memory_order_relaxed);
	out->sample_interval = atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed);
	out->reset_t = atomic_load_explicit(&peak.reset_t, memory_order_relaxed);
	out->live_bytes = atomic_load_explicit(&g.live_bytes, memory_order_relaxed);
}

static void stack_reset(struct hs_stack *s)
{
	struct hs_stack_half *h = hs_stacktab_half(s);

	atomic_store_explicit(&s->alloc_calls, 0, memory_order_relaxed);
	atomic_store_explicit(&s->alloc_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->free_calls, 0, memory_order_relaxed);
	atomic_store_explicit(&s->freed_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->temporary, 0, memory_order_relaxed);
	if (h) {
		atomic_store_explicit(&h->bytes, 0, memory_order_relaxed);
		atomic_store_explicit(&h->blocks, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&s->peak_bytes, 0, memory_order_relaxed);
	atomic_store_explicit(&s->peak_blocks, 0, memory_order_relaxed);
	s->written_calls = s->written_frees = 0;
}

static void reset(uint64_t sample_interval)
{
	uint32_t id, max = hs_stacktab_max_id();

	/* no fast path while the state changes */
	atomic_store(&hs_sampling.fast, HS_SAMPLE_NO_FAST);
	atomic_fetch_add(&hs_sampling.gen, 1);
	if (sample_interval && hs_stacktab_halves() < 0)
		sample_interval = 0;	/* no memory for sampling's halves: exact */
	atomic_store(&hs_sampling.interval, sample_interval);
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = id <= max ? hs_stacktab_get(id) : hs_stacktab_overflow();

		if (s)
			stack_reset(s);
	}
	atomic_store(&g.live_bytes, 0);
	atomic_store(&g.live_sel, 0);
	atomic_store(&g.live_half, 0);
	atomic_store(&g.alloc_calls, 0);
	atomic_store(&peak.sel, 0);
	atomic_store(&peak.bytes, 0);
	atomic_store(&peak.t, 0);
	update_trigger();
	atomic_store(&peak.threshold_hit, 0);
	atomic_fetch_add(&g.peak_epoch, 1);
	atomic_store(&peak.reset_t, hs_now_ns() | 1);
	while (atomic_flag_test_and_set_explicit(&tl.lock, memory_order_acquire))
		hs_cpu_relax();
	tl.n = 0;
	atomic_flag_clear_explicit(&tl.lock, memory_order_release);
	sampling_refresh();
}

void hs_tracker_reset(uint64_t sample_interval)
{
	sigset_t saved;

	/* signals held: a handler's allocation on this thread would wait for this reset */
	hs_siglock(&reset_lock, &saved);
	if (hs_threads_fence_init() < 0) {
		reset(sample_interval);	/* unsynchronized, as ever; never solo (solo_begin) */
	} else {
		atomic_store(&resetting, 1);
		if (hs_threads_fence() < 0)	/* not once registered; if so, adds go locked
						   from now (one in flight may straddle) */
			hs_tracker_solo_end();
		hs_threads_wait_uncounting();
		reset(sample_interval);
		atomic_store_explicit(&resetting, 0, memory_order_release);
	}
	hs_sigunlock(&reset_lock, &saved);
}

void hs_tracker_set_limits(uint64_t min_size, uint64_t max_size)
{
	atomic_store(&peak.min_size, min_size);
	atomic_store(&peak.max_size, max_size ? max_size : UINT64_MAX);
}

uint64_t hs_tracker_sample_interval(void)
{
	return atomic_load(&hs_sampling.interval);
}

uint32_t hs_tracker_gen(void)
{
	return atomic_load(&hs_sampling.gen) & 0xffff;
}

void hs_tracker_lock_all(void)
{
	while (atomic_flag_test_and_set_explicit(&tl.lock, memory_order_acquire))
		hs_cpu_relax();
	hs_ptrmap_lock_all();
}

void hs_tracker_unlock_all(void)
{
	hs_ptrmap_unlock_all();
	atomic_flag_clear_explicit(&tl.lock, memory_order_release);
}

void hs_tracker_atfork_child(void)
{
	if (!atomic_load(&hs_state.tracking)) {
		atomic_store(&fork_poll, 1);
		sampling_refresh();
	}
}

void hs_tracker_poll_untracked(void)
{
	struct hs_thread *t = &hs_self;

	if (t->need_control && !t->busy && !t->internal)
		need_control(t);
}
