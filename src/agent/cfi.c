// SPDX-License-Identifier: MIT
/*
 * Reading DWARF CFI in memory (see cfi.h): the .eh_frame_hdr binary search table, CIE and
 * FDE headers with their pointer encodings, and the CFA program interpreter. The format is
 * the LSB's .eh_frame (DWARF 2-4 call frame information with GNU augmentations).
 *
 * Every read goes through a cursor bounded by the end of the readable segment it started
 * in (and by the entry's own length), so corrupt CFI ends the lookup with an error instead
 * of a fault. Must not allocate, lock, or follow indirect (DW_EH_PE_indirect) pointers.
 */
#include <errno.h>
#include <stddef.h>

#include "cfi.h"

enum dw_cfa {
	DW_CFA_nop = 0x00,
	DW_CFA_set_loc = 0x01,
	DW_CFA_advance_loc1 = 0x02,
	DW_CFA_advance_loc2 = 0x03,
	DW_CFA_advance_loc4 = 0x04,
	DW_CFA_offset_extended = 0x05,
	DW_CFA_restore_extended = 0x06,
	DW_CFA_undefined = 0x07,
	DW_CFA_same_value = 0x08,
	DW_CFA_register = 0x09,
	DW_CFA_remember_state = 0x0a,
	DW_CFA_restore_state = 0x0b,
	DW_CFA_def_cfa = 0x0c,
	DW_CFA_def_cfa_register = 0x0d,
	DW_CFA_def_cfa_offset = 0x0e,
	DW_CFA_def_cfa_expression = 0x0f,
	DW_CFA_expression = 0x10,
	DW_CFA_offset_extended_sf = 0x11,
	DW_CFA_def_cfa_sf = 0x12,
	DW_CFA_def_cfa_offset_sf = 0x13,
	DW_CFA_val_offset = 0x14,
	DW_CFA_val_offset_sf = 0x15,
	DW_CFA_val_expression = 0x16,
	DW_CFA_GNU_window_save = 0x2d,
	DW_CFA_GNU_args_size = 0x2e,
	DW_CFA_GNU_negative_offset_extended = 0x2f,
};

#define PE_OMIT 0xff
#define PE_DATAREL_SDATA4 0x3b
#define REMEMBER_MAX 4

struct cur {
	const uint8_t *p, *end;
	int bad;
};

struct cie {
	const uint8_t *insns, *end;
	uint64_t code_align;
	int64_t data_align;
	uint32_t ra_reg;
	uint8_t fde_enc;
	uint8_t has_z;
	uint8_t signal;
};

struct run {
	struct hs_cfi_row cur, init;
	struct hs_cfi_row saved[REMEMBER_MAX];
	unsigned depth;
	uintptr_t loc, target;
	const struct cie *cie;
	uint8_t fde_enc;
};

static int cur_open(struct cur *c, const struct hs_module *m, uintptr_t addr)
{
	uintptr_t end = hs_module_readable_end(m, addr);

	c->p = (const uint8_t *)addr;
	c->end = (const uint8_t *)end;
	c->bad = !end;
	return c->bad ? -EINVAL : 0;
}

static int take(struct cur *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	return 1;
}

static uint64_t fixed(struct cur *c, size_t n)
{
	uint64_t v = 0;

	if (!take(c, n))
		return 0;
	__builtin_memcpy(&v, c->p, n);	/* little-endian targets only */
	c->p += n;
	return v;
}

static int64_t fixed_signed(struct cur *c, size_t n)
{
	uint64_t v = fixed(c, n);
	unsigned shift = 64 - 8 * (unsigned)n;

	return (int64_t)(v << shift) >> shift;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; take(c, 1); shift += 7) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	do {
		if (!take(c, 1))
			return 0;
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

static uintptr_t encoded_raw(struct cur *c, uint8_t format)
{
	switch (format) {
	case 0x00:
		return (uintptr_t)fixed(c, sizeof(uintptr_t));	/* absptr */
	case 0x01:
		return (uintptr_t)uleb(c);
	case 0x02:
	case 0x03:
	case 0x04:
		return (uintptr_t)fixed(c, (size_t)1 << (format - 1));	/* udata2/4/8 */
	case 0x09:
		return (uintptr_t)sleb(c);
	case 0x0a:
	case 0x0b:
	case 0x0c:
		return (uintptr_t)fixed_signed(c, (size_t)1 << (format - 9));	/* sdata2/4/8 */
	default:
		c->bad = 1;
		return 0;
	}
}

/* A DW_EH_PE-encoded value; pc-relative and data-relative applied, indirect not followed. */
static uintptr_t encoded(struct cur *c, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = (uintptr_t)c->p, v = encoded_raw(c, enc & 0x0f);

	switch (enc & 0x70) {
	case 0x00:
		return v;
	case 0x10:
		return v + at;	/* pcrel */
	case 0x30:
		return v + datarel;
	default:
		c->bad = 1;
		return 0;
	}
}

/* The address of the FDE whose initial location is the last one <= pc. */
static int hdr_search(const struct hs_module *m, uintptr_t pc, uintptr_t *fde)
{
	uintptr_t hdr = (uintptr_t)m->eh_frame_hdr, count, lo = 0, hi;
	const uint8_t *tab;
	int32_t rel[2];
	struct cur c;
	uint8_t ptr_enc, cnt_enc, tab_enc;

	if (!hdr || cur_open(&c, m, hdr))
		return -ENOENT;
	if ((uintptr_t)(c.end - c.p) > m->eh_frame_hdr_size)
		c.end = c.p + m->eh_frame_hdr_size;
	if (fixed(&c, 1) != 1)
		return -EINVAL;
	ptr_enc = (uint8_t)fixed(&c, 1);
	cnt_enc = (uint8_t)fixed(&c, 1);
	tab_enc = (uint8_t)fixed(&c, 1);
	if (ptr_enc != PE_OMIT)
		encoded(&c, ptr_enc, hdr);
	if (cnt_enc == PE_OMIT || tab_enc != PE_DATAREL_SDATA4)
		return -ENOENT;
	count = encoded(&c, cnt_enc, hdr);
	if (c.bad || !count || count > (uintptr_t)(c.end - c.p) / 8)
		return -EINVAL;
	tab = c.p;
	for (hi = count; hi - lo > 1;) {
		uintptr_t mid = lo + (hi - lo) / 2;
		int32_t loc;

		__builtin_memcpy(&loc, tab + mid * 8, 4);
		if (hdr + (uintptr_t)(intptr_t)loc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	__builtin_memcpy(rel, tab + lo * 8, 8);
	if (hdr + (uintptr_t)(intptr_t)rel[0] > pc)
		return -ENOENT;
	*fde = hdr + (uintptr_t)(intptr_t)rel[1];
	return 0;
}

/* Length and end of a CIE or FDE at c; 0 on a bad or terminating (zero) length. */
static int entry_open(struct cur *c, int *is64)
{
	uint64_t len = fixed(c, 4);

	*is64 = len == 0xffffffffu;
	if (*is64)
		len = fixed(c, 8);
	if (c->bad || !len || len > (uint64_t)(c->end - c->p))
		return -EINVAL;
	c->end = c->p + len;
	return 0;
}

static int cie_augmentation(struct cur *c, const char *aug, struct cie *cie)
{
	const uint8_t *aug_end;
	uint64_t len;

	if (aug[0] != 'z')
		return aug[0] ? -EINVAL : 0;
	cie->has_z = 1;
	len = uleb(c);
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return -EINVAL;
	aug_end = c->p + len;
	for (aug++; *aug; aug++) {
		if (*aug == 'R') {
			cie->fde_enc = (uint8_t)fixed(c, 1);
		} else if (*aug == 'L') {
			fixed(c, 1);
		} else if (*aug == 'P') {
			encoded(c, (uint8_t)fixed(c, 1) & 0x7f, 0);
		} else if (*aug == 'S') {
			cie->signal = 1;
		} else if (*aug != 'B' && *aug != 'G') {
			break;	/* unknown, but 'z' tells where the data ends */
		}
	}
	c->p = aug_end;
	return c->bad ? -EINVAL : 0;
}

static int cie_parse(const struct hs_module *m, uintptr_t addr, struct cie *cie)
{
	char aug[8];
	struct cur c;
	int is64;
	unsigned n = 0, version;

	if (cur_open(&c, m, addr) || entry_open(&c, &is64))
		return -EINVAL;
	if (fixed(&c, is64 ? 8 : 4) != 0)
		return -EINVAL;
	version = (unsigned)fixed(&c, 1);
	do {
		if (n == sizeof(aug) || !take(&c, 1))
			return -EINVAL;
		aug[n] = (char)*c.p++;
	} while (aug[n++]);
	if (version != 1 && version != 3 && version != 4)
		return -EINVAL;
	if (version == 4)
		fixed(&c, 2);	/* address size, segment selector size */
	*cie = (struct cie){ .fde_enc = 0 };
	cie->code_align = uleb(&c);
	cie->data_align = sleb(&c);
	cie->ra_reg = version == 1 ? (uint32_t)fixed(&c, 1) : (uint32_t)uleb(&c);
	if (c.bad || cie_augmentation(&c, aug, cie))
		return -EINVAL;
	cie->insns = c.p;
	cie->end = c.end;
	return 0;
}

/* Factored offsets from corrupt CFI may overflow: wrap instead of undefined behaviour. */
static int64_t factor(uint64_t v, int64_t align)
{
	return (int64_t)(v * (uint64_t)align);
}

static void set_reg(struct run *x, uint64_t reg, uint8_t how, int64_t off)
{
	if (reg < HS_CFI_NREGS)
		x->cur.regs[reg] = (struct hs_cfi_reg){ (int32_t)off, how };
}

static void restore_reg(struct run *x, uint64_t reg)
{
	if (reg < HS_CFI_NREGS)
		x->cur.regs[reg] = x->init.regs[reg];
}

static int set_loc(struct run *x, uintptr_t loc)
{
	if (loc > x->target)
		return 1;
	x->loc = loc;
	return 0;
}

/* Advance the location; returns 1 when the row for the target is complete. */
static int advance(struct run *x, uint64_t delta)
{
	uintptr_t loc = x->loc + (uintptr_t)(delta * x->cie->code_align);

	if (loc > x->target || loc < x->loc)
		return 1;
	x->loc = loc;
	return 0;
}

static int remember(struct run *x, int restore)
{
	if (!restore) {
		if (x->depth == REMEMBER_MAX)
			return -EINVAL;
		x->saved[x->depth++] = x->cur;
		return 0;
	}
	if (!x->depth)
		return -EINVAL;
	x->cur = x->saved[--x->depth];
	return 0;
}

static void skip_block(struct cur *c)
{
	uint64_t len = uleb(c);

	if (take(c, (size_t)len))
		c->p += len;
}

/* Register-rule opcodes with explicit operands. 0 or -EINVAL. */
static int exec_reg_op(struct run *x, struct cur *c, uint8_t op)
{
	int64_t da = x->cie->data_align;
	uint64_t reg = uleb(c);

	switch (op) {
	case DW_CFA_offset_extended:
		set_reg(x, reg, HS_CFI_OFFSET, factor(uleb(c), da));
		return 0;
	case DW_CFA_offset_extended_sf:
		set_reg(x, reg, HS_CFI_OFFSET, factor((uint64_t)sleb(c), da));
		return 0;
	case DW_CFA_GNU_negative_offset_extended:
		set_reg(x, reg, HS_CFI_OFFSET, factor(0 - uleb(c), da));
		return 0;
	case DW_CFA_val_offset:
		set_reg(x, reg, HS_CFI_VAL_OFFSET, factor(uleb(c), da));
		return 0;
	case DW_CFA_val_offset_sf:
		set_reg(x, reg, HS_CFI_VAL_OFFSET, factor((uint64_t)sleb(c), da));
		return 0;
	case DW_CFA_restore_extended:
		restore_reg(x, reg);
		return 0;
	case DW_CFA_undefined:
		set_reg(x, reg, HS_CFI_UNDEF, 0);
		return 0;
	case DW_CFA_same_value:
		set_reg(x, reg, HS_CFI_SAME, 0);
		return 0;
	case DW_CFA_register:
		set_reg(x, reg, HS_CFI_REGISTER, (int64_t)uleb(c));
		return 0;
	case DW_CFA_expression:
	case DW_CFA_val_expression:
		skip_block(c);
		set_reg(x, reg, op == DW_CFA_expression ? HS_CFI_EXPR : HS_CFI_VAL_EXPR, 0);
		return 0;
	default:
		return -EINVAL;
	}
}

/* The CFA-defining and GNU opcodes, else a register rule. 0 or -EINVAL. */
static int exec_cfa_op(struct run *x, struct cur *c, uint8_t op)
{
	int64_t da = x->cie->data_align;

	switch (op) {
	case DW_CFA_def_cfa:
		x->cur.cfa_reg = (uint32_t)uleb(c);
		x->cur.cfa_off = (int64_t)uleb(c);
		x->cur.cfa_expr = 0;
		return 0;
	case DW_CFA_def_cfa_sf:
		x->cur.cfa_reg = (uint32_t)uleb(c);
		x->cur.cfa_off = factor((uint64_t)sleb(c), da);
		x->cur.cfa_expr = 0;
		return 0;
	case DW_CFA_def_cfa_register:
		x->cur.cfa_reg = (uint32_t)uleb(c);
		x->cur.cfa_expr = 0;
		return 0;
	case DW_CFA_def_cfa_offset:
		x->cur.cfa_off = (int64_t)uleb(c);
		return 0;
	case DW_CFA_def_cfa_offset_sf:
		x->cur.cfa_off = factor((uint64_t)sleb(c), da);
		return 0;
	case DW_CFA_def_cfa_expression:
		skip_block(c);
		x->cur.cfa_expr = 1;
		return 0;
	case DW_CFA_GNU_args_size:
		uleb(c);
		return 0;
	case DW_CFA_GNU_window_save:	/* aarch64: DW_CFA_AARCH64_negate_ra_state */
		x->cur.ra_mangled ^= 1;
		return 0;
	default:
		return exec_reg_op(x, c, op);
	}
}

/* One instruction. 1 when the target row is complete, 0 to go on, -EINVAL. */
static int exec_one(struct run *x, struct cur *c)
{
	uint8_t op = (uint8_t)fixed(c, 1), low = op & 0x3f;

	switch (op >> 6) {
	case 1:	/* DW_CFA_advance_loc */
		return advance(x, low);
	case 2:	/* DW_CFA_offset */
		set_reg(x, low, HS_CFI_OFFSET, factor(uleb(c), x->cie->data_align));
		return 0;
	case 3:	/* DW_CFA_restore */
		restore_reg(x, low);
		return 0;
	}
	switch (op) {
	case DW_CFA_nop:
		return 0;
	case DW_CFA_set_loc:
		return set_loc(x, encoded(c, x->fde_enc & 0x7f, 0));
	case DW_CFA_advance_loc1:
		return advance(x, fixed(c, 1));
	case DW_CFA_advance_loc2:
		return advance(x, fixed(c, 2));
	case DW_CFA_advance_loc4:
		return advance(x, fixed(c, 4));
	case DW_CFA_remember_state:
		return remember(x, 0);
	case DW_CFA_restore_state:
		return remember(x, 1);
	default:
		return exec_cfa_op(x, c, op);
	}
}

static int run_program(struct run *x, const uint8_t *p, const uint8_t *end)
{
	struct cur c = { p, end, 0 };

	while (c.p < c.end) {
		int rc = exec_one(x, &c);

		if (c.bad || rc < 0)
			return -EINVAL;
		if (rc)
			return 0;
	}
	return 0;
}

struct fde {
	uintptr_t pc_lo, pc_hi;
	const uint8_t *insns, *end;
};

static int fde_parse(const struct hs_module *m, uintptr_t addr, struct cie *cie,
		     struct fde *fde)
{
	struct cur c;
	uintptr_t field;
	uint64_t cie_off;
	int is64;

	if (cur_open(&c, m, addr) || entry_open(&c, &is64))
		return -EINVAL;
	field = (uintptr_t)c.p;
	cie_off = fixed(&c, is64 ? 8 : 4);
	if (c.bad || !cie_off || cie_parse(m, field - (uintptr_t)cie_off, cie))
		return -EINVAL;
	fde->pc_lo = encoded(&c, cie->fde_enc & 0x7f, 0);
	fde->pc_hi = fde->pc_lo + encoded(&c, cie->fde_enc & 0x0f, 0);
	if (cie->has_z)
		skip_block(&c);
	if (c.bad)
		return -EINVAL;
	fde->insns = c.p;
	fde->end = c.end;
	return 0;
}

int hs_cfi_find(const struct hs_module *m, uintptr_t pc, struct hs_cfi_rules *out)
{
	struct run x;
	struct cie cie;
	struct fde fde;
	uintptr_t addr;
	int rc = hdr_search(m, pc, &addr);

	if (rc)
		return rc;
	if (fde_parse(m, addr, &cie, &fde))
		return -EINVAL;
	if (pc < fde.pc_lo || pc >= fde.pc_hi)
		return -ENOENT;
	__builtin_memset(&x.cur, 0, sizeof(x.cur));
	x.depth = 0;
	x.loc = fde.pc_lo;
	x.target = pc;
	x.cie = &cie;
	x.fde_enc = cie.fde_enc;
	if (run_program(&x, cie.insns, cie.end))
		return -EINVAL;
	x.init = x.cur;
	x.depth = 0;
	if (run_program(&x, fde.insns, fde.end))
		return -EINVAL;
	out->row = x.cur;
	out->ra_reg = cie.ra_reg;
	out->signal = cie.signal;
	out->pc_lo = fde.pc_lo;
	out->pc_hi = fde.pc_hi;
	return 0;
}
