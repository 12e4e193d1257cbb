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

static int module_holds(const struct hsr_module *m, uint64_t addr)
{
	for (size_t j = 0; j < m->nsegs; j++)
		if (addr - m->segs[j].vaddr < m->segs[j].memsz)
			return 1;
	return 0;
}

/* Whether m was loaded in module epoch `epoch` (docs/FORMAT.md, "Module epochs"). */
static int module_in_epoch(const struct hsr_module *m, uint32_t epoch)
{
	return m->load_epoch <= epoch && (!m->unloaded || epoch < m->unload_epoch);
}

/*
 * The recorded module holding addr for a stack of `epoch` (its index, or -1), and how many
 * modules ever held addr: more than one when a library took an unloaded one's place.
 */
static long module_index(const struct hsr_recording *rec, uint64_t addr, uint32_t epoch,
			 unsigned *holders)
{
	long found = -1;

	*holders = 0;
	for (size_t i = 0; i < rec->nmodules; i++) {
		if (!module_holds(&rec->modules[i], addr))
			continue;
		(*holders)++;
		if (found < 0 || module_in_epoch(&rec->modules[i], epoch))
			found = (long)i;
	}
	return found;
}

/* The recorded module whose segments hold addr, for when the symbolizer cannot say. */
static const struct hsr_module *module_of(const struct hsr_recording *rec, uint64_t addr)
{
	unsigned holders;
	long i = module_index(rec, addr, UINT32_MAX, &holders);

	return i < 0 ? NULL : &rec->modules[i];
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

/*
 * Symbolize addr of a stack of `epoch`: by address alone, unless several modules held it
 * over time; then in the one loaded in that epoch. Sets *m to the module.
 */
static size_t symbolize_frame(struct hs_resolver *r, uint64_t addr, uint32_t epoch,
			      struct hs_symframe *sf, const struct hsr_module **m)
{
	unsigned mid = 0, holders = 0;
	long i = r->rec->nunloaded ? module_index(r->rec, addr, epoch, &holders) : -1;
	size_t n = 1;

	if (holders > 1) {
		*m = &r->rec->modules[i];
		if (r->sym && r->sym_index[i] >= 0)
			n = hs_symbolize_in(r->sym, (size_t)r->sym_index[i], addr, sf, MAX_INLINE);
		return n ? n : 1;
	}
	if (r->sym)
		n = hs_symbolize(r->sym, addr, sf, MAX_INLINE, &mid);
	*m = mid ? hsr_recording_module(r->rec, mid) : module_of(r->rec, addr);
	return n ? n : 1;
}

/* Append the inline chain of one address to r->frames. */
static int resolve_address(struct hs_resolver *r, uint64_t addr, uint32_t epoch)
{
	struct hs_symframe sf[MAX_INLINE];
	const struct hsr_module *m;
	size_t n;

	sf[0] = (struct hs_symframe){ 0 };
	n = symbolize_frame(r, addr, epoch, sf, &m);
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
		if (resolve_address(r, st->frames[i], st->epoch))
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
