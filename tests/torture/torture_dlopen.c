// SPDX-License-Identifier: MIT
/*
 * dlopen/dlclose cycles and an RTLD_DEEPBIND library. CYCLES times: open
 * libtorture_dl.so, call dl_work() (three allocations inside the library), close it, then
 * free the returned block, except every tenth, which is kept (a leak from a library that
 * is gone). Then DEEP times: a block from deep_alloc() (libc's malloc, unseen by the agent)
 * freed here through the hooked free, and a block from deep_block() (hooked malloc) freed
 * by deep_free() (libc's free, unseen). Then ERRORS times: a dlopen that fails, an mmap,
 * a munmap, a malloc and a free (hooked calls), and the program's dlerror(): the message
 * must be its own (a hook that looked its next definition up with dlsym in between would
 * have cleared it), then a dlclose after a dlerror() string was made (the C library frees
 * that string from inside the next dlsym or dlclose, while the agent's hook is running).
 * With BIG (MiB), the first failure is followed by an allocation of that size: under
 * sampling with a much smaller interval, the main thread's first sample point, where the
 * agent once registered the thread and looked a symbol up with dlsym for it: that cleared
 * the message, and inside dlerror()'s own allocations freed its pending result under it.
 * Usage: torture_dlopen DIR [CYCLES [DEEP [ERRORS [BIG]]]].
 * See tests/integration/t1000-torture-dlopen.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *kept[10000];
static void *volatile big_block;	/* volatile: the pair is not optimized away */

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

static int errors(const char *dir, int n, size_t big)
{
	char path[4096];
	int same = 0;

	snprintf(path, sizeof(path), "%s/libtorture_absent.so", dir);
	for (int i = 0; i < n; i++) {
		void *h = dlopen(path, RTLD_NOW), *page;
		const char *e;

		if (h)
			return -1;
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page != MAP_FAILED)
			munmap(page, 4096);
		free(strdup(path));
		if (i == 0 && big) {
			big_block = malloc(big << 20);
			free(big_block);
		}
		e = dlerror();
		same += e && strstr(e, "libtorture_absent.so") != NULL;
		h = open_lib(dir, "libtorture_dl.so", RTLD_NOW | RTLD_LOCAL);
		dlclose(h);
	}
	/* and a failure left pending at exit */
	return dlopen(path, RTLD_NOW) ? -1 : same;
}

int main(int argc, char **argv)
{
	int cycles = argc > 2 ? atoi(argv[2]) : 300, ndeep = argc > 3 ? atoi(argv[3]) : 50;
	int nerr = argc > 4 ? atoi(argv[4]) : 0;
	size_t big = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
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
	if (nerr)
		printf("dlerror kept its message %d of %d times\n", errors(argv[1], nerr, big), nerr);
	return 0;
}
