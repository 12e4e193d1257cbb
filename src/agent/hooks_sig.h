/* SPDX-License-Identifier: MIT */
/*
 * The agent's handler for termination signals the program leaves at their default action,
 * and the interposed sigaction() and signal() that keep it out of the program's sight
 * (hooks_sig.c). Shared builds only.
 */
#ifndef HS_HOOKS_SIG_H
#define HS_HOOKS_SIG_H

#include <signal.h>

/* At start (HEAPSCOPE_TERM_HANDLER): take over the termination signals left at SIG_DFL. */
void hs_term_handlers_install(void);

/*
 * A termination signal the agent's handler deferred because it came while its thread was
 * in the bookkeeping (whose locks the recording's writer needs): write the recording, then
 * the signal's default action, as the handler would have. Called by the tracker once the
 * bookkeeping ends. Weak: absent from the static wrap library, which has no such handler.
 */
void hs_term_deliver(int sig) __attribute__((weak));

/* Look the C library's sigaction up now (at the agent's start: agent.h, hs_next_cached). */
void hs_sig_hooks_resolve(void);

/* The C library's sigaction, for the agent's own use (not seen by the interposer). */
int hs_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/*
 * The program is dying of signal sig: write the recording (END reason: a fatal signal),
 * once per process (lifecycle.c; also behind the handler of crashing signals).
 */
void hs_write_on_signal(int sig);

#endif
