/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for the robustness tests (docs/ROBUSTNESS.md): HEAPSCOPE_FAULT makes one
 * of the agent's own system calls fail as if the system had refused it, so tests can check
 * that the program still finishes correctly and the agent degrades with one message. Only
 * the agent's calls are affected, never the program's. Off (one relaxed load per call)
 * unless the variable is set.
 *
 *   HEAPSCOPE_FAULT=KIND:N[+][,KIND:N[+]...]   KIND: mmap, write, thread
 *
 * KIND:N fails the Nth call of that kind (1-based, counted per process and inherited by
 * fork children); KIND:N+ fails the Nth and every later one. A bad value is ignored.
 */
#ifndef HS_FAULTINJECT_H
#define HS_FAULTINJECT_H

enum hs_fault_kind {
	HS_FAULT_MMAP,		/* hs_arena_map(): the agent's mappings (arena.c) */
	HS_FAULT_WRITE,		/* write(2) of the recording (writer.c) */
	HS_FAULT_THREAD,	/* starting the control thread (control.c) */
	HS_FAULT_KINDS
};

/*
 * Count one call of `kind`; nonzero when this call must fail. The caller then fails the
 * way the real call would (NULL, -ENOSPC, -EAGAIN). Lock-free, async-signal-safe, never
 * allocates; reads HEAPSCOPE_FAULT with getenv() on its first call.
 */
int hs_fault(enum hs_fault_kind kind);

#endif
