/* SPDX-License-Identifier: MIT */
/*
 * Encoding of recording payloads into a caller-owned byte buffer: varints, strings, and
 * record framing. Used by the agent inside the target, so nothing here allocates, locks
 * or calls into libc beyond memcpy; all functions are async-signal-safe.
 */
#ifndef HS_HSR_ENCODE_H
#define HS_HSR_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A write cursor over [buf, buf + cap). Writes past the end are counted in `len` but not
 * stored, so a caller can check `hsr_buf_overflowed()` once after encoding a record.
 */
struct hsr_buf {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

void hsr_buf_init(struct hsr_buf *b, void *mem, size_t cap);
static inline int hsr_buf_overflowed(const struct hsr_buf *b)
{
	return b->len > b->cap;
}
void hsr_put_u8(struct hsr_buf *b, uint8_t v);
void hsr_put_u32le(struct hsr_buf *b, uint32_t v);
void hsr_put_uv(struct hsr_buf *b, uint64_t v);
void hsr_put_sv(struct hsr_buf *b, int64_t v);
void hsr_put_bytes(struct hsr_buf *b, const void *p, size_t n);	/* length-prefixed */
void hsr_put_str(struct hsr_buf *b, const char *s);		/* length-prefixed, NULL = "" */

/* File header (magic, version, flags) into b. */
void hsr_put_header(struct hsr_buf *b);

/*
 * Start a record of `type`: writes the type and a placeholder length and returns the
 * offset to give to hsr_record_end(), which patches the length in.
 */
size_t hsr_record_begin(struct hsr_buf *b, uint8_t type);
void hsr_record_end(struct hsr_buf *b, size_t start);

#endif
