/* SPDX-License-Identifier: MIT */
/*
 * heapscope's public C API. Optional: the agent (libheapscope.so, loaded with LD_PRELOAD or
 * by `heapscope run`) works without it. A program may call these functions directly (link
 * with -lheapscope) or find them with dlsym(RTLD_DEFAULT, ...) so that it runs unchanged
 * without the agent. Every function is callable from gdb (`call heapscope_checkpoint("x")`).
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#ifdef __cplusplus
extern "C" {
#endif

#define HEAPSCOPE_API_VERSION 1

/*
 * Write a snapshot of the per-stack counters into the recording, named `name` (may be
 * NULL). Returns 0, or a negative errno if tracking is off or the recording can't be
 * written. Not async-signal-safe.
 */
int heapscope_checkpoint(const char *name);

/*
 * Run a reachability leak scan now (the other threads are stopped for its length), and
 * write its result and a snapshot into the recording. Returns the bytes definitely and
 * indirectly lost, or a negative errno (-ENOTSUP in sampling mode). Not async-signal-safe.
 */
long heapscope_leak_check(void);

/*
 * Under --check (HEAPSCOPE_CHECK=1): verify every live block's canaries and the freed
 * blocks in quarantine now; each new error is reported. Returns the errors found, or -1
 * when checking is off.
 */
int heapscope_check_bounds(void);

/* 1 when the agent is loaded and tracking, 0 otherwise. Async-signal-safe. */
int heapscope_is_tracking(void);

#ifdef __cplusplus
}
#endif

#endif
