// SPDX-License-Identifier: MIT
/*
 * A heap with a known shape for sampling tests: keep_small() holds 80,000 blocks of 1,000
 * bytes, keep_large() 2,000 blocks of 30,000 bytes, churn() allocates and frees 1,000,000
 * blocks of 16..512 bytes. Everything kept is freed at the end, after the peak. Then
 * reuse() allocates and frees a block of 4,608 bytes 8,000 times, at one address mostly;
 * temp_big() 1,000 blocks of 64 KiB, each freed at once (temporary), and kept_big() 1,000
 * more, each freed after a small block (between()) was allocated (not temporary).
 * See tests/integration/t0620-sampling.py.
 */
#include <stdio.h>
#include <stdlib.h>

#define NSMALL 80000
#define NLARGE 2000

static void *small[NSMALL], *large[NLARGE];

__attribute__((noinline)) static void keep_small(int i) { small[i] = malloc(1000); }
__attribute__((noinline)) static void keep_large(int i) { large[i] = malloc(30000); }

__attribute__((noinline)) static void churn(long i)
{
	void *p = malloc(16 + (size_t)(i * 7919 % 497));

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

__attribute__((noinline)) static void reuse(void)
{
	void *p = malloc(4608);

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

__attribute__((noinline)) static void temp_big(void)
{
	void *p = malloc(65536);

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

__attribute__((noinline)) static void *between(void)
{
	return malloc(64);
}

__attribute__((noinline)) static void kept_big(void)
{
	void *p = malloc(65536), *q = between();

	__asm__ volatile("" : : "r"(p), "r"(q) : "memory");
	free(p);
	free(q);
}

int main(void)
{
	long c = 0;

	for (int i = 0; i < NSMALL; i++) {
		keep_small(i);
		if (i < NLARGE)
			keep_large(i);
		for (int j = 0; j < 12; j++)
			churn(c++);
	}
	for (int i = 0; i < NSMALL; i++)
		free(small[i]);
	for (int i = 0; i < NLARGE; i++)
		free(large[i]);
	for (int i = 0; i < 8000; i++)
		reuse();
	for (int i = 0; i < 1000; i++)
		temp_big();
	for (int i = 0; i < 1000; i++)
		kept_big();
	printf("sample_mix done %ld\n", c);
	return 0;
}
