/* SPDX-License-Identifier: MIT */
/*
 * Human-readable dumps of the live heap, written by the agent itself: per stack, the live
 * bytes and blocks with raw frames, module+offset and the nearest exported symbol. For
 * the interfaces people already use (legacy `checkpoint(file)`, SIGUSR1/SIGUSR2 dumps,
 * HEAPSCOPE_DUMP); `heapscope report` on the recording gives the fully symbolized view.
 */
#ifndef HS_DUMP_H
#define HS_DUMP_H

#include <stdint.h>

enum hs_dump_order { HS_DUMP_BY_BYTES, HS_DUMP_BY_BLOCKS };

/*
 * Write the dump to `path` (created or truncated, never through a symlink), or to stderr
 * when path is NULL; at most `top` stacks (0: all). `title` heads it. 0 or -errno. Not
 * async-signal-safe; one dump at a time (others wait).
 */
int hs_dump_live(const char *path, enum hs_dump_order order, unsigned top, const char *title);

struct hs_fmt;

/* One frame as dumps show it: "    #i 0xPC module+0xOFF (symbol+0xOFF)". */
void hs_dump_frame(struct hs_fmt *f, unsigned i, uintptr_t pc);

#endif
