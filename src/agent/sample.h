/* SPDX-License-Identifier: MIT */
/*
 * Poisson sampling by allocated bytes (the method of jemalloc and heapprofd): each byte is
 * a sample point with probability 1/T, so a block of s bytes is sampled with probability
 * p = 1 - exp(-s/T), and counted with weight 1/p: unbiased estimates of calls and bytes.
 * Pure functions and a per-thread generator; no libm (the agent needs only libc).
 */
#ifndef HS_SAMPLE_H
#define HS_SAMPLE_H

#include <stdint.h>

/* Bytes until the next sample point: exponential with mean `interval`. rng: thread state. */
int64_t hs_sample_next(uint64_t *rng, uint64_t interval);

/*
 * The halves a sampled block of `size` belongs to, as if each sample point in it went to
 * one half or the other by a fair coin: bit 0 the selecting half, bit 1 the estimating one,
 * one or both (a block large beside the interval is in both nearly always, so the halves
 * add no noise where sampling adds none). `state`: a generator of its own (a per-thread
 * counter), independent of the countdown's, whose bits are tied to the next gap it draws.
 */
unsigned hs_sample_halves(uint64_t size, uint64_t interval, uint64_t *state);


/*
 * How a sampled block's count of calls is rounded, drawn once at its allocation and kept
 * with it (the pointer map): bit 0 for sampling at `interval`, bit 1 at twice it (the
 * halves). 1/p is rarely an integer (32.5 for 8 bytes at 256); rounded up with probability
 * its fraction, the estimate has no bias. It was drawn from a hash of the block's address
 * and size, so that the free would find the same weight: a buffer freed and allocated
 * again at one address was rounded the same way every time, 2 calls each (or 1) for a
 * 1 MiB block at 512 KiB (1/p = 1.16), and its stack's calls came out 72-75% high or 13-15%
 * low.
 * `state`: the same generator as hs_sample_halves'.
 */
unsigned hs_sample_rounding(uint64_t size, uint64_t interval, uint64_t *state);

/*
 * Estimated calls and bytes that one sampled block of `size` stands for: 1/p and size/p
 * for p its probability of being sampled; calls rounded down, or up when `up` (a bit of
 * hs_sample_rounding), bytes by a hash of `key`, the block's address (at most a byte off,
 * and the same at the block's allocation and free).
 */
void hs_sample_weight(uint64_t size, uint64_t interval, uint64_t key, unsigned up,
		      uint64_t *calls, uint64_t *bytes);

#endif
