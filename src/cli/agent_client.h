/* SPDX-License-Identifier: MIT */
/*
 * Talking to a running process's agent over its control socket (docs/CONTROL.md): where
 * the socket is, and one request/answer exchange. Used by `ctl`, `top` and `ps`.
 */
#ifndef HS_AGENT_CLIENT_H
#define HS_AGENT_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

/* The per-user socket directory: $HEAPSCOPE_SOCKET_DIR or /tmp/heapscope-UID. */
void hs_socket_dir(char *out, size_t cap);

/*
 * Send one command line to process pid and read the answer into reply (NUL-terminated),
 * waiting at most timeout_ms for it.
 * Returns 0, or -ESRCH (no such process), -ENOENT (no agent socket), -ETIMEDOUT, -errno. Prints
 * nothing: callers turn errors into messages with hs_agent_error().
 */
int hs_agent_request(pid_t pid, const char *line, char *reply, size_t cap, int timeout_ms);

/* "heapscope: ..." on stderr for an hs_agent_request() failure; returns 1. */
int hs_agent_error(pid_t pid, int err);

/* Parse a PID argument; -1 when it is not one. */
pid_t hs_parse_pid(const char *arg);

#endif
