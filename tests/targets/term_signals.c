// SPDX-License-Identifier: MIT
/*
 * What a program sees of the agent's handler for termination signals (hooks_sig.c).
 * Usage: term_signals view | wait | churn
 *   view: asks for and sets the actions of SIGTERM, SIGINT, SIGHUP and SIGALRM with
 *         sigaction() and signal() and prints what it finds; raises SIGINT under its own
 *         handler and SIGHUP ignored; must print the same with and without the agent.
 *   wait: leaks 100 blocks of 1000 bytes in leak_on_term(), prints "ready PID" and waits
 *         for a signal, which is to kill it (every action is the default).
 *   churn: the same, then mallocs and frees without end instead of waiting, so that the
 *         signal most often lands inside the agent's bookkeeping.
 * See tests/integration/t1025-term-signals.py.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void *volatile sink[100];
static void *volatile churn_sink;

static void on_int(int sig)
{
	got = sig;
}

static int is_dfl(int sig)
{
	struct sigaction cur;

	if (sigaction(sig, NULL, &cur) != 0)
		return -1;
	return cur.sa_handler == SIG_DFL && !(cur.sa_flags & SA_SIGINFO);
}

static void view(void)
{
	struct sigaction sa, old;
	void (*prev)(int);

	printf("SIGTERM dfl=%d\n", is_dfl(SIGTERM));
	sigaction(SIGTERM, NULL, &old);
	printf("SIGTERM flags=%d\n", old.sa_flags & (SA_SIGINFO | SA_RESTART | SA_RESETHAND));
	prev = signal(SIGINT, on_int);
	printf("signal(SIGINT) was dfl=%d\n", prev == SIG_DFL);
	printf("SIGINT dfl=%d\n", is_dfl(SIGINT));
	raise(SIGINT);
	printf("handled %s\n", got == SIGINT ? "SIGINT" : "nothing");
	prev = signal(SIGINT, SIG_DFL);
	printf("back to dfl: was on_int=%d\n", prev == on_int);
	printf("SIGINT dfl=%d\n", is_dfl(SIGINT));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, &old);
	printf("SIGHUP was dfl=%d\n", old.sa_handler == SIG_DFL);
	raise(SIGHUP);
	printf("SIGHUP ignored\n");
	sigaction(SIGHUP, NULL, &old);
	printf("SIGHUP ign=%d\n", old.sa_handler == SIG_IGN);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, &old);
	printf("SIGALRM set dfl, was dfl=%d, now dfl=%d\n", old.sa_handler == SIG_DFL,
	       is_dfl(SIGALRM));
	sa.sa_handler = on_int;		/* the new and the old action in the same memory */
	sigaction(SIGQUIT, &sa, &sa);
	printf("SIGQUIT was dfl=%d\n", sa.sa_handler == SIG_DFL);
	sigaction(SIGQUIT, NULL, &old);
	printf("SIGQUIT now on_int=%d\n", old.sa_handler == on_int);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGQUIT, &sa, &sa);
	printf("SIGQUIT back, was on_int=%d, now dfl=%d\n", sa.sa_handler == on_int,
	       is_dfl(SIGQUIT));
	printf("view done\n");
}

__attribute__((noinline)) static void leak_on_term(void)
{
	for (int i = 0; i < 100; i++) {
		sink[i] = malloc(1000);
		memset(sink[i], i, 1000);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "view")) {
		view();
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "wait")) {
		leak_on_term();
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc == 2 && !strcmp(argv[1], "churn")) {
		leak_on_term();
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		for (size_t i = 0;; i++) {
			churn_sink = malloc(16 + i % 256);
			free(churn_sink);
		}
	}
	fprintf(stderr, "usage: term_signals view | wait | churn\n");
	return 2;
}
