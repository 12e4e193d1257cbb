/* SPDX-License-Identifier: MIT */
/*
 * The recording writer: turns the agent's tables into records of docs/FORMAT.md and
 * appends them to this process's recording. Runs off the allocation path (at checkpoints,
 * exec and exit), one caller at a time; it never calls malloc and opens the file anew for
 * each write, so a program that closes or reuses file descriptors can't break it.
 */
#ifndef HS_WRITER_H
#define HS_WRITER_H

/* Remember where recordings go (cwd, program name); call once at start. 0 or -errno. */
int hs_writer_init(void);

/*
 * Append a snapshot (reason: enum hsr_snapshot_reason, name may be NULL), with every
 * module and stack it needs, the peak if it moved, the timeline and queued messages; with
 * `final`, an END record too. Creates the recording on first use; waits while another thread
 * writes. Returns 0, or -errno when the recording can't be written (said once on stderr,
 * and writing stops). Not async-signal-safe.
 */
int hs_writer_snapshot(unsigned reason, const char *name, int final);

/*
 * For hs_writer_snapshot: the process is dying of a fatal signal (from its handler): wait
 * for the writer's lock only a while, and end the recording with END reason "signal".
 */
#define HS_REASON_CRASH 100

/* Queue a message (enum hsr_message_level) for the next write; keeps the first few. */
void hs_writer_message(unsigned level, const char *text);

/* Path of the recording ("" before the first write). */
const char *hs_writer_path(void);

/*
 * Write a complete, standalone recording of the current state to `path` (created, never
 * overwritten), leaving this process's own recording as it is. For `heapscope top` and
 * `ctl snapshot`. 0 or -errno.
 */
int hs_writer_write_to(const char *path, unsigned reason, const char *name);

/*
 * Window recordings (`heapscope ctl PID record`): from now on snapshots go to a new
 * recording at `path`; hs_writer_restore() goes back to the main one, which starts over
 * with all its modules and stacks written again. 0, -EBUSY (a window is open), -ENOENT.
 */
int hs_writer_redirect(const char *path);
int hs_writer_restore(void);

/* Fork: hold the writer across fork; the child starts a recording of its own. */
void hs_writer_lock(void);
void hs_writer_unlock(void);
void hs_writer_atfork_child(void);

#endif
