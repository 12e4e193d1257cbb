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
 * A fair coin from a generator of its own (state: a per-thread counter), independent of the
 * countdown's: a bit of the countdown's generator would be tied to the next gap it draws.
 */
int hs_sample_coin(uint64_t *state);

/* Estimated calls and bytes that one sampled block of `size` stands for. */
void hs_sample_weight(uint64_t size, uint64_t interval, uint64_t *calls, uint64_t *bytes);

#endif
