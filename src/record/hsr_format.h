/* SPDX-License-Identifier: MIT */
/*
 * The recording format's constants, shared by the agent (writer) and the CLI (reader).
 * docs/FORMAT.md is the specification; keep the two in step. Nothing here allocates.
 */
#ifndef HS_HSR_FORMAT_H
#define HS_HSR_FORMAT_H

#define HSR_MAGIC "HSREC\r\n"	/* 8 bytes with the terminating NUL */
#define HSR_MAGIC_LEN 8
#define HSR_VERSION 1
#define HSR_HEADER_LEN 16
#define HSR_RECORD_HEADER_LEN 5
#define HSR_MAX_PAYLOAD (64u << 20)
/*
 * The deepest stack a reader takes from the call tree (STACK_LEAF, STACK_NODE): 4 times the
 * agent's most (HS_MAX_DEPTH, 256). A reader gives each stack its frames, so without it a
 * crafted chain of a million nodes made every 3-byte entry cost 8 MB.
 */
#define HSR_MAX_TREE_DEPTH 1024

enum hsr_record_type {
	HSR_PROCESS = 1,
	HSR_MODULE = 2,
	HSR_MODULE_UNLOAD = 3,
	HSR_STACK = 4,
	HSR_SNAPSHOT = 5,
	HSR_PEAK = 6,
	HSR_TIMELINE = 7,
	HSR_MESSAGE = 8,
	HSR_END = 9,
	HSR_RESET = 10,
	HSR_LEAKS = 11,
	HSR_FRAMES = 12,
	HSR_STACK_NODE = 13,
	HSR_ERRORS = 14,
	HSR_STACK_EPOCHS = 15,
	HSR_HEAPS = 16,
	HSR_STACK_LEAF = 17,
	HSR_FRAME_PCS = 18,
};

enum hsr_alloc_kind {
	HSR_KIND_NONE = 0,
	HSR_KIND_MALLOC = 1,
	HSR_KIND_CALLOC,
	HSR_KIND_REALLOC,
	HSR_KIND_REALLOCARRAY,
	HSR_KIND_MEMALIGN,
	HSR_KIND_POSIX_MEMALIGN,
	HSR_KIND_ALIGNED_ALLOC,
	HSR_KIND_VALLOC,
	HSR_KIND_PVALLOC,
	HSR_KIND_NEW,
	HSR_KIND_NEW_ARRAY,
	HSR_KIND_NEW_NOTHROW,
	HSR_KIND_NEW_ARRAY_NOTHROW,
	HSR_KIND_NEW_ALIGNED,
	HSR_KIND_NEW_ARRAY_ALIGNED,
	HSR_KIND_NEW_ALIGNED_NOTHROW,
	HSR_KIND_NEW_ARRAY_ALIGNED_NOTHROW,
	/* not allocations: where a block was freed, or an error was found */
	HSR_KIND_FREE,
	HSR_KIND_DELETE,
	HSR_KIND_DELETE_ARRAY,
	HSR_KIND_CHECK,
	HSR_KIND_COUNT
};

/*
 * Heaps other than the host's (malloc): dma-buf and the program's own pools (docs/HEAPS.md).
 * A stack of heap h has the kind HSR_KIND_HEAP_BASE + h; heap ids are 1 .. HSR_MAX_HEAPS-1.
 */
#define HSR_HEAP_HOST 0
#define HSR_HEAP_DMABUF 1
#define HSR_MAX_HEAPS 64
#define HSR_KIND_HEAP_BASE 32
#define HSR_KIND_DMABUF (HSR_KIND_HEAP_BASE + HSR_HEAP_DMABUF)

/* The heap a stack of this kind allocates on: 0 for the host heap (and non-allocations). */
static inline unsigned hsr_kind_heap(unsigned kind)
{
	return kind > HSR_KIND_HEAP_BASE && kind < HSR_KIND_HEAP_BASE + HSR_MAX_HEAPS
		       ? kind - HSR_KIND_HEAP_BASE : HSR_HEAP_HOST;
}

enum hsr_snapshot_reason {
	HSR_REASON_EXIT = 1,
	HSR_REASON_EXEC = 2,
	HSR_REASON_API = 3,
	HSR_REASON_SIGNAL = 4,
	HSR_REASON_PERIODIC = 5,
	HSR_REASON_THRESHOLD = 6,
	HSR_REASON_COMMAND = 7,
};

enum hsr_leak_reason {
	HSR_LEAKS_EXIT = 1,
	HSR_LEAKS_API = 2,
	HSR_LEAKS_COMMAND = 3,
};

#define HSR_LEAKS_FLAG_STOPPED 1u
#define HSR_LEAKS_FLAG_PARTIAL 2u

/* The four categories of a LEAKS record, in their order there. */
enum hsr_leak_kind {
	HSR_LEAK_DEFINITE,
	HSR_LEAK_INDIRECT,
	HSR_LEAK_POSSIBLE,
	HSR_LEAK_REACHABLE,
	HSR_LEAK_KINDS
};

/* Heap errors (ERRORS records, `--check`). */
enum hsr_error_kind {
	HSR_ERR_OVERFLOW = 1,		/* bytes after the block were written */
	HSR_ERR_UNDERFLOW,		/* bytes before the block were written */
	HSR_ERR_DOUBLE_FREE,
	HSR_ERR_INVALID_FREE,		/* never allocated */
	HSR_ERR_INTERIOR_FREE,		/* a pointer inside a block */
	HSR_ERR_STACK_FREE,		/* an address on a thread's stack */
	HSR_ERR_MISMATCH,		/* e.g. new / free */
	HSR_ERR_USE_AFTER_FREE,		/* a freed block was written (quarantine) */
	HSR_ERR_REALLOC_FREED,		/* realloc of a freed block */
	HSR_ERR_GUARD_OVERFLOW,		/* guard mode: an access faulted past the end */
	HSR_ERR_GUARD_USE_AFTER_FREE,	/* guard mode: an access to a freed block faulted */
	HSR_ERR_KINDS
};

const char *hsr_error_name(unsigned kind);

enum hsr_message_level {
	HSR_MSG_INFO = 1,
	HSR_MSG_WARNING = 2,
	HSR_MSG_ERROR = 3,
};

#define HSR_PROCESS_FLAG_RUN 1u
#define HSR_PROCESS_FLAG_STARTED 2u

/* Name of an allocation kind as reports show it ("malloc", "operator new[]"). */
const char *hsr_kind_name(unsigned kind);

#endif
