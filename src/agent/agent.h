/* SPDX-License-Identifier: MIT */
/*
 * What the agent's parts share: the process-wide state, the per-thread state, the real
 * allocation functions, and the few entry points the hooks call. Everything here runs
 * inside the target: see STYLE.md "Inside the target".
 */
#ifndef HS_AGENT_H
#define HS_AGENT_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind.h"

#define HS_EXPORT __attribute__((visibility("default")))
#define hs_likely(x) __builtin_expect(!!(x), 1)
#define hs_unlikely(x) __builtin_expect(!!(x), 0)

#define HS_MAX_DEPTH 256

static inline void hs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * One wait of a spin loop: spin briefly, then yield. With more threads than cores the
 * thread waited for may have been preempted, and spinning out our time slice would
 * serialize everyone behind it. `spins` starts at 0.
 */
static inline void hs_backoff(unsigned *spins)
{
	if (++*spins < 64)
		hs_cpu_relax();
	else
		sched_yield();
}

/* A spinlock taken with hs_backoff (no signals blocked: see siglock.h for that). */
static inline void hs_spin_lock(atomic_flag *lock)
{
	unsigned spins = 0;

	while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire))
		hs_backoff(&spins);
}

/* The functions the hooks forward to, found with dlsym(RTLD_NEXT, ...). */
struct hs_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	void *(*memalign)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
};
extern struct hs_real hs_real;

/* Options, read once from HEAPSCOPE_* variables at start (options.c). */
struct hs_options {
	unsigned depth;			/* HEAPSCOPE_DEPTH, frames per stack, default 64 */
	int unwind_fp;			/* HEAPSCOPE_UNWIND=fp */
	int other_stacks;		/* HEAPSCOPE_OTHER_STACKS: walks on coroutine
					   stacks and sigaltstacks (unwind.c) */
	int unwind_reuse;		/* HEAPSCOPE_UNWIND_REUSE: walks take the last
					   walk's frames where unchanged (unwind.h) */
	int solo;			/* HEAPSCOPE_SOLO: a program's one thread counts
					   without locked instructions (tracker.c) */
	int start_tracking;		/* HEAPSCOPE_START=0 loads with tracking off */
	int quiet;			/* HEAPSCOPE_QUIET=1: no messages on stderr */
	int from_run;			/* HEAPSCOPE_RUN=1: started by `heapscope run` */
	uint64_t timeline_ns;		/* HEAPSCOPE_TIMELINE_MS, heap size sampling interval */
	unsigned max_stacks;		/* HEAPSCOPE_MAX_STACKS, bound of the stack table */
	char output[1024];		/* HEAPSCOPE_OUTPUT pattern, %p = pid, %n = program */
	char session[1024];		/* HEAPSCOPE_SESSION: file listing recordings (CLI) */
	unsigned root_pid;		/* HEAPSCOPE_ROOT_PID: the process `run` started */
	uint64_t sample;		/* HEAPSCOPE_SAMPLE: mean bytes between samples, 0 exact */
	uint64_t interval_ns;		/* HEAPSCOPE_INTERVAL: periodic snapshots, 0 off */
	uint64_t threshold;		/* HEAPSCOPE_THRESHOLD: snapshot when live first exceeds */
	int checkpoint_signal;		/* HEAPSCOPE_CHECKPOINT_SIGNAL, 0 none */
	int control;			/* HEAPSCOPE_CONTROL: control socket (default on) */
	char socket_dir[512];		/* HEAPSCOPE_SOCKET_DIR, default /tmp/heapscope-UID */
	char dump[1024];		/* HEAPSCOPE_DUMP: text dump at each trigger, pattern */
	uint64_t min_stack_size;	/* BACKTRACE_MIN_SIZE: smaller blocks get no stack */
	int exit_line;			/* HEAPSCOPE_EXIT_LINE: "host peak used: ..." at exit */
	int sigusr_dumps;		/* HEAPSCOPE_SIGUSR_DUMPS: SIGUSR1/2 dump the live heap */
	int check;			/* HEAPSCOPE_CHECK: 0 off, 1 canaries, 2 guard pages */
	unsigned canary;		/* HEAPSCOPE_CANARY: bytes after each block (16) */
	uint64_t quarantine;		/* HEAPSCOPE_QUARANTINE: freed bytes kept (16M) */
	int abort_on_error;		/* HEAPSCOPE_ABORT_ON_ERROR */
	uint64_t check_interval_ns;	/* HEAPSCOPE_CHECK_INTERVAL: periodic full checks */
	uint64_t autosave_ns;		/* HEAPSCOPE_AUTOSAVE: periodic writes for crash safety */
	int crash_handler;		/* HEAPSCOPE_CRASH_HANDLER: write on fatal signals */
	int term_handler;		/* HEAPSCOPE_TERM_HANDLER: write on SIGTERM and such */
	uint64_t control_delay_ns;	/* HEAPSCOPE_CONTROL_DELAY: when the thread starts */
	int leak_check;			/* HEAPSCOPE_LEAK_CHECK: 0 none, 1 summary, 2 full */
	int scan_signal;		/* HEAPSCOPE_SCAN_SIGNAL: stops threads for a scan */
};
extern struct hs_options hs_opt;

/*
 * Per-thread state, initial-exec TLS. `internal` > 0 while the agent calls libc code that
 * may allocate: such calls pass straight through untracked. `busy` while the agent is
 * doing its bookkeeping: a nested call (a signal handler) queues its event in `pending`
 * for the outer call to finish. The queue is deep: a nested call queues whenever the
 * interrupted call holds its block's pointer-map shard, which is the rule rather than the
 * exception since shards go by page (the handler's blocks lie beside the interrupted
 * call's), and a storm of signals can run many handlers before the interrupted call goes
 * on (t1000-torture-signals overflowed 64 in about one run in three).
 */
#define HS_PENDING_MAX 1024

struct hs_pending {
	void *ptr;
	size_t size;
	struct hs_stack *stack;		/* NULL: a deferred free */
};

struct hs_thread {
	/*
	 * The sampled fast path's one compare (hs_fast_alloc): the tag of the generation
	 * sample_left was drawn for (0 before the first draw) and `internal`, as one word that
	 * equals hs_sampling.fast only when the tag is current and the agent is not inside.
	 */
	union {
		struct {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			uint32_t sample_gen;
			int internal;
#else
			int internal;
			uint32_t sample_gen;
#endif
		};
		uint64_t gate;
	};
	int busy;
	int interning;			/* inside the stack table's slow path (it may grow) */
	int ready;			/* stack bounds known */
	uintptr_t stack_lo, stack_hi;
	uintptr_t last_alloc;		/* ~address of the last block: for temporary
					   allocations; inverted so that a leak scan,
					   which reads this TLS, does not see a pointer */
	uint32_t tick;			/* allocations, for timeline sampling */
	int64_t sample_left;		/* sampling: bytes until the next sample point, or
					   until the next poll (sample_rest) */
	int64_t sample_rest;		/* sampling: the rest of the countdown after that */
	int64_t left_at_alloc;		/* sample_left when last_alloc was recorded: a
					   skipped allocation since has changed it */
	uint64_t rng;			/* sampling: generator state */
	uint64_t coin;			/* sampling: the halves' coin (sample.h) */
	int need_control;		/* 1: fork child, restart the control thread;
					   2: start the delayed control thread */
	int park;			/* a leak scan wants this thread to stop */
	int term_sig;			/* a termination signal that came during the
					   bookkeeping, delivered when it ends (hooks_sig.c) */
	struct hs_thread_rec *rec;	/* this thread in the registry (threads.c) */
	unsigned npending;
	struct hs_pending *pending;	/* HS_PENDING_MAX of them, with the registry slot
					   as the memo is; NULL without one */
	struct hs_unwind_memo *memo;	/* the last walk's frames (unwind.h): kept with the
					   registry slot, not in this TLS, whose size every
					   thread's stack pays for; NULL without a slot */
};
extern __thread struct hs_thread hs_self;

/* Process-wide state. */
struct hs_state {
	atomic_int tracking;		/* 1: hooks record; 0: they only forward */
	atomic_int initialized;
	atomic_int failed;		/* an internal failure stopped tracking */
	atomic_int finished;		/* final recording written */
	atomic_int pid;			/* this process, as of start or fork (not vfork) */
};
extern struct hs_state hs_state;

/* Resolve the real functions; 0 or -1. Safe to call again. */
int hs_real_resolve(void);

/*
 * dlsym(RTLD_NEXT, name) for a hook that finds its next definition on first use: the thread
 * is the agent's meanwhile (dlsym allocates), with the program's signals held, so that a
 * handler's allocations in that time are counted after it. In libheapscope_wrap.a, the C
 * library's allocation functions by name (nothing else has a next definition there).
 */
void *hs_next_fn(const char *name);

/*
 * hs_next_fn(name) looked up once into *slot, for a hook's next definition. The agent
 * looks them all up at start (hs_hooks_resolve, lifecycle.c): a dlsym later would reset
 * the program's dlerror() state, and would have the C library free the program's last
 * dlerror() message inside the hook, while the thread is the agent's. NULL while this
 * thread's lookup is under way (the loader may map memory meanwhile: the hook then makes
 * the system call itself) and when there is none; a name found absent is looked up again
 * at each call unless `final` (a library dlopen'ed later may bring it).
 */
#define HS_NEXT_ABSENT ((void *)(uintptr_t)1)	/* in a slot: looked up, none (final) */
void *hs_next_lookup(void **slot, const char *name, int final);

/* The hooks files' next definitions, looked up at start (lifecycle.c; shared builds). */
void hs_fd_hooks_resolve(void);
void hs_cxx_hooks_resolve(void);

static inline void *hs_next_cached(void **slot, const char *name, int final)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (hs_likely(fn))
		return fn == HS_NEXT_ABSENT ? NULL : fn;
	return hs_next_lookup(slot, name, final);
}
/* Bootstrap allocator for calls made while resolving (realfns.c). */
void *hs_bootstrap_alloc(size_t size, size_t align);
#define HS_BOOTSTRAP_SIZE (256 * 1024)
extern unsigned char hs_bootstrap[HS_BOOTSTRAP_SIZE];

/* Whether p came from the bootstrap allocator: one compare, on every free. */
static inline int hs_bootstrap_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)hs_bootstrap < HS_BOOTSTRAP_SIZE;
}
size_t hs_bootstrap_size(const void *p);
/* Mark the granules of the bootstrap blocks in sampling's filter (realfns.c): at start. */
void hs_bootstrap_pin(void);

/* Start the agent if not done yet (lifecycle.c). Called from the hooks. */
void hs_init(void);

/* pthread_create for the agent's own thread: the program stays one-threaded (tracker.c). */
int hs_agent_thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			   void *arg);

/* Stop tracking for good after an internal failure; says so once on stderr. */
void hs_fail(const char *what);

/* One line on stderr with write(2), prefixed "heapscope: ", unless quiet. */
void hs_say(const char *msg);

/* Up to cap bytes of a small file (/proc), without stdio; the bytes read, 0 if none. */
int hs_read_small_file(const char *path, char *buf, size_t cap);

/*
 * Write buf[0..n) to fd (the program's stderr, a dump file), all of it unless an error
 * stops it: 0 or an errno value. A closed pipe gives EPIPE without raising SIGPIPE in the
 * program; errno is left as it was. Async-signal-safe.
 */
int hs_write_out(int fd, const void *buf, size_t n);

void hs_options_load(void);

/*
 * The accounting's entry for a new block (tracker.c), where errno is the caller's to keep
 * (realloc, check mode): records block p with the caller's stack (ra = the hook's return
 * address) and returns that stack (NULL when the block was not recorded: filtered, not
 * sampled). The hooks' own entries are hs_hook_track_alloc and hs_hook_track_free below.
 */
struct hs_stack *hs_track_alloc(void *p, size_t size, unsigned kind, uintptr_t ra);
/* realloc: forget `old` before the real call; give it back if the call failed. */
struct hs_block_info {
	int found;
	size_t size;
	struct hs_stack *stack;
	int halves;	/* sampling: the halves of the samples it is in (tracker.c) */
	uintptr_t addr;	/* where it was: its sampling weights depend on it */
};
/*
 * Returns 1 when the forgetting had to wait in the thread's queue (a signal handler that
 * interrupted the bookkeeping, p's shard taken): p must then not go back to the allocator
 * before the queue is drained, or a block given its address meanwhile (by any thread)
 * would be the one forgotten; hs_track_free_later hands it back after the forgetting.
 */
int hs_track_forget(void *p, struct hs_block_info *out);
void hs_track_free_later(void *p);
void hs_track_retire_later(void *p);	/* check mode's: hs_check_retire after it */
void hs_track_restore(void *p, const struct hs_block_info *info);
/*
 * Whether p is a block the pointer map holds (any generation): 1 or 0; -1 where it cannot
 * be told without waiting: in a signal handler that interrupted its own thread inside the
 * bookkeeping, when p's shard is locked (perhaps by the interrupted code) and the thread's
 * queue of nested events says nothing of p.
 */
int hs_track_is_live(void *p);

/*
 * Inside the bookkeeping for code outside tracker.c that takes map locks (check mode's
 * walk over every block): signal handlers that interrupt it queue their calls. enter
 * returns whether it entered (0: the thread already was inside); leave takes that.
 */
int hs_tracker_enter(void);
void hs_tracker_leave(int entered);
void hs_track_account_free(const struct hs_block_info *info);

/*
 * Sampling's fast path, shared by the hooks and the tracker: the interval (0: exact), the
 * tracking generation, and a counting filter of sampled addresses so that most frees need
 * no map lookup. Written by tracker.c.
 */
#define HS_FILTER_BITS 16

struct hs_sampling {
	_Atomic uint64_t interval;
	_Atomic uint32_t gen;
	/* the hooks' one test: hs_sample_tag(gen) while tracking and sampling, without check
	   mode; HS_FAST_TRACKING_OFF while not tracking; HS_SAMPLE_NO_FAST otherwise
	   (hs_tracking_set and the tracker keep it so) */
	_Atomic uint32_t fast;
	_Atomic uint16_t *filter;
};

/* What a thread's countdown is tagged with, for generation gen: odd, never 0. */
static inline uint32_t hs_sample_tag(uint32_t gen)
{
	return gen * 2 + 1;
}

/* hs_sampling.fast when the fast path is off: no thread's tag (0 before its first draw). */
#define HS_SAMPLE_NO_FAST 2u
/* hs_sampling.fast while tracking is off (not in check mode): every hooked call forwards. */
#define HS_FAST_TRACKING_OFF 4u

/* Turn tracking on or off (every change goes through here: it keeps hs_sampling.fast). */
void hs_tracking_set(int on);
extern struct hs_sampling hs_sampling;

/*
 * A slot per 4 KiB granule, taken straight from the address (it wraps every 256 MiB): the
 * frees of neighbouring blocks read the same cache line of the filter, where a hashed index
 * made nearly every free a cache miss (the miss was most of a sampled free's cost). With
 * 256-byte granules a 10 MB heap spread its frees over 80 KB of filter, still a miss to
 * L2 per free (36% of the sampled free's time in perf on python3); at 4 KiB it is 5 KB.
 * A sampled block sends the other frees in its granule, and in granules 256 MiB apart, to
 * the map: a 10 MB heap holds about 20 sample points at 512 KiB, so 80 KB of it is sent.
 */
#define HS_FILTER_GRANULE 12

static inline _Atomic uint16_t *hs_sample_filter_slot(uintptr_t p)
{
	return &hs_sampling.filter[(p >> HS_FILTER_GRANULE) & ((1u << HS_FILTER_BITS) - 1)];
}

/*
 * Start the delayed control thread if it is due (control.c): the allocation path's check,
 * for calls that sampling lets through without the tracker. Not while busy.
 */
void hs_control_poll(void);

/*
 * The countdown of a thread whose tag is current: 1 when an allocation of `size` is not a
 * sample point (the bytes are taken off), 0 when it may be: the tracker then decides
 * (sample_rest), polls the control thread's start and draws the next countdown. Nothing
 * else is written: a free asks whether the countdown moved since its block (left_at_alloc)
 * instead of every skipped call clearing last_alloc.
 */
static inline int hs_sample_take(struct hs_thread *t, size_t size)
{
	if (t->sample_left <= (int64_t)size)
		return 0;
	t->sample_left -= (int64_t)size;
	return 1;
}

/*
 * 1 when sampling is on and an allocation of `size` is not a sample point: the countdown
 * is taken and there is nothing else to do. 0: let the tracker decide (it also draws the
 * countdown when it runs out). Inline so that the hooks skip the call.
 */
static inline int hs_sample_skip(size_t size)
{
	struct hs_thread *t = &hs_self;

	if (!atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed) ||
	    t->sample_gen != hs_sample_tag(atomic_load_explicit(&hs_sampling.gen,
								 memory_order_relaxed)))
		return 0;
	return hs_sample_take(t, size);
}

/* 1 when sampling is on and p was certainly never sampled: free it without the tracker. */
static inline int hs_sample_free_skip(void *p)
{
	return atomic_load_explicit(&hs_sampling.interval, memory_order_relaxed) &&
	       !atomic_load_explicit(hs_sample_filter_slot((uintptr_t)p), memory_order_relaxed);
}

/*
 * The hooks' calls into the tracker, out of line, keeping errno (tracker.c):
 * hs_hook_track_alloc is hs_track_alloc returning p; hs_hook_track_free forgets p and
 * returns 1 when the hook must free it now, 0 when the agent did (a tracked block: the real
 * free runs while its stack's counters load) or will (a nested call in a signal handler,
 * queued).
 */
void *hs_hook_track_alloc(void *p, size_t size, unsigned kind, uintptr_t ra);
int hs_hook_track_free(void *p);

/* Thread-state helpers. */
static inline int hs_should_track(void)
{
	return atomic_load_explicit(&hs_state.tracking, memory_order_relaxed) &&
	       !hs_self.internal;
}

/*
 * Sampling's fast paths, decided before the real call so that a hook whose call is no
 * sample point only forwards it: a tail call, with no frame of its own and nothing to do
 * after (the hooks' slow paths decide again and do everything else). Sampling on (so the
 * agent has started and the real functions are known), no check mode, and then:
 * an allocation of `size` that the countdown skips, by a thread the agent tracks, or any
 * allocation while tracking is off;
 */
static inline int hs_fast_alloc(size_t size)
{
	struct hs_thread *t = &hs_self;
	uint32_t fast = atomic_load_explicit(&hs_sampling.fast, memory_order_relaxed);

	if (fast == HS_FAST_TRACKING_OFF)
		return 1;	/* stopped tracking costs next to nothing */
	return t->gate == fast && hs_sample_take(t, size);
}

/*
 * a block that was never sampled (free(NULL) included), or any block while tracking is
 * off; not the bootstrap allocator's.
 */
static inline int hs_fast_free(void *p)
{
	uint32_t fast = atomic_load_explicit(&hs_sampling.fast, memory_order_relaxed);

	/* a tag (odd) says sampling without check mode: the filter is all there is to ask
	   (the bootstrap allocator's granules hold a count of their own: realfns.c) */
	if (hs_likely(fast & 1))
		return !atomic_load_explicit(hs_sample_filter_slot((uintptr_t)p),
					     memory_order_relaxed);
	return fast == HS_FAST_TRACKING_OFF && !hs_bootstrap_owns(p);
}

#endif
