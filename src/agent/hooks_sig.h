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

/* The C library's sigaction, for the agent's own use (not seen by the interposer). */
int hs_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/*
 * The program is dying of signal sig: write the recording (END reason: a fatal signal),
 * once per process (lifecycle.c; also behind the handler of crashing signals).
 */
void hs_write_on_signal(int sig);

#endif
