/* SPDX-License-Identifier: MIT */
/*
 * The agent's table of loaded modules (executable, shared libraries, vDSO), filled from
 * dl_iterate_phdr. Used by the unwinder (which module holds a pc, where is its
 * .eh_frame_hdr) and by the recording writer (path, build-id, segments). Entries are never
 * freed: a module that goes away (dlclose) is only marked unloaded, so frames that point
 * into it can still be written and symbolized.
 *
 * Readers are lock-free; additions are serialized by a try-lock and are async-signal-safe
 * in the sense that a nested caller never blocks (it gets a miss instead).
 */
#ifndef HS_MODULES_H
#define HS_MODULES_H

#include <stdatomic.h>
#include <stdint.h>

#define HS_MODULE_MAX_SEGS 16
#define HS_MODULE_MAX_BUILD_ID 64

struct hs_segment {
	uintptr_t start;	/* runtime address: bias + p_vaddr */
	uintptr_t memsz;
	uintptr_t offset;	/* p_offset */
	uint32_t flags;		/* p_flags */
};

struct hs_module {
	uint32_t id;		/* 1, 2, ... in order of discovery */
	uintptr_t bias;		/* dlpi_addr */
	uintptr_t lo, hi;	/* lowest and highest address of its PT_LOAD segments */
	const char *path;	/* arena-owned copy; the executable's real path */
	uint8_t build_id[HS_MODULE_MAX_BUILD_ID];
	uint32_t build_id_len;
	uint32_t nsegs;
	struct hs_segment segs[HS_MODULE_MAX_SEGS];
	const uint8_t *eh_frame_hdr;	/* runtime address of PT_GNU_EH_FRAME, NULL if none */
	uintptr_t eh_frame_hdr_size;
	const uint8_t *arm_exidx;	/* runtime address of PT_ARM_EXIDX (ARM EHABI), or NULL */
	uintptr_t arm_exidx_size;
	atomic_int unloaded;		/* set once it is no longer in dl_iterate_phdr */
	uint64_t unload_t;		/* hs_now_ns() when it was seen unloaded */
	uint32_t load_epoch;		/* hs_modules_epoch() when it was found ... */
	uint32_t unload_epoch;		/* ... and after it was seen unloaded */
	atomic_int written;		/* recording writer: MODULE record written */
	atomic_int unload_written;	/* recording writer: MODULE_UNLOAD written */
	/* Identity for refresh (owned by modules.c, written only under its lock): */
	const void *phdr;		/* dlpi_phdr: the loader's program headers */
	const char *dl_name;		/* arena copy of dlpi_name as given ("" = main) */
	uint32_t seen;			/* refresh generation that last listed it */
};

/* Fill the table with what is loaded now. Call once at agent start. 0 or -errno. */
int hs_modules_init(void);

/*
 * The loaded module whose PT_LOAD segments contain pc, or NULL. On a miss, re-reads the
 * loader's list once if it changed (dlopen) and looks again. Lock-free for readers.
 */
const struct hs_module *hs_module_find(uintptr_t pc);

/*
 * hs_module_find that tells why it found nothing: 0 and *out set, -ENOENT when no loaded
 * module holds pc (the loader's list was re-read if it changed), -EAGAIN when the list
 * could not be re-read because a refresh was in progress (another thread, or the refresh
 * this signal handler interrupted): the answer may differ later, so do not cache it.
 * Lock-free, async-signal-safe.
 */
int hs_module_lookup(uintptr_t pc, const struct hs_module **out);

/*
 * Re-read the loader's list: add new modules, mark vanished ones unloaded. Called after
 * dlclose by the hook, and by hs_module_find on a miss. Returns 1 if anything changed.
 */
int hs_modules_refresh(void);

/*
 * How many modules have been seen unloaded so far. A stack records it when created, so a
 * frame can be told apart from one of a later module loaded at the same address.
 */
uint32_t hs_modules_epoch(void);

/* Number of modules ever seen, and the i-th (0-based) of them; stable pointers. */
unsigned hs_modules_count(void);
struct hs_module *hs_module_at(unsigned i);

/*
 * The module holding the agent itself (its frames are skipped when unwinding, its data
 * not scanned for leaks); NULL in libheapscope_wrap.a, where that module is the program.
 */
const struct hs_module *hs_module_self(void);

/*
 * The end of the readable PT_LOAD segment of m that holds addr, or 0 when addr lies in
 * none: [addr, returned end) may be read without faulting while m is loaded. Used to
 * bound every read of .eh_frame_hdr, .eh_frame and code bytes. Lock-free, async-signal-safe.
 */
uintptr_t hs_module_readable_end(const struct hs_module *m, uintptr_t addr);

/*
 * In the child after fork: release the refresh try-lock in case another thread of the
 * parent held it at the moment of fork (that thread does not exist in the child).
 * Call from the agent's pthread_atfork child handler. Async-signal-safe.
 */
void hs_modules_atfork_child(void);

/* Monotonic nanoseconds since the agent started (CLOCK_MONOTONIC). Async-signal-safe. */
uint64_t hs_now_ns(void);

#endif
