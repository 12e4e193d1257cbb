/* SPDX-License-Identifier: MIT */
/*
 * The symbolizer: recorded return addresses to functions, files and lines, with elfutils'
 * libdwfl (symbol tables, line tables) and libdw (inline scopes). Each recorded module gets
 * its own Dwfl, reported at the recorded load bias, opened the first time an address falls
 * into it. Files are found from the recorded path (under the sysroot), else by build-id in
 * the debug directories; a file whose build-id differs from the recorded one is refused, so
 * a report never shows the symbols of another build. Separate debug info is found by
 * build-id and by .gnu_debuglink, checked by build-id or CRC.
 *
 * It must not run programs (no addr2line, no shell) nor reach the network (no debuginfod),
 * and it is not thread-safe: one symbolizer per thread.
 */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* From libstdc++ (the C++ ABI); declared here so this file stays C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define HS_SYM_MAX_INLINE 64	/* deepest inline chain kept for one address */
#define HS_SYM_DEFAULT_DEBUG_DIR "/usr/lib/debug"

/* Open-addressing map from 64-bit keys to nonzero 32-bit values (0 marks a free slot). */
struct u64map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap;	/* power of two, or 0 */
	size_t n;
};

/* Interned strings: every string handed out lives here until hs_symbolizer_free. */
struct strtab {
	char **slots;
	size_t cap;	/* power of two, or 0 */
	size_t n;
};

/* The functions of one compilation unit with code, sorted by start address. */
struct func_range {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

struct cu_funcs {
	struct func_range *r;
	size_t n, cap;
};

/* Where a compilation unit's code lies, for files without .debug_aranges (clang). */
struct cu_range {
	Dwarf_Addr lo, hi;	/* libdwfl addresses */
	Dwarf_Die *cu;		/* owned by libdwfl, stable while the module is open */
	Dwarf_Addr bias;
};

/* A code symbol of a module, for binary search (dwfl_module_addrinfo scans linearly). */
struct sym_ent {
	GElf_Addr lo;
	GElf_Addr end;		/* lo + size; for a sizeless symbol, the end of its section */
	bool sized;
	const char *name;	/* in libdwfl's copy of the string table */
	int rank;		/* among symbols at one address, the highest is shown */
};

enum module_state { MOD_UNOPENED, MOD_OPEN, MOD_FAILED };

struct module {
	struct hs_symbolizer *owner;
	unsigned id;
	char *path;
	uint64_t bias;
	uint8_t *build_id;
	size_t build_id_len;
	char *build_id_hex;
	struct hs_sym_segment *segs;
	size_t nsegs;
	enum module_state state;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	uint64_t shift;		/* libdwfl's address minus the recorded one (mod 2^64) */
	char *found;
	char *problem;
	int has_symbols, has_debuginfo;
	struct sym_ent *syms;	/* sorted by lo, then rank */
	size_t nsyms;
	struct u64map cu_map;	/* CU DIE offset -> index + 1 in cus */
	struct cu_funcs *cus;
	size_t ncus, cus_cap;
	struct cu_range *cu_ranges;	/* built on the first address .debug_aranges lacks */
	size_t ncu_ranges;
	bool cu_ranges_built;
};

/* One PT_LOAD segment of one module, for finding the module that holds an address. */
struct range {
	uint64_t start, end;
	size_t mod;		/* index in s->mods: a later module wins over an earlier one */
};

struct cache_ent {
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

	struct module **mods;
	size_t nmods, mods_cap;

	struct range *ranges;
	uint64_t *max_end;	/* max_end[i]: highest end among ranges[0..i] */
	size_t nranges;
	bool ranges_stale;

	struct u64map cache;	/* address -> index + 1 in ents */
	struct cache_ent *ents;
	size_t nents, ents_cap;
	struct hs_symframe *frames;
	size_t nframes, frames_cap;
	struct strtab strs;
};

/* ---- small containers ------------------------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* qsort, but fine with (NULL, 0): glibc declares its base nonnull. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

static uint32_t u64map_get(const struct u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return 0;
	for (i = mix64(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return 0;
}

static void u64map_place(uint64_t *keys, uint32_t *vals, size_t cap, uint64_t key,
			 uint32_t val)
{
	size_t i = mix64(key) & (cap - 1);

	while (vals[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	keys[i] = key;
	vals[i] = val;
}

static int u64map_rehash(struct u64map *m, size_t ncap)
{
	uint64_t *keys = calloc(ncap, sizeof(*keys));
	uint32_t *vals = calloc(ncap, sizeof(*vals));
	size_t i;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		if (m->vals[i])
			u64map_place(keys, vals, ncap, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	return 0;
}

/* Insert or replace; val must be nonzero. */
static int u64map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 4 > m->cap * 3) {
		int err = u64map_rehash(m, m->cap ? m->cap * 2 : 64);

		if (err)
			return err;
	}
	if (!u64map_get(m, key))
		m->n++;
	u64map_place(m->keys, m->vals, m->cap, key, val);
	return 0;
}

static void u64map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static uint64_t str_hash(const char *str)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*str)
		h = (h ^ (unsigned char)*str++) * 0x100000001b3ULL;
	return h;
}

static int strtab_rehash(struct strtab *t, size_t ncap)
{
	char **slots = calloc(ncap, sizeof(*slots));
	size_t i, j;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		for (j = str_hash(t->slots[i]) & (ncap - 1); slots[j]; j = (j + 1) & (ncap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
	return 0;
}

/* The interned copy of str (NULL for NULL, or when out of memory). */
static const char *strtab_intern(struct strtab *t, const char *str)
{
	size_t i;

	if (!str)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && strtab_rehash(t, t->cap ? t->cap * 2 : 256))
		return NULL;
	for (i = str_hash(str) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slots[i], str))
			return t->slots[i];
	t->slots[i] = strdup(str);
	if (t->slots[i])
		t->n++;
	return t->slots[i];
}

static void strtab_release(struct strtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i]);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Demangled (C++ "_Z" names) and interned. */
static const char *intern_function(struct hs_symbolizer *s, const char *name)
{
	const char *ret;
	char *dem;
	int status = -1;

	if (!name || strncmp(name, "_Z", 2))
		return strtab_intern(&s->strs, name);
	dem = __cxa_demangle(name, NULL, NULL, &status);
	ret = strtab_intern(&s->strs, status == 0 && dem ? dem : name);
	free(dem);
	return ret;
}

static char *hex_string(const uint8_t *bytes, size_t len)
{
	char *hex = malloc(len * 2 + 1);
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", bytes[i]);
	hex[2 * len] = '\0';
	return hex;
}

/* ---- finding files ---------------------------------------------------------------------- */

static void set_problem(struct module *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_problem(struct module *m, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(m->problem);
	m->problem = msg;
}

/* With no build-id to compare, the file's PT_LOADs must be where the recording saw them. */
static bool segments_match(const struct module *m, Elf *elf)
{
	size_t phnum, i, j, matched = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum))
		return false;
	for (i = 0; i < m->nsegs; i++) {
		for (j = 0; j < phnum; j++) {
			if (!gelf_getphdr(elf, j, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (m->bias + ph.p_vaddr == m->segs[i].start &&
			    ph.p_offset == m->segs[i].offset && ph.p_memsz == m->segs[i].memsz) {
				matched++;
				break;
			}
		}
	}
	return matched == m->nsegs;
}

/*
 * 0 when elf is the recorded module; -ENOEXEC when not ELF; -ESTALE when its segments
 * differ (no build-id recorded); -EILSEQ when its build-id differs (*found_hex set to it).
 */
static int elf_identify(const struct module *m, Elf *elf, char **found_hex)
{
	const void *id = NULL;
	ssize_t n;

	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (!m->build_id_len)
		return segments_match(m, elf) ? 0 : -ESTALE;
	n = dwelf_elf_gnu_build_id(elf, &id);
	if (n == (ssize_t)m->build_id_len && !memcmp(id, m->build_id, n))
		return 0;
	if (found_hex) {
		free(*found_hex);
		*found_hex = n > 0 ? hex_string(id, n) : strdup("none");
	}
	return -EILSEQ;
}

/* An fd for path if it is the recorded module, else a negative errno (see elf_identify). */
static int open_identified(const struct module *m, const char *path, char **found_hex)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;
	int err;

	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = elf_identify(m, elf, found_hex);
	elf_end(elf);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* DIR/.build-id/ab/cdef...SUFFIX for the module's build-id; NULL when out of memory. */
static char *build_id_path(const struct module *m, const char *dir, const char *suffix)
{
	char *path = NULL;

	if (asprintf(&path, "%s/.build-id/%.2s/%s%s", dir, m->build_id_hex, m->build_id_hex + 2,
		     suffix) < 0)
		return NULL;
	return path;
}

/* Try the recorded build-id under each debug dir; fd and *found set on success. */
static int open_by_build_id(struct hs_symbolizer *s, struct module *m, char **found)
{
	static const char *const suffixes[] = { "", ".debug" };
	size_t d, k;
	int fd;

	if (m->build_id_len < 2)
		return -ENOENT;
	for (d = 0; d < s->ndebug_dirs; d++) {
		for (k = 0; k < 2; k++) {
			char *path = build_id_path(m, s->debug_dirs[d], suffixes[k]);

			fd = path ? open_identified(m, path, NULL) : -ENOMEM;
			if (fd >= 0) {
				*found = path;
				return fd;
			}
			free(path);
		}
	}
	return -ENOENT;
}

static bool is_vdso(const char *path)
{
	return !strncmp(path, "linux-vdso", 10) || !strncmp(path, "linux-gate", 10) ||
	       !strcmp(path, "[vdso]");
}

/* Explain why no file was found; mismatch_hex/at describe a wrong file seen at the path. */
static void explain_not_found(struct module *m, int err, const char *mismatch_hex,
			      const char *at)
{
	if (is_vdso(m->path))
		set_problem(m, "no file: the vDSO is not on disk");
	else if (err == -EILSEQ)
		set_problem(m, "build-id mismatch: recorded %s, found %s in %s",
			    m->build_id_hex, mismatch_hex, at);
	else if (err == -ESTALE)
		set_problem(m, "no build-id recorded and the segments of %s differ", at);
	else if (m->path[0] != '/')
		set_problem(m, "no file for module '%s'%s", m->path,
			    m->build_id_len ? " nor for its build-id in the debug dirs" : "");
	else
		set_problem(m, "cannot open '%s': %s%s", at, strerror(-err),
			    m->build_id_len ? " (nor found by build-id in the debug dirs)" : "");
}

/* Find the module's ELF file: an fd and m->found, or a negative errno and m->problem. */
static int find_file(struct hs_symbolizer *s, struct module *m)
{
	char *path = NULL, *found_hex = NULL;
	int fd = -ENOENT, err = -ENOENT;

	if (m->path[0] == '/') {
		if (asprintf(&path, "%s%s", s->sysroot, m->path) < 0)
			return -ENOMEM;
		fd = open_identified(m, path, &found_hex);
		err = fd;
		if (fd >= 0) {
			m->found = path;
			return fd;
		}
	}
	fd = open_by_build_id(s, m, &m->found);
	if (fd < 0)
		explain_not_found(m, err, found_hex, path ? path : m->path);
	free(path);
	free(found_hex);
	return fd;
}

/* ---- separate debug info (libdwfl's find_debuginfo callback) ---------------------------- */

static int file_crc32(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0, Z_NULL, 0);
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		c = crc32(c, buf, (uInt)n);
	*crc = (uint32_t)c;
	return n < 0 ? -errno : 0;
}

/* Whether the file open on fd is the debug file of mod: same build-id, else same CRC. */
static bool debug_file_matches(Dwfl_Module *mod, int fd, GElf_Word crc)
{
	const unsigned char *want;
	const void *have = NULL;
	GElf_Addr vaddr;
	int nwant = dwfl_module_build_id(mod, &want, &vaddr);
	Elf *elf;
	ssize_t nhave;
	uint32_t got;
	bool same;

	if (nwant <= 0)
		return crc != 0 && file_crc32(fd, &got) == 0 && got == crc;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	nhave = elf ? dwelf_elf_gnu_build_id(elf, &have) : -1;
	same = nhave == nwant && !memcmp(have, want, nwant);
	elf_end(elf);
	return same;
}

static int try_debug_candidate(Dwfl_Module *mod, char *path, const char *main_file,
			       GElf_Word crc, char **debuginfo_file_name)
{
	int fd;

	if (!strcmp(path, main_file))
		goto out_free_path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out_free_path;
	if (debug_file_matches(mod, fd, crc) && lseek(fd, 0, SEEK_SET) == 0) {
		*debuginfo_file_name = path;
		return fd;
	}
	close(fd);
out_free_path:
	free(path);
	return -1;
}

/* .gnu_debuglink: next to the file, in its .debug/, and DIR/<recorded dir>/ of each debug dir. */
static int find_by_debuglink(struct module *m, Dwfl_Module *mod, const char *main_file,
			     const char *link, GElf_Word crc, char **debuginfo_file_name)
{
	struct hs_symbolizer *s = m->owner;
	int flen = (int)(strrchr(main_file, '/') ? strrchr(main_file, '/') - main_file : 0);
	int rlen = (int)(strrchr(m->path, '/') ? strrchr(m->path, '/') - m->path : 0);
	char *path;
	size_t d;
	int fd = -1;

	if (strchr(link, '/') && link[0] != '/')
		return -1;
	if (asprintf(&path, "%.*s/%s", flen, main_file, link) >= 0)
		fd = try_debug_candidate(mod, path, main_file, crc, debuginfo_file_name);
	if (fd < 0 && asprintf(&path, "%.*s/.debug/%s", flen, main_file, link) >= 0)
		fd = try_debug_candidate(mod, path, main_file, crc, debuginfo_file_name);
	for (d = 0; fd < 0 && d < s->ndebug_dirs; d++) {
		if (asprintf(&path, "%s%.*s/%s", s->debug_dirs[d], rlen, m->path, link) >= 0)
			fd = try_debug_candidate(mod, path, main_file, crc, debuginfo_file_name);
	}
	return fd;
}

/*
 * libdwfl's find_debuginfo callback: by build-id under the debug dirs (libdwfl's own
 * lookup, which also finds dwz alternate files), then by .gnu_debuglink. Unlike
 * dwfl_standard_find_debuginfo it never falls back to debuginfod.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct module *m = *userdata;
	int fd;

	errno = 0;
	fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					  debuglink_file, debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !m || !debuglink_file || !file_name)
		return fd;
	return find_by_debuglink(m, mod, file_name, debuglink_file, debuglink_crc,
				 debuginfo_file_name);
}

/* ---- symbol tables ------------------------------------------------------------------------ */

/* Global before weak before local; functions before untyped labels. */
static int sym_rank(const GElf_Sym *sym)
{
	int bind = GELF_ST_BIND(sym->st_info), type = GELF_ST_TYPE(sym->st_info);

	return (bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0) + (type != STT_NOTYPE);
}

static bool is_code_sym(const GElf_Sym *sym, GElf_Word shndx, const char *name)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS)
		return false;
	return type == STT_FUNC || type == STT_GNU_IFUNC || type == STT_NOTYPE;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_ent *x = a, *y = b;

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
static void syms_build(struct module *m)
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
		struct sym_ent *e;

		if (!is_code_sym(&sym, shndx, name) ||
		    grow((void **)&m->syms, &cap, m->nsyms + 1, sizeof(*m->syms)))
			continue;
		e = &m->syms[m->nsyms++];
		*e = (struct sym_ent){ addr, addr + sym.st_size, sym.st_size != 0, name,
				       sym_rank(&sym) };
		if (!e->sized)
			e->end = section_end(elf, shndx, bias, addr);
	}
	sort(m->syms, m->nsyms, sizeof(*m->syms), sym_cmp);
}

/*
 * The symbol holding pc, or NULL: a sized symbol containing it (the best ranked, the
 * nearest), else a sizeless one at the nearest address below pc if nothing sized is there.
 */
static const struct sym_ent *sym_at(const struct module *m, GElf_Addr pc)
{
	const struct sym_ent *sizeless = NULL;
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
		const struct sym_ent *e = &m->syms[k - 1];

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

/* libdwfl's find_elf callback; never used, as files are reported with their fds. */
static int no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return -1;
}

/* ---- opening modules -------------------------------------------------------------------- */

static int module_report(struct hs_symbolizer *s, struct module *m, int fd)
{
	void **userdata = NULL;
	Dwarf_Addr dwfl_bias = 0;

	m->dwfl = dwfl_begin(&s->callbacks);
	if (!m->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	dwfl_report_begin(m->dwfl);
	/* add_p_vaddr: ET_DYN placed with bias == base; ET_EXEC ignores base (bias 0). */
	m->mod = dwfl_report_elf(m->dwfl, m->path, m->found, fd, m->bias, true);
	if (!m->mod) {
		close(fd);	/* libdwfl closes only the fds it opened itself */
		set_problem(m, "%s: %s", m->found, dwfl_errmsg(-1));
		return -ENOEXEC;
	}
	dwfl_report_end(m->dwfl, NULL, NULL);
	dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	if (userdata)
		*userdata = m;
	if (!dwfl_module_getelf(m->mod, &dwfl_bias)) {
		set_problem(m, "%s: %s", m->found, dwfl_errmsg(-1));
		return -ENOEXEC;
	}
	m->shift = dwfl_bias - m->bias;
	return 0;
}

/* Open the module's files once; afterwards m->state says whether it can be used. */
static void module_open(struct hs_symbolizer *s, struct module *m)
{
	Dwarf_Addr dwbias;
	char *real;
	int fd;

	m->state = MOD_FAILED;
	fd = find_file(s, m);
	if (fd < 0)
		return;
	real = realpath(m->found, NULL);	/* .gnu_debuglink is relative to the real file */
	if (real) {
		free(m->found);
		m->found = real;
	}
	if (module_report(s, m, fd))
		return;
	m->has_symbols = dwfl_module_getsymtab(m->mod) > 0;
	syms_build(m);
	m->has_debuginfo = dwfl_module_getdwarf(m->mod, &dwbias) != NULL;
	m->state = MOD_OPEN;
}

static void module_free(struct module *m)
{
	size_t i;

	if (m->dwfl)
		dwfl_end(m->dwfl);
	for (i = 0; i < m->ncus; i++)
		free(m->cus[i].r);
	free(m->cus);
	free(m->cu_ranges);
	free(m->syms);
	u64map_release(&m->cu_map);
	free(m->path);
	free(m->build_id);
	free(m->build_id_hex);
	free(m->segs);
	free(m->found);
	free(m->problem);
	free(m);
}

/* ---- the module holding an address -------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->mod < y->mod ? -1 : x->mod > y->mod;
}

static int ranges_build(struct hs_symbolizer *s)
{
	size_t i, j, n = 0, cap = 0;

	for (i = 0; i < s->nmods; i++)
		n += s->mods[i]->nsegs;
	free(s->max_end);
	s->max_end = malloc((n ? n : 1) * sizeof(*s->max_end));
	if (!s->max_end || grow((void **)&s->ranges, &cap, n ? n : 1, sizeof(*s->ranges)))
		return -ENOMEM;
	s->nranges = 0;
	for (i = 0; i < s->nmods; i++) {
		for (j = 0; j < s->mods[i]->nsegs; j++) {
			const struct hs_sym_segment *g = &s->mods[i]->segs[j];

			if (g->memsz && g->start + g->memsz > g->start)
				s->ranges[s->nranges++] = (struct range){ g->start, g->start + g->memsz, i };
		}
	}
	sort(s->ranges, s->nranges, sizeof(*s->ranges), range_cmp);
	for (i = 0; i < s->nranges; i++)
		s->max_end[i] = i && s->max_end[i - 1] > s->ranges[i].end ? s->max_end[i - 1]
									 : s->ranges[i].end;
	s->ranges_stale = false;
	return 0;
}

/* The module holding addr (the last added one if several do), or NULL. */
static struct module *module_at(struct hs_symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi, best = SIZE_MAX;

	if (s->ranges_stale && ranges_build(s))
		return NULL;
	hi = s->nranges;
	while (lo < hi) {	/* first range starting after addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo > 0 && s->max_end[lo - 1] > addr; lo--) {
		const struct range *r = &s->ranges[lo - 1];

		if (r->end > addr && (best == SIZE_MAX || r->mod > best))
			best = r->mod;
	}
	return best == SIZE_MAX ? NULL : s->mods[best];
}

/* ---- DWARF: the function and inline chain at a pc --------------------------------------- */

static int cu_range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void cu_ranges_build(struct module *m)
{
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias = 0, base, lo, hi;
	size_t cap = 0;

	m->cu_ranges_built = true;
	while ((cu = dwfl_module_nextcu(m->mod, cu, &bias)) != NULL) {
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(cu, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi ||
			    grow((void **)&m->cu_ranges, &cap, m->ncu_ranges + 1, sizeof(*m->cu_ranges)))
				continue;
			m->cu_ranges[m->ncu_ranges++] = (struct cu_range){ lo + bias, hi + bias, cu, bias };
		}
	}
	sort(m->cu_ranges, m->ncu_ranges, sizeof(*m->cu_ranges), cu_range_cmp);
}

/* The CU holding pc: from .debug_aranges, else from the CUs' own ranges. */
static Dwarf_Die *cu_at(struct module *m, Dwarf_Addr pc, Dwarf_Addr *bias)
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

static int collect_func(Dwarf_Die *die, void *arg)
{
	struct cu_funcs *f = arg;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (lo >= hi || grow((void **)&f->r, &f->cap, f->n + 1, sizeof(*f->r)))
			continue;
		f->r[f->n++] = (struct func_range){ lo, hi, *die };
	}
	return DWARF_CB_OK;
}

static int func_cmp(const void *a, const void *b)
{
	const struct func_range *x = a, *y = b;
	Dwarf_Off xo = dwarf_dieoffset((Dwarf_Die *)&x->die), yo = dwarf_dieoffset((Dwarf_Die *)&y->die);

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return xo > yo ? -1 : xo < yo;	/* found first when walking back: the first in DWARF */
}

/* The sorted functions of cu, indexed on first use (NULL when out of memory). */
static struct cu_funcs *cu_funcs_get(struct module *m, Dwarf_Die *cu)
{
	uint64_t key = dwarf_dieoffset(cu);
	uint32_t idx = u64map_get(&m->cu_map, key);
	struct cu_funcs *f;

	if (idx)
		return &m->cus[idx - 1];
	if (grow((void **)&m->cus, &m->cus_cap, m->ncus + 1, sizeof(*m->cus)))
		return NULL;
	f = &m->cus[m->ncus];
	memset(f, 0, sizeof(*f));
	dwarf_getfuncs(cu, collect_func, f, 0);
	sort(f->r, f->n, sizeof(*f->r), func_cmp);
	if (u64map_put(&m->cu_map, key, (uint32_t)m->ncus + 1)) {
		free(f->r);
		return NULL;
	}
	return &m->cus[m->ncus++];
}

/* The subprogram DIE whose code holds pc, from the CU's function index. */
static bool func_at(struct cu_funcs *f, Dwarf_Addr pc, Dwarf_Die *out)
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
static size_t descend(Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die *chain, size_t max)
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

static const char *die_function_name(Dwarf_Die *die)
{
	static const int attrs[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name };
	Dwarf_Attribute attr;
	size_t i;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		const char *name = dwarf_formstring(dwarf_attr_integrate(die, attrs[i], &attr));

		if (name)
			return name;
	}
	return NULL;
}

/* Where the inlined instance die was called from: file, line, column. */
static void call_site(struct hs_symbolizer *s, Dwarf_Die *die, Dwarf_Files *files,
		      struct hs_symframe *f)
{
	Dwarf_Attribute attr;
	Dwarf_Word val;

	if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &val) == 0)
		f->file = strtab_intern(&s->strs, dwarf_filesrc(files, val, NULL, NULL));
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &val) == 0)
		f->line = (unsigned)val;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_column, &attr), &val) == 0)
		f->column = (unsigned)val;
}

/* The chain of function scopes at pc (module addresses), innermost first. */
static size_t scope_chain(struct module *m, Dwarf_Addr pc, Dwarf_Die *cu, Dwarf_Addr bias,
			  Dwarf_Die *chain, size_t max)
{
	struct cu_funcs *funcs = cu_funcs_get(m, cu);
	Dwarf_Die fn;

	if (funcs && func_at(funcs, pc - bias, &fn))
		return descend(&fn, pc - bias, chain, max);
	return scopes_fallback(cu, pc - bias, chain, max);
}

/* The innermost position from the CU's line table. */
static void line_of(struct hs_symbolizer *s, Dwarf_Die *cu, Dwarf_Addr dwpc,
		    struct hs_symframe *f)
{
	Dwarf_Line *line = dwarf_getsrc_die(cu, dwpc);
	int lineno = 0, col = 0;

	if (!line)
		return;
	f->file = strtab_intern(&s->strs, dwarf_linesrc(line, NULL, NULL));
	if (dwarf_lineno(line, &lineno) == 0 && lineno > 0)
		f->line = (unsigned)lineno;
	if (dwarf_linecol(line, &col) == 0 && col > 0)
		f->column = (unsigned)col;
}

/* Frames from DWARF: names of each scope, the line table for the innermost position. */
static size_t dwarf_frames(struct hs_symbolizer *s, struct module *m, Dwarf_Addr pc,
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
	n = scope_chain(m, pc, cu, bias, chain, max);
	if (n > 1 && dwarf_getsrcfiles(cu, &files, NULL) != 0)
		files = NULL;
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memset(&out[i], 0, sizeof(out[i]));
			call_site(s, &chain[i - 1], files, &out[i]);
		}
		out[i].function = intern_function(s, die_function_name(&chain[i]));
		out[i].inlined = i + 1 < n;
	}
	return n ? n : 1;	/* a CU without a function here: its line still counts */
}

/* Resolve a return address inside an open module into out[] (max >= 1). */
static size_t resolve(struct hs_symbolizer *s, struct module *m, uint64_t addr,
		      struct hs_symframe *out, size_t max)
{
	Dwarf_Addr pc = addr - 1 + m->shift;
	const struct sym_ent *sym;
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
			out[n - 1].function = intern_function(s, sym->name);
	}
	return n;
}

/* ---- the cache and the public API ------------------------------------------------------- */

static int cache_store(struct hs_symbolizer *s, uint64_t addr, const struct hs_symframe *f,
		       size_t n, unsigned module_id)
{
	if (s->nents >= UINT32_MAX - 1 || s->nframes + n >= UINT32_MAX)
		return -ENOMEM;
	if (grow((void **)&s->frames, &s->frames_cap, s->nframes + n, sizeof(*f)) ||
	    grow((void **)&s->ents, &s->ents_cap, s->nents + 1, sizeof(*s->ents)))
		return -ENOMEM;
	memcpy(&s->frames[s->nframes], f, n * sizeof(*f));
	s->ents[s->nents] = (struct cache_ent){ (uint32_t)s->nframes, (uint32_t)n, module_id };
	if (u64map_put(&s->cache, addr, (uint32_t)s->nents + 1))
		return -ENOMEM;
	s->nframes += n;
	s->nents++;
	return 0;
}

/* Copy n cached frames into out[max]: innermost first, the outermost always last. */
static size_t copy_frames(const struct hs_symframe *f, size_t n, struct hs_symframe *out,
			  size_t max)
{
	if (n <= max) {
		memcpy(out, f, n * sizeof(*f));
		return n;
	}
	memcpy(out, f, (max - 1) * sizeof(*f));
	out[max - 1] = f[n - 1];
	return max;
}

/* Symbolize addr without the cache into frames[HS_SYM_MAX_INLINE]. */
static size_t symbolize_uncached(struct hs_symbolizer *s, uint64_t addr,
				 struct hs_symframe *frames, unsigned *module_id)
{
	struct module *m = module_at(s, addr);

	*module_id = m ? m->id : 0;
	if (m && m->state == MOD_UNOPENED)
		module_open(s, m);
	if (m && m->state == MOD_OPEN)
		return resolve(s, m, addr, frames, HS_SYM_MAX_INLINE);
	memset(&frames[0], 0, sizeof(frames[0]));
	return 1;
}

/*
 * See symbolize.h. Strings in out[] stay valid until hs_symbolizer_free; the first call for
 * an address in a module opens that module's files. Not thread-safe.
 */
size_t hs_symbolize(struct hs_symbolizer *s, uint64_t addr, struct hs_symframe *out,
		    size_t max, unsigned *module_id)
{
	struct hs_symframe frames[HS_SYM_MAX_INLINE];
	uint32_t idx = u64map_get(&s->cache, addr);
	unsigned mid;
	size_t n;

	if (idx) {
		const struct cache_ent *e = &s->ents[idx - 1];

		if (module_id)
			*module_id = e->module_id;
		return max ? copy_frames(&s->frames[e->first], e->n, out, max) : 0;
	}
	n = symbolize_uncached(s, addr, frames, &mid);
	cache_store(s, addr, frames, n, mid);	/* on failure: correct, only not cached */
	if (module_id)
		*module_id = mid;
	return max ? copy_frames(frames, n, out, max) : 0;
}

static int set_debug_dirs(struct hs_symbolizer *s, const struct hs_symbolizer_opts *opts)
{
	const char *const *dirs = opts ? opts->debug_dirs : NULL;
	size_t n = 0, len = 1, i;

	if (dirs) {
		while (dirs[n])
			n++;
	}
	s->debug_dirs = calloc(n + 2, sizeof(*s->debug_dirs));
	if (!s->debug_dirs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s->debug_dirs[s->ndebug_dirs++] = strdup(dirs[i]);
	if (!dirs && *s->sysroot &&
	    asprintf(&s->debug_dirs[s->ndebug_dirs++], "%s" HS_SYM_DEFAULT_DEBUG_DIR, s->sysroot) < 0)
		return -ENOMEM;
	if (!dirs)
		s->debug_dirs[s->ndebug_dirs++] = strdup(HS_SYM_DEFAULT_DEBUG_DIR);
	for (i = 0; i < s->ndebug_dirs; i++) {
		if (!s->debug_dirs[i])
			return -ENOMEM;
		len += strlen(s->debug_dirs[i]) + 1;
	}
	s->debuginfo_path = calloc(1, len);
	if (!s->debuginfo_path)
		return -ENOMEM;
	for (i = 0; i < s->ndebug_dirs; i++)
		sprintf(s->debuginfo_path + strlen(s->debuginfo_path), "%s%s", i ? ":" : "",
			s->debug_dirs[i]);
	return 0;
}

/*
 * See symbolize.h. Copies opts' strings. Default debug dirs: SYSROOT/usr/lib/debug (when a
 * sysroot is given), then /usr/lib/debug. Free with hs_symbolizer_free.
 */
struct hs_symbolizer *hs_symbolizer_new(const struct hs_symbolizer_opts *opts)
{
	struct hs_symbolizer *s = calloc(1, sizeof(*s));
	const char *root = opts && opts->sysroot ? opts->sysroot : "";
	size_t rlen = strlen(root);

	if (!s)
		return NULL;
	while (rlen > 0 && root[rlen - 1] == '/')	/* "/" and "" both mean no sysroot */
		rlen--;
	s->sysroot = strndup(root, rlen);
	if (!s->sysroot || set_debug_dirs(s, opts)) {
		hs_symbolizer_free(s);
		errno = ENOMEM;
		return NULL;
	}
	elf_version(EV_CURRENT);
	s->callbacks.find_elf = no_find_elf;
	s->callbacks.find_debuginfo = find_debuginfo;
	s->callbacks.section_address = dwfl_offline_section_address;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	return s;
}

/* Frees the symbolizer with every string it handed out; NULL is a no-op. */
void hs_symbolizer_free(struct hs_symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nmods; i++)
		module_free(s->mods[i]);
	free(s->mods);
	for (i = 0; i < s->ndebug_dirs; i++)
		free(s->debug_dirs[i]);
	free(s->debug_dirs);
	free(s->debuginfo_path);
	free(s->sysroot);
	free(s->ranges);
	free(s->max_end);
	u64map_release(&s->cache);
	free(s->ents);
	free(s->frames);
	strtab_release(&s->strs);
	free(s);
}

static struct module *module_by_id(struct hs_symbolizer *s, unsigned id)
{
	size_t i;

	for (i = s->nmods; i > 0; i--)
		if (s->mods[i - 1]->id == id)
			return s->mods[i - 1];
	return NULL;
}

static struct module *module_new(unsigned id, const char *path, uint64_t bias,
				 const uint8_t *build_id, size_t build_id_len,
				 const struct hs_sym_segment *segs, size_t nsegs)
{
	struct module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->id = id;
	m->bias = bias;
	m->path = strdup(path ? path : "");
	m->build_id = malloc(build_id_len ? build_id_len : 1);
	m->build_id_hex = hex_string(build_id, build_id_len);
	m->segs = malloc((nsegs ? nsegs : 1) * sizeof(*segs));
	if (!m->path || !m->build_id || !m->build_id_hex || !m->segs) {
		module_free(m);
		return NULL;
	}
	if (build_id_len)
		memcpy(m->build_id, build_id, build_id_len);
	if (nsegs)
		memcpy(m->segs, segs, nsegs * sizeof(*segs));
	m->build_id_len = build_id_len;
	m->nsegs = nsegs;
	return m;
}

/*
 * See symbolize.h. Copies path, build_id and segs. id must be nonzero and new (-EINVAL,
 * -EEXIST). Where modules overlap, the one added last holds the address. Adding a module
 * empties the address cache (strings handed out stay valid).
 */
int hs_symbolizer_add_module(struct hs_symbolizer *s, unsigned id, const char *path,
			     uint64_t bias, const uint8_t *build_id, size_t build_id_len,
			     const struct hs_sym_segment *segs, size_t nsegs)
{
	struct module *m;

	if (id == 0 || (nsegs && !segs) || (build_id_len && !build_id))
		return -EINVAL;
	if (module_by_id(s, id))
		return -EEXIST;
	if (grow((void **)&s->mods, &s->mods_cap, s->nmods + 1, sizeof(*s->mods)))
		return -ENOMEM;
	m = module_new(id, path, bias, build_id, build_id_len, segs, nsegs);
	if (!m)
		return -ENOMEM;
	m->owner = s;
	s->mods[s->nmods++] = m;
	s->ranges_stale = true;
	/* Earlier answers may have changed; strings already handed out stay valid. */
	u64map_release(&s->cache);
	s->nents = 0;
	s->nframes = 0;
	return 0;
}

/* See symbolize.h; the string is owned by the symbolizer. */
const char *hs_symbolizer_module_path(struct hs_symbolizer *s, unsigned id)
{
	struct module *m = module_by_id(s, id);

	return m ? m->path : NULL;
}

/*
 * See symbolize.h. Describes what symbolization has done so far: a module no address fell
 * into is not opened yet (found NULL, problem NULL). Strings owned by the symbolizer.
 */
int hs_symbolizer_module_info(struct hs_symbolizer *s, size_t i, struct hs_symmodule_info *out)
{
	const struct module *m;

	if (i >= s->nmods)
		return -ENOENT;
	m = s->mods[i];
	out->path = m->path;
	out->found = m->state == MOD_OPEN ? m->found : NULL;
	out->build_id = m->build_id_hex;
	out->has_symbols = m->has_symbols;
	out->has_debuginfo = m->has_debuginfo;
	out->problem = m->problem;
	return 0;
}
