/* SPDX-License-Identifier: MIT */
/*
 * What the generic unwinder (unwind.c) needs from one architecture: the register state of
 * a frame, capturing it at the start of hs_unwind, packing a CFI row into a cache rule and
 * stepping one frame with a packed rule, by frame pointers, or through a signal frame.
 * Internal to the unwinder; unwind_<arch>.h holds the inline hot-path parts and
 * unwind_<arch>.c the rest.
 *
 * A rule is a 31-bit word whose low 3 bits are its kind; 0 means "no rule" (cache empty).
 * Kinds below HS_RULE_ARCH mean the same on every architecture; the arch packs the rest.
 * Nothing here may allocate, lock, or read stack memory outside [lo, hi).
 */
#ifndef HS_UNWIND_ARCH_H
#define HS_UNWIND_ARCH_H

#include <stdint.h>

#include "cfi.h"
#include "modules.h"

#define HS_RULE_BITS 31
#define HS_RULE_MASK ((1u << HS_RULE_BITS) - 1)
#define HS_RULE_KIND(rule) ((rule) & 7u)

enum hs_rule_kind {
	HS_RULE_EMPTY = 0,	/* no rule cached */
	HS_RULE_FPSTEP = 1,	/* no CFI (or no module): frame-pointer step if plausible */
	HS_RULE_COMPLEX = 2,	/* CFI that does not pack: evaluated on the slow path */
	HS_RULE_SIGNAL = 3,	/* pc is the signal return trampoline */
	HS_RULE_END = 4,	/* return address undefined: the outermost frame */
	HS_RULE_ARCH = 5,	/* 5..7: packed CFI rules, arch-defined */
};

/*
 * A word of stack memory; the caller has checked the address against the bounds. Slots of
 * other frames may lie in AddressSanitizer's stack redzones: not instrumented.
 */
static inline __attribute__((no_sanitize_address)) uintptr_t hs_load_word(uintptr_t addr)
{
	uintptr_t v;

	__builtin_memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

#if defined(__x86_64__)
#include "unwind_x86_64.h"
#elif defined(__aarch64__)
#include "unwind_aarch64.h"
#elif defined(__arm__)
#include "unwind_arm.h"
#else
#error "heapscope: no stack unwinder for this architecture yet (see docs/UNWIND.md)"
#endif

/*
 * Pack a CFI row into a rule: an arch kind when the row is one of the common shapes,
 * HS_RULE_END for an undefined return address, else HS_RULE_COMPLEX. Never 0.
 */
uint32_t hs_arch_pack(const struct hs_cfi_rules *cr);

/* Whether the return address pc, in module m, is the signal return trampoline. */
int hs_arch_is_sigreturn(const struct hs_module *m, uintptr_t pc);

/*
 * Step from the trampoline's frame to the interrupted one, whose registers the kernel
 * saved in the signal frame at r->sp. 0, or -1 when the frame is out of bounds. The new
 * frame's pc is not a return address (r->ra = 0).
 */
int hs_arch_step_signal(struct hs_uregs *r, uintptr_t lo, uintptr_t hi);

#endif
