// SPDX-License-Identifier: MIT
/*
 * Call stacks through code without frame pointers (this file is built with -O2
 * -fomit-frame-pointer, as Debian builds its libraries) and through libc (qsort's comparison
 * callback allocates). level1..level5 leak from a known chain; recurse(n) leaks at depth n
 * to test the depth limit. See tests/integration/t0120-stacks.py.
 */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

void *volatile sink[64];
volatile int nsink;

/*
 * Work on the stack so the compiler keeps a real frame without a frame pointer, and a store
 * after each call so that no call becomes a tail call.
 */
NOINLINE void level5(int n)
{
	volatile char pad[40];

	pad[n & 31] = (char)n;
	sink[nsink++] = malloc(5000 + (size_t)(pad[n & 31] - n));
}

NOINLINE void level4(int n) { volatile long x[3] = { n }; level5((int)x[0] + 1); x[1] = 0; }
NOINLINE void level3(int n) { volatile long x[5] = { n }; level4((int)x[0] + 1); x[1] = 0; }
NOINLINE void level2(int n) { volatile long x[7] = { n }; level3((int)x[0] + 1); x[1] = 0; }
NOINLINE void level1(int n) { volatile long x[9] = { n }; level2((int)x[0] + 1); x[1] = 0; }

NOINLINE int compare_and_alloc(const void *a, const void *b)
{
	static int once;

	if (!once++)
		sink[nsink++] = malloc(6000);
	return *(const int *)a - *(const int *)b;
}

NOINLINE void sort_something(void)
{
	int v[64];

	for (int i = 0; i < 64; i++)
		v[i] = (i * 37) % 64;
	qsort(v, 64, sizeof(v[0]), compare_and_alloc);
}

NOINLINE int recurse(int n)
{
	volatile char frame[16];	/* one live frame per level: no loop can replace it */

	frame[n & 15] = (char)n;
	if (n == 0) {
		sink[nsink++] = malloc(7000);
		return 0;
	}
	return recurse(n - 1) + frame[n & 15];
}

int main(void)
{
	level1(0);
	sort_something();
	recurse(100);
	printf("deep done %d\n", nsink);
	return 0;
}
