/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the symbolizer's files, and by nothing else: symbolize.c (the API,
 * the address cache, which module holds an address), symbolize_find.c (finding a module's
 * ELF and debug files, opening its Dwfl), symbolize_dwarf.c (symbol tables, line tables,
 * inline chains). Callers use symbolize.h only.
 */
#ifndef HS_SYMBOLIZE_INT_H
#define HS_SYMBOLIZE_INT_H

#include "symbolize.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <stdbool.h>

#define HS_SYM_MAX_INLINE 64	/* deepest inline chain kept for one address */
#define HS_SYM_DEFAULT_DEBUG_DIR "/usr/lib/debug"

/* Open-addressing map from 64-bit keys to nonzero 32-bit values (0 marks a free slot). */
struct hs_u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap;	/* power of two, or 0 */
	size_t n;
};

/* Interned strings: every string handed out lives here until hs_symbolizer_free. */
struct hs_strtab {
	char **slots;
	size_t cap;	/* power of two, or 0 */
	size_t n;
};

/* One address range of a function (DW_TAG_subprogram) of a compilation unit. */
struct hs_sym_func {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

/* The functions of one compilation unit, sorted by start address. */
struct hs_sym_cu_funcs {
	struct hs_sym_func *r;
	size_t n, cap;
};

/* Where a compilation unit's code lies, for files without .debug_aranges (clang). */
struct hs_sym_cu_range {
	Dwarf_Addr lo, hi;	/* libdwfl addresses */
	Dwarf_Die *cu;		/* owned by libdwfl, stable while the module is open */
	Dwarf_Addr bias;
};

/* A code symbol of a module, for binary search (dwfl_module_addrinfo scans linearly). */
struct hs_sym_symbol {
	GElf_Addr lo;
	GElf_Addr end;		/* lo + size; for a sizeless symbol, the end of its section */
	bool sized;
	const char *name;	/* in libdwfl's copy of the string table */
	int rank;		/* among symbols at one address, the highest is shown */
};

enum hs_sym_module_state { HS_MOD_UNOPENED, HS_MOD_OPEN, HS_MOD_FAILED };

/* A recorded module; what is below `state` is filled when an address first falls into it. */
struct hs_sym_module {
	struct hs_symbolizer *owner;
	unsigned id;
	char *path;
	uint64_t bias;
	uint8_t *build_id;
	size_t build_id_len;
	char *build_id_hex;
	struct hs_sym_segment *segs;
	size_t nsegs;
	enum hs_sym_module_state state;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	uint64_t shift;		/* libdwfl's address minus the recorded one (mod 2^64) */
	char *found;
	char *problem;
	int has_symbols, has_debuginfo;
	struct hs_sym_symbol *syms;	/* sorted by lo, then rank */
	size_t nsyms;
	struct hs_u64map cu_map;	/* CU DIE offset -> index + 1 in cus */
	struct hs_sym_cu_funcs *cus;
	size_t ncus, cus_cap;
	struct hs_sym_cu_range *cu_ranges;	/* built on the first address .debug_aranges lacks */
	size_t ncu_ranges;
	bool cu_ranges_built;
};

/* One PT_LOAD segment of one module, for finding the module that holds an address. */
struct hs_sym_range {
	uint64_t start, end;
	size_t mod;		/* index in s->mods: a later module wins over an earlier one */
};

/* What hs_symbolize answered for one address. */
struct hs_sym_cache_ent {
	uint32_t first;		/* index in s->frames */
	uint32_t n;
	unsigned module_id;
};

struct hs_symbolizer {
	char *sysroot;		/* "" when none */
	char **debug_dirs;
	size_t ndebug_dirs;
	char *debuginfo_path;	/* the debug dirs joined by ':', for libdwfl */
	Dwfl_Callbacks callbacks;

	struct hs_sym_module **mods;
	size_t nmods, mods_cap;
	struct hs_u64map by_id;	/* module id -> index + 1 in mods */

	struct hs_sym_range *ranges;
	uint64_t *max_end;	/* max_end[i]: highest end among ranges[0..i] */
	size_t nranges;
	bool ranges_stale;

	struct hs_u64map cache;	/* address -> index + 1 in ents */
	struct hs_sym_cache_ent *ents;
	size_t nents, ents_cap;
	struct hs_symframe *frames;
	size_t nframes, frames_cap;
	struct hs_strtab strs;
};

/* ---- symbolize.c: containers and strings ---- */

/* Grow *p (elements of elem bytes, capacity *cap) to hold need; 0 or -ENOMEM. */
int hs_sym_grow(void **p, size_t *cap, size_t need, size_t elem);

/* qsort that accepts (NULL, 0). */
void hs_sym_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* The value stored for key, 0 if none. */
uint32_t hs_u64map_get(const struct hs_u64map *m, uint64_t key);

/* Insert or replace key (val nonzero); 0 or -ENOMEM. */
int hs_u64map_put(struct hs_u64map *m, uint64_t key, uint32_t val);

/* Free the map's arrays and leave it empty and usable. */
void hs_u64map_release(struct hs_u64map *m);

/* The interned copy of str, owned by t (NULL for NULL or when out of memory). */
const char *hs_strtab_intern(struct hs_strtab *t, const char *str);

/* Free every interned string. */
void hs_strtab_release(struct hs_strtab *t);

/* name demangled when it is a C++ symbol ("_Z..."), interned in s. */
const char *hs_sym_intern_function(struct hs_symbolizer *s, const char *name);

/* Lower-case hex of bytes, malloc'd (the caller frees); NULL when out of memory. */
char *hs_sym_hex(const uint8_t *bytes, size_t len);

/* ---- symbolize_find.c: files ---- */

/* libdwfl callbacks: debug files by build-id and .gnu_debuglink, never by debuginfod. */
int hs_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name);
int hs_sym_no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp);

/*
 * Find and open m's files once. Afterwards m->state is HS_MOD_OPEN (m->dwfl, m->mod, m->found
 * set) or HS_MOD_FAILED (m->problem says why, when there is something to say).
 */
void hs_sym_module_open(struct hs_symbolizer *s, struct hs_sym_module *m);

/* ---- symbolize_dwarf.c: symbols, lines, inline chains ---- */

/* Index m's code symbols (.symtab, else .dynsym) for hs_sym_resolve; m must be open. */
void hs_sym_index_symbols(struct hs_sym_module *m);

/*
 * Resolve return address addr (as recorded) inside open module m into out[max], max >= 1:
 * the inline chain innermost first, the real function last. Strings interned in s.
 */
size_t hs_sym_resolve(struct hs_symbolizer *s, struct hs_sym_module *m, uint64_t addr,
		      struct hs_symframe *out, size_t max);

#endif
