// SPDX-License-Identifier: MIT
/*
 * aarch64 slow-path parts of the unwinder: packing a CFI row into the cache's compact rule,
 * recognizing the signal return trampoline (the vDSO's __kernel_rt_sigreturn, musl's and
 * bionic's __restore_rt: all "mov x8, #139; svc #0"), and stepping through a signal frame
 * by the registers the kernel saved in the rt_sigframe's ucontext.
 *
 * Reads of code bytes stay inside the module's readable segments and reads of the signal
 * frame inside the caller's stack bounds. Must not allocate or lock.
 */
#if defined(__aarch64__)
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/ucontext.h>

#include "unwind_arch.h"

/* rt_sigframe = { siginfo_t info; ucontext_t uc; } (arch/arm64/kernel/signal.c) */
#define OFF_UC sizeof(siginfo_t)
#define OFF_X29 offsetof(ucontext_t, uc_mcontext.regs[29])
#define OFF_X30 offsetof(ucontext_t, uc_mcontext.regs[30])
#define OFF_SP offsetof(ucontext_t, uc_mcontext.sp)
#define OFF_PC offsetof(ucontext_t, uc_mcontext.pc)
#define UC_NEED (OFF_UC + OFF_PC + 8)

/* mov x8, #139 (__NR_rt_sigreturn); svc #0 */
static const uint32_t sigreturn_code[2] = { 0xd2801168, 0xd4000001 };

/* k for a register saved at CFA - 8k (1 <= k < 128), 0 for "unchanged", else UINT32_MAX. */
static uint32_t pack_slot(const struct hs_cfi_reg *reg, int allow_same)
{
	if (reg->how == HS_CFI_SAME && allow_same)
		return 0;
	if (reg->how != HS_CFI_OFFSET || reg->off >= 0 || reg->off < -8 * 0x7f || (-reg->off & 7))
		return UINT32_MAX;
	return (uint32_t)(-reg->off / 8);
}

uint32_t hs_arch_pack(const struct hs_cfi_rules *cr)
{
	const struct hs_cfi_row *row = &cr->row;
	uint32_t kind, a, k;

	if (cr->ra_reg != HS_ARCH_DW_RA || cr->signal)
		return HS_RULE_COMPLEX;
	if (row->regs[HS_ARCH_DW_RA].how == HS_CFI_UNDEF)
		return HS_RULE_END;
	if (row->cfa_expr)
		return HS_RULE_COMPLEX;
	if (row->cfa_reg == HS_ARCH_DW_SP)
		kind = HS_A64_CFA_SP;
	else if (row->cfa_reg == HS_ARCH_DW_FP)
		kind = HS_A64_CFA_FP;
	else
		return HS_RULE_COMPLEX;
	if (row->cfa_off <= 0 || (row->cfa_off & 7) || row->cfa_off / 8 > 0x3fff)
		return HS_RULE_COMPLEX;
	a = pack_slot(&row->regs[HS_ARCH_DW_RA], 0);
	k = pack_slot(&row->regs[HS_ARCH_DW_FP], 1);
	if (a == UINT32_MAX || k == UINT32_MAX)
		return HS_RULE_COMPLEX;
	return kind | (uint32_t)(row->cfa_off / 8) << 3 | a << 17 | k << 24;
}

int hs_arch_is_sigreturn(const struct hs_module *m, uintptr_t pc)
{
	uintptr_t end = hs_module_readable_end(m, pc);

	if (!end || end - pc < sizeof(sigreturn_code) || (pc & 3))
		return 0;
	return __builtin_memcmp((const void *)pc, sigreturn_code, sizeof(sigreturn_code)) == 0;
}

/*
 * The handler returned into the trampoline with sp restored to what the kernel gave it:
 * the address of the rt_sigframe, whose ucontext follows the siginfo.
 */
int hs_arch_step_signal(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t uc = r->sp + OFF_UC, sp;

	if (!r->sp_exact || r->sp < lo || hi < UC_NEED || r->sp > hi - UC_NEED)
		return -1;
	sp = hs_load_word(uc + OFF_SP);
	if (sp <= uc || sp >= hi)
		return -1;
	r->pc = hs_load_word(uc + OFF_PC);
	r->fp = hs_load_word(uc + OFF_X29);
	r->lr = hs_load_word(uc + OFF_X30);
	r->sp = sp;
	r->sp_exact = 1;
	r->ra = 0;
	return r->pc ? 0 : -1;
}

int hs_a64_at_sigframe(const struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t uc = r->sp + OFF_UC;

	if (r->sp < lo || hi < UC_NEED || r->sp > hi - UC_NEED || r->fp < r->sp + UC_NEED ||
	    r->fp > hi - 16)
		return 0;
	return hs_load_word(uc + OFF_X29) == hs_load_word(r->fp) &&
	       hs_load_word(uc + OFF_X30) == hs_load_word(r->fp + 8) &&
	       hs_load_word(uc + OFF_SP) > r->fp && hs_load_word(uc + OFF_PC);
}

void hs_arch_after_row(struct hs_uregs *r)
{
	r->pc = hs_a64_strip(r->pc);
	r->lr = r->pc;
	r->sp_exact = 1;
}
#endif
