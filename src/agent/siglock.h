/* SPDX-License-Identifier: MIT */
/*
 * A spinlock taken with every signal blocked, for state that a signal handler on the same
 * thread may also want (a handler that closes a dma-buf fd, one that calls sigaction):
 * with the signals held back, no handler can come in while its thread holds the lock.
 */
#ifndef HS_SIGLOCK_H
#define HS_SIGLOCK_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "agent.h"

static inline void hs_siglock(atomic_flag *lock, sigset_t *saved)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, saved);
	while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire))
		hs_cpu_relax();
}

static inline void hs_sigunlock(atomic_flag *lock, const sigset_t *saved)
{
	atomic_flag_clear_explicit(lock, memory_order_release);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

#endif
