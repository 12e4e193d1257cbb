// SPDX-License-Identifier: MIT
/*
 * A heap that stays level while it churns, as a service's does: ring() keeps RING blocks of
 * 16..4,096 bytes (sizes from a fixed generator), replacing one at a time, STEPS times;
 * then everything is freed. The heap's peak sits just above its steady level, so an
 * estimator that takes the highest of many noisy readings lands far above it.
 * See tests/integration/t0625-sampled-peak.py.
 */
#include <stdio.h>
#include <stdlib.h>

#define RING 4096

static void *ring_slots[RING];

static unsigned long next_size(unsigned long *x)
{
	*x = *x * 6364136223846793005ul + 1442695040888963407ul;
	return 16 + (*x >> 33) % 4081;
}

__attribute__((noinline)) static void *ring(size_t size)
{
	return malloc(size);
}

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 1000000;
	unsigned long x = 42, sum = 0;

	for (int i = 0; i < RING; i++)
		ring_slots[i] = ring(next_size(&x));
	for (long s = 0; s < steps; s++) {
		int i = (int)(s % RING);

		free(ring_slots[i]);
		ring_slots[i] = ring(next_size(&x));
		sum += (unsigned long)ring_slots[i] & 1;
	}
	for (int i = 0; i < RING; i++)
		free(ring_slots[i]);
	printf("sample_steady done %ld %lu\n", steps, sum * 0);
	return 0;
}
