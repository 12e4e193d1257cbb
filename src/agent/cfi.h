/* SPDX-License-Identifier: MIT */
/*
 * DWARF call frame information from a loaded module's .eh_frame, found through its
 * .eh_frame_hdr search table: the row of the CFI table (CFA rule and register rules) that
 * holds at one address. Architecture-neutral: register numbers are DWARF numbers and the
 * return-address column comes from the CIE; the unwinder's arch part interprets them.
 *
 * Only the unwinder's cache-miss path uses this. It never allocates, and every byte it
 * reads lies inside a readable PT_LOAD segment of the module.
 */
#ifndef HS_CFI_H
#define HS_CFI_H

#include <stdint.h>

#include "modules.h"

/* DWARF registers tracked: enough for x86_64 (0-16), aarch64 (0-32) and ARM (0-15). */
#define HS_CFI_NREGS 33

enum hs_cfi_how {
	HS_CFI_SAME = 0,	/* unspecified or DW_CFA_same_value: the callee kept it */
	HS_CFI_UNDEF,		/* DW_CFA_undefined: no value (an RA column: outermost frame) */
	HS_CFI_OFFSET,		/* saved at CFA + off */
	HS_CFI_VAL_OFFSET,	/* value is CFA + off */
	HS_CFI_REGISTER,	/* value is in register off */
	HS_CFI_EXPR,		/* saved at an address given by an expression (not evaluated) */
	HS_CFI_VAL_EXPR,	/* value given by an expression (not evaluated) */
};

struct hs_cfi_reg {
	int32_t off;		/* byte offset from the CFA, or a register number */
	uint8_t how;		/* enum hs_cfi_how */
};

/* One row of the CFI table: how to find the caller's registers at one address. */
struct hs_cfi_row {
	int64_t cfa_off;
	uint32_t cfa_reg;
	uint8_t cfa_expr;	/* CFA given by DW_CFA_def_cfa_expression (not evaluated) */
	uint8_t ra_mangled;	/* DW_CFA_GNU_window_save toggled (aarch64 pointer auth) */
	struct hs_cfi_reg regs[HS_CFI_NREGS];
};

struct hs_cfi_rules {
	struct hs_cfi_row row;
	uint32_t ra_reg;	/* return-address column (CIE) */
	uint8_t signal;		/* CIE augmentation 'S': the caller's pc is not an RA */
	uintptr_t pc_lo, pc_hi;	/* the address range the FDE covers */
};

/*
 * Find the FDE of module m covering pc and run its CIE and FDE programs up to pc; the
 * result in *out. 0, -ENOENT when the module has no CFI for pc, -EINVAL for CFI it cannot
 * read (bad encodings, out-of-bounds data, unsupported table). Async-signal-safe, no locks;
 * uses about 1.5 KiB of stack.
 */
int hs_cfi_find(const struct hs_module *m, uintptr_t pc, struct hs_cfi_rules *out);

#endif
