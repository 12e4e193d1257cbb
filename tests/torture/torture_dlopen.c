// SPDX-License-Identifier: MIT
/*
 * dlopen/dlclose cycles and an RTLD_DEEPBIND library. CYCLES times: open
 * libtorture_dl.so, call dl_work() (three allocations inside the library), close it, then
 * free the returned block, except every tenth, which is kept (a leak from a library that
 * is gone). Then DEEP times: a block from deep_alloc() (libc's malloc, unseen by the agent)
 * freed here through the hooked free, and a block from deep_block() (hooked malloc) freed
 * by deep_free() (libc's free, unseen). Usage: torture_dlopen DIR [CYCLES [DEEP]].
 * See tests/integration/t1000-torture-dlopen.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[10000];

static void *open_lib(const char *dir, const char *name, int flags)
{
	char path[4096];
	void *h;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	h = dlopen(path, flags);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(2);
	}
	return h;
}

__attribute__((noinline)) static void *deep_block(void)
{
	return malloc(24);
}

static void deep(const char *dir, int n)
{
	void *h, *(*alloc)(size_t);
	void (*dfree)(void *);

	if (n == 0)
		return;
	h = open_lib(dir, "libtorture_deep.so", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	alloc = (void *(*)(size_t))dlsym(h, "deep_alloc");
	dfree = (void (*)(void *))dlsym(h, "deep_free");
	for (int i = 0; i < n; i++) {
		char *p = alloc(100);

		memset(p, 1, 100);
		free(p);
		dfree(deep_block());
	}
	dlclose(h);
}

int main(int argc, char **argv)
{
	int cycles = argc > 2 ? atoi(argv[2]) : 300, ndeep = argc > 3 ? atoi(argv[3]) : 50;
	int nkept = 0;

	for (int i = 0; i < cycles; i++) {
		void *h = open_lib(argv[1], "libtorture_dl.so", RTLD_NOW | RTLD_LOCAL);
		void *(*work)(int) = (void *(*)(int))dlsym(h, "dl_work");
		void *b = work(i);

		dlclose(h);
		if (i % 10 == 0 && nkept < 10000)
			kept[nkept++] = b;
		else
			free(b);
	}
	deep(argv[1], ndeep);
	printf("dlopen done: %d cycles, %d kept, %d deep\n", cycles, nkept, ndeep);
	return 0;
}
