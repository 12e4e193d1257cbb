// SPDX-License-Identifier: MIT
/*
 * Thread registry and stop-the-world (see threads.h). Registration never allocates from
 * the program's heap (pthread_getattr_np may, under the internal guard). The stop signal's
 * handler is installed only for the length of a scan, and the program's own handler for
 * that signal is put back afterwards. Parked threads wait on a futex.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "threads.h"
#include "tracker.h"
#include "unwind.h"

#define MAX_THREADS 4096
#define STOP_WAIT_MS 500

enum { RUNNING, REQUESTED, PARKED };

static struct hs_thread_rec recs[MAX_THREADS];
static atomic_uint nrecs;		/* slots ever used */
static atomic_int resume_word;
static size_t static_tls_size;
static struct sigaction saved_action;

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static uintptr_t thread_pointer(void)
{
	uintptr_t tp = 0;

#if defined(__x86_64__)
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#elif defined(__arm__)
	__asm__("mrc p15, 0, %0, c13, c0, 3" : "=r"(tp));
#endif
	return tp;
}

static int alive(pid_t tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) == 0;
}

/*
 * Take slot i from a dead thread: its tid is read only once the slot is whole (used 1),
 * and is the same once taken. A tid read while another thread was registering there (0)
 * looked dead, and the slot, whole by the time of the exchange, was then taken from a live
 * thread: two threads shared its queue of nested events and its memo (t1000-torture-
 * signals: a leak counted freed, an allocation counted twice, a few runs in a hundred).
 */
static int take_dead(unsigned i)
{
	int expected = 1;
	pid_t old;

	if (atomic_load(&recs[i].used) != 1)
		return 0;
	old = recs[i].tid;
	if (alive(old) || !atomic_compare_exchange_strong(&recs[i].used, &expected, 2))
		return 0;
	if (recs[i].tid == old)
		return 1;
	atomic_store(&recs[i].used, 1);	/* registered again meanwhile: not ours */
	return 0;
}

/* A slot for tid: its old one (tid reuse), a free one, or one of a dead thread. */
static struct hs_thread_rec *slot_for(pid_t tid)
{
	unsigned i, n = atomic_load(&nrecs);

	for (i = 0; i < n; i++)
		if (atomic_load(&recs[i].used) == 1 && recs[i].tid == tid)
			return &recs[i];
	for (i = 0; i < MAX_THREADS; i++) {
		int expected = 0;

		if (atomic_compare_exchange_strong(&recs[i].used, &expected, 2)) {
			unsigned want = i + 1, cur = atomic_load(&nrecs);

			while (cur < want && !atomic_compare_exchange_weak(&nrecs, &cur, want))
				;
			return &recs[i];
		}
		if (i < n && take_dead(i))
			return &recs[i];
	}
	return NULL;
}

void hs_threads_init(void)
{
	void (*info)(size_t *, size_t *);
	size_t align = 0;

	if (static_tls_size)
		return;
	info = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
	if (info)
		info(&static_tls_size, &align);
	if (!static_tls_size)
		static_tls_size = 16384;
}

void hs_threads_register(struct hs_thread *t)
{
	struct hs_thread_rec *r;
	pthread_attr_t attr;
	sigset_t all, old;
	void *addr;
	size_t size;

	/*
	 * Signals wait meanwhile: a handler's allocations while this thread is marked internal
	 * would pass through uncounted.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (!t->internal && my_tid() != getpid())
		hs_tracker_solo_end();	/* a program thread the pthread_create hook missed */
	t->ready = 1;
	t->internal++;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			t->stack_lo = (uintptr_t)addr;
			t->stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	r = slot_for(my_tid());
	if (r) {
		/*
		 * Not in the thread's TLS: glibc puts static TLS on every thread's stack, and
		 * threads with PTHREAD_STACK_MIN stacks had 6.8 KB less of it (t1000-torture-
		 * smallstack).
		 */
		if (!r->memo)	/* published whole: hs_threads_unwind_counts reads it */
			__atomic_store_n(&r->memo, hs_arena_alloc(sizeof(*r->memo), 64),
					 __ATOMIC_RELEASE);
		if (!r->pending)
			r->pending = hs_arena_alloc(sizeof(*r->pending) * HS_PENDING_MAX, 8);
		if (r->memo) {	/* a dead thread's: emptied, untaken (it may have died in one) */
			r->memo->n = 0;
			r->memo->note = NULL;
			r->memo->busy = 0;
		}
		t->memo = r->memo;
		t->pending = r->pending;
		r->tid = my_tid();
		atomic_store(&r->counting, 0);
		r->agent = 0;
		r->stack_lo = t->stack_lo;
		r->stack_hi = t->stack_hi;
		r->tp = thread_pointer();
		atomic_store(&r->state, RUNNING);
		atomic_store(&r->used, 1);
		t->rec = r;
	}
	t->internal--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void hs_threads_atfork_child(void)
{
	/*
	 * The forking thread has a new tid in the child, where its old one names no thread:
	 * its slot (its stack for scans, its memo) would look free to the child's next thread.
	 */
	if (hs_self.rec)
		hs_self.rec->tid = my_tid();
}

void hs_threads_mark_agent(void)
{
	if (!hs_self.ready)
		hs_threads_register(&hs_self);
	if (hs_self.rec)
		hs_self.rec->agent = 1;
}

static void futex_wait(atomic_int *word, int val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(atomic_int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static void park(struct hs_thread_rec *r)
{
	atomic_store(&r->state, PARKED);
	while (!atomic_load(&resume_word))
		futex_wait(&resume_word, 0);
	atomic_store(&r->state, RUNNING);
}

static void save_regs(struct hs_thread_rec *r, const ucontext_t *uc)
{
#if defined(__x86_64__)
	unsigned i, n = NGREG < HS_MAX_REGS ? NGREG : HS_MAX_REGS;

	for (i = 0; i < n; i++)
		r->regs[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
	r->nregs = n;
	r->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] - 128;	/* the red zone */
#elif defined(__aarch64__)
	/* x7..x30: the callee-saved x19-x28, fp and lr, and the temporaries below them. */
	unsigned i, first = 31 - HS_MAX_REGS;

	for (i = 0; i < HS_MAX_REGS; i++)
		r->regs[i] = (uintptr_t)uc->uc_mcontext.regs[first + i];
	r->nregs = HS_MAX_REGS;
	r->sp = (uintptr_t)uc->uc_mcontext.sp;	/* no red zone */
#elif defined(__arm__)
	const unsigned long *g = &uc->uc_mcontext.arm_r0;	/* r0..r12, sp, lr in a row */
	unsigned i;

	for (i = 0; i < 15 && i < HS_MAX_REGS; i++)
		r->regs[i] = (uintptr_t)g[i];
	r->nregs = i;
	r->sp = (uintptr_t)uc->uc_mcontext.arm_sp;
#else
	(void)uc;
	r->nregs = 0;
	r->sp = (uintptr_t)__builtin_frame_address(0);
#endif
}

static void park_handler(int sig, siginfo_t *si, void *ucv)
{
	struct hs_thread_rec *r = hs_self.rec;
	int saved = errno;

	if (!r || atomic_load(&r->state) != REQUESTED)
		return;
	save_regs(r, ucv);
	if (hs_self.busy)
		hs_self.park = 1;	/* it may hold a lock of the agent: park when done */
	else
		park(r);
	errno = saved;
}

void hs_threads_park_if_asked(void)
{
	struct hs_thread_rec *r = hs_self.rec;

	hs_self.park = 0;
	if (!r || atomic_load(&r->state) != REQUESTED)
		return;
	r->nregs = 0;
	r->sp = (uintptr_t)__builtin_frame_address(0);
	park(r);
}

#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#endif

static void sleep_ms(long ms);

static int membarrier(int cmd)
{
#ifdef SYS_membarrier
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
#else
	(void)cmd;
	errno = ENOSYS;
	return -1;
#endif
}

int hs_threads_fence_init(void)
{
	static atomic_int state;	/* 0 unknown, 1 registered, -1 unavailable */
	int s = atomic_load(&state);

	if (!s) {
		s = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 ? 1 : -1;
		atomic_store(&state, s);
	}
	return s > 0 ? 0 : -1;
}

int hs_threads_fence(void)
{
	return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

void hs_threads_wait_uncounting(void)
{
	unsigned i, n = atomic_load(&nrecs);
	pid_t self = my_tid();

	for (i = 0; i < n; i++) {
		struct hs_thread_rec *r = &recs[i];
		unsigned spins = 0;

		if (r->tid == self)
			continue;
		/* a thread that died in the bookkeeping (or a parent's, in a forked child)
		   never leaves it: asked whether it lives now and then, and waited 1 s at most */
		while (atomic_load_explicit(&r->counting, memory_order_acquire) &&
		       atomic_load(&r->used) == 1 && spins < 64 + 1000 &&
		       (spins < 64 || spins % 100 || alive(r->tid)))
			if (++spins < 64)
				hs_cpu_relax();
			else
				sleep_ms(1);
	}
}

void hs_threads_unwind_counts(struct hs_unwind_counts *c)
{
	unsigned i, n = atomic_load(&nrecs);

	memset(c, 0, sizeof(*c));
	hs_unwind_stats(c);
	for (i = 0; i < n; i++) {
		const struct hs_unwind_memo *m = __atomic_load_n(&recs[i].memo, __ATOMIC_ACQUIRE);

		if (m)
			hs_unwind_memo_counts(m, c);
	}
}

static int scan_signal(void)
{
	return hs_opt.scan_signal ? hs_opt.scan_signal : SIGRTMAX - 3;
}

static unsigned request_all(pid_t self)
{
	unsigned i, n = atomic_load(&nrecs), asked = 0;

	for (i = 0; i < n; i++) {
		struct hs_thread_rec *r = &recs[i];

		if (atomic_load(&r->used) != 1 || r->agent || r->tid == self)
			continue;
		if (!alive(r->tid)) {
			atomic_store(&r->used, 0);
			continue;
		}
		atomic_store(&r->state, REQUESTED);
		if (syscall(SYS_tgkill, getpid(), r->tid, scan_signal()) == 0)
			asked++;
		else
			atomic_store(&r->state, RUNNING);
	}
	return asked;
}

static unsigned count_state(int state)
{
	unsigned i, n = atomic_load(&nrecs), c = 0;

	for (i = 0; i < n; i++)
		if (atomic_load(&recs[i].used) == 1 && atomic_load(&recs[i].state) == state)
			c++;
	return c;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

int hs_threads_stop(struct hs_world *w)
{
	struct sigaction sa;
	unsigned asked, waited;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = park_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	atomic_store(&resume_word, 0);
	if (sigaction(scan_signal(), &sa, &saved_action) < 0)
		return -errno;
	asked = request_all(my_tid());
	for (waited = 0; count_state(PARKED) < asked && waited < STOP_WAIT_MS; waited++)
		sleep_ms(1);
	w->stopped = count_state(PARKED);
	w->missed = asked - w->stopped;
	return 0;
}

void hs_threads_resume(void)
{
	unsigned waited;

	atomic_store(&resume_word, 1);
	futex_wake_all(&resume_word);
	for (waited = 0; count_state(PARKED) && waited < STOP_WAIT_MS; waited++)
		sleep_ms(1);
	/* Threads asked but never parked: they must not park later. */
	for (unsigned i = 0; i < atomic_load(&nrecs); i++) {
		int expected = REQUESTED;

		atomic_compare_exchange_strong(&recs[i].state, &expected, RUNNING);
	}
	sigaction(scan_signal(), &saved_action, NULL);
}

void hs_threads_foreach_stopped(void (*fn)(const struct hs_thread_rec *, int, void *), void *arg)
{
	unsigned i, n = atomic_load(&nrecs);
	struct hs_thread_rec self;

	for (i = 0; i < n; i++)
		if (atomic_load(&recs[i].used) == 1 && atomic_load(&recs[i].state) == PARKED)
			fn(&recs[i], 0, arg);
	if (!hs_self.rec || hs_self.rec->agent)
		return;
	memset(&self, 0, sizeof(self));
	self.tid = my_tid();
	self.stack_lo = hs_self.rec->stack_lo;
	self.stack_hi = hs_self.rec->stack_hi;
	self.tp = hs_self.rec->tp;
	self.sp = (uintptr_t)__builtin_frame_address(0);
	fn(&self, 1, arg);
}

void hs_threads_tls_range(uintptr_t tp, uintptr_t *lo, uintptr_t *hi)
{
#if defined(__x86_64__) || defined(__i386__)
	*lo = tp - static_tls_size;	/* TLS blocks below the thread pointer */
	*hi = tp + 2560;		/* and the thread descriptor above it */
#else
	*lo = tp - 2560;
	*hi = tp + static_tls_size;
#endif
}
