// SPDX-License-Identifier: MIT
/*
 * Loaded and unloaded hundreds of times by torture_dlopen: dl_work() allocates three
 * blocks, frees two and returns the third (48 bytes) for the program to free, or keep,
 * after the library is gone.
 */
#include <stdlib.h>

__attribute__((noinline)) static void *dl_inner(size_t n)
{
	return malloc(n);
}

void *dl_work(int i)
{
	void *a = dl_inner(16), *volatile b = calloc(2, 16);	/* volatile: not elided */

	free(a);
	free(b);
	return dl_inner(48);
}
