/* SPDX-License-Identifier: MIT */
/*
 * x86_64 hot-path parts of the unwinder, inlined into unwind.c's walk loop: the frame
 * state, capturing it, and one step with a packed rule or by frame pointers. Included
 * only through unwind_arch.h. Every stack read is checked against [lo, hi) first and the
 * new CFA must lie strictly above the old one; a failed check ends the walk (-1).
 *
 * Packed rule (31 bits): kind (3) | CFA offset / 8 (16) | k (12), where the caller's CFA
 * is rsp or rbp + offset, the return address is at CFA - 8 and the caller's rbp is at
 * CFA - 8k (k = 0: rbp unchanged).
 */
#ifndef HS_UNWIND_X86_64_H
#define HS_UNWIND_X86_64_H

#include <stdint.h>

#define HS_ARCH_DW_FP 6		/* rbp */
#define HS_ARCH_DW_SP 7		/* rsp */
#define HS_ARCH_DW_RA 16	/* return address column */
#define HS_X86_CFA_RSP 5	/* rule kinds */
#define HS_X86_CFA_RBP 6

struct hs_uregs {
	uintptr_t pc;	/* where the frame executes */
	uintptr_t sp;	/* rsp in the frame: its callee's CFA */
	uintptr_t fp;	/* rbp */
	uintptr_t ra;	/* 1: pc is a return address (its rule is at pc - 1); 0: after a signal */
};

/*
 * The state of the caller of the function that expands this; it must be expanded in
 * hs_unwind's own body (__builtin_frame_address(0) gives it a frame pointer: saved rbp at
 * [rbp], return address at [rbp + 8], caller's rsp = rbp + 16).
 */
#define HS_ARCH_CAPTURE(r)                                                                 \
	do {                                                                                \
		const uintptr_t *fa_ = __builtin_frame_address(0);                         \
		(r)->pc = (uintptr_t)__builtin_return_address(0);                          \
		(r)->sp = (uintptr_t)(fa_ + 2);                                            \
		(r)->fp = fa_[0];                                                          \
		(r)->ra = 1;                                                               \
	} while (0)

/* The value of DWARF register reg in r: 0, or -1 when it is not tracked. */
static inline int hs_arch_reg(const struct hs_uregs *r, uint32_t reg, uintptr_t *v)
{
	if (reg == HS_ARCH_DW_SP)
		*v = r->sp;
	else if (reg == HS_ARCH_DW_FP)
		*v = r->fp;
	else
		return -1;
	return 0;
}

/* One step with a packed rule (kind HS_X86_CFA_RSP or _RBP). 0, or -1 to stop. */
static inline int hs_arch_step_packed(struct hs_uregs *r, uint32_t rule, uintptr_t lo,
				      uintptr_t hi)
{
	uintptr_t base = HS_RULE_KIND(rule) == HS_X86_CFA_RBP ? r->fp : r->sp;
	uintptr_t cfa = base + ((uintptr_t)((rule >> 3) & 0xffff) << 3);
	uintptr_t k = rule >> 19, pc;

	if (cfa <= r->sp || cfa > hi || cfa - 8 < lo || k * 8 > cfa - lo)
		return -1;
	pc = hs_load_word(cfa - 8);
	if (k)
		r->fp = hs_load_word(cfa - k * 8);
	r->pc = pc;
	r->sp = cfa;
	r->ra = 1;
	return pc ? 0 : -1;
}

/*
 * Where the stack words a step from a frame by this rule read lie, as distances below the
 * new CFA (the sp of the frame it led to): the return address at CFA - 8 and the caller's
 * rbp where the rule restores it (*fp_off 0: rbp stays); *uses_fp when the CFA itself
 * comes from rbp. 1, or 0 for a rule whose step cannot be checked this way. A thread's
 * next walk takes the same step again without the rule when these words are unchanged
 * (unwind.c, "the memo").
 */
#define HS_ARCH_MEMO 1
/* ... and *ra_off is always this: the memo's walks read the return address at a constant */
#define HS_ARCH_MEMO_RA_OFF 8
static inline int hs_arch_memo_reads(uint32_t rule, uint32_t flags, uint32_t *ra_off,
				     uint32_t *fp_off, int *uses_fp)
{
	uint32_t kind = HS_RULE_KIND(rule);

	if (kind == HS_X86_CFA_RSP || kind == HS_X86_CFA_RBP) {
		*ra_off = 8;
		*fp_off = ((rule & HS_RULE_MASK) >> 19) * 8;	/* k * 8, k < 4096 */
		*uses_fp = kind == HS_X86_CFA_RBP;
		return 1;
	}
	if (kind == HS_RULE_FPSTEP) {	/* [rbp + 8], [rbp]; the new rsp is rbp + 16 */
		*ra_off = 8;
		*fp_off = 16;
		*uses_fp = 1;
		return 1;
	}
	return 0;
}

/* The memo's view of a frame's state beyond pc, sp and rbp, and back (unwind.c). */
static inline uint32_t hs_arch_memo_flags(const struct hs_uregs *r)
{
	return (uint32_t)r->ra;
}

static inline void hs_arch_memo_state(struct hs_uregs *r, uintptr_t pc, uintptr_t sp,
				      uintptr_t fp, uint32_t flags)
{
	r->pc = pc;
	r->sp = sp;
	r->fp = fp;
	r->ra = flags;
}

/* A return address as read from the stack, as the walk records it. */
static inline uintptr_t hs_arch_memo_ra(uintptr_t v)
{
	return v;
}

/*
 * The agent's own frames (built with -fno-omit-frame-pointer) all push rbp on entry, so a
 * frame-pointer step through them lands exactly: the caller's CFA is rbp + 16 (unwind.c
 * skips them this way instead of looking their rules up).
 */
#define HS_ARCH_SELF_FP 1

/*
 * From r (a return address: r->ra set), through frames whose pc lies in [self_lo,
 * self_hi), by frame pointer, until pc is first_ra: 1 with r there, 0 (r unchanged) when
 * a pc leaves the agent first, a frame pointer fails hs_arch_step_fp's checks, or after
 * max steps. hs_arch_step_fp's loop without its stores to r (every step sets ra).
 */
static inline int hs_arch_skip_self_fp(struct hs_uregs *r, uintptr_t first_ra, uintptr_t self_lo,
				       uintptr_t self_hi, uintptr_t lo, uintptr_t hi, unsigned max)
{
	uintptr_t pc = r->pc, sp = r->sp, fp = r->fp;

	if (hi < 16)
		return 0;
	for (unsigned k = 0; k < max; k++) {
		if (pc == first_ra) {
			r->pc = pc;
			r->sp = sp;
			r->fp = fp;
			return 1;
		}
		if (pc - self_lo >= self_hi - self_lo || fp < lo || fp < sp || fp > hi - 16 ||
		    (fp & 7))
			return 0;
		pc = hs_load_word(fp + 8);
		sp = fp + 16;
		fp = hs_load_word(fp);
	}
	return 0;
}

/* One step by the frame pointer: [rbp] = caller's rbp, [rbp + 8] = return address. */
static inline int hs_arch_step_fp(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t fp = r->fp, pc;

	if (fp < lo || fp < r->sp || (fp & 7) || hi < 16 || fp > hi - 16)
		return -1;
	pc = hs_load_word(fp + 8);
	r->fp = hs_load_word(fp);
	r->sp = fp + 16;
	r->pc = pc;
	r->ra = 1;
	return pc ? 0 : -1;
}

#endif
