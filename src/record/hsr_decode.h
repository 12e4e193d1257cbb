/* SPDX-License-Identifier: MIT */
/*
 * Decoding of recording payloads, the mirror of hsr_encode.h, and the interface between
 * the reader's two files (hsr_reader.c frames records, hsr_reader_records.c parses them).
 * Internal to the reader: nothing outside src/record should include this.
 *
 * A cursor never reads past its end: a value that would is not returned, and the cursor
 * goes bad (sticky), so a parser may decode a whole record and check once.
 */
#ifndef HS_HSR_DECODE_H
#define HS_HSR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"

struct hsr_cursor {
	const uint8_t *p;
	const uint8_t *end;
	int bad;
};

static inline void hsr_cursor_init(struct hsr_cursor *c, const void *p, size_t n)
{
	c->p = p;
	c->end = n ? c->p + n : c->p;	/* an empty payload may have no buffer (NULL) */
	c->bad = 0;
}

/* Bytes left, 0 once the cursor is bad. */
static inline size_t hsr_cursor_left(const struct hsr_cursor *c)
{
	return c->bad ? 0 : (size_t)(c->end - c->p);
}

/* Unsigned LEB128, at most 10 bytes and below 2^64; 0 and bad otherwise. */
static inline uint64_t hsr_get_uv(struct hsr_cursor *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift <= 63; shift += 7) {
		uint8_t b;

		if (c->bad || c->p >= c->end)
			break;
		b = *c->p++;
		if (shift == 63 && b > 1)
			break;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

/* Zigzag-encoded signed varint. */
static inline int64_t hsr_get_sv(struct hsr_cursor *c)
{
	uint64_t u = hsr_get_uv(c);

	return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

/* A u32 varint field: values above UINT32_MAX make the cursor bad. */
static inline uint32_t hsr_get_u32(struct hsr_cursor *c)
{
	uint64_t v = hsr_get_uv(c);

	if (v > UINT32_MAX) {
		c->bad = 1;
		return 0;
	}
	return (uint32_t)v;
}

/* A length-prefixed byte string: returns its start (inside the payload), length in *n. */
static inline const uint8_t *hsr_get_bytes(struct hsr_cursor *c, size_t *n)
{
	uint64_t len = hsr_get_uv(c);
	const uint8_t *start = c->p;

	*n = 0;
	if (c->bad || len > (uint64_t)(c->end - c->p)) {
		c->bad = 1;
		return NULL;
	}
	c->p += len;
	*n = (size_t)len;
	return start;
}

/*
 * A recording being loaded: the recording and the capacities of its growing arrays, which
 * the public struct does not show. hsr_recording_free() frees this whole block.
 */
struct hsr_loading {
	struct hsr_recording rec;	/* first: a recording's address is its loading's */
	struct {
		size_t modules, stacks, snapshots, timeline, messages;
	} cap;
	/* the call tree of FRAMES records (index = node id, [0] unused) */
	uint64_t *node_pc;
	uint32_t *node_parent;
	uint32_t *node_depth;		/* nodes from it up to the root, itself included */
	size_t nnodes, cap_nodes;
	uint64_t *pcs;			/* the return addresses FRAME_PCS records defined */
	size_t npcs, cap_pcs;
	uint64_t last_leaf;		/* the last STACK_LEAF entry's node */
	uint64_t gap_ids;		/* empty stack ids made by gaps so far */
};

static inline struct hsr_loading *hsr_loading_of(struct hsr_recording *rec)
{
	return (struct hsr_loading *)rec;
}

/*
 * Parse one record's payload into rec (hsr_reader_records.c). Returns 0 (unknown types
 * included), -EBADMSG when the payload is malformed (rec is then unchanged), -ENOMEM.
 */
int hsr_parse_record(struct hsr_recording *rec, unsigned type, const uint8_t *p, size_t n);

/* A HEAPS record (hsr_reader_heaps.c); as hsr_parse_record(). */
int hsr_parse_heaps(struct hsr_recording *rec, struct hsr_cursor *c);

/* After the last record: apply the last PEAK record's entries to the stacks. */
void hsr_finish_peak(struct hsr_recording *rec);

/*
 * After the last record: apply the last LEAKS record's entries to the stacks, and say
 * whether it is current (no snapshot was taken after the one written with it).
 */
void hsr_finish_leaks(struct hsr_recording *rec);

#endif
