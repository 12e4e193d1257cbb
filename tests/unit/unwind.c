// SPDX-License-Identifier: MIT
/*
 * Unit test of the stack unwinder and the module table (src/agent/unwind.c, cfi.c,
 * unwind_<arch>.c, modules.c), linked in directly; runs on x86_64 and, under qemu-user,
 * on aarch64 and ARM (tests/cross/run.sh). Walks known call chains built without
 * frame pointers (and one with an rbp clobbered on purpose), through qsort's libc frames,
 * through signal frames (raise, and a fault at a known instruction), in a second thread,
 * in a forked child, in threads racing cache clears and dlopen/dlclose, with absurd stack
 * bounds, and in frame-pointer mode; compares walks that reuse the last walk (the memo)
 * with walks that do not, over random chains; feeds the CFI parser mutated copies of real
 * CFI; checks the module table (paths, build-ids, vDSO, dlopen/dlclose). Frames are checked
 * against the functions' extents from this executable's own symbol table. Prints ns per
 * unwind.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "cfi.h"
#include "modules.h"
#include "unwind.h"

#include "unit.h"

#define MAXF 64
#if defined(__clang__)	/* clang omits frame pointers at -O1 and above by default */
#define NOFP __attribute__((noinline))
#define WITHFP __attribute__((noinline))
#else
#define NOFP __attribute__((noipa, optimize("omit-frame-pointer")))
#define WITHFP __attribute__((noipa, optimize("no-omit-frame-pointer")))
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif
#if TEST_ASAN || (defined(__clang__) && !defined(__OPTIMIZE__))
#define CHECK_NOFP 0	/* frame pointers forced: skip the no-frame-pointer checks */
#else
#define CHECK_NOFP 1
#endif
/* Frame-pointer mode needs a chain of frame records: GCC's Thumb-2 frames (r7) have none. */
#if defined(__x86_64__) || defined(__aarch64__)
#define CHECK_FP_MODE 1
#else
#define CHECK_FP_MODE 0
#endif
/* A function that takes its frame address is given a frame pointer by any compiler. */
#define FORCE_FP() __asm__ volatile("" ::"r"(__builtin_frame_address(0)))

/* ---- this executable's symbols: function extents -------------------------------------- */

struct sym {
	const char *name;
	uintptr_t lo, hi;
};

static struct sym syms[64];
static size_t nsyms;

static void load_syms(const char *const *names, size_t count)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	struct stat st;
	char *img;
	const ElfW(Ehdr) *eh;
	const ElfW(Shdr) *sh;
	uintptr_t bias = 0;

	if (!f || fstat(fileno(f), &st) || !(img = malloc((size_t)st.st_size)) ||
	    fread(img, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "cannot read /proc/self/exe\n");
		exit(1);
	}
	fclose(f);
	eh = (const ElfW(Ehdr) *)img;
	sh = (const ElfW(Shdr) *)(img + eh->e_shoff);
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < eh->e_shnum; i++) {
			const ElfW(Sym) *s = (const ElfW(Sym) *)(img + sh[i].sh_offset);
			const char *str = img + sh[sh[i].sh_link].sh_offset;

			if (sh[i].sh_type != SHT_SYMTAB)
				continue;
			for (size_t j = 0; j < sh[i].sh_size / sizeof(*s); j++) {
				const char *nm = str + s[j].st_name;

				if (ELF64_ST_TYPE(s[j].st_info) != STT_FUNC)
					continue;
				if (pass == 0 && strcmp(nm, "load_syms") == 0)
					bias = (uintptr_t)&load_syms - s[j].st_value;
				for (size_t k = 0; pass == 1 && k < count; k++) {
					if (strcmp(nm, names[k]) || nsyms == 64)
						continue;
					syms[nsyms++] = (struct sym){ names[k], bias + s[j].st_value,
								     bias + s[j].st_value +
									     s[j].st_size };
				}
			}
		}
	}
	free(img);
}

static const struct sym *sym(const char *name)
{
	for (size_t i = 0; i < nsyms; i++)
		if (strcmp(syms[i].name, name) == 0)
			return &syms[i];
	fprintf(stderr, "symbol %s not found\n", name);
	exit(1);
}

/* Frame f (an address whose predecessor is the instruction) lies in function name. */
static int in_fn(uintptr_t f, const char *name)
{
	const struct sym *s = sym(name);

	return f - 1 >= s->lo && f - 1 < s->hi;
}

static int in_libc(uintptr_t f)
{
	Dl_info info;

	return dladdr((void *)(f - 1), &info) && info.dli_fname &&
	       strstr(info.dli_fname, "libc.so");
}

static void dump(const char *what, const uintptr_t *f, size_t n)
{
	fprintf(stderr, "%s: %zu frames\n", what, n);
	for (size_t i = 0; i < n; i++) {
		const char *name = "?";
		Dl_info info;

		for (size_t k = 0; k < nsyms; k++)
			if (f[i] - 1 >= syms[k].lo && f[i] - 1 < syms[k].hi)
				name = syms[k].name;
		if (!strcmp(name, "?") && dladdr((void *)(f[i] - 1), &info) && info.dli_sname)
			name = info.dli_sname;
		fprintf(stderr, "  #%zu %#lx %s\n", i, (unsigned long)f[i], name);
	}
}

/* ---- the hook stand-in ----------------------------------------------------------------- */

static __thread uintptr_t t_lo, t_hi;

static void set_bounds(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	pthread_getattr_np(pthread_self(), &attr);
	pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	t_lo = (uintptr_t)addr;
	t_hi = (uintptr_t)addr + size;
}

/* Like the agent's hooks: built with frame pointers, passes its own return address. */
WITHFP static size_t hook(uintptr_t *f, size_t max)
{
	size_t n = hs_unwind(f, max, (uintptr_t)__builtin_return_address(0), t_lo, t_hi, NULL);

	FORCE_FP();	/* and no tail call */
	return n;
}

/* Refuse a frame pointer setup (push %rbp; mov %rsp,%rbp) at the start of fn. */
static __attribute__((unused)) int uses_fp(const void *fn)
{
	const uint8_t *p = fn;

#if defined(__x86_64__)
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4;	/* endbr64 */
	return p[0] == 0x55 && p[1] == 0x48 && p[2] == 0x89 && p[3] == 0xe5;
#elif defined(__aarch64__)
	for (int i = 0; i < 6; i++)	/* mov x29, sp or add x29, sp, #n */
		if (((const uint32_t *)p)[i] == 0x910003fd ||
		    (((const uint32_t *)p)[i] & 0xffc003ff) == 0x910003fd)
			return 1;
	return 0;
#else
	(void)p;
	return 0;
#endif
}

/*
 * Put garbage into the frame-pointer register for the length of a call (it is callee-saved
 * in code without frame pointers). GCC ignores a clobber of aarch64's x29 and ARM's r7/r11,
 * so there the old value is kept in a variable and put back by hand.
 */
#if defined(__x86_64__)
#define FP_GARBAGE_BEGIN(v) __asm__ volatile("mov $0x1238, %%rbp" ::: "rbp")
#define FP_GARBAGE_END(v) (void)(v)
#elif defined(__aarch64__)
#define FP_GARBAGE_BEGIN(v) __asm__ volatile("mov %0, x29\n\tmov x29, #0x1238" : "=r"(v))
#define FP_GARBAGE_END(v) __asm__ volatile("mov x29, %0" ::"r"(v))
#elif defined(__thumb__)
#define FP_GARBAGE_BEGIN(v) __asm__ volatile("mov %0, r7\n\tmovw r7, #0x1238" : "=r"(v))
#define FP_GARBAGE_END(v) __asm__ volatile("mov r7, %0" ::"r"(v))
#else
#define FP_GARBAGE_BEGIN(v) __asm__ volatile("mov %0, r11\n\tmovw r11, #0x1238" : "=r"(v))
#define FP_GARBAGE_END(v) __asm__ volatile("mov r11, %0" ::"r"(v))
#endif

/* ---- a chain without frame pointers ----------------------------------------------------- */

NOFP static size_t chain_d(uintptr_t *f, size_t max)
{
	volatile char pad[40];
	size_t n;

	pad[0] = 1;
	n = hook(f, max);
	pad[1] = (char)n;
	return n + (size_t)pad[0] - 1;
}

NOFP static size_t chain_c(uintptr_t *f, size_t max)
{
	volatile char pad[200];
	size_t n;

	pad[0] = 1;
	n = chain_d(f, max);
	pad[199] = (char)n;
	return n + (size_t)pad[0] - 1;
}

NOFP static size_t chain_b(uintptr_t *f, size_t max)
{
	volatile char pad[8];
	uintptr_t saved __attribute__((unused)) = 0;	/* only with CHECK_NOFP */
	size_t n;

	pad[0] = 1;
#if CHECK_NOFP
	/* The frame pointer holds garbage below here: only CFI can find the callers. */
	FP_GARBAGE_BEGIN(saved);
#endif
	n = chain_c(f, max);
#if CHECK_NOFP
	FP_GARBAGE_END(saved);
#endif
	pad[1] = (char)n;
	return n + (size_t)pad[0] - 1;
}

NOFP static size_t chain_a(uintptr_t *f, size_t max)
{
	volatile char pad[24];
	size_t n;

	pad[0] = 1;
	n = chain_b(f, max);
	pad[1] = (char)n;
	return n + (size_t)pad[0] - 1;
}

static void check_chain(const uintptr_t *f, size_t n)
{
	CHECK(n >= 4);
	if (n < 4)
		return;
	CHECK(in_fn(f[0], "chain_d"));
	CHECK(in_fn(f[1], "chain_c"));
	CHECK(in_fn(f[2], "chain_b"));
	CHECK(in_fn(f[3], "chain_a"));
}

NOFP static void test_chain(void)
{
	uintptr_t f[MAXF];
	size_t n = chain_a(f, MAXF);

	check_chain(f, n);
	CHECK(n >= 7);
	if (n >= 7) {
		CHECK(in_fn(f[4], "test_chain"));
		CHECK(in_fn(f[5], "main"));
		CHECK(in_libc(f[6]));	/* __libc_start_call_main */
	}
	CHECK(n < MAXF);	/* ended at _start's undefined return address */
	if (failures)
		dump("chain", f, n);
#if CHECK_NOFP
	CHECK(!uses_fp((const void *)chain_a) && !uses_fp((const void *)chain_b));
	CHECK(!uses_fp((const void *)chain_c) && !uses_fp((const void *)chain_d));
#endif
	/* Again from a cold cache, and with max frames reached. */
	hs_unwind_invalidate();
	uintptr_t g[MAXF];
	size_t m = chain_a(g, MAXF);

	CHECK(m == n);
	for (size_t i = 0; i < n && i < m; i++)
		CHECK(f[i] == g[i] || i == 4);	/* 4: another call site in test_chain */
	CHECK(chain_a(g, 3) == 3);
	CHECK(chain_a(g, 1) == 1 && in_fn(g[0], "chain_d"));
}

/* ---- through libc: qsort's comparison callback ------------------------------------------ */

static uintptr_t qf[MAXF];
static size_t qn;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (!qn)
		qn = hook(qf, MAXF);
	return (x > y) - (x < y);
}

NOFP static void test_qsort(void)
{
	int v[100];
	size_t i, libc = 0;

	for (i = 0; i < 100; i++)
		v[i] = (int)((i * 7919) % 101);
	qsort(v, 100, sizeof(v[0]), cmp_int);
	CHECK(qn > 3);
	CHECK(in_fn(qf[0], "cmp_int"));
	for (i = 1; i < qn && !in_fn(qf[i], "test_qsort"); i++)
		libc += in_libc(qf[i]);
	CHECK(libc >= 2 || TEST_ASAN);	/* msort_with_tmp ..., qsort_r; ASan has its own */
	CHECK(i + 1 < qn && in_fn(qf[i], "test_qsort") && in_fn(qf[i + 1], "main"));
	if (failures)
		dump("qsort", qf, qn);
}

/* ---- signal frames ---------------------------------------------------------------------- */

static uintptr_t sf[MAXF];
static size_t sn;

static void on_usr1(int sig)
{
	(void)sig;
	sn = hook(sf, MAXF);
}

NOFP static void raise_site(void)
{
	volatile char pad[24];

	pad[0] = 1;
	raise(SIGUSR1);
	pad[1] = pad[0];
}

static __attribute__((unused)) int dladdr_ok(uintptr_t f)
{
	Dl_info info;

	return dladdr((void *)f, &info) != 0;
}

/* The signal trampoline (mov $15, %rax; syscall / mov x8, #139; svc #0 / ARM's). */
static int is_restorer(uintptr_t f)
{
#if defined(__x86_64__)
	static const uint8_t pat[9] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };
#elif defined(__aarch64__)
	static const uint32_t pat[2] = { 0xd2801168, 0xd4000001 };
#else	/* mov r7, #173; svc 0 (ARM), or Thumb-2 (glibc's), or Thumb */
	static const uint32_t pat[2] = { 0xe3a070ad, 0xef000000 };
	const uint16_t *h = (const uint16_t *)(f - 1);

	/* glibc's Thumb-2 restorers: rt_sigreturn (173), and sigreturn (119) for handlers
	 * installed without SA_SIGINFO, whose signal frame has no siginfo. */
	if (h[0] == 0xf04f && (h[1] == 0x07ad || h[1] == 0x0777) && h[2] == 0xdf00)
		return 1;
	if ((h[0] == 0x27ad || h[0] == 0x2777) && h[1] == 0xdf00)
		return 1;
#endif
#if !defined(__x86_64__)
	/* Under qemu-user the trampoline lies in no module: stored as is, not as pc + 1. */
	if (!dladdr_ok(f) && memcmp((const void *)f, pat, sizeof(pat)) == 0)
		return 1;
#endif
	return memcmp((const void *)(f - 1), pat, sizeof(pat)) == 0;
}

NOFP static void test_raise(void)
{
	size_t i;

	signal(SIGUSR1, on_usr1);
	raise_site();
	CHECK(sn > 4);
	if (sn <= 4) {
		dump("raise", sf, sn);
		return;
	}
	CHECK(in_fn(sf[0], "on_usr1"));
	CHECK(is_restorer(sf[1]));
	CHECK(in_libc(sf[2]));	/* interrupted in pthread_kill's syscall */
	for (i = 2; i < sn && !in_fn(sf[i], "raise_site"); i++)
		;
	CHECK(i + 2 < sn && in_fn(sf[i + 1], "test_raise") && in_fn(sf[i + 2], "main"));
	if (failures)
		dump("raise", sf, sn);
}

extern const char hs_test_ud2[];

static void on_ill(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	sn = hook(sf, MAXF);
#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RIP] += 2;	/* past the ud2 */
#elif defined(__aarch64__)
	uc->uc_mcontext.pc += 4;		/* past the udf */
#elif defined(__thumb__)
	uc->uc_mcontext.arm_pc += 2;
#else
	uc->uc_mcontext.arm_pc += 4;
#endif
}

NOFP static void fault_site(void)
{
	volatile char pad[56];

	pad[0] = 1;
#if defined(__x86_64__)
	__asm__ volatile(".globl hs_test_ud2\n.hidden hs_test_ud2\nhs_test_ud2: ud2");
#else
	__asm__ volatile(".globl hs_test_ud2\n.hidden hs_test_ud2\nhs_test_ud2: udf #0");
#endif
	pad[1] = pad[0];
}

NOFP static void test_fault(void)
{
	struct sigaction sa = { .sa_sigaction = on_ill, .sa_flags = SA_SIGINFO };

	sigaction(SIGILL, &sa, NULL);
	sn = 0;
	fault_site();
	CHECK(sn >= 5);
	if (sn < 5)
		return;
	CHECK(in_fn(sf[0], "on_ill"));
	CHECK(is_restorer(sf[1]));
	CHECK(sf[2] - 1 == (uintptr_t)hs_test_ud2);	/* the faulting instruction itself */
	CHECK(in_fn(sf[3], "test_fault"));
	CHECK(in_fn(sf[4], "main"));
	if (failures)
		dump("fault", sf, sn);
}

/* ---- a second thread ---------------------------------------------------------------------- */

static void *thread_main(void *arg)
{
	uintptr_t f[MAXF];
	size_t n;

	(void)arg;
	set_bounds();
	n = chain_a(f, MAXF);
	check_chain(f, n);
	CHECK(n > 5 && n < MAXF);
	if (n > 5) {
		CHECK(in_fn(f[4], "thread_main"));
		CHECK(in_libc(f[5]) && in_libc(f[n - 1]));	/* start_thread, clone3 */
	}
	if (failures)
		dump("thread", f, n);
	return NULL;
}

static void test_thread(void)
{
	pthread_t t;

	CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
	pthread_join(t, NULL);
}

/* ---- many threads unwinding while the cache is cleared and modules come and go -------- */

static atomic_int stop_flag;

static void *racer(void *arg)
{
	uintptr_t f[MAXF];
	long bad = 0;

	set_bounds();
	while (!atomic_load(&stop_flag)) {
		size_t n = chain_a(f, MAXF);

		bad += n < 5 || !in_fn(f[0], "chain_d") || !in_fn(f[3], "chain_a") ||
		       !in_fn(f[4], "racer");
	}
	return (void *)bad;
}

static void test_race(void)
{
	pthread_t t[3];
	void *bad;
	long total = 0;

	for (int i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, racer, NULL) == 0);
	for (int i = 0; i < 200; i++) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);

		hs_unwind_invalidate();
		if (h)
			dlclose(h);
		hs_modules_refresh();
		hs_unwind_invalidate();
	}
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &bad);
		total += (long)bad;
	}
	CHECK(total == 0);
}

/* ---- absurd bounds must end the walk, never fault ---------------------------------------- */

NOFP static void test_bad_bounds(void)
{
	uintptr_t lo = t_lo, hi = t_hi, here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t f[MAXF];
	volatile char mark;
	const uintptr_t windows[][2] = {
		{ here, here + 64 }, { hi, lo }, { 0, 0 }, { hi - 16, hi }, { 0, hi },
		{ lo, (uintptr_t)&mark }, { 0, UINTPTR_MAX / 2 }, { here - 4096, here + 256 },
	};

	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		size_t n;

		t_lo = windows[i][0];
		t_hi = windows[i][1];
		n = chain_a(f, MAXF);
		CHECK(n <= MAXF);
		if (i == 5) {	/* cut inside this frame: its return address is out */
			CHECK(n == 5);
			check_chain(f, n);
			CHECK(n < 5 || in_fn(f[4], "test_bad_bounds"));
		}
	}
	t_lo = lo;
	t_hi = hi;
	/* A bogus first_ra: recording starts after the agent's (here: this program's) frames. */
	CHECK(hs_unwind(f, MAXF, 1, t_lo, t_hi, NULL) <= MAXF);
	CHECK(hs_unwind(f, 0, 0, t_lo, t_hi, NULL) == 0);
}

/* ---- corrupt CFI: a copy of our own segment, mutated, must never make the parser fault -- */

/* A segment may hold ASan's global redzones: copy it without instrumentation. */
__attribute__((no_sanitize_address)) static void copy_raw(uint8_t *d, uintptr_t s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = ((const volatile uint8_t *)s)[i];
}

static void test_corrupt_cfi(void)
{
	const struct hs_module *exe = hs_module_find((uintptr_t)&test_corrupt_cfi);
	const struct hs_segment *seg = NULL;
	struct hs_module fake;
	struct hs_cfi_rules real, copy;
	uintptr_t delta, pc = (uintptr_t)&chain_c + 8;
	uint8_t *buf;
	int ok = 0;

	for (uint32_t i = 0; exe && i < exe->nsegs; i++)
		if ((uintptr_t)exe->eh_frame_hdr - exe->segs[i].start < exe->segs[i].memsz)
			seg = &exe->segs[i];
	CHECK(seg != NULL || (exe && !exe->eh_frame_hdr));	/* ARM: .ARM.exidx instead */
	if (!seg)
		return;
	buf = malloc(seg->memsz);
	copy_raw(buf, seg->start, seg->memsz);
	delta = (uintptr_t)buf - seg->start;
	fake = *exe;
	fake.nsegs = 1;
	fake.segs[0] = (struct hs_segment){ (uintptr_t)buf, seg->memsz, 0, PF_R };
	fake.eh_frame_hdr = exe->eh_frame_hdr + delta;
	CHECK(hs_cfi_find(exe, pc, &real) == 0 && hs_cfi_find(&fake, pc + delta, &copy) == 0);
	CHECK(real.row.cfa_off == copy.row.cfa_off && real.row.cfa_reg == copy.row.cfa_reg);
	srand(1);
	for (int i = 0; i < 20000; i++) {
		size_t at = (size_t)rand() % seg->memsz;

		buf[at] = (uint8_t)rand();
		pc = sym("main")->lo + (uintptr_t)rand() % 0x4000 + delta;
		ok += hs_cfi_find(&fake, pc, &copy) == 0;
		if (i % 100 == 99)	/* start again from good data now and then */
			copy_raw(buf, seg->start, seg->memsz);
	}
	printf("unwind: %d of 20000 lookups in mutated CFI still parsed, none faulted\n", ok);
	free(buf);
}

/* ---- frame-pointer mode -------------------------------------------------------------------- */

WITHFP static size_t fp_c(uintptr_t *f, size_t max)
{
	volatile char pad[16];
	size_t n;

	pad[0] = 1;
	n = hook(f, max);
	FORCE_FP();
	return n + (size_t)pad[0] - 1;
}

WITHFP static size_t fp_b(uintptr_t *f, size_t max)
{
	size_t n = fp_c(f, max);

	FORCE_FP();
	return n;
}

WITHFP static size_t fp_a(uintptr_t *f, size_t max)
{
	size_t n = fp_b(f, max);

	FORCE_FP();
	return n;
}

WITHFP static void test_fp_mode(void)
{
	uintptr_t f[MAXF];
	size_t n;

	CHECK(hs_unwind_init(HS_UNWIND_FP) == 0);
	n = fp_a(f, MAXF);
	if (!CHECK_FP_MODE) {
		CHECK(n <= MAXF);	/* anything, but no fault */
		CHECK(hs_unwind_init(HS_UNWIND_CFI) == 0);
		return;
	}
	CHECK(n >= 4);
	if (n >= 4) {
		CHECK(in_fn(f[0], "fp_c") && in_fn(f[1], "fp_b") && in_fn(f[2], "fp_a"));
		CHECK(in_fn(f[3], "test_fp_mode"));
	}
	if (failures)
		dump("fp", f, n);
	n = chain_a(f, MAXF);	/* garbage rbp in chain_b: must just stop */
	CHECK(n <= MAXF);
	CHECK(hs_unwind_init(HS_UNWIND_CFI) == 0);
	n = fp_a(f, MAXF);
	CHECK(n >= 4 && in_fn(f[2], "fp_a") && in_fn(f[3], "test_fp_mode"));
}

/* ---- the memo: a walk that takes the last walk's frames gives the same frames ------------- */

static struct hs_unwind_memo memo_m;
static uintptr_t mf[MAXF], pf[MAXF];
static size_t mn, pn;
static unsigned char chain_path[16];
static unsigned plen;
static size_t pmax;

/* The counts of the walks made without a memo and with memo_m. */
static void stats(uint64_t *hits, uint64_t *misses, uint64_t *reused)
{
	struct hs_unwind_counts c = { 0 };

	hs_unwind_stats(&c);
	hs_unwind_memo_counts(&memo_m, &c);
	*hits = c.hits;
	*misses = c.misses;
	*reused = c.reused;
}

/* The same walk twice from one frame: with the memo, then without. */
WITHFP static void hook_pair(void)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);

	mn = hs_unwind(mf, pmax, ra, t_lo, t_hi, &memo_m);
	pn = hs_unwind(pf, pmax, ra, t_lo, t_hi, NULL);
	FORCE_FP();
}

static void rec_a(unsigned i);
static void rec_b(unsigned i);
static void rec_c(unsigned i);
static void (*const volatile recs[3])(unsigned) = { rec_a, rec_b, rec_c };

/*
 * rec_a and rec_b have the same frame, so that a chain through one and a chain through the
 * other put the same frames at the same addresses with other return addresses: the memo's
 * check must see that.
 */
#define REC(name, padn)                                                                   \
	NOFP static void name(unsigned i)                                                 \
	{                                                                                 \
		volatile char pad[padn];                                                  \
		pad[0] = (char)i;                                                         \
		if (i == plen)                                                            \
			hook_pair();                                                      \
		else                                                                      \
			recs[chain_path[i]](i + 1);                                       \
		pad[padn - 1] = pad[0];                                                   \
	}
REC(rec_a, 24)
REC(rec_b, 24)
REC(rec_c, 200)

static void test_memo(void)
{
	uint64_t h, m, r0, r1, r2;
	unsigned differ = 0, seed = 12345, equal = 0, said_same = 0, wrong_same = 0;
	static uintptr_t prev[MAXF];
	size_t prevn = 0, c, common = 0, said_shared = 0, frames = 0;
	struct hs_unwind_counts own = { 0 }, none0 = { 0 }, none1 = { 0 };

	set_bounds();
	memset(&memo_m, 0, sizeof(memo_m));
	stats(&h, &m, &r0);
	hs_unwind_stats(&none0);
	for (int it = 0; it < 4000; it++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 4 == 0) {	/* a new chain */
			plen = (seed >> 8) % 15;
			for (unsigned k = 0; k < plen; k++)
				chain_path[k] = (unsigned char)((seed >> (k % 13)) % 3);
		} else if (plen) {		/* the same chain but its innermost calls */
			for (unsigned k = plen - 1 - (seed >> 20) % plen; k < plen; k++)
				chain_path[k] = (unsigned char)((seed >> (k + 3)) % 3);
		}
		pmax = (seed >> 12) % 8 == 0 ? 1 + (seed >> 24) % 20 : MAXF;
		rec_a(0);
		frames += mn;
		if (mn != pn || memcmp(mf, pf, mn * sizeof(mf[0])))
			differ++;
		/* memo.same: never for other frames; mostly for the same */
		if (mn == prevn && memcmp(mf, prev, mn * sizeof(mf[0])) == 0)
			equal++;
		else if (memo_m.same > 0)
			wrong_same++;
		said_same += memo_m.same > 0;
		/* memo.shared: never more outer frames than the two walks share */
		for (c = 0; c < mn && c < prevn && mf[mn - 1 - c] == prev[prevn - 1 - c]; c++)
			;
		common += c;
		said_shared += memo_m.shared;
		if (memo_m.shared > c)
			wrong_same++;
		memcpy(prev, mf, mn * sizeof(mf[0]));
		prevn = mn;
	}
	stats(&h, &m, &r1);
	hs_unwind_memo_counts(&memo_m, &own);
	hs_unwind_stats(&none1);
	/* the memo's walks counted with it, exactly; the others (hook_pair's second) not */
	CHECK(own.walks == 4000 && own.frames == frames);
	CHECK(none1.walks - none0.walks == 4000 && own.reused == r1 - r0);
	CHECK(differ == 0);
	CHECK(wrong_same == 0);
	CHECK(HS_UNWIND_MEMO_FRAMES == 1 || !CHECK_NOFP || said_same * 10 >= equal * 9);
	CHECK(HS_UNWIND_MEMO_FRAMES == 1 || !CHECK_NOFP || said_shared * 10 >= common * 9);
	printf("memo: %u of 4000 walks had the last one's frames, %u said so; "
	       "%zu outer frames shared, %zu said so\n", equal, said_same, common, said_shared);
	/* the memo was used (x86_64 only for now: elsewhere it stays empty) */
	CHECK(!CHECK_NOFP || HS_UNWIND_MEMO_FRAMES == 1 || r1 - r0 > 4000 * 3);
	if (differ || (HS_UNWIND_MEMO_FRAMES > 1 && r1 - r0 <= 4000 * 3))
		printf("memo: %u of 4000 walks differ, %llu frames reused\n", differ,
		       (unsigned long long)(r1 - r0));

	/* Taken once; a signal handler's call while it is taken goes without it. */
	CHECK(hs_unwind_memo_take(&memo_m) == 1);
	CHECK(hs_unwind_memo_take(&memo_m) == 0);
	hs_unwind_memo_give(&memo_m);
	CHECK(hs_unwind_memo_take(&memo_m) == 1);
	hs_unwind_memo_give(&memo_m);

	/* After a module went away (new epoch), the memo is not used once. */
	rec_a(0);
	hs_unwind_invalidate();
	stats(&h, &m, &r1);
	rec_a(0);
	stats(&h, &m, &r2);
	CHECK(r2 == r1 && mn == pn && memcmp(mf, pf, mn * sizeof(mf[0])) == 0);
	hs_unwind_set_reuse(0);
	rec_a(0);
	rec_a(0);
	stats(&h, &m, &r1);
	CHECK(r1 == r2 && memo_m.same == -1);
	hs_unwind_set_reuse(1);
}

/* ---- timing: 10 frames, hot cache ---------------------------------------------------------- */

#define ITERS 1000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define T_LEAF(attr, fpuse, name)                                                         \
	attr static size_t name(uintptr_t *f, size_t max, double *ns)                    \
	{                                                                                 \
		volatile char pad[16];                                                    \
		double t;                                                                 \
		size_t n = 0;                                                             \
		pad[0] = 0;                                                               \
		for (int i = 0; i < 1000; i++)                                            \
			n = hook(f, max);                                                 \
		t = now_s();                                                              \
		for (int i = 0; i < ITERS; i++)                                           \
			n += hook(f, max) - n;                                            \
		*ns = (now_s() - t) * 1e9 / ITERS;                                        \
		fpuse;                                                                    \
		pad[1] = pad[0];                                                          \
		return n;                                                                 \
	}
#define T_FN(attr, fpuse, name, next)                                                     \
	attr static size_t name(uintptr_t *f, size_t max, double *ns)                    \
	{                                                                                 \
		volatile char pad[24];                                                    \
		size_t n;                                                                 \
		pad[0] = 0;                                                               \
		n = next(f, max, ns);                                                     \
		fpuse;                                                                    \
		pad[1] = pad[0];                                                          \
		return n;                                                                 \
	}
/* Without frame pointers: t_1 -> ... -> t_9 -> t_leaf -> hook. */
T_LEAF(NOFP, (void)0, t_leaf)
T_FN(NOFP, (void)0, t_9, t_leaf)
T_FN(NOFP, (void)0, t_8, t_9)
T_FN(NOFP, (void)0, t_7, t_8)
T_FN(NOFP, (void)0, t_6, t_7)
T_FN(NOFP, (void)0, t_5, t_6)
T_FN(NOFP, (void)0, t_4, t_5)
T_FN(NOFP, (void)0, t_3, t_4)
T_FN(NOFP, (void)0, t_2, t_3)
T_FN(NOFP, (void)0, t_1, t_2)
/* The same with frame pointers, for frame-pointer mode. */
T_LEAF(WITHFP, FORCE_FP(), u_leaf)
T_FN(WITHFP, FORCE_FP(), u_9, u_leaf)
T_FN(WITHFP, FORCE_FP(), u_8, u_9)
T_FN(WITHFP, FORCE_FP(), u_7, u_8)
T_FN(WITHFP, FORCE_FP(), u_6, u_7)
T_FN(WITHFP, FORCE_FP(), u_5, u_6)
T_FN(WITHFP, FORCE_FP(), u_4, u_5)
T_FN(WITHFP, FORCE_FP(), u_3, u_4)
T_FN(WITHFP, FORCE_FP(), u_2, u_3)
T_FN(WITHFP, FORCE_FP(), u_1, u_2)

static void test_timing(void)
{
	uintptr_t f[MAXF];
	uint64_t h0, m0, h1, m1, r0, r1;
	double cfi, fp, full, fpcfi;
	size_t n, nfull;

	stats(&h0, &m0, &r0);
	t_1(f, 10, &cfi);	/* warm-up */
	n = t_1(f, 10, &cfi);
	stats(&h1, &m1, &r1);
	CHECK(n == 10 && in_fn(f[0], "t_leaf") && in_fn(f[9], "t_1"));
	CHECK(h1 > h0 && m1 - m0 < 100 && r1 == r0);	/* hook() walks without a memo */
	nfull = t_1(f, MAXF, &full);
	hs_unwind_init(HS_UNWIND_FP);
	n = u_1(f, 10, &fp);
	CHECK(!CHECK_FP_MODE || (n == 10 && in_fn(f[0], "u_leaf") && in_fn(f[9], "u_1")));
	hs_unwind_init(HS_UNWIND_CFI);
	u_1(f, 10, &fpcfi);
	printf("unwind: %.1f ns per 10-frame unwind (CFI, hot cache); %.1f ns for the full "
	       "stack (%zu frames); frame-pointer mode %.1f ns, CFI on the same chain %.1f ns\n",
	       cfi, full, nfull, fp, fpcfi);
}

/* ---- the module table ---------------------------------------------------------------------- */

static int listed_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	return strcmp(info->dlpi_name, (const char *)arg) == 0;
}

static void test_modules(void)
{
	const struct hs_module *exe = hs_module_find((uintptr_t)&test_modules);
	const struct hs_module *libc = hs_module_find((uintptr_t)&gnu_get_libc_version);
	const struct hs_module *m;
	char path[4096] = "";
	int vdso = 0;

	CHECK(hs_modules_count() >= 3);
	CHECK(readlink("/proc/self/exe", path, sizeof(path) - 1) > 0);
	CHECK(exe && exe == hs_module_self() && strcmp(exe->path, path) == 0);
	CHECK(exe && exe->build_id_len == 20 && (exe->eh_frame_hdr || exe->arm_exidx) &&
	      exe->nsegs >= 2);
	CHECK(libc && strstr(libc->path, "libc.so") && libc->build_id_len == 20);
	CHECK(hs_module_find(0) == NULL && hs_module_find(1) == NULL);
	for (unsigned i = 0; i < hs_modules_count(); i++) {
		m = hs_module_at(i);
		CHECK(m->id == i + 1 && m->lo < m->hi);
		if (strstr(m->path, "vdso")) {
			vdso = 1;
			CHECK(m->eh_frame_hdr != NULL);
		}
	}
	CHECK(vdso || !getauxval(AT_SYSINFO_EHDR));	/* qemu-user may have none */
	CHECK(hs_now_ns() > 0);

	void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	void *cosp = h ? dlsym(h, "cos") : NULL;

	CHECK(cosp != NULL);
	m = cosp ? hs_module_find((uintptr_t)cosp) : NULL;
	CHECK(m && strstr(m->path, "libm.so"));
	CHECK(hs_modules_refresh() == 0);	/* nothing changed */
	if (h)
		dlclose(h);
	if (m && !dl_iterate_phdr(listed_cb, (void *)m->dl_name)) {
		CHECK(hs_modules_refresh() == 1);
		CHECK(atomic_load(&m->unloaded) && m->unload_t > 0);
		CHECK(hs_module_find((uintptr_t)cosp) == NULL);
	}
}

static void test_fork(void)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		uintptr_t f[MAXF];

		hs_modules_atfork_child();
		hs_unwind_invalidate();
		_exit(chain_a(f, MAXF) >= 7 && in_fn(f[3], "chain_a") ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	static const char *const names[] = {
		"main", "chain_a", "chain_b", "chain_c", "chain_d", "test_chain", "cmp_int",
		"test_qsort", "on_usr1", "raise_site", "test_raise", "on_ill", "fault_site",
		"test_fault", "thread_main", "racer", "fp_a", "fp_b", "fp_c", "test_fp_mode", "t_leaf",
		"t_1", "t_9", "u_leaf", "u_1", "load_syms", "test_bad_bounds",
	};
	uint64_t hits, misses, reused;

	load_syms(names, sizeof(names) / sizeof(names[0]));
	CHECK(hs_modules_init() == 0);
	CHECK(hs_unwind_init(HS_UNWIND_CFI) == 0);
	set_bounds();
	test_modules();
	test_chain();
	test_qsort();
	test_raise();
	test_fault();
	test_thread();
	test_race();
	test_bad_bounds();
	test_corrupt_cfi();
	test_fp_mode();
	test_fork();
	test_memo();
	test_timing();
	stats(&hits, &misses, &reused);
	printf("unwind: cache hits %llu, misses %llu, frames reused %llu\n",
	       (unsigned long long)hits, (unsigned long long)misses,
	       (unsigned long long)reused);
	if (failures) {
		fprintf(stderr, "unit_unwind: %d check(s) failed\n", failures);
		return 1;
	}
	printf("unit_unwind: all checks passed\n");
	return 0;
}
