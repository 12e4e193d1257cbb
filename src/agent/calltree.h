/* SPDX-License-Identifier: MIT */
/*
 * The recording writer's call tree: interning (parent node, return address) pairs so that
 * stacks are written as leaves of a tree (FRAMES and STACK_NODE records, docs/FORMAT.md),
 * their shared outer frames once. Used only under the writer's lock; memory from mappings.
 */
#ifndef HS_CALLTREE_H
#define HS_CALLTREE_H

#include <stddef.h>
#include <stdint.h>

struct hsr_buf;

/* Forget every node (a new recording starts). */
void hs_calltree_reset(void);

/*
 * The leaf node of frames[0..n) (innermost first), adding the nodes it lacks; their FRAMES
 * entries are appended to the pending batch. 0 on failure (out of memory).
 */
uint32_t hs_calltree_leaf(const uintptr_t *frames, size_t n);

/* Nodes added since the last hs_calltree_flush(), and an upper bound of their encoding. */
size_t hs_calltree_pending(void);

/* Encode the pending nodes as one FRAMES record into b and clear the batch. */
void hs_calltree_flush(struct hsr_buf *b);

#endif
