// SPDX-License-Identifier: MIT
/*
 * The writer's call tree (see calltree.h): an open-addressing hash from (parent, pc) to
 * node id, doubled by rebuilding when half full, and a growing array of nodes in id order
 * (the pending batch is its tail). The writer's lock serializes every call. Never calls
 * malloc.
 */
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "calltree.h"
#include "hsr_encode.h"
#include "hsr_format.h"

struct node {
	uintptr_t pc;
	uint32_t parent;
};

static struct {
	uint32_t *slots;	/* node ids, 0 empty */
	size_t nslots;
	struct node *nodes;	/* nodes[id], id >= 1 */
	size_t cap, count;	/* count: highest id */
	size_t flushed;		/* ids <= flushed are in a written FRAMES record */
} ct;

static uint64_t node_hash(uint32_t parent, uintptr_t pc)
{
	uint64_t h = (pc ^ ((uint64_t)parent << 40) ^ parent) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 31);
}

void hs_calltree_reset(void)
{
	if (ct.slots)
		munmap(ct.slots, ct.nslots * sizeof(*ct.slots));
	if (ct.nodes)
		munmap(ct.nodes, ct.cap * sizeof(*ct.nodes));
	memset(&ct, 0, sizeof(ct));
}

static void slot_put(uint32_t *slots, size_t nslots, uint32_t id, const struct node *n)
{
	size_t i = node_hash(n->parent, n->pc) & (nslots - 1);

	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = id;
}

/* Room for one more node: both arrays doubled when needed. 0 or -1. */
static int reserve_node(void)
{
	if (ct.count + 1 >= ct.cap) {
		size_t cap = ct.cap ? ct.cap * 2 : 4096;
		struct node *nodes = hs_arena_map(cap * sizeof(*nodes));

		if (!nodes)
			return -1;
		if (ct.nodes) {
			memcpy(nodes, ct.nodes, ct.cap * sizeof(*nodes));
			munmap(ct.nodes, ct.cap * sizeof(*nodes));
		}
		ct.nodes = nodes;
		ct.cap = cap;
	}
	if ((ct.count + 1) * 2 >= ct.nslots) {
		size_t nslots = ct.nslots ? ct.nslots * 2 : 8192, id;
		uint32_t *slots = hs_arena_map(nslots * sizeof(*slots));

		if (!slots)
			return -1;
		for (id = 1; id <= ct.count; id++)
			slot_put(slots, nslots, (uint32_t)id, &ct.nodes[id]);
		if (ct.slots)
			munmap(ct.slots, ct.nslots * sizeof(*slots));
		ct.slots = slots;
		ct.nslots = nslots;
	}
	return 0;
}

static uint32_t node_get(uint32_t parent, uintptr_t pc)
{
	size_t i;

	if (reserve_node() < 0)
		return 0;
	for (i = node_hash(parent, pc) & (ct.nslots - 1); ct.slots[i];
	     i = (i + 1) & (ct.nslots - 1)) {
		const struct node *n = &ct.nodes[ct.slots[i]];

		if (n->parent == parent && n->pc == pc)
			return ct.slots[i];
	}
	ct.count++;
	ct.nodes[ct.count].pc = pc;
	ct.nodes[ct.count].parent = parent;
	ct.slots[i] = (uint32_t)ct.count;
	return (uint32_t)ct.count;
}

uint32_t hs_calltree_leaf(const uintptr_t *frames, size_t n)
{
	uint32_t node = 0;

	while (n--) {
		node = node_get(node, frames[n]);
		if (!node)
			return 0;
	}
	return node;
}

size_t hs_calltree_pending(void)
{
	return 16 + (ct.count - ct.flushed) * 16;
}

void hs_calltree_flush(struct hsr_buf *b)
{
	size_t rec, id;

	if (ct.count == ct.flushed)
		return;
	rec = hsr_record_begin(b, HSR_FRAMES);
	hsr_put_uv(b, ct.count - ct.flushed);
	for (id = ct.flushed + 1; id <= ct.count; id++) {
		const struct node *n = &ct.nodes[id];
		uintptr_t base = n->parent ? ct.nodes[n->parent].pc : 0;

		hsr_put_uv(b, id - n->parent);
		hsr_put_sv(b, (int64_t)(intptr_t)(n->pc - base));	/* signed on 32-bit too */
	}
	hsr_record_end(b, rec);
	ct.flushed = ct.count;
}
