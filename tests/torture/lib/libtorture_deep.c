// SPDX-License-Identifier: MIT
/*
 * Opened with RTLD_DEEPBIND by torture_dlopen: its calls to malloc and free bind to the C
 * library first, past the preloaded agent. deep_alloc() hands out a block of libc's that
 * the program frees through the hooked free; deep_free() frees a block the program got
 * from the hooked malloc, behind the agent's back.
 */
#include <stdlib.h>

void *deep_alloc(size_t n)
{
	return malloc(n);
}

void deep_free(void *p)
{
	free(p);
}
