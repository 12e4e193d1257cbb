// SPDX-License-Identifier: MIT
/*
 * 32-bit ARM slow-path parts of the unwinder: the ARM EHABI tables (.ARM.exidx, binary
 * searched, and the compact-model programs of personality routines 0, 1 and 2 inline or in
 * .ARM.extab, also those following a generic personality such as __gxx_personality_v0),
 * interpreted to a packed rule for the common shapes and evaluated in full otherwise;
 * recognizing the signal return trampolines (glibc's Thumb-2 __default_sa_restorer and
 * __default_rt_sa_restorer, the kernel's and musl's ARM and Thumb ones) and stepping
 * through the signal frame by the registers the kernel saved in its ucontext.
 *
 * Reads of tables and code stay inside the module's readable segments and reads of the
 * stack inside the caller's bounds. Must not allocate or lock.
 */
#if defined(__arm__)
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ucontext.h>

#include "unwind_arch.h"

#define EXIDX_CANTUNWIND 1
#define MAX_OPS 64		/* opcode bytes of one entry: 3 + 4 * up to 15 words */

/* rt_sigframe = { siginfo_t info; { ucontext_t uc; retcode[4] } } (arch/arm/kernel/signal.c) */
#define OFF_UC sizeof(siginfo_t)
#define OFF_R7 offsetof(ucontext_t, uc_mcontext.arm_r7)
#define OFF_R11 offsetof(ucontext_t, uc_mcontext.arm_fp)
#define OFF_SP offsetof(ucontext_t, uc_mcontext.arm_sp)
#define OFF_LR offsetof(ucontext_t, uc_mcontext.arm_lr)
#define OFF_PC offsetof(ucontext_t, uc_mcontext.arm_pc)
#define UC_NEED (OFF_UC + OFF_PC + 4)

struct ops {
	uint8_t b[MAX_OPS];
	unsigned n;
};

/* An EHABI program's effect on the registers that matter to the walk. */
struct ehabi {
	uintptr_t vsp, r7, r11, lr, pc;
	int pc_set, lr_set;
};

static uint32_t load_u32(uintptr_t a)
{
	uint32_t v;

	__builtin_memcpy(&v, (const void *)a, sizeof(v));
	return v;
}

static uintptr_t prel31(uintptr_t at, uint32_t w)
{
	return at + (uintptr_t)(intptr_t)((int32_t)(w << 1) >> 1);
}

/* The .ARM.exidx entry covering key: its address, or 0. */
static uintptr_t exidx_find(const struct hs_module *m, uintptr_t key)
{
	uintptr_t tab = (uintptr_t)m->arm_exidx, end = hs_module_readable_end(m, tab);
	size_t lo = 0, hi = m->arm_exidx_size / 8, found = SIZE_MAX;

	if (!tab || !end || end - tab < m->arm_exidx_size)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t e = tab + mid * 8;

		if (prel31(e, load_u32(e)) <= key) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return found == SIZE_MAX ? 0 : tab + found * 8;
}

static void ops_add_word(struct ops *o, uint32_t w, unsigned from_byte)
{
	for (int shift = 24 - 8 * (int)from_byte; shift >= 0 && o->n < MAX_OPS; shift -= 8)
		o->b[o->n++] = (uint8_t)(w >> shift);
}

/* Compact model data at d (the word holding the first opcodes): 0, or -1 if unreadable. */
static int ops_compact(const struct hs_module *m, uintptr_t d, uint32_t w, int generic,
		       struct ops *o)
{
	unsigned pers = (w >> 24) & 0xf, words = 0, first = 1;
	uintptr_t end;

	if (generic || pers == 1 || pers == 2) {
		words = (w >> (generic ? 24 : 16)) & 0xff;
		first = generic ? 1 : 2;
	} else if (pers != 0) {
		return -1;	/* personality index 3..15: reserved */
	}
	end = hs_module_readable_end(m, d);
	if (!end || (end - d) / 4 <= words || words > (MAX_OPS - 3) / 4)
		return -1;
	ops_add_word(o, w, first);
	for (unsigned i = 1; i <= words; i++)
		ops_add_word(o, load_u32(d + 4 * i), 0);
	return 0;
}

/*
 * The opcodes of the entry covering key: 0; 1 for EXIDX_CANTUNWIND; -ENOENT without an
 * entry; -EINVAL when the entry cannot be read.
 */
static int exidx_ops(const struct hs_module *m, uintptr_t key, struct ops *o)
{
	uintptr_t e = exidx_find(m, key), x;
	uint32_t w;

	o->n = 0;
	if (!e)
		return -ENOENT;
	w = load_u32(e + 4);
	if (w == EXIDX_CANTUNWIND)
		return 1;
	if (w & 0x80000000u)
		return ops_compact(m, e + 4, w, 0, o) ? -EINVAL : 0;
	x = prel31(e + 4, w);
	if (!hs_module_readable_end(m, x) || hs_module_readable_end(m, x) - x < 8)
		return -EINVAL;
	w = load_u32(x);
	if (w & 0x80000000u)
		return ops_compact(m, x, w, 0, o) ? -EINVAL : 0;
	return ops_compact(m, x + 4, load_u32(x + 4), 1, o) ? -EINVAL : 0;	/* generic */
}

static unsigned uleb(const struct ops *o, unsigned *i, uint32_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*i < o->n && shift < 32) {
		uint8_t c = o->b[(*i)++];

		*v |= (uint32_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return 1;
}

/* vsp adjustments of opcodes that pop only registers the walk does not need. */
static int vsp_skip(uint8_t op, uint8_t next, uintptr_t *add)
{
	if (op == 0xb1 && next && !(next & 0xf0))
		*add = 4 * (uintptr_t)__builtin_popcount(next);	/* r0-r3 */
	else if (op == 0xb3 || op == 0xc8 || op == 0xc9 || op == 0xc6)
		*add = 8 * (uintptr_t)((next & 0xf) + 1) + (op == 0xb3 ? 4 : 0);
	else if (op == 0xc7 && next && !(next & 0xf0))
		*add = 4 * (uintptr_t)__builtin_popcount(next);
	else
		return -1;
	return 0;
}

/* Pop the registers of mask (bit i = r(4 + i)) at vsp, bounds-checked. */
static int pop_mask(struct ehabi *s, uint32_t mask, uintptr_t lo, uintptr_t hi)
{
	uintptr_t end = s->vsp + 4 * (uintptr_t)__builtin_popcount(mask);

	if (s->vsp < lo || end < s->vsp || end > hi)
		return -1;
	for (uint32_t i = 0; mask >> i; i++) {
		uintptr_t v;

		if (!(mask >> i & 1))
			continue;
		v = hs_load_word(s->vsp);
		s->vsp += 4;
		if (i == 3)
			s->r7 = v;
		else if (i == 7)
			s->r11 = v;
		else if (i == 10)
			s->lr = v, s->lr_set = 1;
		else if (i == 11)
			s->pc = v, s->pc_set = 1;
	}
	return 0;
}

/* One opcode at o->b[*i] (ARM IHI 0038, 10.3). 0 go on, 1 finish, -1 cannot unwind. */
static int exec_op(struct ehabi *s, const struct ops *o, unsigned *i, uintptr_t lo,
		   uintptr_t hi)
{
	uint8_t op = o->b[(*i)++], next = *i < o->n ? o->b[*i] : 0;
	uintptr_t add;
	uint32_t v;

	if ((op & 0xc0) == 0x00) {
		s->vsp += ((uintptr_t)(op & 0x3f) << 2) + 4;
	} else if ((op & 0xc0) == 0x40) {
		s->vsp -= ((uintptr_t)(op & 0x3f) << 2) + 4;
	} else if ((op & 0xf0) == 0x80) {
		(*i)++;
		v = (uint32_t)(op & 0xf) << 8 | next;
		return v ? pop_mask(s, v, lo, hi) : -1;	/* 0x8000: refuse to unwind */
	} else if ((op & 0xf0) == 0x90) {
		if ((op & 0xf) == 7)
			s->vsp = s->r7;
		else if ((op & 0xf) == 11)
			s->vsp = s->r11;
		else
			return -1;	/* a register the walk does not track (or reserved) */
	} else if ((op & 0xf0) == 0xa0) {
		v = (2u << (op & 7)) - 1;	/* r4..r(4+nnn) */
		return pop_mask(s, (op & 8) ? v | 1u << 10 : v, lo, hi);
	} else if (op == 0xb0) {
		return 1;
	} else if (op == 0xb2) {
		if (uleb(o, i, &v))
			return -1;
		s->vsp += 0x204 + ((uintptr_t)v << 2);
	} else if ((op & 0xf8) == 0xb8 || (op & 0xf8) == 0xd0) {
		s->vsp += 8 * (uintptr_t)((op & 7) + 1) + ((op & 0xf8) == 0xb8 ? 4 : 0);
	} else if ((op & 0xf8) == 0xc0 && op != 0xc6 && op != 0xc7) {
		s->vsp += 8 * (uintptr_t)((op & 7) + 1);	/* iWMMXt wR10.. */
	} else if (vsp_skip(op, next, &add) == 0) {
		(*i)++;
		s->vsp += add;
	} else {
		return -1;
	}
	return 0;
}

/* Run the program from s (vsp = sp, r7, r11, lr as in the frame). 0, or -1. */
static int ehabi_run(struct ehabi *s, const struct ops *o, uintptr_t lo, uintptr_t hi)
{
	unsigned i = 0;
	int rc = 0;

	while (i < o->n && rc == 0)
		rc = exec_op(s, o, &i, lo, hi);
	if (rc < 0)
		return -1;
	if (!s->pc_set && s->lr_set)
		s->pc = s->lr;
	return 0;
}

/* The packed rule for a program of the common shape, else HS_RULE_COMPLEX. */
static uint32_t pack(const struct ops *o)
{
	uint32_t kind = HS_ARM_VSP_SP, pre = 0, post = 0, mask = 0, v;
	unsigned i = 0;

	if (i < o->n && (o->b[i] == 0x97 || o->b[i] == 0x9b))
		kind = o->b[i++] == 0x97 ? HS_ARM_VSP_R7 : HS_ARM_VSP_R11;
	for (; i < o->n && (o->b[i] & 0xc0) == 0; i++)
		pre += (o->b[i] & 0x3fu) * 4 + 4;
	while (i < o->n && o->b[i] != 0xb0) {
		uint8_t op = o->b[i++];

		if ((op & 0xf0) == 0x80 && i < o->n && (op & 0xf || o->b[i])) {
			v = (uint32_t)(op & 0xf) << 8 | o->b[i++];
		} else if ((op & 0xf0) == 0xa0) {
			v = (2u << (op & 7)) - 1;
			v |= (op & 8) ? 1u << 10 : 0;
		} else if ((op & 0xc0) == 0 && mask) {
			post += (op & 0x3fu) * 4 + 4;
			continue;
		} else {
			return HS_RULE_COMPLEX;
		}
		if (v & mask)
			return HS_RULE_COMPLEX;	/* popped twice: not this shape */
		if (mask && (v & ((1u << (32 - __builtin_clz(mask))) - 1)))
			return HS_RULE_COMPLEX;	/* pops must go up in register order */
		mask |= v;
	}
	if (pre / 4 > 0xfff || post / 4 > 0xf)
		return HS_RULE_COMPLEX;
	return kind | pre / 4 << 3 | mask << 15 | post / 4 << 27;
}

int hs_arch_table_rule(const struct hs_module *m, uintptr_t key, uint32_t *rule)
{
	struct ops o;
	int rc = exidx_ops(m, key, &o);

	if (rc == -ENOENT)
		return rc;
	*rule = rc == 0 ? pack(&o) : HS_RULE_END;
	return 0;
}

int hs_arch_table_step(const struct hs_module *m, uintptr_t key, struct hs_uregs *r,
		       uintptr_t lo, uintptr_t hi)
{
	struct ehabi s = { r->sp, r->fp, r->r11, r->lr, 0, 0, 0 };
	struct ops o;
	int rc = exidx_ops(m, key, &o);

	if (rc == -ENOENT)
		return rc;
	if (rc || ehabi_run(&s, &o, lo, hi))
		return -1;
	if (!s.pc_set && !s.lr_set && r->ra)
		return -1;	/* lr is not live in a caller's frame */
	if (s.vsp < r->sp || (s.vsp == r->sp && r->ra) || s.vsp > hi)
		return -1;
	r->fp = s.r7;
	r->r11 = s.r11;
	return hs_arm_set_caller(r, s.pc_set || s.lr_set ? s.pc : r->lr, s.vsp);
}

uint32_t hs_arch_pack(const struct hs_cfi_rules *cr)
{
	(void)cr;
	return HS_RULE_COMPLEX;	/* .eh_frame on ARM is rare: evaluated in full (unwind.c) */
}

/*
 * 2 when pc is an rt_sigreturn trampoline (the handler got an rt_sigframe: siginfo, then
 * ucontext), 1 for a sigreturn one (a handler without SA_SIGINFO: sigframe = ucontext
 * first), else 0. "mov r7, #NR; svc 0" in Thumb-2 (glibc's restorers), Thumb or ARM.
 */
static int sigreturn_kind(const struct hs_module *m, uintptr_t pc)
{
	static const uint8_t nr[2] = { 173, 119 };	/* __NR_rt_sigreturn, __NR_sigreturn */
	uintptr_t end = m ? hs_module_readable_end(m, pc) : 0;
	const uint16_t *h = (const uint16_t *)pc;
	uint32_t a0, a1;

	if (!end || end - pc < 8 || (pc & 1))
		return 0;
	for (int k = 0; k < 2; k++) {
		if ((h[0] == 0xf04f && h[1] == (0x0700 | nr[k]) && h[2] == 0xdf00) ||
		    (h[0] == (0x2700 | nr[k]) && h[1] == 0xdf00))
			return 2 - k;
		if (pc & 3)
			continue;
		__builtin_memcpy(&a0, (const void *)pc, 4);
		__builtin_memcpy(&a1, (const void *)(pc + 4), 4);
		if (a0 == (0xe3a07000u | nr[k]) && a1 == 0xef000000u)
			return 2 - k;
	}
	return 0;
}

int hs_arch_is_sigreturn(const struct hs_module *m, uintptr_t pc)
{
	return sigreturn_kind(m, pc) != 0;
}

/* The handler returned into the trampoline with sp at the (rt_)sigframe. */
int hs_arch_step_signal(struct hs_uregs *r, uintptr_t lo, uintptr_t hi)
{
	int kind = sigreturn_kind(hs_module_find(r->pc), r->pc);
	uintptr_t uc = r->sp + (kind == 2 ? OFF_UC : 0), sp;

	if (!kind || r->sp < lo || hi < UC_NEED || r->sp > hi - UC_NEED)
		return -1;
	sp = hs_load_word(uc + OFF_SP);
	if (sp <= uc || sp >= hi)
		return -1;
	r->pc = hs_load_word(uc + OFF_PC) & ~(uintptr_t)1;
	r->fp = hs_load_word(uc + OFF_R7);
	r->r11 = hs_load_word(uc + OFF_R11);
	r->lr = hs_load_word(uc + OFF_LR) & ~(uintptr_t)1;
	r->sp = sp;
	r->ra = 0;
	return r->pc ? 0 : -1;
}
#endif
