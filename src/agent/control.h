/* SPDX-License-Identifier: MIT */
/*
 * The agent's control thread: it serves the per-process control socket (`heapscope ctl`,
 * `heapscope top`, `heapscope ps`), writes periodic snapshots, and acts on requests raised
 * where writing is not allowed (signal handlers, the allocation path). It blocks every
 * signal, and everything it does is the agent's own work (untracked).
 */
#ifndef HS_CONTROL_H
#define HS_CONTROL_H

enum hs_request {
	HS_REQ_CHECKPOINT = 1,		/* the checkpoint signal arrived */
	HS_REQ_THRESHOLD = 2,		/* the live heap passed HEAPSCOPE_THRESHOLD */
	HS_REQ_DUMP_BY_BYTES = 4,	/* SIGUSR1 */
	HS_REQ_DUMP_BY_BLOCKS = 8,	/* SIGUSR2 */
};

/* Start the thread (and socket, signal handlers) as the options ask. 0 or -errno. */
int hs_control_start(void);

/* Ask the thread to act soon. Async-signal-safe. */
void hs_control_request(unsigned req);

/* Whether the delayed thread should start now (from the allocation path; cheap). */
int hs_control_due(uint64_t now);

/* Whether a delayed start is still to come (sampling's countdown then polls: tracker.c). */
int hs_control_pending(void);

/*
 * The program stopped tracking (jhook_stop, jhook_uninit): the allocation path, which
 * starts a delayed control thread, no longer runs, so start it now if it is still to come.
 * Normal context only (it may create the thread).
 */
void hs_control_tracking_off(void);

/* Start it (from the allocation path, outside the agent's bookkeeping). */
void hs_control_start_late(void);

/* In a forked child, on its first tracked call: a thread and socket of its own. */
void hs_control_after_fork(void);

/* Serve pending requests now, from the calling thread (before the final snapshot). */
void hs_control_flush(void);

/* The process ends: remove the socket. */
void hs_control_stop(void);

/* Run one control command (a line) and write the answer into out; for tests and gdb. */
void hs_control_command(const char *line, char *out, unsigned cap);

#endif
