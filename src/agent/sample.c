// SPDX-License-Identifier: MIT
/*
 * Sampling arithmetic (see sample.h): a xorshift generator, natural log and exp written out
 * so the agent does not need libm. Accurate to ~1e-12 relative, far below sampling noise.
 */
#include "sample.h"

#define LN2 0.69314718055994530942

static double ln(double x)
{
	double z, z2, term, sum = 0;
	int e = 0, k;

	if (x <= 0)
		return -745;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	/* ln(x) = 2 atanh(z), z = (x - 1) / (x + 1) <= 1/3 */
	z = (x - 1) / (x + 1);
	z2 = z * z;
	term = z;
	for (k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * LN2;
}

/* exp(-x) for x >= 0. */
static double exp_neg(double x)
{
	double r, term = 1, sum = 1, scale = 1;
	int k, n;

	if (x > 700)
		return 0;
	n = (int)(x / LN2);
	r = x - n * LN2;	/* 0 <= r < ln 2 */
	for (k = 1; k < 20; k++) {
		term *= -r / k;
		sum += term;
	}
	while (n-- > 0)
		scale /= 2;
	return sum * scale;
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
	double u = (double)(splitmix(state) >> 11) * (1.0 / 9007199254740992.0);
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
	double x = (double)size / (double)interval;

	if (x < 1e-6)
		return x * (1 - x / 2);	/* 1 - exp(-x) without cancellation */
	return 1 - exp_neg(x);
}

/* 1 with probability frac(1/p), by the uniform u in [0, 1). */
static unsigned round_up(double p, double u)
{
	double w;

	if (p <= 0)
		return 0;
	w = 1 / p;
	return u < w - (double)(uint64_t)w;
}

unsigned hs_sample_rounding(uint64_t size, uint64_t interval, uint64_t *state)
{
	double u = (double)(splitmix(state) >> 11) * (1.0 / 9007199254740992.0);
	double v = (double)(splitmix(state) >> 11) * (1.0 / 9007199254740992.0);

	return round_up(sample_p(size, interval), u) | round_up(sample_p(size, 2 * interval), v) << 1;
}

void hs_sample_weight(uint64_t size, uint64_t interval, uint64_t key, unsigned up,
		      uint64_t *calls, uint64_t *bytes)
{
	double p = sample_p(size, interval);
	uint64_t h = key ^ size * 0xd6e8feb86659fd93ull, r;	/* a generator seeded by both */

	if (p <= 0) {
		*calls = interval;
		*bytes = interval;
		return;
	}
	*calls = (uint64_t)(1 / p) + (up & 1);
	r = splitmix(&h);
	*bytes = round_random((double)size / p, (double)(r >> 11) * (1.0 / 9007199254740992.0));
}
