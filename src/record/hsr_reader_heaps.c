// SPDX-License-Identifier: MIT
/*
 * Heaps other than the host's in a loaded recording: the HEAPS record's parser (the last
 * record wins, as for PEAK), and the queries of hsr_reader.h over it: a heap by name, the
 * allocator name of a stack, narrowing a recording to one heap. Like the other parsers it
 * decodes into temporaries and commits only a whole record; counts are checked against
 * the bytes left before anything is allocated. Never used inside the target.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hsr_decode.h"
#include "hsr_format.h"
#include "hsr_reader.h"

static void heap_release(struct hsr_heap *h)
{
	free(h->name);
	free(h->entries);
}

void hsr_heaps_release(struct hsr_heaps *h)
{
	for (size_t i = 0; i < h->nheaps; i++)
		heap_release(&h->heaps[i]);
	free(h->heaps);
	h->heaps = NULL;
	h->nheaps = 0;
	h->present = 0;
}

/* The stacks at one heap's peak: ids strictly increasing, each a stack of that heap. */
static int parse_heap_entries(const struct hsr_recording *rec, struct hsr_heap *h,
			      struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c), id = 0;

	if (c->bad || n > hsr_cursor_left(c) / 3)
		return -EBADMSG;
	h->entries = n ? calloc(n, sizeof(*h->entries)) : NULL;
	if (n && !h->entries)
		return -ENOMEM;
	h->nentries = n;
	for (size_t i = 0; i < n && !c->bad; i++) {
		uint64_t delta = hsr_get_uv(c);

		id += delta;
		if ((i && !delta) || id > rec->nstacks || delta > rec->nstacks)
			return -EBADMSG;
		h->entries[i].id = (uint32_t)id;
		h->entries[i].live_bytes = hsr_get_uv(c);
		h->entries[i].live_blocks = hsr_get_uv(c);
	}
	return c->bad ? -EBADMSG : 0;
}

static int parse_heap(const struct hsr_recording *rec, struct hsr_heap *h, struct hsr_cursor *c)
{
	const uint8_t *name;
	size_t len;

	h->id = hsr_get_u32(c);
	name = hsr_get_bytes(c, &len);
	if (c->bad || h->id == HSR_HEAP_HOST || h->id >= HSR_MAX_HEAPS)
		return -EBADMSG;
	h->name = malloc(len + 1);
	if (!h->name)
		return -ENOMEM;
	memcpy(h->name, name, len);
	h->name[len] = '\0';
	h->live_bytes = hsr_get_uv(c);
	h->live_blocks = hsr_get_uv(c);
	h->peak_bytes = hsr_get_uv(c);
	h->peak_t = hsr_get_uv(c);
	return c->bad ? -EBADMSG : parse_heap_entries(rec, h, c);
}

int hsr_parse_heaps(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_heaps hs = { .present = 1, .selected = -1 };
	uint64_t n;
	int err = 0;

	hs.t = hsr_get_uv(c);
	hs.total_peak_bytes = hsr_get_uv(c);
	hs.total_peak_t = hsr_get_uv(c);
	n = hsr_get_uv(c);
	if (c->bad || n >= HSR_MAX_HEAPS || n > hsr_cursor_left(c) / 7)
		return -EBADMSG;
	hs.heaps = n ? calloc(n, sizeof(*hs.heaps)) : NULL;
	if (n && !hs.heaps)
		return -ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		hs.nheaps = i + 1;
		err = parse_heap(rec, &hs.heaps[i], c);
	}
	hs.dropped = hsr_get_uv(c);	/* absent in a shorter record: c->bad, 0 */
	if (err) {
		hsr_heaps_release(&hs);
		return err;
	}
	hsr_heaps_release(&rec->heaps);
	rec->heaps = hs;
	return 0;
}

const struct hsr_heap *hsr_recording_heap(const struct hsr_recording *rec, const char *name)
{
	if (!strcmp(name, "dma"))
		name = "dma-buf";
	for (size_t i = 0; i < rec->heaps.nheaps; i++) {
		if (!strcmp(rec->heaps.heaps[i].name, name))
			return &rec->heaps.heaps[i];
	}
	return NULL;
}

static const struct hsr_heap *heap_by_id(const struct hsr_recording *rec, unsigned id)
{
	for (size_t i = 0; i < rec->heaps.nheaps; i++) {
		if (rec->heaps.heaps[i].id == id)
			return &rec->heaps.heaps[i];
	}
	return NULL;
}

const char *hsr_stack_allocator(const struct hsr_recording *rec, uint32_t id)
{
	unsigned kind = id <= rec->nstacks ? rec->stacks[id].kind : 0;
	const struct hsr_heap *h = hsr_kind_heap(kind) ? heap_by_id(rec, hsr_kind_heap(kind)) : NULL;

	return h ? h->name : hsr_kind_name(kind);
}

int hsr_recording_select_heap(struct hsr_recording *rec, const char *name)
{
	const struct hsr_heap *h = NULL;
	unsigned id = HSR_HEAP_HOST;

	if (strcmp(name, "host") != 0) {
		h = hsr_recording_heap(rec, name);
		if (!h)
			return -ENOENT;
		id = h->id;
	}
	for (size_t i = 0; i <= rec->nstacks; i++) {
		struct hsr_stack *st = &rec->stacks[i];

		if (h)
			st->peak_bytes = st->peak_blocks = 0;
		if (hsr_kind_heap(st->kind) == id && (i || !h))
			continue;
		memset(&st->last, 0, sizeof(st->last));
		memset(&st->leak, 0, sizeof(st->leak));
		st->peak_bytes = st->peak_blocks = 0;
	}
	for (size_t i = 0; h && i < h->nentries; i++) {
		rec->stacks[h->entries[i].id].peak_bytes = h->entries[i].live_bytes;
		rec->stacks[h->entries[i].id].peak_blocks = h->entries[i].live_blocks;
	}
	rec->heaps.selected = (int)id;
	return 0;
}
