// SPDX-License-Identifier: MIT
/*
 * Sampling arithmetic (src/agent/sample.c): the countdown's mean gap, the weights of a
 * sampled block (unbiased after rounding, also for blocks that come again at one address,
 * and the same at the block's free as at its allocation), and the split into the peak's
 * two halves.
 */
#include <math.h>
#include <stdint.h>

#include "sample.h"
#include "unit.h"

#define N 400000

static double rel(double got, double want)
{
	return fabs(got - want) / want;
}

int main(void)
{
	uint64_t rng = 12345, coin = 678, calls, bytes, c2, b2;
	double sum = 0, sc = 0, sb = 0, sh = 0, s1 = 0;
	unsigned both = 0, one = 0;

	/* gaps: exponential with the interval as mean (standard error 0.16% at N) */
	for (int i = 0; i < N; i++)
		sum += (double)hs_sample_next(&rng, 256);
	CHECK(rel(sum / N, 256) < 0.01);

	/* weights: 1/p and size/p on average over blocks (rounding adds no bias: 1/p is
	   32.503 for 8 bytes at 256, which rounding to the nearest integer made 33) */
	for (int i = 0; i < N; i++) {
		uint64_t addr = 0x7f0000001000ull + 16ull * (uint64_t)i;
		unsigned up = hs_sample_rounding(8, 256, &coin);

		hs_sample_weight(8, 256, addr, up, &calls, &bytes);
		CHECK(calls == 32 || calls == 33);
		CHECK(bytes == 260 || bytes == 261);
		hs_sample_weight(8, 256, addr, up, &c2, &b2);
		CHECK(c2 == calls && b2 == bytes);	/* the same at the free */
		sc += (double)calls;
		sb += (double)bytes;
		hs_sample_weight(8, 512, addr, up >> 1, &c2, &b2);	/* in a half */
		sh += (double)c2;
	}
	CHECK(rel(sc / N, 1 / (1 - exp(-8.0 / 256))) < 0.002);
	CHECK(rel(sb / N, 8 / (1 - exp(-8.0 / 256))) < 0.002);
	CHECK(rel(sh / N, 1 / (1 - exp(-8.0 / 512))) < 0.002);

	/* one address again and again (a buffer freed and allocated anew), 1/p = 1.156 for
	   1 MiB at 512 KiB: the calls were rounded the same way each time (2 or 1) */
	for (int i = 0; i < N; i++) {
		hs_sample_weight(1 << 20, 512 << 10, 0x7f0000100000ull,
				 hs_sample_rounding(1 << 20, 512 << 10, &coin), &calls, &bytes);
		CHECK(calls == 1 || calls == 2);
		s1 += (double)calls;
	}
	CHECK(rel(s1 / N, 1 / (1 - exp(-2.0))) < 0.002);

	/* a block far larger than the interval: always sampled, stands for itself */
	hs_sample_weight(1 << 20, 512, 42, hs_sample_rounding(1 << 20, 512, &coin), &calls, &bytes);
	CHECK(calls == 1 && bytes == 1 << 20);
	/* a tiny block at a large interval: 1/p without cancellation */
	hs_sample_weight(16, 512 << 10, 42, hs_sample_rounding(16, 512 << 10, &coin), &calls,
			 &bytes);
	CHECK(calls == 32768 || calls == 32769);
	CHECK(bytes >= 524288 && bytes <= 524297);

	/* halves: a block in both with a / (2 - a), a = 1 - exp(-x/2) */
	for (int i = 0; i < N; i++) {
		unsigned h = hs_sample_halves(256, 256, &coin);

		CHECK(h >= 1 && h <= 3);
		both += h == 3;
		one += h == 1;
	}
	{
		double a = 1 - exp(-0.5);

		CHECK(rel((double)both / N, a / (2 - a)) < 0.02);
		CHECK(rel((double)one / N, (1 - a) / (2 - a) / 1) < 0.02);
	}
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures != 0;
}
