/* SPDX-License-Identifier: MIT */
/* Records for the unit tests' hand-made recordings (docs/FORMAT.md). */
#ifndef HS_UNIT_HSR_FIXTURE_H
#define HS_UNIT_HSR_FIXTURE_H

#include "hsr_encode.h"
#include "hsr_format.h"

/* PROCESS of pid 4242 ("/tmp/prog" on "box", x86_64), with its cmdline and flags. */
static inline void put_process(struct hsr_buf *b, const char *cmdline, size_t cmdline_len,
			       uint64_t flags)
{
	size_t r = hsr_record_begin(b, HSR_PROCESS);

	hsr_put_uv(b, 4242);
	hsr_put_uv(b, 1);
	hsr_put_uv(b, 1700000000000000000ull);
	hsr_put_str(b, "/tmp/prog");
	hsr_put_bytes(b, cmdline, cmdline_len);
	hsr_put_str(b, "x86_64");
	hsr_put_uv(b, 8);
	hsr_put_uv(b, 4096);
	hsr_put_uv(b, 0);
	hsr_put_uv(b, 64);
	hsr_put_uv(b, flags);
	hsr_put_str(b, "box");
	hsr_record_end(b, r);
}

#endif
