/* SPDX-License-Identifier: MIT */
/*
 * The call tree of a view, shared by the exporters that draw or print trees: folded stacks,
 * the flame graph, the HTML page, the text call tree and top-by-function, massif's heap
 * trees. Stacks are resolved into frames (inline frames are frames of their own), frames
 * from the program's start outwards are left out, and equal paths merge into one node.
 * A tree grows from the outermost frame (root-first: flame graphs) or from the innermost
 * one (leaf-first: massif, "who allocated"). Only builds; writes no output.
 */
#ifndef HS_FLAME_H
#define HS_FLAME_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "profile.h"
#include "resolve.h"

#define HS_FLAME_NONE 0		/* no child / no sibling: node 0 is the root, never a child */

struct hs_flame_node {
	uint32_t name;		/* id in the tree's names */
	uint32_t parent;
	uint32_t first_child;	/* HS_FLAME_NONE when a leaf */
	uint32_t next;		/* next sibling, HS_FLAME_NONE when last */
	uint32_t depth;		/* root 0 */
	uint64_t value;		/* the metric of every stack through this node */
	uint64_t self;		/* the metric of the stacks that end here */
	struct hs_figures f;	/* all figures of the stacks through this node */
};

/* Writes the name of frame f into buf (len bytes, NUL-terminated). */
typedef void hs_frame_label_fn(char *buf, size_t len, const struct hs_frame *f);

struct hs_flame {
	struct hs_flame_node *nodes;	/* nodes[0] is the root: all stacks */
	uint32_t n, cap;
	struct hs_strids names;
	struct hs_idmap children;	/* (parent << 32 | name) -> node */
	int leaf_first;
	hs_frame_label_fn *label;
	size_t nstacks;			/* stacks added with a value > 0 */
};

/*
 * An empty tree; leaf_first picks the direction, label names frames (NULL:
 * hs_frame_name). 0 or -ENOMEM. Release with hs_flame_release().
 */
int hs_flame_init(struct hs_flame *fl, int leaf_first, hs_frame_label_fn *label);
void hs_flame_release(struct hs_flame *fl);

/*
 * Add stack `id` of the resolver's recording with the given value and figures (stacks with
 * value 0 are skipped). 0 or -ENOMEM.
 */
int hs_flame_add_stack(struct hs_flame *fl, struct hs_resolver *res, uint32_t id,
		       uint64_t value, const struct hs_figures *f);

/* Add every row of v, valued by the view's sort key (hs_view_key). 0 or -ENOMEM. */
int hs_flame_add_view(struct hs_flame *fl, struct hs_resolver *res,
		      const struct hs_view_result *v);

/* Order each node's children: by value, largest first, or by name; ties by name. 0/-ENOMEM. */
int hs_flame_sort(struct hs_flame *fl, int by_value);

/* The name of node i (static within the tree). */
const char *hs_flame_name(const struct hs_flame *fl, uint32_t i);

/* The node after i in preorder (children in their current order), 0 after the last. */
uint32_t hs_flame_next(const struct hs_flame *fl, uint32_t i);

/*
 * What a view's values mean, for headings: *what is a phrase to follow a value ("live",
 * "at the peak" after a size when *is_bytes; "live blocks", "allocation calls" after a
 * count). Static strings.
 */
void hs_view_metric(enum hs_view view, enum hs_sort sort, const char **what, int *is_bytes);

/*
 * The usual frame name: the function, else "module+0xoffset" (module's base name), else
 * "0xaddress". Characters that break line-based formats (newline, ';') are replaced.
 */
void hs_frame_name(char *buf, size_t len, const struct hs_frame *f);

#endif
