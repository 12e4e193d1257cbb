// SPDX-License-Identifier: MIT
/*
 * A program linked with its own allocator (jemalloc): the agent's hooks must forward to
 * jemalloc, not to the C library. je_work() makes N rounds of malloc, calloc, realloc,
 * posix_memalign and free (one 100-byte block kept); sallocx() on a block from malloc
 * proves jemalloc served it (it would crash on a glibc block); mallocx()/dallocx() are
 * jemalloc's own API, not hooked, and not counted. Prints "jemalloc VERSION: ok".
 * Usage: torture_jemalloc [N]. See tests/integration/t1000-torture-allocators.py.
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>

static void *volatile kept;

__attribute__((noinline)) static void je_work(long n)
{
	for (long i = 0; i < n; i++) {
		char *a = malloc(100), *volatile b = calloc(4, 25);	/* volatile: not elided */
		void *c = NULL;

		a = realloc(a, 300);
		if (posix_memalign(&c, 64, 128))
			exit(5);
		free(b);
		free(c);
		if (i == 0)
			kept = a;
		else
			free(a);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	const char *version = "?";
	size_t len = sizeof(version);
	void *volatile p;
	void *x;

	je_work(n);
	p = malloc(100);
	if (!p || sallocx(p, 0) < 100)
		return 6;
	free(p);
	for (int i = 0; i < 100; i++) {	/* jemalloc's own API: not hooked */
		x = mallocx(64, 0);
		dallocx(x, 0);
	}
	mallctl("version", &version, &len, NULL, 0);
	printf("jemalloc %.5s: ok\n", version);
	return 0;
}
