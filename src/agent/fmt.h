/* SPDX-License-Identifier: MIT */
/*
 * Text formatting for the agent without stdio: appending strings and numbers to a
 * NUL-terminated buffer, cut at its capacity. No allocation, no locale; async-signal-safe.
 */
#ifndef HS_FMT_H
#define HS_FMT_H

#include <stddef.h>
#include <stdint.h>

struct hs_fmt {
	char *buf;
	size_t cap;
	size_t len;
};

void hs_fmt_init(struct hs_fmt *f, char *buf, size_t cap);
void hs_fmt_str(struct hs_fmt *f, const char *s);
void hs_fmt_uint(struct hs_fmt *f, uint64_t v);
void hs_fmt_int(struct hs_fmt *f, int64_t v);
void hs_fmt_hex(struct hs_fmt *f, uint64_t v);		/* 0x-prefixed */
void hs_fmt_pad(struct hs_fmt *f, size_t width);	/* spaces up to this column */
/* "12.3 MB"-style, 1000-based, as the CLI prints. */
void hs_fmt_bytes(struct hs_fmt *f, uint64_t v);

/* Parse "123", "64k", "2M", "1g" (1024-based suffixes); 0 or -1. */
int hs_parse_size(const char *s, uint64_t *out);

#endif
