// SPDX-License-Identifier: MIT
/*
 * The program behind the stored recording golden.hsr, which the golden tests of the report
 * formats read (tests/integration/t0510-folded-svg.py). It has its own _start (built with
 * -nostartfiles) so that every recorded frame lies in this binary: the C library's start
 * frames would symbolize differently on machines with another libc build. Known pattern:
 * parse_config leaks 3 x 100 B, build_tree leaks 4 x 64 B through the inlined node_new
 * (called from main and from worker), load_cache holds 50,000 B at the peak, scratch makes
 * 5 temporaries of 10 B. Regenerate with make.sh (x86-64 only); never built by the tests.
 */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

void *keep[16];
int nkeep;

static inline __attribute__((always_inline)) void *node_new(size_t n)
{
	void *p = malloc(n);

	memset(p, 0, n);
	return p;
}

NOINLINE void parse_config(void)
{
	for (int i = 0; i < 3; i++)
		keep[nkeep++] = malloc(100);
}

NOINLINE void build_tree(int n)
{
	for (int i = 0; i < n; i++)
		keep[nkeep++] = node_new(64);
}

NOINLINE void worker(void)
{
	build_tree(2);
}

NOINLINE void load_cache(void)
{
	char *p = malloc(50000);

	memset(p, 1, 50000);
	ESCAPE(p);
	free(p);
}

NOINLINE void scratch(void)
{
	for (int i = 0; i < 5; i++) {
		char *p = malloc(10);

		p[0] = (char)i;
		ESCAPE(p);
		free(p);
	}
}

NOINLINE void golden_main(void)
{
	parse_config();
	build_tree(2);
	worker();
	load_cache();
	scratch();
}

int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

/* From _start: register the dynamic loader's finalizer (which runs the agent's destructor,
 * as __libc_start_main would), run, exit. */
NOINLINE void golden_start(void (*rtld_fini)(void))
{
	__cxa_atexit((void (*)(void *))rtld_fini, NULL, NULL);
	golden_main();
	exit(0);
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rdx, %rdi\n"
	"	and $-16, %rsp\n"
	"	call golden_start\n"
	"	hlt\n");
