// SPDX-License-Identifier: MIT
/*
 * A program that closes every descriptor and then takes them all: fd_phase1() allocates
 * N blocks and the program closes every descriptor above 2 (the agent's control socket
 * among them); it then dup2()s /dev/null over every free descriptor up to the limit (the
 * agent can open nothing), fd_phase2() allocates N more; it releases them, calls
 * heapscope_checkpoint("after-fds") when the agent is there (found with dlsym), prints
 * "ready", and with "wait" reads one line from stdin before it ends (so a test can talk
 * to the control socket meanwhile). Each phase frees all but 5 of its blocks (48 bytes).
 * Usage: torture_fds N [wait]. See tests/integration/t1000-torture-fds.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *volatile kept[10];

__attribute__((noinline)) static void phase(long n, int which)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(48);

		if (i < 5)
			kept[which * 5 + i] = p;
		else
			free(p);
	}
}

__attribute__((noinline)) static void fd_phase1(long n)
{
	phase(n, 0);
}

__attribute__((noinline)) static void fd_phase2(long n)
{
	phase(n, 1);
}

/* Every descriptor from 3 up to the limit: /dev/null. Returns how many it took. */
static int take_all(int limit)
{
	int null = open("/dev/null", O_RDWR), taken = 0;

	for (int fd = 3; fd < limit; fd++) {
		if (fd == null)
			continue;
		if (dup2(null, fd) == fd)
			taken++;
		else if (taken + 1 == fd - 3)	/* the first failure only */
			fprintf(stderr, "dup2 over %d: %s\n", fd, strerror(errno));
	}
	return taken + 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	struct rlimit rl;
	int limit, taken, (*checkpoint)(const char *);

	getrlimit(RLIMIT_NOFILE, &rl);
	limit = rl.rlim_cur > 4096 ? 4096 : (int)rl.rlim_cur;
	if (rl.rlim_cur > 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fd_phase1(n);
	for (int fd = 3; fd < limit; fd++)
		close(fd);
	taken = take_all(limit);
	fd_phase2(n);
	if (open("/dev/null", O_RDONLY) >= 0)
		return 9;	/* some descriptor was left free */
	for (int fd = 3; fd < limit; fd++)
		close(fd);
	checkpoint = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_checkpoint");
	/* Without the agent there is no checkpoint to take: that is fine too. */
	printf("took %s descriptors; checkpoint %s\nready\n", taken == limit - 3 ? "all" : "some",
	       !checkpoint || checkpoint("after-fds") == 0 ? "ok" : "failed");
	fflush(stdout);
	if (argc > 2) {
		char line[64];

		if (!fgets(line, sizeof(line), stdin))
			return 4;
	}
	return 0;
}
