// SPDX-License-Identifier: MIT
/*
 * Payload encoding for recordings (see hsr_encode.h). Runs inside the target: no allocation,
 * no locks, no stdio.
 */
#include <string.h>

#include "hsr_encode.h"
#include "hsr_format.h"

void hsr_buf_init(struct hsr_buf *b, void *mem, size_t cap)
{
	b->buf = mem;
	b->cap = cap;
	b->len = 0;
}

static void put_raw(struct hsr_buf *b, const void *p, size_t n)
{
	if (b->len <= b->cap && n <= b->cap - b->len)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

void hsr_put_u8(struct hsr_buf *b, uint8_t v)
{
	put_raw(b, &v, 1);
}

void hsr_put_u32le(struct hsr_buf *b, uint32_t v)
{
	uint8_t le[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	put_raw(b, le, 4);
}

void hsr_put_uv(struct hsr_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;

		v >>= 7;
		tmp[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	put_raw(b, tmp, n);
}

void hsr_put_sv(struct hsr_buf *b, int64_t v)
{
	hsr_put_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void hsr_put_bytes(struct hsr_buf *b, const void *p, size_t n)
{
	hsr_put_uv(b, n);
	put_raw(b, p, n);
}

void hsr_put_str(struct hsr_buf *b, const char *s)
{
	hsr_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

void hsr_put_header(struct hsr_buf *b)
{
	put_raw(b, HSR_MAGIC, HSR_MAGIC_LEN);
	hsr_put_u32le(b, HSR_VERSION);
	hsr_put_u32le(b, 0);
}

size_t hsr_record_begin(struct hsr_buf *b, uint8_t type)
{
	size_t start = b->len;

	hsr_put_u8(b, type);
	hsr_put_u32le(b, 0);
	return start;
}

void hsr_record_end(struct hsr_buf *b, size_t start)
{
	uint32_t n = (uint32_t)(b->len - start - HSR_RECORD_HEADER_LEN);

	if (b->len > b->cap)
		return;
	b->buf[start + 1] = n & 0xff;
	b->buf[start + 2] = (n >> 8) & 0xff;
	b->buf[start + 3] = (n >> 16) & 0xff;
	b->buf[start + 4] = n >> 24;
}
