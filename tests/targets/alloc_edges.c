// SPDX-License-Identifier: MIT
/*
 * The allocation functions' edge cases, each with its result (a pointer or NULL) and errno
 * as the program sees them: sizes that overflow, alignments that are not powers of two,
 * zero sizes, errno kept across calls that succeed, realloc failing with the old block
 * intact, calloc's zeroes. A test compares this program's output with and without
 * heapscope, in each mode. See tests/integration/t0105-alloc-edges.py.
 */
#define _GNU_SOURCE
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="	/* on purpose, here */
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SAY(expr)                                                                   \
	do {                                                                        \
		errno = 0;                                                          \
		void *p_ = (void *)(uintptr_t)(expr);                               \
		printf("%-36s %s errno=%d\n", #expr, p_ ? "ptr" : "NULL", errno);  \
	} while (0)

int main(void)
{
	void *p = NULL, *q;
	int rc, zero = 1;

	SAY(malloc(0));
	SAY(malloc(SIZE_MAX));
	SAY(malloc(SIZE_MAX / 2));
	SAY(calloc(SIZE_MAX / 2, 4));
	SAY(calloc(0, 0));
	SAY(realloc(NULL, 0));
	SAY(reallocarray(NULL, SIZE_MAX / 2, 4));
	SAY(aligned_alloc(3, 10));
	SAY(aligned_alloc(64, 10));
	SAY(aligned_alloc(0, 10));
	SAY(memalign(3, 10));
	SAY(memalign(1 << 20, 10));
	SAY(memalign(SIZE_MAX / 2 + 1, 10));
	SAY(valloc(10));
	SAY(pvalloc(0));

	errno = 0;
	rc = posix_memalign(&p, 3, 10);
	printf("posix_memalign(3): %d errno=%d\n", rc, errno);
	rc = posix_memalign(&p, 0, 10);
	printf("posix_memalign(0): %d\n", rc);
	rc = posix_memalign(&p, 64, SIZE_MAX);
	printf("posix_memalign(SIZE_MAX): %d\n", rc);
	rc = posix_memalign(&p, 4096, 100);
	printf("posix_memalign(4096): %d aligned=%d\n", rc, !((uintptr_t)p & 4095));
	free(p);
	p = memalign(3, 10);
	printf("memalign(3) aligned to 4: %d\n", !((uintptr_t)p & 3));
	free(p);

	p = malloc(100);
	errno = 42;
	free(p);
	printf("errno after free: %d\n", errno);
	p = malloc(10);
	errno = 42;
	p = realloc(p, 1000);
	printf("errno after a realloc that moved: %d\n", errno);
	q = realloc(p, SIZE_MAX);
	printf("realloc(SIZE_MAX): %s errno=%d\n", q ? "ptr" : "NULL", errno);
	printf("malloc_usable_size(NULL)=%zu, of the old block >= 1000: %d\n",
	       malloc_usable_size(NULL), malloc_usable_size(p) >= 1000);
	q = realloc(p, 0);
	printf("realloc(p, 0): %s\n", q ? "ptr" : "NULL");
	free(q);
	p = calloc(10, 10);
	for (int i = 0; i < 100; i++)
		zero &= ((char *)p)[i] == 0;
	printf("calloc's zeroes: %d\n", zero);
	free(p);
	return 0;
}
