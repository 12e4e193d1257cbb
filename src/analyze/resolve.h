/* SPDX-License-Identifier: MIT */
/*
 * From recorded stacks to frames a report can show: feeds a recording's modules to the
 * symbolizer (symbolize.h) and expands each return address of a stack into its inline
 * chain, with the module it lies in. Shared by every output format, so that text, JSON and
 * later formats show the same frames. Does no output itself.
 */
#ifndef HS_RESOLVE_H
#define HS_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"
#include "symbolize.h"

/* One frame to show: a recorded address, or one function of its inline chain. */
struct hs_frame {
	uint64_t address;	/* the recorded return address */
	const char *function;	/* demangled, NULL when unknown (owned by the symbolizer) */
	const char *file;	/* as found in DWARF, NULL when unknown */
	unsigned line;		/* 0 when unknown */
	int inlined;		/* inlined into the next frame of the stack */
	const char *module;	/* recorded path of the module holding address, or NULL */
	uint64_t module_offset;	/* address - the module's load bias */
};

struct hs_resolver {
	const struct hsr_recording *rec;
	struct hs_symbolizer *sym;	/* NULL if it could not be created: no names then */
	long *sym_index;		/* per rec module: its index in the symbolizer, or -1 */
	struct hs_frame *frames;	/* the last stack resolved */
	size_t nframes, cap;
	/* If set, called after each stack hs_resolver_stack() resolves (the CLI's progress
	 * line); resolved counts those calls. */
	void (*on_stack)(void *arg, size_t resolved);
	void *on_stack_arg;
	size_t resolved;
};

/*
 * Prepare to resolve rec's stacks with a symbolizer made from opts (NULL: defaults).
 * rec must outlive the resolver. A symbolizer that cannot be created is not an error:
 * frames then only have addresses and modules. 0 or -ENOMEM.
 */
int hs_resolver_init(struct hs_resolver *r, const struct hsr_recording *rec,
		     const struct hs_symbolizer_opts *opts);
void hs_resolver_release(struct hs_resolver *r);

/*
 * Resolve stack `id` of the recording: *frames (owned by the resolver, valid until the next
 * call) gets *n frames, innermost first. 0 or -ENOMEM.
 */
int hs_resolver_stack(struct hs_resolver *r, uint32_t id, const struct hs_frame **frames,
		      size_t *n);

/*
 * Describe module i of the recording as the symbolizer found it; 0, or -ENOENT when the
 * symbolizer knows nothing of it. Strings are the symbolizer's.
 */
int hs_resolver_module_info(struct hs_resolver *r, size_t i, struct hs_symmodule_info *out);

/* Whether f is the C library's program start (_start, __libc_start_main, ...): frames
 * from there outwards are the same in every stack, and reports may leave them out. */
int hs_frame_is_program_start(const struct hs_frame *f);

#endif
