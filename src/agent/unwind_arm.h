/* SPDX-License-Identifier: MIT */
/*
 * 32-bit ARM (armhf, ARM and Thumb-2 code) hot-path parts of the unwinder, inlined into
 * unwind.c's walk loop: the frame state, capturing it, and one step with a packed rule.
 * Included only through unwind_arch.h. ARM code is unwound with the ARM EHABI tables
 * (.ARM.exidx / .ARM.extab, found through PT_ARM_EXIDX), not .eh_frame, which GCC does not
 * emit for ARM (HS_ARCH_TABLES: unwind_arm.c reads them; unwind.c asks it first). Every
 * stack read is checked against [lo, hi) first and the new sp must lie strictly above
 * the old one; a failed check ends the walk (-1).
 *
 * As on aarch64 the walk starts in hs_unwind's own frame (HS_ARCH_CAPTURE_SELF): a Thumb
 * frame pointer (r7) does not say where the caller's registers were saved.
 *
 * Packed rule (31 bits): kind (3) | pre / 4 (12) | mask (12) | post / 4 (4), the common
 * shape of an EHABI program: vsp = sp, r7 or r11 (the kind) + pre; pop the registers of
 * mask (bit i = r(4 + i), lowest first); vsp += post; the caller's sp = vsp and its pc the
 * popped r15, else the popped r14, else lr (a leaf interrupted by a signal). Return
 * addresses are stored without the Thumb bit, so that addr - 1 lies in the call.
 */
#ifndef HS_UNWIND_ARM_H
#define HS_UNWIND_ARM_H

#include <stdint.h>

#define HS_ARCH_DW_FP 7		/* r7: the Thumb frame pointer (DWARF numbers = r0-r15) */
#define HS_ARCH_DW_R11 11	/* r11: the ARM-mode frame pointer */
#define HS_ARCH_DW_SP 13
#define HS_ARCH_DW_LR 14
#define HS_ARCH_DW_RA 14
#define HS_ARM_VSP_SP 5		/* rule kinds: the register vsp starts from */
#define HS_ARM_VSP_R7 6
#define HS_ARM_VSP_R11 7
#define HS_ARCH_CAPTURE_SELF 1	/* HS_ARCH_CAPTURE gives hs_unwind's own frame */
#define HS_ARCH_TABLES 1	/* hs_arch_table_rule / _step: .ARM.exidx */
#define HS_ARCH_RA_MASK (~(uintptr_t)1)	/* a Thumb return address has bit 0 set */

struct hs_uregs {
	uintptr_t pc;	/* where the frame executes, without the Thumb bit */
	uintptr_t sp;	/* r13 */
	uintptr_t fp;	/* r7 */
	uintptr_t r11;
	uintptr_t lr;	/* r14, 0 when not known */
	uintptr_t ra;	/* 1: pc is a return address (its rule is at pc - 1); 0: it is not */
};

/*
 * hs_unwind's own state at one instruction (the label): lr and r11 are declared clobbered
 * so that no operand is put in them, r7 is the frame pointer and never an operand.
 */
#define HS_ARCH_CAPTURE(r)                                                                 \
	do {                                                                                \
		uintptr_t pc_, sp_, fp_, r11_, lr_;                                         \
		__asm__ volatile("1:\n\tmov %0, lr\n\tmov %1, r11\n\tmov %2, sp\n\t"         \
				 "mov %3, r7\n\tadr %4, 1b"                                 \
				 : "=&r"(lr_), "=&r"(r11_), "=&r"(sp_), "=&r"(fp_), "=&r"(pc_) \
				 :                                                          \
				 : "r11", "lr");                                            \
		(r)->pc = pc_ & ~(uintptr_t)1;                                              \
		(r)->sp = sp_;                                                              \
		(r)->fp = fp_;                                                              \
		(r)->r11 = r11_;                                                            \
		(r)->lr = lr_ & ~(uintptr_t)1;                                              \
		(r)->ra = 0;                                                                \
	} while (0)

/* The value of DWARF (= ARM) register reg in r: 0, or -1 when it is not tracked. */
static inline int hs_arch_reg(const struct hs_uregs *r, uint32_t reg, uintptr_t *v)
{
	if (reg == HS_ARCH_DW_SP)
		*v = r->sp;
	else if (reg == HS_ARCH_DW_FP)
		*v = r->fp;
	else if (reg == HS_ARCH_DW_R11)
		*v = r->r11;
	else if (reg == HS_ARCH_DW_LR && r->lr)
		*v = r->lr;
	else
		return -1;
	return 0;
}

/* The caller's frame: pc from a popped r15/r14 (or the live lr), sp = the final vsp. */
static inline int hs_arm_set_caller(struct hs_uregs *r, uintptr_t pc, uintptr_t sp)
{
	pc &= ~(uintptr_t)1;
	r->pc = pc;
	r->lr = pc;	/* lr held the return address of the call the caller made */
	r->sp = sp;
	r->ra = 1;
	return pc ? 0 : -1;
}

/*
 * One step by a frame record {r7, lr} at [r7] (clang's Thumb frames, GCC's with
 * -mtpcs-frame; GCC's usual Thumb-2 frames keep no such chain, so this is a last resort
 * for code without unwind tables, and only plausible records are followed).
 */
static inline int hs_arch_step_fp(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t fp = r->fp;

	if (fp < lo || fp < r->sp || (fp & 3) || hi < 8 || fp > hi - 8)
		return -1;
	r->fp = hs_load_word(fp);
	if (r->fp && r->fp <= fp)
		return -1;	/* a chain goes up the stack */
	return hs_arm_set_caller(r, hs_load_word(fp + 4), fp + 8);
}

/* One step with a packed rule (kinds HS_ARM_VSP_*). 0, or -1 to stop. */
static inline int hs_arch_step_packed(struct hs_uregs *r, uint32_t rule, uintptr_t lo,
				      uintptr_t hi)
{
	uint32_t kind = HS_RULE_KIND(rule), mask = (rule >> 15) & 0xfff;
	uintptr_t vsp = kind == HS_ARM_VSP_R7 ? r->fp : kind == HS_ARM_VSP_R11 ? r->r11 : r->sp;
	uintptr_t pc = r->ra ? 0 : r->lr, end;	/* lr is live only in a frame not a caller */

	vsp += ((rule >> 3) & 0xfff) << 2;
	end = vsp + 4 * (uintptr_t)__builtin_popcount(mask);
	if (vsp < lo || end < vsp || end > hi)
		return -1;
	for (uint32_t i = 0; mask >> i; i++) {
		uintptr_t v;

		if (!(mask >> i & 1))
			continue;
		v = hs_load_word(vsp);
		vsp += 4;
		if (i == HS_ARCH_DW_FP - 4)
			r->fp = v;
		else if (i == HS_ARCH_DW_R11 - 4)
			r->r11 = v;
		else if (i >= HS_ARCH_DW_LR - 4)
			pc = v;	/* r14, then r15 if both */
	}
	vsp += (uintptr_t)(rule >> 27) << 2;
	if (vsp < r->sp || (vsp == r->sp && r->ra) || vsp > hi)
		return -1;
	return hs_arm_set_caller(r, pc, vsp);
}

/*
 * The EHABI rule for key in module m (unwind_arm.c): 0 and *rule set (a packed kind,
 * HS_RULE_COMPLEX, or HS_RULE_END for EXIDX_CANTUNWIND and refuse-to-unwind), or -ENOENT
 * when the module has no .ARM.exidx entry for it.
 */
int hs_arch_table_rule(const struct hs_module *m, uintptr_t key, uint32_t *rule);

/* Interpret the EHABI entry for key: 0, -1 to stop, -ENOENT without an entry. */
int hs_arch_table_step(const struct hs_module *m, uintptr_t key, struct hs_uregs *r,
		       uintptr_t lo, uintptr_t hi);

#endif
