/* SPDX-License-Identifier: MIT */
/*
 * The registry of the target's threads, and stopping them for a leak scan. A thread is
 * registered when it starts (pthread_create is hooked; the thread that starts the agent,
 * then) or first allocates: its stack bounds
 * and thread pointer. To stop the world, the scanning thread sends each other registered,
 * living thread a signal whose handler saves its registers and waits until released; a
 * thread inside the agent's own bookkeeping parks as soon as it leaves it, so a parked
 * thread never holds a lock of the agent.
 */
#ifndef HS_THREADS_H
#define HS_THREADS_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

struct hs_thread;

#define HS_MAX_REGS 24

struct hs_thread_rec {
	atomic_int used;
	pid_t tid;
	int agent;			/* the agent's own thread: never scanned */
	uintptr_t stack_lo, stack_hi;
	uintptr_t tp;			/* thread pointer: static TLS lies around it */
	atomic_int state;		/* enum in threads.c */
	uintptr_t sp;			/* saved when parked */
	uintptr_t regs[HS_MAX_REGS];
	unsigned nregs;
	struct hs_unwind_memo *memo;	/* the unwinder's memo of the slot's thread, and */
	struct hs_pending *pending;	/* its queue (agent.h): made with the slot and
					   kept for its next thread */
	atomic_int counting;		/* in the tracker's bookkeeping (a reset waits) */
};

/*
 * At the agent's start: what registering needs from the dynamic loader (the static TLS
 * size, by dlsym), so that no registration calls it. A thread's first sample point can lie
 * inside the C library's dlerror() bookkeeping, and a dlsym there frees the program's
 * pending result under it (t1000-torture-dlopen, sampled: glibc's heap corrupted).
 */
void hs_threads_init(void);

/* Register the calling thread (bounds, tid, thread pointer); sets t->rec. */
void hs_threads_register(struct hs_thread *t);

/* In a forked child: the calling thread keeps its slot under its new tid. */
void hs_threads_atfork_child(void);

/* Mark the calling thread as the agent's (not a program thread). */
void hs_threads_mark_agent(void);

/* Park here if a scan asked this thread to stop while it was busy (the hooks call it). */
void hs_threads_park_if_asked(void);

struct hs_world {
	unsigned stopped;		/* threads parked */
	unsigned missed;		/* living threads that did not stop in time */
};

/*
 * Stop every other registered living thread (not the agent's). Returns 0; w says how many
 * stopped and how many did not. The caller must not allocate until hs_threads_resume().
 */
int hs_threads_stop(struct hs_world *w);
void hs_threads_resume(void);

/* Call fn for each parked thread and then for the caller (self = 1, sp = its current
 * stack pointer, regs = its callee-saved registers). */
void hs_threads_foreach_stopped(void (*fn)(const struct hs_thread_rec *r, int self, void *arg),
				void *arg);

/*
 * Counter resets (tracker.c) without stopping anyone: after the resetter's flag is set,
 * hs_threads_fence() makes every thread's earlier stores visible and orders its later loads
 * (membarrier), so that a thread entering the bookkeeping either sees the flag or is seen
 * in it (`counting`); hs_threads_wait_uncounting() then waits until the others are out.
 * hs_threads_fence_init() registers for it: 0, or -1 where the kernel has no membarrier.
 */
int hs_threads_fence_init(void);
int hs_threads_fence(void);
void hs_threads_wait_uncounting(void);

struct hs_unwind_counts;

/* What the process's stack walks did so far: every slot's memo's and those without one. */
void hs_threads_unwind_counts(struct hs_unwind_counts *c);

/* [lo, hi) of the static TLS around a thread pointer, as far as known. */
void hs_threads_tls_range(uintptr_t tp, uintptr_t *lo, uintptr_t *hi);

#endif
