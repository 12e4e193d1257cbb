// SPDX-License-Identifier: MIT
/*
 * Unit test of the bootstrap allocator against sampling's free fast path (realfns.c,
 * agent.h): a free of the bootstrap allocator's blocks must never reach the real free. The
 * fast path asks only sampling's filter, so the granules of those blocks hold a count of
 * their own there: the ones in use when the filter comes, and those of blocks made later;
 * each once. While tracking is off the fast path checks the address instead.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agent.h"

#include "unit.h"

struct hs_sampling hs_sampling;	/* tracker.c's, in the agent */
__thread struct hs_thread hs_self;

static unsigned slot(const void *p)
{
	return atomic_load(hs_sample_filter_slot((uintptr_t)p));
}

int main(void)
{
	char *a = hs_bootstrap_alloc(100, 16), *b, *c;
	uintptr_t other;

	CHECK(a && hs_bootstrap_owns(a));
	hs_sampling.filter = calloc((size_t)1 << HS_FILTER_BITS, sizeof(*hs_sampling.filter));
	CHECK(slot(a) == 0);
	hs_bootstrap_pin();	/* the filter exists now (hs_tracker_init) */
	CHECK(slot(a) == 1);
	/* a later block: its granules, the last one included; a's granule not twice */
	b = hs_bootstrap_alloc(3 << HS_FILTER_GRANULE, 16);
	CHECK(b && hs_bootstrap_owns(b));
	CHECK(slot(a) == 1 && slot(b) == 1 && slot(b + (3 << HS_FILTER_GRANULE) - 1) == 1);
	c = hs_bootstrap_alloc(8, 16);
	CHECK(c && slot(c) == 1);
	hs_bootstrap_pin();
	CHECK(slot(a) == 1 && slot(b) == 1 && slot(c) == 1);

	/* sampling on (a tag): the filter decides; never the fast path for these blocks */
	atomic_store(&hs_sampling.fast, hs_sample_tag(0));
	CHECK(!hs_fast_free(a) && !hs_fast_free(b) && !hs_fast_free(c));
	/* a block elsewhere whose granule holds no count takes it */
	other = (uintptr_t)hs_bootstrap + HS_BOOTSTRAP_SIZE;
	while (slot((void *)other))
		other += (uintptr_t)1 << HS_FILTER_GRANULE;
	CHECK(hs_fast_free((void *)other));
	/* tracking off: every free forwards, but the bootstrap allocator's own */
	atomic_store(&hs_sampling.fast, HS_FAST_TRACKING_OFF);
	CHECK(!hs_fast_free(a) && !hs_fast_free(c) && hs_fast_free((void *)other));
	/* anything else (exact mode, check mode): the slow path decides */
	atomic_store(&hs_sampling.fast, HS_SAMPLE_NO_FAST);
	CHECK(!hs_fast_free((void *)other));
	free(hs_sampling.filter);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures != 0;
}
