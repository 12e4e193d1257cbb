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
};

const char *hsr_kind_name(unsigned kind)
{
	if (kind >= HSR_KIND_COUNT)
		return "?";
	return kind_names[kind];
}
