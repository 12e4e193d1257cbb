/* SPDX-License-Identifier: MIT */
/*
 * Turning recorded return addresses into functions, files and lines, in the CLI, with
 * elfutils' libdw. Modules are described as the recording has them (path, load bias,
 * build-id, segments); their ELF files are found on this machine, under a sysroot, or by
 * build-id in debug directories, so a recording made elsewhere can be read here.
 * Results are cached per address; all strings are owned by the symbolizer.
 */
#ifndef HS_SYMBOLIZE_H
#define HS_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

struct hs_symbolizer;

struct hs_symbolizer_opts {
	const char *sysroot;		/* prefix for module paths, or NULL */
	const char *const *debug_dirs;	/* NULL-terminated list, or NULL: /usr/lib/debug */
};

struct hs_sym_segment {
	uint64_t start;		/* runtime address */
	uint64_t memsz;
	uint64_t offset;
	uint32_t flags;
};

/* One (possibly inlined) frame of a resolved address. */
struct hs_symframe {
	const char *function;	/* demangled; NULL when unknown */
	const char *file;	/* source file; NULL when unknown */
	unsigned line;		/* 0 when unknown */
	unsigned column;
	int inlined;		/* 1: this frame was inlined into the next one of the list */
	uint64_t offset;	/* address - function start, when function is known via symtab */
};

/* What a module resolved to; for reports listing modules without symbols. */
struct hs_symmodule_info {
	const char *path;	/* as recorded */
	const char *found;	/* file actually used, NULL if none */
	const char *build_id;	/* hex, "" if none */
	int has_symbols;	/* symbol table (.symtab or .dynsym) found */
	int has_debuginfo;	/* DWARF found: lines and inline frames */
	const char *problem;	/* e.g. "build-id mismatch: recorded ab12.., found cd34..", or NULL */
};

/* NULL on failure (errno set). */
struct hs_symbolizer *hs_symbolizer_new(const struct hs_symbolizer_opts *opts);
void hs_symbolizer_free(struct hs_symbolizer *s);

/* Describe a module of the recording. 0 or -errno. The file is opened lazily. */
int hs_symbolizer_add_module(struct hs_symbolizer *s, unsigned id, const char *path,
			     uint64_t bias, const uint8_t *build_id, size_t build_id_len,
			     const struct hs_sym_segment *segs, size_t nsegs);

/*
 * Resolve a return address (the symbolizer looks up addr - 1). Fills out[] with the
 * inline chain, innermost first, the last entry being the real (outermost) function.
 * Returns the number of entries (at least 1 when max >= 1: an unknown address gives one
 * entry with function == NULL). *module_id is set to the module holding addr, 0 if none.
 */
size_t hs_symbolize(struct hs_symbolizer *s, uint64_t addr, struct hs_symframe *out,
		    size_t max, unsigned *module_id);

/*
 * hs_symbolize() in the module added as number `index` (0-based), whatever else holds addr:
 * for addresses that several modules held over time (a library unloaded, another loaded
 * in its place), the caller knows which one a frame belongs to.
 */
size_t hs_symbolize_in(struct hs_symbolizer *s, size_t index, uint64_t addr,
		       struct hs_symframe *out, size_t max);

/* Path of module `id` as recorded (for display), NULL if unknown. */
const char *hs_symbolizer_module_path(struct hs_symbolizer *s, unsigned id);

/* Describe module number i (0-based, in order added); 0 or -ENOENT past the end. */
int hs_symbolizer_module_info(struct hs_symbolizer *s, size_t i, struct hs_symmodule_info *out);

#endif
