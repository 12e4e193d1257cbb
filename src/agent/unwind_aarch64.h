/* SPDX-License-Identifier: MIT */
/*
 * aarch64 hot-path parts of the unwinder, inlined into unwind.c's walk loop: the frame
 * state, capturing it, and one step with a packed rule or by the x29 frame-record chain.
 * Included only through unwind_arch.h. Every stack read is checked against [lo, hi) first
 * and the new CFA must lie strictly above the old stack pointer; a failed check ends the
 * walk (-1).
 *
 * The walk starts in hs_unwind's own frame (HS_ARCH_CAPTURE_SELF): on aarch64 a frame
 * pointer does not give the caller's stack pointer (GCC puts the frame record at the
 * bottom of the frame, below locals and callee-saved registers), so hs_unwind captures its
 * own pc, sp, x29 and x30 at one instruction and unwind.c takes one CFI step from there.
 *
 * Packed rule (31 bits): kind (3) | CFA offset / 8 (14) | a (7) | k (7), where the caller's
 * CFA is sp or x29 + offset, the return address is at CFA - 8a (a >= 1) and the caller's
 * x29 at CFA - 8k (k = 0: x29 unchanged). Return addresses signed by pointer
 * authentication are stripped (xpaclri, a no-op hint on cores without it).
 */
#ifndef HS_UNWIND_AARCH64_H
#define HS_UNWIND_AARCH64_H

#include <stdint.h>

#define HS_ARCH_DW_FP 29	/* x29 */
#define HS_ARCH_DW_LR 30	/* x30, the return-address column */
#define HS_ARCH_DW_SP 31	/* sp */
#define HS_ARCH_DW_RA 30
#define HS_A64_CFA_SP 5		/* rule kinds */
#define HS_A64_CFA_FP 6
#define HS_ARCH_CAPTURE_SELF 1	/* HS_ARCH_CAPTURE gives hs_unwind's own frame */

struct hs_uregs {
	uintptr_t pc;	/* where the frame executes */
	uintptr_t sp;	/* sp in the frame: its callee's CFA (a lower bound if !sp_exact) */
	uintptr_t fp;	/* x29 */
	uintptr_t lr;	/* x30 (known after a signal frame and at the capture) */
	uintptr_t ra;	/* 1: pc is a return address (its rule is at pc - 1); 0: it is not */
	uintptr_t sp_exact;	/* 0 after a frame-pointer step: sp only bounds the real one */
};

/*
 * hs_unwind's own state at one instruction (the first of the asm): the CFI row at that
 * pc describes exactly these registers, wherever the compiler placed the statement. All
 * registers are read before any output is written.
 */
#define HS_ARCH_CAPTURE(r)                                                                 \
	do {                                                                                \
		uintptr_t pc_, sp_, fp_, lr_;                                               \
		__asm__ volatile("1:\n\tmov %3, x30\n\tmov %1, sp\n\tmov %2, x29\n\t"        \
				 "adr %0, 1b"                                               \
				 : "=&r"(pc_), "=&r"(sp_), "=&r"(fp_), "=&r"(lr_));         \
		(r)->pc = pc_;                                                              \
		(r)->sp = sp_;                                                              \
		(r)->fp = fp_;                                                              \
		(r)->lr = lr_;                                                              \
		(r)->ra = 0;                                                                \
		(r)->sp_exact = 1;                                                          \
	} while (0)

/* A return address without its pointer-authentication code (xpaclri = hint #7). */
static inline uintptr_t hs_a64_strip(uintptr_t pc)
{
	register uintptr_t x30 __asm__("x30") = pc;

	__asm__("hint #7" : "+r"(x30));
	return x30;
}

/* After a step by a full CFI row (unwind.c): strip the return address, sp is the CFA. */
#define HS_ARCH_AFTER_ROW 1
void hs_arch_after_row(struct hs_uregs *r);

/* The value of DWARF register reg in r: 0, or -1 when it is not tracked or not known. */
static inline int hs_arch_reg(const struct hs_uregs *r, uint32_t reg, uintptr_t *v)
{
	if (reg == HS_ARCH_DW_SP && r->sp_exact)
		*v = r->sp;
	else if (reg == HS_ARCH_DW_FP)
		*v = r->fp;
	else if (reg == HS_ARCH_DW_LR && r->lr)
		*v = r->lr;
	else
		return -1;
	return 0;
}

/* The caller's frame now in r: pc came from a return-address slot (or the link register). */
static inline int hs_a64_set_caller(struct hs_uregs *r, uintptr_t pc, uintptr_t sp)
{
	pc = hs_a64_strip(pc);
	r->pc = pc;
	r->lr = pc;	/* x30 held the return address of the call the caller made */
	r->sp = sp;
	r->ra = 1;
	return pc ? 0 : -1;
}

/*
 * Whether r, a frame without a known module, is a signal trampoline's: its sp holds an
 * rt_sigframe and x29 the frame record the kernel (or qemu-user) pushed above it, a copy of
 * the interrupted x29 and x30 (unwind_aarch64.c). For trampolines outside any module.
 */
int hs_a64_at_sigframe(const struct hs_uregs *r, uintptr_t lo, uintptr_t hi);
int hs_arch_step_signal(struct hs_uregs *r, uintptr_t lo, uintptr_t hi);

/* One step by the frame record: [x29] = caller's x29, [x29 + 8] = return address. */
static inline int hs_arch_step_fp(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t fp = r->fp;

	if (fp < lo || fp < r->sp || (fp & 7) || hi < 16 || fp > hi - 16)
		return -1;
	if (__builtin_expect(r->sp_exact, 0) && hs_a64_at_sigframe(r, lo, hi))
		return hs_arch_step_signal(r, lo, hi);
	r->fp = hs_load_word(fp);
	r->sp_exact = 0;	/* the caller's sp lies at or above fp + 16 */
	return hs_a64_set_caller(r, hs_load_word(fp + 8), fp + 16);
}

/* One step with a packed rule (kind HS_A64_CFA_SP or _FP). 0, or -1 to stop. */
static inline int hs_arch_step_packed(struct hs_uregs *r, uint32_t rule, uintptr_t lo,
				      uintptr_t hi)
{
	uintptr_t cfa, a = (rule >> 17) & 0x7f, k = rule >> 24, pc;

	if (HS_RULE_KIND(rule) == HS_A64_CFA_FP) {
		cfa = r->fp;
	} else {
		if (__builtin_expect(!r->sp_exact, 0))
			return hs_arch_step_fp(r, lo, hi);
		cfa = r->sp;
	}
	cfa += (uintptr_t)((rule >> 3) & 0x3fff) << 3;
	if (cfa <= r->sp || cfa > hi || cfa < lo || cfa - lo < a * 8 || cfa - lo < k * 8)
		return -1;
	pc = hs_load_word(cfa - a * 8);
	if (k)
		r->fp = hs_load_word(cfa - k * 8);
	r->sp_exact = 1;
	return hs_a64_set_caller(r, pc, cfa);
}

/*
 * The memo (unwind.c): where the stack words a step from a frame by this packed rule read
 * lie, as distances below the new CFA: the return address at CFA - 8a and x29 at CFA - 8k
 * (*fp_off 0: x29 stays); *uses_fp when the CFA comes from x29. A rule based on sp checks
 * only from a frame whose sp is exact (else the step is a frame-record step); frame-record
 * steps are not checked (one may turn out to cross a signal frame). 1, or 0 when the step
 * cannot be checked this way.
 */
#define HS_ARCH_MEMO 1
static inline int hs_arch_memo_reads(uint32_t rule, uint32_t flags, uint32_t *ra_off,
				     uint32_t *fp_off, int *uses_fp)
{
	uint32_t kind = HS_RULE_KIND(rule), a = (rule >> 17) & 0x7f, k = (rule & HS_RULE_MASK) >> 24;

	if ((kind != HS_A64_CFA_SP && kind != HS_A64_CFA_FP) || !a ||
	    (kind == HS_A64_CFA_SP && !(flags & 2)))
		return 0;
	*ra_off = a * 8;
	*fp_off = k * 8;
	*uses_fp = kind == HS_A64_CFA_FP;
	return 1;
}

/* bit 0: pc is a return address; bit 1: sp is exact */
static inline uint32_t hs_arch_memo_flags(const struct hs_uregs *r)
{
	return (uint32_t)(r->ra | r->sp_exact << 1);
}

/* A frame a packed step led to: x30 held its return address (hs_a64_set_caller). */
static inline void hs_arch_memo_state(struct hs_uregs *r, uintptr_t pc, uintptr_t sp,
				      uintptr_t fp, uint32_t flags)
{
	r->pc = pc;
	r->lr = pc;
	r->sp = sp;
	r->fp = fp;
	r->ra = flags & 1;
	r->sp_exact = (flags >> 1) & 1;
}

static inline uintptr_t hs_arch_memo_ra(uintptr_t v)
{
	return hs_a64_strip(v);
}

#endif
