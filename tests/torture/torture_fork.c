// SPDX-License-Identifier: MIT
/*
 * A fork storm without exec, while another thread allocates: the parent forks NCHILD
 * children one after the other as bg_churn() keeps calling malloc and free in a second
 * thread (a fork may land inside the agent's bookkeeping). Child i leaks 100 + i bytes
 * from child_work(); every fourth child forks a grandchild that leaks 1000 + i bytes from
 * grandchild_work(). Odd children end with _exit(), even ones with exit(); the status of
 * child i is i % 3. The parent leaks 7 bytes from parent_leak() and prints the sum of the
 * statuses. With `scan` as argument, a third thread runs leak scans back to back
 * (heapscope_leak_check(), when the agent is there) during the storm, so that forks land
 * while a scan holds its lock. See tests/integration/t1000-torture-fork.py.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCHILD 16

static atomic_int stop;
static void *volatile sink;

__attribute__((noinline)) static void *bg_churn(void *arg)
{
	while (!atomic_load(&stop)) {
		void *volatile p = malloc(64);	/* volatile: the pair may not be elided */

		free(p);
	}
	return arg;
}

static void *scanner(void *arg)
{
	long (*leak_check)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "heapscope_leak_check");

	while (leak_check && !atomic_load(&stop))
		leak_check();
	return arg;
}

__attribute__((noinline)) static void grandchild_work(int i)
{
	sink = malloc(1000 + (size_t)i);
}

__attribute__((noinline)) static void child_work(int i)
{
	sink = malloc(100 + (size_t)i);
	if (i % 4 == 0) {
		pid_t g = fork();

		if (g == 0) {
			grandchild_work(i);
			exit(0);
		}
		waitpid(g, NULL, 0);
	}
}

__attribute__((noinline)) static void parent_leak(void)
{
	sink = malloc(7);
}

int main(int argc, char **argv)
{
	pthread_t bg, sc;
	int sum = 0, scan = argc > 1 && !strcmp(argv[1], "scan");

	pthread_create(&bg, NULL, bg_churn, NULL);
	if (scan)
		pthread_create(&sc, NULL, scanner, NULL);
	for (int i = 0; i < NCHILD; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			child_work(i);
			if (i % 2)
				_exit(i % 3);
			exit(i % 3);
		}
		waitpid(pid, &status, 0);
		sum += WIFEXITED(status) ? WEXITSTATUS(status) : 100;
	}
	atomic_store(&stop, 1);
	pthread_join(bg, NULL);
	if (scan)
		pthread_join(sc, NULL);
	parent_leak();
	printf("fork storm done: %d children, status sum %d\n", NCHILD, sum);
	return 0;
}
