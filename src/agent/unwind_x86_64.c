// SPDX-License-Identifier: MIT
/*
 * x86_64 slow-path parts of the unwinder: packing a CFI row into the cache's compact rule,
 * recognizing the kernel's signal return trampoline (__restore_rt of glibc and musl), and
 * stepping through a signal frame by the registers saved in its ucontext.
 *
 * Reads of code bytes stay inside the module's readable segments and reads of the signal
 * frame inside the caller's stack bounds. Must not allocate or lock.
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/ucontext.h>

#include "unwind_arch.h"

#define OFF_RBP offsetof(ucontext_t, uc_mcontext.gregs[REG_RBP])
#define OFF_RSP offsetof(ucontext_t, uc_mcontext.gregs[REG_RSP])
#define OFF_RIP offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP])
#define UC_NEED (OFF_RIP + 8)

/* mov $__NR_rt_sigreturn, %rax; syscall */
static const uint8_t restore_rt[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

static uint32_t pack_fp(const struct hs_cfi_reg *fp)
{
	if (fp->how == HS_CFI_SAME)
		return 0;
	if (fp->how != HS_CFI_OFFSET || fp->off >= 0 || fp->off < -8 * 0xfff || (-fp->off & 7))
		return UINT32_MAX;
	return (uint32_t)(-fp->off / 8);
}

uint32_t hs_arch_pack(const struct hs_cfi_rules *cr)
{
	const struct hs_cfi_row *row = &cr->row;
	const struct hs_cfi_reg *ra = &row->regs[HS_ARCH_DW_RA];
	uint32_t kind, k;

	if (cr->ra_reg != HS_ARCH_DW_RA || cr->signal)
		return HS_RULE_COMPLEX;
	if (ra->how == HS_CFI_UNDEF)
		return HS_RULE_END;
	if (row->cfa_expr || ra->how != HS_CFI_OFFSET || ra->off != -8)
		return HS_RULE_COMPLEX;
	if (row->cfa_reg == HS_ARCH_DW_SP)
		kind = HS_X86_CFA_RSP;
	else if (row->cfa_reg == HS_ARCH_DW_FP)
		kind = HS_X86_CFA_RBP;
	else
		return HS_RULE_COMPLEX;
	if (row->cfa_off <= 0 || (row->cfa_off & 7) || row->cfa_off / 8 > 0xffff)
		return HS_RULE_COMPLEX;
	k = pack_fp(&row->regs[HS_ARCH_DW_FP]);
	if (k == UINT32_MAX)
		return HS_RULE_COMPLEX;
	return kind | (uint32_t)(row->cfa_off / 8) << 3 | k << 19;
}

int hs_arch_is_sigreturn(const struct hs_module *m, uintptr_t pc)
{
	uintptr_t end = hs_module_readable_end(m, pc);

	if (!end || end - pc < sizeof(restore_rt))
		return 0;
	return __builtin_memcmp((const void *)pc, restore_rt, sizeof(restore_rt)) == 0;
}

/*
 * The handler returned into the trampoline by popping rt_sigframe.pretcode, so the
 * trampoline's rsp is the address of the rt_sigframe's ucontext.
 */
int hs_arch_step_signal(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	uintptr_t uc = r->sp, sp;

	if (uc < lo || hi < UC_NEED || uc > hi - UC_NEED)
		return -1;
	sp = hs_load_word(uc + OFF_RSP);
	if (sp <= uc || sp >= hi)
		return -1;
	r->pc = hs_load_word(uc + OFF_RIP);
	r->fp = hs_load_word(uc + OFF_RBP);
	r->sp = sp;
	r->ra = 0;
	return r->pc ? 0 : -1;
}
#endif
