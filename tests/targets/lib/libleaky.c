// SPDX-License-Identifier: MIT
/* A library that a target dlopens, leaks from, and dlcloses. */
#include <stdlib.h>

__attribute__((noinline)) static void *leaky_inner(size_t n)
{
	return malloc(n);
}

void *leaky_alloc(size_t n)
{
	void *p = leaky_inner(n);

	__asm__ volatile("" ::: "memory");
	return p;
}
