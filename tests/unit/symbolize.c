/* SPDX-License-Identifier: MIT */
/*
 * Unit test of the symbolizer (src/analyze/symbolize.c) on this very process: the modules
 * come from dl_iterate_phdr as the agent would record them, the addresses from
 * __builtin_return_address in functions of this file (a PIE), libstdc++ and libc (shared
 * libraries). Checks names, files, lines, inline chains, demangling, addresses outside any
 * module, refusal of a file with another build-id, lookup by build-id in a debug dir and
 * under a sysroot, the cache, and the time for 100k distinct addresses.
 */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_attribute)
#if __has_attribute(noipa)
#define TEST_NOINLINE __attribute__((noinline, noipa))
#endif
#endif
#ifndef TEST_NOINLINE
#define TEST_NOINLINE __attribute__((noinline))
#endif

#define MAX_MODS 256
#define MAX_SEGS 16
#define MAX_FRAMES 16

static int failures;

#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			failures++;                                                       \
			fprintf(stderr, "%s:%d: failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
		}                                                                         \
	} while (0)

struct test_module {
	char path[PATH_MAX];
	uint64_t bias;
	uint8_t build_id[64];
	size_t build_id_len;
	struct hs_sym_segment segs[MAX_SEGS];
	size_t nsegs;
};

static struct test_module mods[MAX_MODS];
static size_t nmods;

/* ---- the modules of this process, as the agent records them ------------------------------ */

static void read_build_id(struct test_module *t, const ElfW(Phdr) *ph)
{
	size_t align = ph->p_align > 4 ? ph->p_align : 4;
	const char *p = (const char *)(uintptr_t)(t->bias + ph->p_vaddr);
	const char *end = p + ph->p_memsz;

	while (p + sizeof(ElfW(Nhdr)) <= end) {
		const ElfW(Nhdr) *nh = (const void *)p;
		const char *name = p + sizeof(*nh);
		const char *desc = name + ((nh->n_namesz + align - 1) & ~(align - 1));

		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
		    nh->n_descsz <= sizeof(t->build_id)) {
			memcpy(t->build_id, desc, nh->n_descsz);
			t->build_id_len = nh->n_descsz;
			return;
		}
		p = desc + ((nh->n_descsz + align - 1) & ~(align - 1));
	}
}

static int add_phdr_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct test_module *t;
	size_t i;

	if (nmods == MAX_MODS)
		return 1;
	t = &mods[nmods++];
	t->bias = info->dlpi_addr;
	if (info->dlpi_name[0])
		snprintf(t->path, sizeof(t->path), "%s", info->dlpi_name);
	else if (!realpath("/proc/self/exe", t->path))
		t->path[0] = '\0';
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_NOTE && !t->build_id_len)
			read_build_id(t, ph);
		if (ph->p_type != PT_LOAD || t->nsegs == MAX_SEGS)
			continue;
		t->segs[t->nsegs++] = (struct hs_sym_segment){ t->bias + ph->p_vaddr, ph->p_memsz,
							       ph->p_offset, ph->p_flags };
	}
	return 0;
}

/* Module ids are index + 1. */
static void add_all_modules(struct hs_symbolizer *s)
{
	size_t i;

	for (i = 0; i < nmods; i++) {
		int err = hs_symbolizer_add_module(s, (unsigned)i + 1, mods[i].path, mods[i].bias,
						   mods[i].build_id, mods[i].build_id_len,
						   mods[i].segs, mods[i].nsegs);
		CHECK(err == 0, "add_module %s: %d", mods[i].path, err);
	}
}

static unsigned module_holding(uint64_t addr)
{
	size_t i, j;

	for (i = 0; i < nmods; i++)
		for (j = 0; j < mods[i].nsegs; j++)
			if (addr - mods[i].segs[j].start < mods[i].segs[j].memsz)
				return (unsigned)i + 1;
	return 0;
}

/* ---- code with known return addresses ------------------------------------------------------ */

static volatile uintptr_t captured;
static volatile int line_plain, line_inl, line_outer;

TEST_NOINLINE void sym_test_capture(void)
{
	captured = (uintptr_t)__builtin_return_address(0);
}

TEST_NOINLINE void sym_test_plain(void)
{
	line_plain = (sym_test_capture(), __LINE__);
}

static inline __attribute__((always_inline)) void sym_test_inlined(void)
{
	line_inl = (sym_test_capture(), __LINE__);
}

TEST_NOINLINE void sym_test_outer(void)
{
	line_outer = (sym_test_inlined(), __LINE__);
}

/* ---- checks -------------------------------------------------------------------------------- */

static int file_is_this(const char *file)
{
	static const char self[] = "unit/symbolize.c";
	size_t n = file ? strlen(file) : 0;

	return n >= sizeof(self) - 1 && !strcmp(file + n - (sizeof(self) - 1), self);
}

static void test_plain(struct hs_symbolizer *s)
{
	struct hs_symframe f[MAX_FRAMES];
	unsigned mid = 99;
	size_t n;

	sym_test_plain();
	n = hs_symbolize(s, captured, f, MAX_FRAMES, &mid);
	CHECK(n == 1, "%zu frames", n);
	CHECK(mid == module_holding(captured), "module %u", mid);
	CHECK(f[0].function && !strcmp(f[0].function, "sym_test_plain"), "function %s",
	      f[0].function);
	CHECK(file_is_this(f[0].file), "file %s", f[0].file);
	CHECK(f[0].line == (unsigned)line_plain, "line %u, want %d", f[0].line, line_plain);
	CHECK(!f[0].inlined, "inlined");
	CHECK(f[0].offset > 0, "offset %llu", (unsigned long long)f[0].offset);
}

static void test_inline(struct hs_symbolizer *s)
{
	struct hs_symframe f[MAX_FRAMES], g[1];
	const char *inner;
	unsigned mid;
	size_t n;

	sym_test_outer();
	n = hs_symbolize(s, captured, f, MAX_FRAMES, &mid);
	CHECK(n == 2, "%zu frames", n);
	if (n != 2)
		return;
	CHECK(f[0].function && !strcmp(f[0].function, "sym_test_inlined"), "inner %s",
	      f[0].function);
	CHECK(f[0].line == (unsigned)line_inl, "inner line %u, want %d", f[0].line, line_inl);
	CHECK(f[0].inlined == 1, "inner not marked inlined");
	CHECK(file_is_this(f[0].file), "inner file %s", f[0].file);
	CHECK(f[1].function && !strcmp(f[1].function, "sym_test_outer"), "outer %s",
	      f[1].function);
	CHECK(f[1].line == (unsigned)line_outer, "outer line %u, want %d", f[1].line, line_outer);
	CHECK(f[1].inlined == 0, "outer marked inlined");
	CHECK(file_is_this(f[1].file), "outer file %s", f[1].file);

	/* Cached, and with room for one frame only the real function comes back. */
	n = hs_symbolize(s, captured, g, 1, &mid);
	CHECK(n == 1 && g[0].function == f[1].function, "max 1: %zu %s", n, g[0].function);
	inner = f[0].function;
	n = hs_symbolize(s, captured, f, MAX_FRAMES, &mid);
	CHECK(n == 2 && f[0].function == inner, "cached: %zu", n);
}

static void test_cxx(struct hs_symbolizer *s)
{
	void *dtor = dlsym(RTLD_DEFAULT, "_ZNSt9bad_allocD1Ev");
	struct hs_symframe f[MAX_FRAMES];
	unsigned mid;
	size_t n;

	CHECK(dtor != NULL, "no std::bad_alloc::~bad_alloc in this process");
	if (!dtor)
		return;
	n = hs_symbolize(s, (uintptr_t)dtor + 1, f, MAX_FRAMES, &mid);
	CHECK(n >= 1 && f[n - 1].function &&
		      !strcmp(f[n - 1].function, "std::bad_alloc::~bad_alloc()"),
	      "function %s", n ? f[n - 1].function : "-");
	CHECK(mid == module_holding((uintptr_t)dtor), "module %u", mid);
	CHECK(n >= 1 && f[n - 1].offset == 1, "offset %llu",
	      (unsigned long long)f[n - 1].offset);
}

static void test_libc(struct hs_symbolizer *s)
{
	void *fn = dlsym(RTLD_DEFAULT, "qsort");
	struct hs_symframe f[MAX_FRAMES];
	unsigned mid;
	size_t n;

	CHECK(fn != NULL, "no qsort");
	if (!fn)
		return;
	n = hs_symbolize(s, (uintptr_t)fn + 1, f, MAX_FRAMES, &mid);
	CHECK(n >= 1 && f[n - 1].function && strstr(f[n - 1].function, "qsort"), "function %s",
	      n ? f[n - 1].function : "-");
	CHECK(mid != 0 && mid == module_holding((uintptr_t)fn), "module %u", mid);
}

static void test_outside(struct hs_symbolizer *s)
{
	struct hs_symframe f[MAX_FRAMES];
	unsigned mid = 99;
	size_t n = hs_symbolize(s, 0x10, f, MAX_FRAMES, &mid);

	CHECK(n == 1 && f[0].function == NULL && f[0].file == NULL, "%zu %s", n, f[0].function);
	CHECK(mid == 0, "module %u", mid);
	CHECK(hs_symbolize(s, 0x10, f, 0, NULL) == 0, "max 0");
}

static void test_vdso(struct hs_symbolizer *s)
{
	struct hs_symframe f[MAX_FRAMES];
	struct hs_symmodule_info info;
	unsigned mid;
	size_t i, n;

	for (i = 0; i < nmods; i++) {
		if (!strstr(mods[i].path, "vdso") || !mods[i].nsegs)
			continue;
		n = hs_symbolize(s, mods[i].segs[0].start + 16, f, MAX_FRAMES, &mid);
		CHECK(n == 1 && !f[0].function && mid == i + 1, "vdso: %zu %s %u", n,
		      f[0].function, mid);
		CHECK(hs_symbolizer_module_info(s, i, &info) == 0 && info.problem &&
			      !info.found && strstr(info.problem, "vDSO"),
		      "vdso problem %s", info.problem);
	}
}

/* The main program, alone, under another symbolizer; returns its module index. */
static size_t main_module(void)
{
	size_t i;

	for (i = 0; i < nmods; i++)
		if (module_holding((uintptr_t)sym_test_plain) == i + 1)
			return i;
	return 0;
}

static void test_mismatch(const char *tmp)
{
	const char *dirs[] = { tmp, NULL };
	struct hs_symbolizer_opts opts = { NULL, dirs };
	struct hs_symbolizer *s = hs_symbolizer_new(&opts);
	struct test_module *t = &mods[main_module()];
	struct hs_symmodule_info info;
	struct hs_symframe f[MAX_FRAMES];
	uint8_t wrong[64];
	unsigned mid;
	size_t i, n;

	for (i = 0; i < t->build_id_len; i++)
		wrong[i] = t->build_id[i] ^ 0x5a;
	hs_symbolizer_add_module(s, 7, t->path, t->bias, wrong, t->build_id_len, t->segs, t->nsegs);
	sym_test_plain();
	n = hs_symbolize(s, captured, f, MAX_FRAMES, &mid);
	CHECK(n == 1 && !f[0].function && !f[0].file && !f[0].line, "symbols from a wrong file: %s",
	      f[0].function);
	CHECK(mid == 7, "module %u", mid);
	CHECK(hs_symbolizer_module_info(s, 0, &info) == 0, "info");
	CHECK(info.problem && strstr(info.problem, "build-id mismatch: recorded "),
	      "problem %s", info.problem);
	CHECK(!info.found && !info.has_symbols, "found %s", info.found);
	CHECK(hs_symbolizer_module_info(s, 1, &info) == -ENOENT, "info past the end");
	CHECK(!strcmp(hs_symbolizer_module_path(s, 7), t->path), "module path");
	CHECK(hs_symbolizer_module_path(s, 8) == NULL, "unknown module path");
	CHECK(hs_symbolizer_add_module(s, 7, "x", 0, NULL, 0, NULL, 0) == -EEXIST, "duplicate id");
	CHECK(hs_symbolizer_add_module(s, 0, "x", 0, NULL, 0, NULL, 0) == -EINVAL, "id 0");
	hs_symbolizer_free(s);
}

/* Symbolize sym_test_plain with only the main program, recorded under path. */
static void check_main_found(struct hs_symbolizer *s, const char *path, const char *what)
{
	struct test_module *t = &mods[main_module()];
	struct hs_symmodule_info info;
	struct hs_symframe f[MAX_FRAMES];
	unsigned mid;
	size_t n;

	hs_symbolizer_add_module(s, 3, path, t->bias, t->build_id, t->build_id_len, t->segs,
				 t->nsegs);
	sym_test_plain();
	n = hs_symbolize(s, captured, f, MAX_FRAMES, &mid);
	CHECK(n == 1 && f[0].function && !strcmp(f[0].function, "sym_test_plain"), "%s: %s",
	      what, f[0].function);
	CHECK(f[0].line == (unsigned)line_plain, "%s: line %u", what, f[0].line);
	CHECK(hs_symbolizer_module_info(s, 0, &info) == 0 && info.found && !info.problem &&
		      info.has_symbols && info.has_debuginfo,
	      "%s: found %s problem %s", what, info.found, info.problem);
}

static void test_build_id_dir(const char *tmp)
{
	const char *dirs[] = { "/nonexistent", tmp, NULL };
	struct hs_symbolizer_opts opts = { NULL, dirs };
	struct test_module *t = &mods[main_module()];
	struct hs_symbolizer *s;
	char dir[PATH_MAX], link[PATH_MAX + 80];
	size_t i;
	int len;

	snprintf(dir, sizeof(dir), "%s/.build-id/%02x", tmp, t->build_id[0]);
	mkdir(dir, 0700);
	len = snprintf(link, sizeof(link), "%s/", dir);
	for (i = 1; i < t->build_id_len; i++)
		len += snprintf(link + len, sizeof(link) - len, "%02x", t->build_id[i]);
	CHECK(symlink(t->path, link) == 0, "symlink %s: %s", link, strerror(errno));
	s = hs_symbolizer_new(&opts);
	check_main_found(s, "/nonexistent/program", "by build-id");
	hs_symbolizer_free(s);
	unlink(link);
	rmdir(dir);
}

static void test_sysroot(const char *tmp)
{
	struct test_module *t = &mods[main_module()];
	struct hs_symbolizer_opts opts = { NULL, NULL };
	struct hs_symbolizer *s;
	char root[PATH_MAX], link[PATH_MAX + 16];

	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(link, sizeof(link), "%s/prog", root);
	mkdir(root, 0700);
	CHECK(symlink(t->path, link) == 0, "symlink %s: %s", link, strerror(errno));
	opts.sysroot = root;
	s = hs_symbolizer_new(&opts);
	check_main_found(s, "/prog", "under a sysroot");
	hs_symbolizer_free(s);
	unlink(link);
	rmdir(root);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 100k distinct addresses spread over the executable segments of every module. */
static void test_many(struct hs_symbolizer *s)
{
	struct hs_symframe f[MAX_FRAMES];
	uint64_t text = 0, done = 0, i, j, step;
	unsigned mid;
	double t0 = now(), elapsed;

	for (i = 0; i < nmods; i++)
		for (j = 0; j < mods[i].nsegs; j++)
			if (mods[i].segs[j].flags & PF_X)
				text += mods[i].segs[j].memsz;
	step = text / 100000 ? text / 100000 : 1;
	for (i = 0; i < nmods; i++) {
		for (j = 0; j < mods[i].nsegs; j++) {
			const struct hs_sym_segment *g = &mods[i].segs[j];
			uint64_t a;

			for (a = g->start + 1; (g->flags & PF_X) && a < g->start + g->memsz; a += step)
				done += hs_symbolize(s, a, f, MAX_FRAMES, &mid) >= 1;
		}
	}
	elapsed = now() - t0;
	fprintf(stderr, "symbolize: %llu distinct addresses in %.2f s\n", (unsigned long long)done,
		elapsed);
	CHECK(done >= 90000, "only %llu addresses", (unsigned long long)done);
	/* About 0.3 s (0.8 s with ASan); a linear symbol search took 10 s. */
	CHECK(elapsed < 20, "%.1f s", elapsed);
}

static void print_modules(struct hs_symbolizer *s)
{
	struct hs_symmodule_info info;
	size_t i;

	for (i = 0; hs_symbolizer_module_info(s, i, &info) == 0; i++)
		fprintf(stderr, "  module %zu %s: found %s, symbols %d, debuginfo %d%s%s\n", i + 1,
			info.path, info.found ? info.found : "-", info.has_symbols,
			info.has_debuginfo, info.problem ? ", " : "",
			info.problem ? info.problem : "");
}

int main(void)
{
	char tmp[] = "/tmp/hs-symbolize-XXXXXX";
	char bid[PATH_MAX];
	struct hs_symbolizer *s;

	dl_iterate_phdr(add_phdr_module, NULL);
	s = hs_symbolizer_new(NULL);
	CHECK(s != NULL, "new: %s", strerror(errno));
	if (!s)
		return 1;
	add_all_modules(s);
	test_plain(s);
	test_inline(s);
	test_cxx(s);
	test_libc(s);
	test_outside(s);
	test_vdso(s);
	test_many(s);
	print_modules(s);
	hs_symbolizer_free(s);

	if (!mods[main_module()].build_id_len) {
		fprintf(stderr, "symbolize: no build-id in the test program, build-id tests skipped\n");
	} else if (mkdtemp(tmp)) {
		snprintf(bid, sizeof(bid), "%s/.build-id", tmp);
		mkdir(bid, 0700);
		test_mismatch(tmp);
		test_build_id_dir(tmp);
		test_sysroot(tmp);
		rmdir(bid);
		rmdir(tmp);
	} else {
		CHECK(0, "mkdtemp: %s", strerror(errno));
	}

	if (failures)
		fprintf(stderr, "symbolize: %d checks failed\n", failures);
	return failures ? 1 : 0;
}
