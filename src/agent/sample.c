// SPDX-License-Identifier: MIT
/*
 * Sampling arithmetic (see sample.h): a xorshift generator, natural log and exp written out
 * so the agent does not need libm. Accurate to ~1e-13 relative, far below sampling noise.
 */
#include "sample.h"

#define LN2 0.69314718055994530942

/* 2^e for -1022 <= e <= 1023, from its bits. */
static double pow2(int e)
{
	union {
		uint64_t u;
		double d;
	} v = { (uint64_t)(e + 1023) << 52 };

	return v.d;
}

/*
 * ln(x) = 2 atanh(z), z = (x - 1) / (x + 1), with x scaled into [1, 2) by its exponent
 * bits (z <= 1/3: 13 odd terms leave (1/9)^13 / 27, under 1e-13), the series by Horner in
 * z^2. Sampling calls it and exp_neg at each sample point: with loops of halvings and a
 * division per term they were 3.7 M of the 45 M instructions sampling added to
 * malloc_storm 8 100000 (cachegrind; exp_neg 189 a call).
 */
static double ln(double x)
{
	static const double inv_odd[13] = {
		1.0, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17,
		1.0 / 19, 1.0 / 21, 1.0 / 23, 1.0 / 25,
	};
	union {
		double d;
		uint64_t u;
	} v = { x };
	double z, z2, sum = 0;
	int e;

	if (!(x > 0))
		return -745;
	if (x < 2.2250738585072014e-308)	/* subnormal: scale into the normal range */
		return ln(x * 18014398509481984.0) - 54 * LN2;
	e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & ((1ull << 52) - 1)) | (1023ull << 52);	/* the mantissa, in [1, 2) */
	z = (v.d - 1) / (v.d + 1);
	z2 = z * z;
	for (int k = 12; k >= 0; k--)
		sum = sum * z2 + inv_odd[k];
	return 2 * z * sum + e * LN2;
}

/* exp(-x) for x >= 0: e^-r 2^-n with 0 <= r < ln 2, 14 Taylor terms ((ln 2)^14 / 14! is
   7e-14; within 2.1e-13 of libm's over [0, 700], checked by hand) by Horner. */
static double exp_neg(double x)
{
	static const double inv_fact[14] = {
		1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
		1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
		1.0 / 6227020800.0,
	};
	double r, sum = 0;
	int n;

	if (x > 700)
		return 0;
	n = (int)(x / LN2);
	r = x - n * LN2;
	for (int k = 13; k >= 0; k--)
		sum = sum * -r + inv_fact[k];
	return sum * pow2(-n);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

int64_t hs_sample_next(uint64_t *rng, uint64_t interval)
{
	/* U in (0, 1]: 53 random bits. */
	double u = ((xorshift(rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
	double v = -ln(u) * (double)interval;

	return v < 1 ? 1 : (v > 4e18 ? (int64_t)4e18 : (int64_t)v);
}

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A uniform double in [0, 1): 53 bits of the generator. */
static double uniform(uint64_t *state)
{
	return (double)(splitmix(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* 1 - exp(-x) without cancellation for small x. */
static double one_minus_exp_neg(double x)
{
	return x < 1e-6 ? x * (1 - x / 2) : 1 - exp_neg(x);
}

unsigned hs_sample_halves(uint64_t size, uint64_t interval, uint64_t *state)
{
	/*
	 * The points in a block are Poisson(x = size / interval); each half gets Poisson(x/2),
	 * so a half has the block with a = 1 - exp(-x/2). Given the block was sampled
	 * (probability a (2 - a)): both halves with a / (2 - a), each half alone with
	 * (1 - a) / (2 - a).
	 */
	double a = one_minus_exp_neg((double)size / (double)interval / 2);
	double u = uniform(state);
	double both = a / (2 - a), one = (1 - a) / (2 - a);

	if (u < both)
		return 3;
	return u < both + one ? 1 : 2;
}

/* v rounded down or up, up with probability frac(v), by the uniform u in [0, 1). */
static uint64_t round_random(double v, double u)
{
	uint64_t n = (uint64_t)v;

	return n + (u < v - (double)n);
}

/* The probability that sampling at `interval` takes a block of `size`. */
static double sample_p(uint64_t size, uint64_t interval)
{
	return one_minus_exp_neg((double)size / (double)interval);
}

/* Whether 1/p rounds up (round_random's draw, kept as a bit). */
static unsigned round_up(double p, double u)
{
	return p > 0 && round_random(1 / p, u) > (uint64_t)(1 / p);
}

unsigned hs_sample_rounding(uint64_t size, uint64_t interval, uint64_t *state)
{
	double u = uniform(state), v = uniform(state);

	return round_up(sample_p(size, interval), u) | round_up(sample_p(size, 2 * interval), v) << 1;
}

void hs_sample_weight(uint64_t size, uint64_t interval, uint64_t key, unsigned up,
		      uint64_t *calls, uint64_t *bytes)
{
	double p = sample_p(size, interval);
	uint64_t h = key ^ size * 0xd6e8feb86659fd93ull;	/* a generator seeded by both */

	if (p <= 0) {
		*calls = interval;
		*bytes = interval;
		return;
	}
	*calls = (uint64_t)(1 / p) + (up & 1);
	*bytes = round_random((double)size / p, uniform(&h));
}
