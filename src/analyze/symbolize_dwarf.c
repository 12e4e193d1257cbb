/* SPDX-License-Identifier: MIT */
/*
 * From an address in an open module to frames: the symbol table (sorted once, searched by
 * bisection: dwfl_module_addrinfo scans linearly), the line table, and the inline chain of
 * DWARF scopes (DW_TAG_inlined_subroutine with its DW_AT_call_file/line, as eu-addr2line -i).
 * A per-CU index of functions keeps each lookup off a walk of the whole CU; files without
 * .debug_aranges (clang) get a CU index built from the CUs' own ranges.
 */
#include "symbolize_int.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

/* ---- symbol tables ------------------------------------------------------------------------ */

/* Global before weak before local; functions before untyped labels. */
static int sym_rank(const GElf_Sym *sym)
{
	int bind = GELF_ST_BIND(sym->st_info), type = GELF_ST_TYPE(sym->st_info);

	return (bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0) + (type != STT_NOTYPE);
}

/* Symbols that can name code: defined functions, ifuncs and untyped (assembly) labels. */
static bool is_code_sym(const GElf_Sym *sym, GElf_Word shndx, const char *name)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS)
		return false;
	return type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE;
}

/* By address, then rank ascending: walking back from an address meets the best first. */
static int sym_cmp(const void *a, const void *b)
{
	const struct hs_sym_symbol *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(y->name, x->name);	/* any stable order among equals */
}

/* Where a symbol without size ends at the latest: the end of its section. */
static GElf_Addr section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias, GElf_Addr lo)
{
	Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;
	GElf_Shdr shdr;

	if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_addr + shdr.sh_size + bias <= lo)
		return lo + 1;
	return shdr.sh_addr + shdr.sh_size + bias;
}

/* Index the module's code symbols (.symtab, else .dynsym) once, sorted by address. */
void hs_sym_index_symbols(struct hs_sym_module *m)
{
	int n = dwfl_module_getsymtab(m->mod), i;
	size_t cap = 0;

	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf = NULL;
		Dwarf_Addr bias = 0;
		const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, &elf,
							   &bias);
		struct hs_sym_symbol *e;

		if (!is_code_sym(&sym, shndx, name) ||
		    hs_sym_grow((void **)&m->syms, &cap, m->nsyms + 1, sizeof(*m->syms)))
			continue;
		e = &m->syms[m->nsyms++];
		*e = (struct hs_sym_symbol){ addr, addr + sym.st_size, sym.st_size != 0, name,
					     sym_rank(&sym) };
		if (!e->sized)
			e->end = section_end(elf, shndx, bias, addr);
	}
	hs_sym_sort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
}

/*
 * The symbol holding pc, or NULL: a sized symbol containing it (the best ranked, the
 * nearest), else a sizeless one at the nearest address below pc if nothing sized is there.
 */
static const struct hs_sym_symbol *sym_at(const struct hs_sym_module *m, GElf_Addr pc)
{
	const struct hs_sym_symbol *sizeless = NULL;
	size_t lo = 0, hi = m->nsyms, k;
	bool nearest_sized = false;
	GElf_Addr nearest;

	while (lo < hi) {	/* lo: number of symbols at or below pc */
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	nearest = m->syms[lo - 1].lo;
	for (k = lo; k > 0 && lo - k < 16; k--) {
		const struct hs_sym_symbol *e = &m->syms[k - 1];

		if (e->sized && pc < e->end)
			return e;
		if (e->lo != nearest)
			continue;
		if (e->sized)
			nearest_sized = true;
		else if (!sizeless && pc < e->end)
			sizeless = e;
	}
	return nearest_sized ? NULL : sizeless;
}

/* ---- DWARF: the function and inline chain at a pc --------------------------------------- */

static int cu_range_cmp(const void *a, const void *b)
{
	const struct hs_sym_cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Index every CU of the module by its own ranges (DW_AT_low_pc/high_pc or DW_AT_ranges). */
static void cu_ranges_build(struct hs_sym_module *m)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias = 0, base, lo, hi;
	size_t cap = 0, need;

	m->cu_ranges_built = true;
	while ((cu = dwfl_module_nextcu(m->mod, cu, &bias)) != NULL) {
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			need = m->ncu_ranges + 1;
			if (lo >= hi ||
			    hs_sym_grow((void **)&m->cu_ranges, &cap, need, sizeof(*m->cu_ranges)))
				continue;
			m->cu_ranges[m->ncu_ranges++] =
				(struct hs_sym_cu_range){ lo + bias, hi + bias, cu, bias };
		}
	}
	hs_sym_sort(m->cu_ranges, m->ncu_ranges, sizeof(*m->cu_ranges), cu_range_cmp);
}

/* The CU holding pc: from .debug_aranges, else from the CUs' own ranges. */
static Dwarf_Die *cu_at(struct hs_sym_module *m, Dwarf_Addr pc, Dwarf_Addr *bias)
{
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, pc, bias);
	size_t lo = 0, hi, k;

	if (cu || !m->has_debuginfo)
		return cu;
	if (!m->cu_ranges_built)
		cu_ranges_build(m);
	hi = m->ncu_ranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cu_ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = 0; lo > 0 && k < 8; lo--, k++) {
		if (pc < m->cu_ranges[lo - 1].hi) {
			*bias = m->cu_ranges[lo - 1].bias;
			return m->cu_ranges[lo - 1].cu;
		}
	}
	return NULL;
}

/* dwarf_getfuncs callback: one index entry per address range of a function. */
static int collect_func(Dwarf_Die *die, void *arg)
{
	struct hs_sym_cu_funcs *f = arg;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (lo >= hi || hs_sym_grow((void **)&f->r, &f->cap, f->n + 1, sizeof(*f->r)))
			continue;
		f->r[f->n++] = (struct hs_sym_func){ lo, hi, *die };
	}
	return DWARF_CB_OK;
}

static int func_cmp(const void *a, const void *b)
{
	const struct hs_sym_func *x = a, *y = b;
	Dwarf_Off xo, yo;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	xo = dwarf_dieoffset((Dwarf_Die *)&x->die);
	yo = dwarf_dieoffset((Dwarf_Die *)&y->die);
	return xo > yo ? -1 : xo < yo;	/* found first when walking back: the first in DWARF */
}

/* The sorted functions of cu, indexed on first use (NULL when out of memory). */
static struct hs_sym_cu_funcs *cu_funcs_get(struct hs_sym_module *m, Dwarf_Die *cu)
{
	uint64_t key = dwarf_dieoffset(cu);
	uint32_t idx = hs_u64map_get(&m->cu_map, key);
	struct hs_sym_cu_funcs *f;

	if (idx)
		return &m->cus[idx - 1];
	if (hs_sym_grow((void **)&m->cus, &m->cus_cap, m->ncus + 1, sizeof(*m->cus)))
		return NULL;
	f = &m->cus[m->ncus];
	memset(f, 0, sizeof(*f));
	dwarf_getfuncs(cu, collect_func, f, 0);
	hs_sym_sort(f->r, f->n, sizeof(*f->r), func_cmp);
	if (hs_u64map_put(&m->cu_map, key, (uint32_t)m->ncus + 1)) {
		free(f->r);
		return NULL;
	}
	return &m->cus[m->ncus++];
}

/* The subprogram DIE whose code holds pc, from the CU's function index. */
static bool func_at(struct hs_sym_cu_funcs *f, Dwarf_Addr pc, Dwarf_Die *out)
{
	size_t lo = 0, hi = f->n, tries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->r[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* A few steps back for nested functions (GNU C); otherwise the slow path decides. */
	for (tries = 0; lo > 0 && tries < 8; lo--, tries++) {
		if (f->r[lo - 1].hi > pc) {
			*out = f->r[lo - 1].die;
			return true;
		}
	}
	return false;
}

static bool is_block_scope(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
	       tag == DW_TAG_try_block || tag == DW_TAG_catch_block ||
	       tag == DW_TAG_with_stmt;
}

static bool is_function_scope(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram ||
	       tag == DW_TAG_entry_point;
}

/* The child of parent that is a block scope containing pc. */
static bool child_at(Dwarf_Die *parent, Dwarf_Addr pc, Dwarf_Die *out)
{
	Dwarf_Die child, next;

	if (dwarf_child(parent, &child) != 0)
		return false;
	for (;;) {
		if (is_block_scope(dwarf_tag(&child)) && dwarf_haspc(&child, pc) == 1) {
			*out = child;
			return true;
		}
		if (dwarf_siblingof(&child, &next) != 0)
			return false;
		child = next;
	}
}

/* The function scopes from fn down to pc, innermost first, into chain[max]. */
static size_t descend(const Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die *chain, size_t max)
{
	Dwarf_Die cur = *fn, next;
	size_t n = 0, i;

	chain[n++] = cur;
	while (n < max && child_at(&cur, pc, &next)) {
		cur = next;
		if (dwarf_tag(&cur) == DW_TAG_inlined_subroutine)
			chain[n++] = cur;
	}
	for (i = 0; i < n / 2; i++) {
		Dwarf_Die t = chain[i];

		chain[i] = chain[n - 1 - i];
		chain[n - 1 - i] = t;
	}
	return n;
}

/* The slow path, as eu-addr2line -i: dwarf_getscopes, then the physical parents. */
static size_t scopes_fallback(Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die *chain, size_t max)
{
	Dwarf_Die *scopes = NULL, inner;
	int n = dwarf_getscopes(cu, pc, &scopes), i;
	size_t k = 0;

	if (n <= 0) {
		free(scopes);
		return 0;
	}
	inner = scopes[0];
	free(scopes);
	scopes = NULL;
	n = dwarf_getscopes_die(&inner, &scopes);
	for (i = 0; i < n && k < max; i++)
		if (is_function_scope(dwarf_tag(&scopes[i])))
			chain[k++] = scopes[i];
	free(scopes);
	return k;
}

/*
 * The name to show: a C++ linkage name (demangled later: qualified, with parameters), else
 * DW_AT_name, looking through abstract origins and specifications. C linkage names are
 * asm labels (glibc's "__GI_" aliases) and are not shown.
 */
static const char *die_function_name(Dwarf_Die *die)
{
	static const int linkage[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name };
	Dwarf_Attribute attr;
	const char *name;
	size_t i;

	for (i = 0; i < sizeof(linkage) / sizeof(linkage[0]); i++) {
		name = dwarf_formstring(dwarf_attr_integrate(die, linkage[i], &attr));
		if (name && !strncmp(name, "_Z", 2))
			return name;
	}
	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	if (name)
		return name;
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
}

/* The abstract DIE that die is an instance of (die itself when it is none). */
static void abstract_origin(const Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	int depth;

	*out = *die;
	for (depth = 0; depth < 8; depth++) {
		Dwarf_Die next;

		if (!dwarf_formref_die(dwarf_attr(out, DW_AT_abstract_origin, &attr), &next))
			return;
		*out = next;
	}
}

/*
 * GCC may describe a function's out-of-line body as an inlined instance of the function
 * itself, "called" from its own first line: such an instance is not a frame.
 */
static bool is_self_inline(Dwarf_Die *inl, Dwarf_Die *outer)
{
	Dwarf_Die a, b;
	Dwarf_Attribute attr;
	Dwarf_Word call_line;
	int decl_line;

	if (dwarf_tag(inl) != DW_TAG_inlined_subroutine)
		return false;
	abstract_origin(inl, &a);
	abstract_origin(outer, &b);
	if (a.addr != b.addr)
		return false;
	return dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &call_line) == 0 &&
	       dwarf_decl_line(&a, &decl_line) == 0 && call_line == (Dwarf_Word)decl_line;
}

/* Remove the self instances from chain[n]; the new length. */
static size_t drop_self_inlines(Dwarf_Die *chain, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (i + 1 == n || !is_self_inline(&chain[i], &chain[i + 1]))
			chain[k++] = chain[i];
	return k;
}

/* Where the inlined instance die was called from: file, line, column. */
static void call_site(struct hs_symbolizer *s, Dwarf_Die *die, Dwarf_Files *files,
		      struct hs_symframe *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word val;

	if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &val) == 0)
		f->file = hs_strtab_intern(&s->strs, dwarf_filesrc(files, val, NULL, NULL));
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &val) == 0)
		f->line = (unsigned)val;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_column, &attr), &val) == 0)
		f->column = (unsigned)val;
}

/* The chain of function scopes at pc (module addresses), innermost first. */
static size_t scope_chain(struct hs_sym_module *m, Dwarf_Addr pc, Dwarf_Die *cu,
			  Dwarf_Addr bias, Dwarf_Die *chain, size_t max)
{
	struct hs_sym_cu_funcs *funcs = cu_funcs_get(m, cu);
	Dwarf_Die fn;
	size_t n;

	if (funcs && func_at(funcs, pc - bias, &fn))
		n = descend(&fn, pc - bias, chain, max);
	else
		n = scopes_fallback(cu, pc - bias, chain, max);
	return drop_self_inlines(chain, n);
}

/* The innermost position from the CU's line table. */
static void line_of(struct hs_symbolizer *s, Dwarf_Die *cu, Dwarf_Addr dwpc,
		    struct hs_symframe *f)
{
	Dwarf_Line *line = dwarf_getsrc_die(cu, dwpc);
	int lineno = 0, col = 0;

	if (!line)
		return;
	f->file = hs_strtab_intern(&s->strs, dwarf_linesrc(line, NULL, NULL));
	if (dwarf_lineno(line, &lineno) == 0 && lineno > 0)
		f->line = (unsigned)lineno;
	if (dwarf_linecol(line, &col) == 0 && col > 0)
		f->column = (unsigned)col;
}

/* Frames from DWARF: names of each scope, the line table for the innermost position. */
static size_t dwarf_frames(struct hs_symbolizer *s, struct hs_sym_module *m, Dwarf_Addr pc,
			   struct hs_symframe *out, size_t max)
{
	Dwarf_Die chain[HS_SYM_MAX_INLINE], *cu;
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	size_t n, i;

	cu = cu_at(m, pc, &bias);
	if (!cu)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	line_of(s, cu, pc - bias, &out[0]);
	n = scope_chain(m, pc, cu, bias, chain, max < HS_SYM_MAX_INLINE ? max : HS_SYM_MAX_INLINE);
	if (n > 1 && dwarf_getsrcfiles(cu, &files, NULL) != 0)
		files = NULL;
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memset(&out[i], 0, sizeof(out[i]));
			call_site(s, &chain[i - 1], files, &out[i]);
		}
		out[i].function = hs_sym_intern_function(s, die_function_name(&chain[i]));
		out[i].inlined = i + 1 < n;
	}
	return n ? n : 1;	/* a CU without a function here: its line still counts */
}

/* Resolve a return address inside an open module into out[] (max >= 1). */
size_t hs_sym_resolve(struct hs_symbolizer *s, struct hs_sym_module *m, uint64_t addr,
		      struct hs_symframe *out, size_t max)
{
	Dwarf_Addr pc = addr - 1 + m->shift;
	const struct hs_sym_symbol *sym;
	size_t n;

	n = dwarf_frames(s, m, pc, out, max);
	if (n == 0) {
		memset(&out[0], 0, sizeof(out[0]));
		n = 1;
	}
	sym = sym_at(m, pc);
	if (sym) {
		out[n - 1].offset = pc - sym->lo + 1;
		if (!out[n - 1].function)
			out[n - 1].function = hs_sym_intern_function(s, sym->name);
	}
	return n;
}

