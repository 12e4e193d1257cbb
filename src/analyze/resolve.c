// SPDX-License-Identifier: MIT
/*
 * Resolving recorded stacks into frames (resolve.h). The symbolizer does the lookups and
 * caches them; this file maps between the recording's modules and the symbolizer's and
 * lays out the inline chains. Must not print anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

#define MAX_INLINE 32	/* inline chain entries kept per address */

static int add_module(struct hs_resolver *r, const struct hsr_module *m, long *next)
{
	struct hs_sym_segment *segs = calloc(m->nsegs ? m->nsegs : 1, sizeof(*segs));
	int err;

	if (!segs)
		return -ENOMEM;
	for (size_t i = 0; i < m->nsegs; i++) {
		segs[i].start = m->segs[i].vaddr;
		segs[i].memsz = m->segs[i].memsz;
		segs[i].offset = m->segs[i].offset;
		segs[i].flags = m->segs[i].flags;
	}
	err = hs_symbolizer_add_module(r->sym, m->id, m->path, m->bias, m->build_id,
				       m->build_id_len, segs, m->nsegs);
	free(segs);
	return err ? -1 : (*next)++;
}

int hs_resolver_init(struct hs_resolver *r, const struct hsr_recording *rec,
		     const struct hs_symbolizer_opts *opts)
{
	struct hs_symbolizer_opts none = { 0 };
	long next = 0;

	memset(r, 0, sizeof(*r));
	r->rec = rec;
	r->sym_index = calloc(rec->nmodules ? rec->nmodules : 1, sizeof(*r->sym_index));
	if (!r->sym_index)
		return -ENOMEM;
	r->sym = hs_symbolizer_new(opts ? opts : &none);
	for (size_t i = 0; i < rec->nmodules; i++) {
		r->sym_index[i] = r->sym ? add_module(r, &rec->modules[i], &next) : -1;
		if (r->sym_index[i] == -ENOMEM)
			goto out_release;
	}
	return 0;

out_release:
	hs_resolver_release(r);
	return -ENOMEM;
}

void hs_resolver_release(struct hs_resolver *r)
{
	if (r->sym)
		hs_symbolizer_free(r->sym);
	free(r->sym_index);
	free(r->frames);
	memset(r, 0, sizeof(*r));
}

/* The recorded module whose segments hold addr, for when the symbolizer cannot say. */
static const struct hsr_module *module_of(const struct hsr_recording *rec, uint64_t addr)
{
	for (size_t i = 0; i < rec->nmodules; i++) {
		const struct hsr_module *m = &rec->modules[i];

		for (size_t j = 0; j < m->nsegs; j++) {
			if (addr - m->segs[j].vaddr < m->segs[j].memsz)
				return m;
		}
	}
	return NULL;
}

static int reserve(struct hs_resolver *r, size_t more)
{
	size_t ncap = r->cap ? r->cap : 64;
	struct hs_frame *p;

	if (r->nframes + more <= r->cap)
		return 0;
	while (ncap < r->nframes + more)
		ncap *= 2;
	p = reallocarray(r->frames, ncap, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->frames = p;
	r->cap = ncap;
	return 0;
}

/* Append the inline chain of one address to r->frames. */
static int resolve_address(struct hs_resolver *r, uint64_t addr)
{
	struct hs_symframe sf[MAX_INLINE];
	const struct hsr_module *m;
	unsigned mid = 0;
	size_t n = 1;

	sf[0] = (struct hs_symframe){ 0 };
	if (r->sym)
		n = hs_symbolize(r->sym, addr, sf, MAX_INLINE, &mid);
	n = n ? n : 1;
	m = mid ? hsr_recording_module(r->rec, mid) : module_of(r->rec, addr);
	if (reserve(r, n))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct hs_frame *f = &r->frames[r->nframes++];

		f->address = addr;
		f->function = sf[i].function;
		f->file = sf[i].file;
		f->line = sf[i].line;
		f->inlined = i + 1 < n;
		f->module = m ? m->path : NULL;
		f->module_offset = m ? addr - m->bias : 0;
	}
	return 0;
}

int hs_resolver_stack(struct hs_resolver *r, uint32_t id, const struct hs_frame **frames,
		      size_t *n)
{
	const struct hsr_stack *st = &r->rec->stacks[id];

	r->nframes = 0;
	for (uint32_t i = 0; i < st->nframes; i++) {
		if (resolve_address(r, st->frames[i]))
			return -ENOMEM;
	}
	*frames = r->frames;
	*n = r->nframes;
	r->resolved++;
	if (r->on_stack)
		r->on_stack(r->on_stack_arg, r->resolved);
	return 0;
}

int hs_resolver_module_info(struct hs_resolver *r, size_t i, struct hs_symmodule_info *out)
{
	if (!r->sym || i >= r->rec->nmodules || r->sym_index[i] < 0)
		return -ENOENT;
	return hs_symbolizer_module_info(r->sym, (size_t)r->sym_index[i], out);
}

int hs_frame_is_program_start(const struct hs_frame *f)
{
	if (!f->function)
		return 0;
	return strcmp(f->function, "_start") == 0 ||
	       strncmp(f->function, "__libc_start_", strlen("__libc_start_")) == 0;
}
