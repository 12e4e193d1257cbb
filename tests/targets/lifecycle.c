// SPDX-License-Identifier: MIT
/*
 * Process-lifecycle target: allocations before main (a constructor) and after it (an atexit
 * handler and a destructor), fork (the child leaks its own block), exec (with "exec" as
 * argv[1] the program re-executes itself as "image2", which leaks in its new image; with
 * "execenv" it does so with an environment of its own, without LD_PRELOAD), and
 * dlopen/dlclose of a library that leaks. The child exits normally, so it runs the atexit
 * handler too. See tests/integration/t0300-lifecycle.py.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile sink[8];	/* volatile: the compiler must keep every allocation */

NOINLINE static void before_main_alloc(void) { sink[0] = malloc(111); }
NOINLINE static void at_exit_alloc(void) { sink[1] = malloc(222); }
NOINLINE static void child_leak(void) { sink[2] = malloc(333); }
NOINLINE static void image2_leak(void) { sink[3] = malloc(444); }
NOINLINE static void parent_leak(void) { sink[4] = malloc(555); }

__attribute__((constructor)) static void ctor(void) { before_main_alloc(); }

static int run_dlopen(const char *dir)
{
	char path[4096];
	void *h;
	void *(*fn)(size_t);

	snprintf(path, sizeof(path), "%s/libleaky.so", dir);
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	fn = (void *(*)(size_t))dlsym(h, "leaky_alloc");
	sink[5] = fn(666);
	dlclose(h);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[4096];
	pid_t pid;
	int status;

	if (argc > 1 && !strcmp(argv[1], "image2")) {
		image2_leak();
		printf("image2 done\n");
		return 5;
	}
	strncpy(dir, argv[0], sizeof(dir) - 1);
	*strrchr(dir, '/') = 0;
	atexit(at_exit_alloc);
	parent_leak();
	if (run_dlopen(dir))
		return 1;
	pid = fork();
	if (pid == 0) {
		child_leak();
		exit(0);
	}
	waitpid(pid, &status, 0);
	if (argc > 1 && !strcmp(argv[1], "exec")) {
		fflush(stdout);
		execl(argv[0], argv[0], "image2", (char *)NULL);
		return 99;
	}
	if (argc > 1 && !strcmp(argv[1], "execenv")) {	/* an environment of its own */
		char *env[] = { "ONLY=this", NULL };

		fflush(stdout);
		execle(argv[0], argv[0], "image2", (char *)NULL, env);
		return 99;
	}
	printf("lifecycle done %d\n", WEXITSTATUS(status));
	return 0;
}
