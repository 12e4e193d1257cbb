/* SPDX-License-Identifier: MIT */
/*
 * A progress line for long CLI work (reading a big recording, symbolizing and writing its
 * stacks): one line on standard error, redrawn in place with '\r' at most ten times a
 * second ("heapscope: reading x.hsr  45%"), and erased when the work ends. Only when
 * standard error is a terminal; otherwise every call does nothing. Nothing is drawn during
 * the first quarter second, so quick work leaves no trace on the terminal.
 *
 * Reading a recording happens inside the reader, which has no callback: a watcher thread
 * follows the file position of the reader's descriptor (/proc/self/fdinfo) instead. Other
 * work calls hs_progress_set() itself; the drawing is rate-limited here, so callers may call
 * it for every item.
 */
#ifndef HS_CLI_PROGRESS_H
#define HS_CLI_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct hs_progress {
	int on;			/* standard error is a terminal */
	const char *what;	/* the phase shown, e.g. "symbolizing stacks" */
	uint64_t start_ns;	/* when the phase started */
	uint64_t next_ns;	/* not before this time: the next redraw */
	size_t shown;		/* characters of the line on the terminal, 0: none */
	unsigned percent;	/* the percent shown (not redrawn while it stays) */
	const char *shown_what;	/* and its phase */
	/* the watcher of hs_progress_watch_read() */
	pthread_t thread;
	int watching;
	atomic_int stop;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	const char *path;
	uint64_t size;
	char label[96];		/* "reading NAME" */
	unsigned columns;	/* of the terminal: the line is cut to fit */
};

/* Prepare p: on when standard error is a terminal. */
void hs_progress_init(struct hs_progress *p);

/* Whether p draws anything at all. */
int hs_progress_enabled(const struct hs_progress *p);

/* Start a phase: `what` (a string that outlives the phase) with no progress yet. */
void hs_progress_phase(struct hs_progress *p, const char *what);

/* Progress of the current phase: done of total (total 0: unknown). Cheap; draws at most
 * ten times a second. */
void hs_progress_set(struct hs_progress *p, uint64_t done, uint64_t total);

/* Erase the line, if one is shown (before any other message, and at the end). */
void hs_progress_clear(struct hs_progress *p);

/*
 * While the caller reads the file at `path` (which must outlive the watch), show how far
 * its descriptor has got, as "reading PATH". Does nothing when p is off, or when the
 * watcher cannot start. End with hs_progress_unwatch(), which also erases the line.
 */
void hs_progress_watch_read(struct hs_progress *p, const char *path);
void hs_progress_unwatch(struct hs_progress *p);

#endif
