// SPDX-License-Identifier: MIT
/*
 * Allocations on stacks other than the thread's: a makecontext coroutine on a 64 KiB stack
 * of its own (co_body -> co_mid -> co_leaf, 1,000 blocks of 48 bytes, every tenth kept,
 * one swapcontext back to main after each), and a SIGUSR1 handler on a sigaltstack
 * (alt_handler -> alt_leaf, 10 blocks of 40 bytes, kept). Prints what it did.
 * See tests/integration/t0125-other-stacks.py.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define NOINLINE __attribute__((noinline))
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static ucontext_t main_ctx, co_ctx;
static void *kept[200];
static int nkept;

NOINLINE static void *co_leaf(int i)
{
	void *p = malloc(48);

	ESCAPE(p);
	return i % 10 == 0 ? p : (free(p), NULL);
}

NOINLINE static void co_mid(int i)
{
	void *p = co_leaf(i);

	if (p)
		kept[nkept++] = p;
	ESCAPE(kept);
}

NOINLINE static void co_body(void)
{
	for (int i = 0; i < 1000; i++) {
		co_mid(i);
		swapcontext(&co_ctx, &main_ctx);
	}
}

NOINLINE static void *alt_leaf(void)
{
	void *p = malloc(40);

	ESCAPE(p);
	return p;
}

static void alt_handler(int sig)
{
	(void)sig;
	kept[nkept++] = alt_leaf();
}

int main(void)
{
	char *co_stack = malloc(64 * 1024);
	stack_t ss = { .ss_sp = malloc(64 * 1024), .ss_size = 64 * 1024 };
	struct sigaction sa;
	int turns = 0;

	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = co_stack;
	co_ctx.uc_stack.ss_size = 64 * 1024;
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, co_body, 0);
	for (int i = 0; i < 1000; i++, turns++)
		swapcontext(&main_ctx, &co_ctx);

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alt_handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < 10; i++)
		raise(SIGUSR1);
	printf("other stacks: %d turns, %d kept\n", turns, nkept);
	ESCAPE(kept);
	return 0;
}
