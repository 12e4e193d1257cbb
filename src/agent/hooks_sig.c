// SPDX-License-Identifier: MIT
/*
 * Termination signals left at their default action (SIGHUP, SIGINT, SIGQUIT, SIGTERM,
 * SIGPIPE, SIGALRM): without the agent, the program dies of one and its recording holds
 * only what the last autosave wrote, nothing at all in its first seconds (a daemon stopped
 * by its init script, Ctrl-C on `heapscope run`). So the agent handles those itself: its
 * handler writes the recording, then the signal's default action happens as it would
 * have (the process dies of the same signal, core dump included for SIGQUIT).
 *
 * The program never sees that handler. sigaction() and signal() are interposed: asking for
 * such a signal's action gives what the program last set, SIG_DFL at first; setting its
 * own handler or SIG_IGN installs that for real and the agent steps aside; setting SIG_DFL
 * again brings the agent's handler back. A change made around the interposer (glibc's own
 * calls, a raw system call) is seen at the next interposed call on that signal, and the
 * agent steps aside. HEAPSCOPE_TERM_HANDLER=0 turns all of it off. Shared builds only
 * (libheapscope_wrap.a interposes the allocator alone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "agent.h"
#include "hooks_sig.h"
#include "siglock.h"

static const int term_sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM };

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static struct {
	sigaction_fn real;
	atomic_flag lock;		/* the state below, between threads */
	atomic_int ours[NSIG];		/* 1: the agent's handler is the real one */
	struct sigaction prog[NSIG];	/* while ours: what the program believes is set */
} S;

/* Looked up at the agent's start too (hs_hooks_resolve). */
static sigaction_fn real_sigaction(void)
{
	return (sigaction_fn)hs_next_cached((void **)&S.real, "sigaction", 1);
}

void hs_sig_hooks_resolve(void)
{
	(void)real_sigaction();
}

int hs_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn fn = real_sigaction();

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(sig, act, old);
}

static int is_term_sig(int sig)
{
	for (unsigned i = 0; i < sizeof(term_sigs) / sizeof(term_sigs[0]); i++)
		if (term_sigs[i] == sig)
			return 1;
	return 0;
}

static void on_term_signal(int sig, siginfo_t *si, void *uc);

static int install_ours(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_term_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	return hs_sigaction(sig, &sa, NULL);
}

/* Whether the real action of sig is still the agent's handler. */
static int still_ours(int sig)
{
	struct sigaction cur;

	return hs_sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == on_term_signal;
}

/* The recording (unless `write` is 0), then the default action of sig. */
static void die_of(int sig, int write)
{
	struct sigaction dfl;
	sigset_t set;

	if (write)
		hs_write_on_signal(sig);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	atomic_store(&S.ours[sig], 0);
	hs_sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

void hs_term_deliver(int sig)
{
	int saved = errno;

	if (atomic_load(&S.ours[sig]))	/* still the default's to take */
		die_of(sig, 1);
	else
		raise(sig);	/* the program took the signal over meanwhile: its own now */
	errno = saved;
}

/*
 * The handler: the recording first, then the default action, by raising the signal again
 * with it restored. A thread interrupted inside the tracker's bookkeeping may hold the
 * locks the writer needs: the signal waits for the bookkeeping to end (a few hundred
 * nanoseconds; tracker.c calls hs_term_deliver). Elsewhere inside the agent (its own
 * calls into the C library, the stack table's slow path, the writer) the process dies
 * without writing, with what autosave wrote.
 */
static void on_term_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)si;
	(void)uc;
	if (hs_self.busy && !hs_self.internal && !hs_self.interning) {
		hs_self.term_sig = sig;
		errno = saved;
		return;
	}
	die_of(sig, !hs_self.internal && !hs_self.interning);
	errno = saved;
}

void hs_term_handlers_install(void)
{
	struct sigaction cur;

	for (unsigned i = 0; i < sizeof(term_sigs) / sizeof(term_sigs[0]); i++) {
		int sig = term_sigs[i];

		if (sig == hs_opt.checkpoint_signal)
			continue;	/* the agent's own */
		if (hs_sigaction(sig, NULL, &cur) < 0 || cur.sa_handler != SIG_DFL ||
		    (cur.sa_flags & SA_SIGINFO))
			continue;	/* the program's, or ignored from the start (nohup) */
		S.prog[sig] = cur;
		if (install_ours(sig) == 0)
			atomic_store(&S.ours[sig], 1);
	}
}

HS_EXPORT int sigaction(int sig, const struct sigaction *act_in, struct sigaction *old)
{
	struct sigaction prev, copy, *act = NULL;
	sigset_t saved;
	int ret = 0;

	if (sig <= 0 || sig >= NSIG || !hs_opt.term_handler || !is_term_sig(sig) ||
	    sig == hs_opt.checkpoint_signal || hs_self.internal)
		return hs_sigaction(sig, act_in, old);
	if (act_in) {
		copy = *act_in;	/* old may be the same memory */
		act = &copy;
	}
	hs_siglock(&S.lock, &saved);
	if (atomic_load(&S.ours[sig]) && !still_ours(sig))
		atomic_store(&S.ours[sig], 0);	/* changed around us: step aside */
	if (!atomic_load(&S.ours[sig])) {
		/* the program's own action is the real one; SIG_DFL brings ours back */
		ret = hs_sigaction(sig, act && act->sa_handler == SIG_DFL ? NULL : act, old);
		if (ret == 0 && act && act->sa_handler == SIG_DFL) {
			prev = *act;
			if (install_ours(sig) == 0) {
				S.prog[sig] = prev;
				atomic_store(&S.ours[sig], 1);
			} else {
				ret = hs_sigaction(sig, act, NULL);
			}
		}
		hs_sigunlock(&S.lock, &saved);
		return ret;
	}
	prev = S.prog[sig];
	if (act && act->sa_handler != SIG_DFL) {
		ret = hs_sigaction(sig, act, NULL);
		if (ret == 0)
			atomic_store(&S.ours[sig], 0);
	} else if (act) {
		S.prog[sig] = *act;
	}
	if (ret == 0 && old)
		*old = prev;
	hs_sigunlock(&S.lock, &saved);
	return ret;
}

/* signal() and its variants, as glibc builds them, through the interposed sigaction. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags, int mask_self)
{
	struct sigaction act, old;

	if (h == SIG_ERR || sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = h;
	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

HS_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART, 1);	/* BSD semantics, glibc's default */
}

HS_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESTART, 1);
}

HS_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, (int)(SA_RESETHAND | SA_NODEFER), 0);
}

HS_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, (int)(SA_RESETHAND | SA_NODEFER), 0);
}
