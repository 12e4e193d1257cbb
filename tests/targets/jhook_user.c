// SPDX-License-Identifier: MIT
/*
 * A program written against the prototypes of the hook libraries heapscope replaces (jhook
 * and liballoc_hook's checkpoint), linked directly with libheapscope.so, as their users
 * link with those libraries. Usage: jhook_user DUMPFILE.
 * See tests/integration/t0610-compat.py.
 */
#include <stdio.h>
#include <stdlib.h>

int jhook_init(int tail_num);
void jhook_uninit(void);
void jhook_start(void);
void jhook_stop(void);
void jhook_check_bound(void);
void jhook_check_leak(int choice);
void jhook_set_flag(int dup_flag, int bound_flag);
void jhook_set_check(int check_flag, int check_count);
void jhook_set_method(int method);
void jhook_set_limit(size_t min_limit, size_t max_limit);
void checkpoint(const char *file_name);

void *volatile keep[64];

static volatile int three = 3;
static int nkeep;

/* One call site, so all its blocks share one stack. */
__attribute__((noinline)) static void leak_three(void)
{
	for (int i = 0; i < three; i++)
		keep[nkeep++] = malloc(4096);
}

__attribute__((noinline)) static void alloc_and_free(void)
{
	void *p = malloc(2048);

	keep[30] = p;
	free(p);
}

__attribute__((noinline)) static void small_blocks(void)
{
	for (int i = 0; i < 5; i++)
		keep[40 + i] = malloc(8);
}

int main(int argc, char **argv)
{
	if (jhook_init(16) != 0 || jhook_init(1000) != -1)
		return 1;
	jhook_set_method(0);	/* one frame per stack, as jhook's fast method */
	jhook_start();
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			jhook_set_limit(16, 0);	/* blocks under 16 bytes are not tracked */
			small_blocks();
		}
		leak_three();
		if (round == 1)
			break;
		alloc_and_free();
		fprintf(stderr, "== choice 2\n");
		jhook_check_leak(2);	/* unfreed: leak_three only */
		fprintf(stderr, "== choice 1\n");
		jhook_check_leak(1);	/* changed since the last check: nothing */
	}
	fprintf(stderr, "== choice 0\n");
	jhook_check_leak(0);	/* unfreed and changed: leak_three again */
	fprintf(stderr, "== choice 5\n");
	jhook_check_leak(5);	/* more than 5 unfreed: leak_three has 6 */
	if (argc > 1)
		checkpoint(argv[1]);
	jhook_stop();
	fprintf(stderr, "== after stop\n");
	jhook_check_leak(3);
	jhook_uninit();
	printf("jhook_user done\n");
	return 0;
}
