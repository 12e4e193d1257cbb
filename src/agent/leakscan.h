/* SPDX-License-Identifier: MIT */
/*
 * The reachability leak scan (docs/LEAKS.md): stop the other threads, scan the roots
 * conservatively, follow pointers through live blocks, and classify every live block as
 * valgrind's memcheck does: definitely, indirectly, possibly lost, still reachable.
 * Results stay in the agent until the writer puts them in a LEAKS record.
 */
#ifndef HS_LEAKSCAN_H
#define HS_LEAKSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_format.h"

struct hs_leak_figures {
	uint64_t bytes[HSR_LEAK_KINDS];
	uint64_t blocks[HSR_LEAK_KINDS];
};

struct hs_leak_result {
	uint64_t seq;			/* 1, 2, ...: which scan */
	uint64_t t;
	unsigned reason;		/* enum hsr_leak_reason */
	unsigned flags;			/* HSR_LEAKS_FLAG_* */
	unsigned threads;		/* thread stacks scanned */
	struct hs_leak_figures total;
	struct hs_leak_figures *per_stack;	/* indexed by stack id, nstacks + 1 entries */
	uint32_t nstacks;		/* highest id covered */
};

/*
 * The calling thread as a root: its stack from `sp` up, and its callee-saved registers.
 * HS_LEAK_SELF(&self), the first statement of the agent's entry point, fills it: sp is that
 * function's CFA, so neither its frame nor the agent's below it are roots. They are not the
 * program's: their unwritten slots hold what deeper calls left there, such as the address
 * of a block the program has since lost (a leak then read as reachable, as t0700 saw).
 * What the function's own registers held on entry is kept in regs instead.
 */
struct hs_leak_self {
	uintptr_t sp;
	uintptr_t regs[12];
	unsigned nregs;
};

#if defined(__x86_64__)
#define HS_LEAK_SELF_REGS(r)                                                               \
	__asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%rbp, 8(%0)\n\tmov %%r12, 16(%0)\n\t"     \
			 "mov %%r13, 24(%0)\n\tmov %%r14, 32(%0)\n\tmov %%r15, 40(%0)"          \
			 : : "r"(r) : "memory")
#define HS_LEAK_SELF_NREGS 6
#elif defined(__aarch64__)
#define HS_LEAK_SELF_REGS(r)                                                               \
	__asm__ volatile("stp x19, x20, [%0]\n\tstp x21, x22, [%0, #16]\n\t"                  \
			 "stp x23, x24, [%0, #32]\n\tstp x25, x26, [%0, #48]\n\t"               \
			 "stp x27, x28, [%0, #64]\n\tstp x29, x30, [%0, #80]"                     \
			 : : "r"(r) : "memory")
#define HS_LEAK_SELF_NREGS 12
#elif defined(__arm__)
#define HS_LEAK_SELF_REGS(r) __asm__ volatile("stm %0, {r4-r11}" : : "r"(r) : "memory")
#define HS_LEAK_SELF_NREGS 8
#else
#define HS_LEAK_SELF_REGS(r) (void)(r)
#define HS_LEAK_SELF_NREGS 0
#endif

#define HS_LEAK_SELF(self)                                                                 \
	do {                                                                               \
		HS_LEAK_SELF_REGS((self)->regs);                                           \
		(self)->nregs = HS_LEAK_SELF_NREGS;                                        \
		(self)->sp = (uintptr_t)__builtin_dwarf_cfa();                             \
	} while (0)

/*
 * Run a scan now; `self` is the calling thread (above), NULL when it is the agent's own
 * thread. Not in sampling mode. Returns 0 and the result (valid until the next scan), or
 * -errno. Not reentrant: one scan at a time (others wait).
 */
int hs_leakscan_run(unsigned reason, const struct hs_leak_self *self,
		    const struct hs_leak_result **out);

/*
 * Fork: one scan's time, taken before the fork (first of the agent's locks) and released
 * after it in parent and child. A child forked during a scan (`heapscope ctl PID
 * leak-check` while the program forks) inherited the lock of a scan whose thread is not
 * there, and spun on it for ever in its exit's own scan.
 */
void hs_leakscan_lock(void);
void hs_leakscan_unlock(void);

/* The latest result, NULL if no scan ran. */
const struct hs_leak_result *hs_leakscan_last(void);

#endif
