// SPDX-License-Identifier: MIT
/*
 * HEAPSCOPE_FAULT (see faultinject.h): which of the agent's mmap, write and thread-start
 * calls to fail. Parsed by hand on the first call, from whichever thread gets there first;
 * the counters are atomics. Must never call malloc or stdio, and never fail the program's
 * own calls: only the three call sites in arena.c, writer.c and control.c ask.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultinject.h"

enum { UNPARSED, PARSING, OFF, ON };

static atomic_int state = UNPARSED;
static struct {
	uint64_t nth;		/* 0: never */
	int and_later;
	atomic_uint_fast64_t calls;
} fault[HS_FAULT_KINDS];

static const char *const kind_names[HS_FAULT_KINDS] = {
	[HS_FAULT_MMAP] = "mmap", [HS_FAULT_WRITE] = "write", [HS_FAULT_THREAD] = "thread",
};

static int kind_of(const char *s, size_t n)
{
	int k;

	for (k = 0; k < HS_FAULT_KINDS; k++)
		if (strlen(kind_names[k]) == n && !memcmp(s, kind_names[k], n))
			return k;
	return -1;
}

/* One "KIND:N[+]" item [s, end); 0 or -1. */
static int parse_item(const char *s, const char *end)
{
	const char *colon = memchr(s, ':', (size_t)(end - s));
	uint64_t n = 0;
	int k, later = 0;

	if (!colon || (k = kind_of(s, (size_t)(colon - s))) < 0)
		return -1;
	if (end > colon + 1 && end[-1] == '+')
		later = 1, end--;
	for (s = colon + 1; s < end && *s >= '0' && *s <= '9' && n < UINT64_MAX / 10; s++)
		n = n * 10 + (uint64_t)(*s - '0');
	if (s != end || n == 0)
		return -1;
	fault[k].nth = n;
	fault[k].and_later = later;
	return 0;
}

static int parse(const char *v)
{
	int any = 0;

	while (v && *v) {
		const char *comma = strchr(v, ',');
		const char *end = comma ? comma : v + strlen(v);

		if (parse_item(v, end) == 0)
			any = 1;
		v = comma ? comma + 1 : end;
	}
	return any ? ON : OFF;
}

/* ON or OFF; UNPARSED/PARSING only while another thread (or this one, interrupted by a
 * signal) is parsing: such a call is not counted. */
static int settle(void)
{
	int s = atomic_load_explicit(&state, memory_order_acquire);
	int expected = UNPARSED;

	if (s != UNPARSED)
		return s;
	if (!atomic_compare_exchange_strong(&state, &expected, PARSING))
		return expected;
	s = parse(getenv("HEAPSCOPE_FAULT"));
	atomic_store_explicit(&state, s, memory_order_release);
	return s;
}

int hs_fault(enum hs_fault_kind kind)
{
	uint64_t n;

	if (settle() != ON || !fault[kind].nth)
		return 0;
	n = atomic_fetch_add_explicit(&fault[kind].calls, 1, memory_order_relaxed) + 1;
	return n == fault[kind].nth || (fault[kind].and_later && n > fault[kind].nth);
}
