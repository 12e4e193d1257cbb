/* SPDX-License-Identifier: MIT */
/*
 * Reading a recording (docs/FORMAT.md) into memory, for the CLI. The reader trusts nothing
 * in the file: every varint, length and count is checked against what is left of its
 * record before anything is allocated for it, unknown record types are skipped, and a
 * record that is cut off or malformed ends the recording there (`truncated` is set and
 * `problem` says where), so a partial report can still be made.
 *
 * What is kept is bounded by the size of the file: the stacks, the per-stack counters of
 * the last snapshot (carried forward), the per-stack figures of the last PEAK and LEAKS records, each
 * snapshot's sparse entries as read (to rebuild the state at any snapshot), the timeline,
 * the agent's messages, the modules and the END record. Never used inside the target.
 */
#ifndef HS_HSR_READER_H
#define HS_HSR_READER_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_format.h"

/* What a reachability scan found (LEAKS), by enum hsr_leak_kind. */
struct hsr_leak_figures {
	uint64_t bytes[HSR_LEAK_KINDS];
	uint64_t blocks[HSR_LEAK_KINDS];
};

/* Cumulative counters of one stack, or of the whole process. */
struct hsr_counters {
	uint64_t alloc_calls;
	uint64_t alloc_bytes;
	uint64_t free_calls;
	uint64_t freed_bytes;
	uint64_t temporary;
};

struct hsr_process {
	int present;			/* a PROCESS record was read */
	uint64_t pid, ppid;
	uint64_t start_realtime_ns;
	char *exe;			/* NUL-terminated copies (embedded NULs cut them short) */
	char *arch;
	char *hostname;
	char **argv;			/* argc entries, then NULL; from the cmdline field */
	size_t argc;
	uint64_t pointer_size, page_size;
	uint64_t sample_interval;	/* 0: exact */
	uint64_t max_depth;
	uint64_t flags;			/* HSR_PROCESS_FLAG_* */
};

struct hsr_segment {
	uint64_t vaddr;			/* runtime start address */
	uint64_t memsz;
	uint64_t offset;
	uint32_t flags;
};

struct hsr_module {
	unsigned id;
	uint64_t bias;
	char *path;
	uint8_t *build_id;		/* build_id_len bytes, NULL when empty */
	size_t build_id_len;
	struct hsr_segment *segs;
	size_t nsegs;
	int unloaded;			/* a MODULE_UNLOAD named it; unload_t is when */
	uint64_t unload_t;
	uint32_t load_epoch;		/* module epochs (FORMAT.md): valid from ... */
	uint32_t unload_epoch;		/* ... up to this one (only when unloaded) */
};

/*
 * One interned stack (index = stack id; index 0 is the "no stack" bucket, with no frames)
 * and what the recording says about it by its end.
 */
struct hsr_stack {
	unsigned kind;			/* enum hsr_alloc_kind */
	uint32_t nframes;
	uint64_t *frames;		/* return addresses, innermost first */
	uint32_t epoch;			/* module epoch when it was interned (STACK_EPOCHS) */
	struct hsr_counters last;	/* as of the last snapshot read */
	uint64_t peak_bytes;		/* live at the peak, from the last PEAK record */
	uint64_t peak_blocks;
	struct hsr_leak_figures leak;	/* from the last LEAKS record (zero without one) */
};

/* A snapshot entry: the counters of one stack that changed since the previous snapshot. */
struct hsr_entry {
	uint32_t id;
	struct hsr_counters c;
};

struct hsr_snapshot {
	uint64_t seq;
	unsigned reason;		/* enum hsr_snapshot_reason */
	uint64_t t;
	char *name;			/* "" when none */
	struct hsr_counters total;
	uint64_t peak_bytes, peak_t;	/* highest live heap so far, and when */
	struct hsr_entry *entries;	/* sparse, ids strictly increasing */
	size_t nentries;
	int reset;			/* counters were reset (RESET) just before it */
};

struct hsr_peak_entry {
	uint32_t id;
	uint64_t live_bytes;
	uint64_t live_blocks;
};

struct hsr_peak {
	int present;
	uint64_t t;
	uint64_t peak_bytes;
	struct hsr_peak_entry *entries;
	size_t nentries;
};

struct hsr_leak_entry {
	uint32_t id;
	struct hsr_leak_figures f;
};

/* The last LEAKS record: a reachability scan (docs/FORMAT.md). */
struct hsr_leaks {
	int present;
	uint64_t t;
	unsigned reason;		/* enum hsr_leak_reason */
	uint64_t flags;			/* HSR_LEAKS_FLAG_* */
	uint64_t threads;		/* threads whose stacks were scanned */
	struct hsr_leak_figures total;
	struct hsr_leak_entry *entries;	/* ids strictly increasing */
	size_t nentries;
	unsigned count;			/* LEAKS records read */
	size_t snapshot;		/* index of the SNAPSHOT written with it (may be missing) */
	int current;			/* no later snapshot than its own: it describes the end */
};

struct hsr_point {
	uint64_t t;
	uint64_t live_bytes;
	uint64_t alloc_calls;
};

struct hsr_message {
	uint64_t t;
	unsigned level;			/* enum hsr_message_level */
	char *text;
};

/* A heap error of the last ERRORS record (docs/FORMAT.md). */
struct hsr_error {
	unsigned kind;			/* enum hsr_error_kind */
	uint64_t t;
	uint64_t address;
	uint64_t size;
	int64_t offset;
	uint64_t nbytes;
	uint32_t alloc_stack, free_stack, stack;	/* stack ids, 0 none */
	unsigned alloc_kind, free_kind;
	uint64_t count;
};

/* A heap other than the host's (HEAPS record): dma-buf, or one of the program's pools. */
struct hsr_heap {
	unsigned id;			/* 1 dma-buf, 2.. the program's (HSR_KIND_HEAP_BASE + id) */
	char *name;
	uint64_t live_bytes, live_blocks;	/* as the record was written */
	uint64_t peak_bytes, peak_t;
	struct hsr_peak_entry *entries;	/* stacks at this heap's peak, ids increasing */
	size_t nentries;
};

/* The last HEAPS record (docs/HEAPS.md); absent when only the host heap was used. */
struct hsr_heaps {
	int present;
	uint64_t t;
	uint64_t total_peak_bytes;	/* highest host + other heaps at one moment */
	uint64_t total_peak_t;
	struct hsr_heap *heaps;
	size_t nheaps;
	uint64_t dropped;		/* heap events the agent could not record */
	int selected;			/* hsr_recording_select_heap(): heap id, -1 none */
};

struct hsr_end {
	int present;
	uint64_t t;
	unsigned reason;		/* 1 exit, 2 exec */
	uint64_t agent_bytes;		/* mapped by the agent (virtual) */
	int has_memory;			/* the fields below are in the record */
	uint64_t arena_used;		/* stack records and small tables */
	uint64_t ptrmap_bytes, ptrmap_entries;
	uint64_t stacktab_bytes;
	int has_unwind;			/* what the stack walks did (docs/UNWIND.md) */
	uint64_t walks, walk_frames, rule_hits, rule_misses, frames_reused;
	uint64_t nstacks;
	uint64_t dropped;
};

struct hsr_recording {
	char *path;
	uint64_t size;			/* bytes read, header included */
	struct hsr_process process;
	struct hsr_module *modules;
	size_t nmodules;
	size_t nunloaded;		/* modules a MODULE_UNLOAD named */
	struct hsr_stack *stacks;	/* nstacks + 1 entries, see struct hsr_stack */
	size_t nstacks;			/* stack ids 1 .. nstacks */
	struct hsr_snapshot *snapshots;
	size_t nsnapshots;
	struct hsr_peak peak;		/* the last PEAK record */
	struct hsr_point *timeline;
	size_t ntimeline;
	struct hsr_message *messages;
	size_t nmessages;
	struct hsr_end end;
	struct hsr_error *errors;	/* the last ERRORS record */
	size_t nerrors;
	int reset_pending;		/* a RESET was read, no snapshot since */
	unsigned nresets;		/* RESET records read */
	uint64_t last_reset_t;
	int truncated;			/* cut short: stopped early, or no END last */
	uint64_t stop_offset;		/* where reading stopped early, when it did */
	char problem[128];		/* why it is truncated ("" when it is not) */
	struct hsr_leaks leaks;		/* the last LEAKS record; its figures are on the stacks */
	struct hsr_heaps heaps;		/* the last HEAPS record */
};

/*
 * Read the recording at `path`, raw or in a zstd frame (decompressed into a temporary
 * file first). On success returns 0 and stores a recording the caller owns (free with
 * hsr_recording_free()) in *out; a recording cut short or corrupt after its header (or a
 * compressed one whose frame is cut short or corrupt there) still loads, with `truncated`
 * set. On failure returns -errno (-EINVAL: not a
 * recording or an unsupported version; -ENODATA: cut short inside the header) and writes
 * one line for the user into err, like "cannot read 'x.hsr': not a heapscope recording"
 * (without the "heapscope: " prefix or a newline).
 */
int hsr_recording_load(const char *path, struct hsr_recording **out, char *err, size_t errlen);

/* Free a recording and everything it holds; NULL is fine. */
void hsr_recording_free(struct hsr_recording *rec);

/*
 * Fill out[0 .. rec->nstacks] with each stack's counters as of snapshot k (0-based index
 * into rec->snapshots), applying the sparse entries of snapshots 0 .. k in order. The
 * caller owns out. Returns 0, or -ERANGE when k is past the last snapshot.
 */
int hsr_recording_state_at(const struct hsr_recording *rec, size_t k, struct hsr_counters *out);

/* The last snapshot read, or NULL when there is none. */
const struct hsr_snapshot *hsr_recording_last_snapshot(const struct hsr_recording *rec);

/* The module with recorded id `id`, or NULL. */
const struct hsr_module *hsr_recording_module(const struct hsr_recording *rec, unsigned id);

/* The heap with this name ("host" is id 0, not in rec->heaps: NULL), or NULL. */
const struct hsr_heap *hsr_recording_heap(const struct hsr_recording *rec, const char *name);

/*
 * Narrow rec to one heap (`name`: "host", "dma-buf", a pool's name; "dma" for dma-buf):
 * stacks of other heaps lose their counters, and for a heap other than the host the
 * stacks' peak figures become those at that heap's peak. Every view then shows that heap
 * alone. 0, or -ENOENT when the recording has no such heap.
 */
int hsr_recording_select_heap(struct hsr_recording *rec, const char *name);

/* What allocated stack id, as reports name it: the kind's name, or its heap's name. */
const char *hsr_stack_allocator(const struct hsr_recording *rec, uint32_t id);

/* Release rec->heaps (hsr_recording_free() does it). */
void hsr_heaps_release(struct hsr_heaps *h);

/* Name of a snapshot reason ("exit", "checkpoint", ...) as reports show it; static. */
const char *hsr_reason_name(unsigned reason);

#endif
