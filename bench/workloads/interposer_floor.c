// SPDX-License-Identifier: MIT
/*
 * The floor under any malloc interposer: an LD_PRELOAD library whose malloc, free, calloc
 * and realloc do nothing but call glibc's own (__libc_malloc ...), directly, with no check
 * and no state. What a program loses under it is the cost of one more call per allocation
 * function; bench/run.py runs it as the "interposer floor" row, so that the sampled rows can
 * be read against it. glibc only.
 */
#include <stddef.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
	return __libc_malloc(size);
}

void free(void *p)
{
	__libc_free(p);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return __libc_realloc(p, size);
}
