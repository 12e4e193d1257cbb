// SPDX-License-Identifier: MIT
/*
 * An exec chain: `torture_exec N` leaks 10 * N + 1 bytes from exec_leak(), prints
 * "image N", and replaces itself with `torture_exec N-1` through execv, execvp, execve
 * and execl in turn, down to image 0, which exits with status 3. Every image has a
 * recording of its own. See tests/integration/t1000-torture-exec.py.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

extern char **environ;
static void *volatile sink;

__attribute__((noinline)) static void exec_leak(int n)
{
	sink = malloc(10 * (size_t)n + 1);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	char next[16];
	char *args[] = { argv[0], next, NULL };

	exec_leak(n);
	printf("image %d\n", n);
	fflush(stdout);
	if (n == 0)
		return 3;
	snprintf(next, sizeof(next), "%d", n - 1);
	switch (n % 4) {
	case 0:
		execv("/proc/self/exe", args);
		break;
	case 1:
		execvp(argv[0], args);
		break;
	case 2:
		execve(argv[0], args, environ);
		break;
	default:
		execl(argv[0], argv[0], next, (char *)NULL);
	}
	perror("exec");
	return 1;
}
