// SPDX-License-Identifier: MIT
/*
 * A long-running "service" for tests of running-process control and growth: each
 * iteration leaks LEAK bytes from leak_per_request() amid churn (churn() allocates and
 * frees 16 blocks) and a one-time start-up allocation. Usage:
 *   service ITERATIONS SLEEP_MS [api]
 * With "api", it calls heapscope_checkpoint("iter-N") (found with dlsym, so the program
 * runs without the agent too) every 10 iterations. It writes "ready PID" to stdout once
 * started and "done" at the end, and stops early on SIGTERM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LEAK 1000

static volatile sig_atomic_t stop;
void *volatile startup_block;
void *volatile sink;

static void on_term(int sig)
{
	stop = sig;
}

__attribute__((noinline)) static void startup(void)
{
	startup_block = malloc(50000);
}

__attribute__((noinline)) static void leak_per_request(void)
{
	char *p = malloc(LEAK);

	memset(p, 'x', LEAK);
	sink = p;
}

__attribute__((noinline)) static void churn(int i)
{
	void *blocks[16];

	for (int j = 0; j < 16; j++)
		blocks[j] = malloc(64 + (size_t)((i + j) % 8) * 512);
	for (int j = 0; j < 16; j++)
		free(blocks[j]);
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 100;
	long sleep_ms = argc > 2 ? atol(argv[2]) : 10;
	int (*api)(const char *) = NULL;
	struct timespec ts = { sleep_ms / 1000, (sleep_ms % 1000) * 1000000 };

	if (argc > 3 && !strcmp(argv[3], "api"))
		api = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_checkpoint");
	signal(SIGTERM, on_term);
	startup();
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	for (long i = 0; i < iterations && !stop; i++) {
		churn((int)i);
		leak_per_request();
		if (api && i % 10 == 9) {
			char name[32];

			snprintf(name, sizeof(name), "iter-%ld", i + 1);
			api(name);
		}
		nanosleep(&ts, NULL);
	}
	printf("done\n");
	return 0;
}
