/* SPDX-License-Identifier: MIT */
/*
 * Finding a recorded module's files on this machine and opening its Dwfl. The ELF file is
 * the recorded path under the sysroot, else DIR/.build-id/ab/cdef[.debug] in a debug dir;
 * a file whose build-id differs from the recorded one is refused (no symbols of another
 * build), and without a recorded build-id its PT_LOAD segments must match. Separate debug
 * info: by build-id under the debug dirs (libdwfl), then .gnu_debuglink, checked by build-id
 * or CRC. It never asks debuginfod and never runs a program.
 */
#define _GNU_SOURCE
#include "symbolize_int.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- finding files ---------------------------------------------------------------------- */

static void set_problem(struct hs_sym_module *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_problem(struct hs_sym_module *m, const char *fmt, ...)
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
static bool segments_match(const struct hs_sym_module *m, Elf *elf)
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
static int elf_identify(const struct hs_sym_module *m, Elf *elf, char **found_hex)
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
		*found_hex = n > 0 ? hs_sym_hex(id, n) : strdup("none");
	}
	return -EILSEQ;
}

/* An fd for path if it is the recorded module, else a negative errno (see elf_identify). */
static int open_identified(const struct hs_sym_module *m, const char *path, char **found_hex)
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
static char *build_id_path(const struct hs_sym_module *m, const char *dir, const char *suffix)
{
	char *path = NULL;

	if (asprintf(&path, "%s/.build-id/%.2s/%s%s", dir, m->build_id_hex, m->build_id_hex + 2,
		     suffix) < 0)
		return NULL;
	return path;
}

/* Try the recorded build-id under each debug dir; fd and *found set on success. */
static int open_by_build_id(struct hs_symbolizer *s, struct hs_sym_module *m, char **found)
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
static void explain_not_found(struct hs_sym_module *m, int err, const char *mismatch_hex,
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
static int find_file(struct hs_symbolizer *s, struct hs_sym_module *m)
{
	char *path = NULL, *found_hex = NULL;
	int fd, err = -ENOENT;

	if (m->path[0] == '/') {
		if (asprintf(&path, "%s%s", s->sysroot, m->path) < 0)
			return -ENOMEM;
		fd = open_identified(m, path, &found_hex);
		if (fd >= 0) {
			m->found = path;
			return fd;
		}
		err = fd;
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
static int find_by_debuglink(struct hs_sym_module *m, Dwfl_Module *mod, const char *main_file,
			     const char *link, GElf_Word crc, char **debuginfo_file_name)
{
	struct hs_symbolizer *s = m->owner;
	int flen = (int)(strrchr(main_file, '/') ? strrchr(main_file, '/') - main_file : 0);
	int rlen = (int)(strrchr(m->path, '/') ? strrchr(m->path, '/') - m->path : 0);
	char *path;
	size_t d;
	int fd = -1;

	if (strchr(link, '/'))	/* a debuglink is a file name; dwz's altlinks are paths */
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
int hs_sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct hs_sym_module *m = userdata ? *userdata : NULL;
	int fd;

	errno = 0;
	fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					  debuglink_file, debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !m || !debuglink_file || !file_name)
		return fd;
	return find_by_debuglink(m, mod, file_name, debuglink_file, debuglink_crc,
				 debuginfo_file_name);
}

/* libdwfl's find_elf callback; never used, as files are reported with their fds. */
int hs_sym_no_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		       Dwarf_Addr base, char **file_name, Elf **elfp)
{
	return -1;
}

/* ---- opening modules -------------------------------------------------------------------- */

static int module_report(struct hs_symbolizer *s, struct hs_sym_module *m, int fd)
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
void hs_sym_module_open(struct hs_symbolizer *s, struct hs_sym_module *m)
{
	Dwarf_Addr dwbias;
	char *real;
	int fd;

	m->state = HS_MOD_FAILED;
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
	hs_sym_index_symbols(m);
	m->has_debuginfo = dwfl_module_getdwarf(m->mod, &dwbias) != NULL;
	m->state = HS_MOD_OPEN;
}

