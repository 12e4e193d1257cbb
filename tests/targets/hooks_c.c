// SPDX-License-Identifier: MIT
/*
 * Target with a known allocation pattern through every C allocation function. Each leak_*
 * function leaks exactly one block of a distinct size; see tests/integration/t0100-hooks-c.py.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *keep[32];
int nkeep;

/* Make a block observable so the compiler can't drop a malloc/free pair. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

NOINLINE void leak_malloc(void) { keep[nkeep++] = malloc(100); }
NOINLINE void leak_calloc(void) { keep[nkeep++] = calloc(10, 20); }
NOINLINE void leak_realloc(void)
{
	char *p = malloc(10);

	strcpy(p, "abc");
	p = realloc(p, 300);
	if (strcmp(p, "abc"))
		abort();
	keep[nkeep++] = p;
}
NOINLINE void leak_reallocarray(void) { keep[nkeep++] = reallocarray(NULL, 4, 100); }
NOINLINE void leak_memalign(void) { keep[nkeep++] = memalign(64, 500); }
NOINLINE void leak_posix_memalign(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 32, 600) != 0)
		abort();
	keep[nkeep++] = p;
}
NOINLINE void leak_aligned_alloc(void) { keep[nkeep++] = aligned_alloc(64, 704); }
NOINLINE void leak_valloc(void) { keep[nkeep++] = valloc(800); }
NOINLINE void leak_pvalloc(void) { keep[nkeep++] = pvalloc(900); }

NOINLINE void make_temporaries(void)
{
	for (int i = 0; i < 10; i++) {
		char *p = malloc(50);

		p[0] = (char)i;
		ESCAPE(p);
		free(p);
	}
}

NOINLINE void hold_peak(void)
{
	char *big = malloc(2000000);

	memset(big, 1, 2000000);
	ESCAPE(big);
	free(big);
}

NOINLINE void freed_later(void)
{
	void *a = malloc(1000), *b = malloc(2000);

	ESCAPE(a);
	ESCAPE(b);
	free(b);
	free(a);
}

int main(void)
{
	leak_malloc();
	leak_calloc();
	leak_realloc();
	leak_reallocarray();
	leak_memalign();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_valloc();
	leak_pvalloc();
	make_temporaries();
	hold_peak();
	freed_later();
	free(NULL);
	if (malloc_usable_size(keep[0]) < 100)
		return 3;
	printf("hooks_c done %d\n", nkeep);
	/* 7 as exit status: heapscope must pass it through. */
	return 7;
}
