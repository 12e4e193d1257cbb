// SPDX-License-Identifier: MIT
/*
 * Names of the allocation kinds of docs/FORMAT.md, for reports. Shared by agent and CLI;
 * returns static strings only.
 */
#include "hsr_format.h"

static const char *const kind_names[HSR_KIND_COUNT] = {
	[HSR_KIND_NONE] = "?",
	[HSR_KIND_MALLOC] = "malloc",
	[HSR_KIND_CALLOC] = "calloc",
	[HSR_KIND_REALLOC] = "realloc",
	[HSR_KIND_REALLOCARRAY] = "reallocarray",
	[HSR_KIND_MEMALIGN] = "memalign",
	[HSR_KIND_POSIX_MEMALIGN] = "posix_memalign",
	[HSR_KIND_ALIGNED_ALLOC] = "aligned_alloc",
	[HSR_KIND_VALLOC] = "valloc",
	[HSR_KIND_PVALLOC] = "pvalloc",
	[HSR_KIND_NEW] = "operator new",
	[HSR_KIND_NEW_ARRAY] = "operator new[]",
	[HSR_KIND_NEW_NOTHROW] = "operator new(nothrow)",
	[HSR_KIND_NEW_ARRAY_NOTHROW] = "operator new[](nothrow)",
	[HSR_KIND_NEW_ALIGNED] = "operator new(align_val_t)",
	[HSR_KIND_NEW_ARRAY_ALIGNED] = "operator new[](align_val_t)",
	[HSR_KIND_NEW_ALIGNED_NOTHROW] = "operator new(align_val_t, nothrow)",
	[HSR_KIND_NEW_ARRAY_ALIGNED_NOTHROW] = "operator new[](align_val_t, nothrow)",
	[HSR_KIND_FREE] = "free",
	[HSR_KIND_DELETE] = "operator delete",
	[HSR_KIND_DELETE_ARRAY] = "operator delete[]",
	[HSR_KIND_CHECK] = "check",
};

static const char *const error_names[HSR_ERR_KINDS] = {
	[HSR_ERR_OVERFLOW] = "heap-buffer-overflow",
	[HSR_ERR_UNDERFLOW] = "heap-buffer-underflow",
	[HSR_ERR_DOUBLE_FREE] = "double-free",
	[HSR_ERR_INVALID_FREE] = "invalid-free",
	[HSR_ERR_INTERIOR_FREE] = "interior-free",
	[HSR_ERR_STACK_FREE] = "stack-free",
	[HSR_ERR_MISMATCH] = "alloc-dealloc-mismatch",
	[HSR_ERR_USE_AFTER_FREE] = "write-after-free",
	[HSR_ERR_REALLOC_FREED] = "realloc-of-freed",
	[HSR_ERR_GUARD_OVERFLOW] = "heap-buffer-overflow (guard page)",
	[HSR_ERR_GUARD_USE_AFTER_FREE] = "use-after-free (guard page)",
};

const char *hsr_error_name(unsigned kind)
{
	if (kind >= HSR_ERR_KINDS || !error_names[kind])
		return "?";
	return error_names[kind];
}

const char *hsr_kind_name(unsigned kind)
{
	if (kind == HSR_KIND_DMABUF)
		return "dma-buf";
	if (hsr_kind_heap(kind))
		return "heap";	/* a program's own heap: its name is in the HEAPS record */
	if (kind >= HSR_KIND_COUNT)
		return "?";
	return kind_names[kind];
}
