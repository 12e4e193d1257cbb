/* SPDX-License-Identifier: MIT */
/*
 * The agent's own descriptors live above the program's: a descriptor it opens is moved to
 * HS_HIGH_FD or above, so that the program's close(0); open(...) or dup2 idioms rarely meet
 * it. Async-signal-safe.
 */
#ifndef HS_FDMOVE_H
#define HS_FDMOVE_H

#define HS_HIGH_FD 900

/*
 * Move fd (just opened by the agent) to a descriptor >= HS_HIGH_FD, close-on-exec; returns
 * the new one, or fd itself when there is no room up there. The low one is closed only if
 * it still is ours: the program may have dup2'd over it in the meantime. Returns -1 when
 * the number stopped being ours before we could move it (nothing is closed then).
 */
int hs_fd_move_high(int fd);

#endif
