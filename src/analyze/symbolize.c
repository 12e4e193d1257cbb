/* SPDX-License-Identifier: MIT */
/*
 * The symbolizer's API (symbolize.h): the recorded modules, which of them holds an address
 * (binary search over their PT_LOAD segments), and the per-address cache whose frames and
 * interned strings live until hs_symbolizer_free. Finding files is symbolize_find.c's job,
 * reading symbols and DWARF symbolize_dwarf.c's.
 *
 * It must not run programs (no addr2line, no shell) nor reach the network (no debuginfod),
 * and it is not thread-safe: one symbolizer per thread.
 */
#define _GNU_SOURCE
#include "symbolize_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From libstdc++ (the C++ ABI); declared here so this file stays C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* ---- small containers ------------------------------------------------------------------- */

int hs_sym_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* qsort, but fine with (NULL, 0): glibc declares its base nonnull. */
void hs_sym_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	return k ^ (k >> 33);
}

uint32_t hs_u64map_get(const struct hs_u64map *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return 0;
	for (i = mix64(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->vals[i];
	return 0;
}

static void u64map_place(uint64_t *keys, uint32_t *vals, size_t cap, uint64_t key,
			 uint32_t val)
{
	size_t i = mix64(key) & (cap - 1);

	while (vals[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	keys[i] = key;
	vals[i] = val;
}

static int u64map_rehash(struct hs_u64map *m, size_t ncap)
{
	uint64_t *keys = calloc(ncap, sizeof(*keys));
	uint32_t *vals = calloc(ncap, sizeof(*vals));
	size_t i;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		if (m->vals[i])
			u64map_place(keys, vals, ncap, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	return 0;
}

/* Insert or replace; val must be nonzero. */
int hs_u64map_put(struct hs_u64map *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 4 > m->cap * 3) {
		int err = u64map_rehash(m, m->cap ? m->cap * 2 : 64);

		if (err)
			return err;
	}
	if (!hs_u64map_get(m, key))
		m->n++;
	u64map_place(m->keys, m->vals, m->cap, key, val);
	return 0;
}

void hs_u64map_release(struct hs_u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static uint64_t str_hash(const char *str)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*str)
		h = (h ^ (unsigned char)*str++) * 0x100000001b3ULL;
	return h;
}

static int strtab_rehash(struct hs_strtab *t, size_t ncap)
{
	char **slots = calloc(ncap, sizeof(*slots));
	size_t i, j;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		for (j = str_hash(t->slots[i]) & (ncap - 1); slots[j]; j = (j + 1) & (ncap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
	return 0;
}

/* The interned copy of str (NULL for NULL, or when out of memory). */
const char *hs_strtab_intern(struct hs_strtab *t, const char *str)
{
	size_t i;

	if (!str)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && strtab_rehash(t, t->cap ? t->cap * 2 : 256))
		return NULL;
	for (i = str_hash(str) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->slots[i], str))
			return t->slots[i];
	t->slots[i] = strdup(str);
	if (t->slots[i])
		t->n++;
	return t->slots[i];
}

void hs_strtab_release(struct hs_strtab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i]);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Demangled (C++ "_Z" names) and interned. */
const char *hs_sym_intern_function(struct hs_symbolizer *s, const char *name)
{
	const char *ret;
	char *dem;
	int status = -1;

	if (!name || strncmp(name, "_Z", 2))
		return hs_strtab_intern(&s->strs, name);
	dem = __cxa_demangle(name, NULL, NULL, &status);
	ret = hs_strtab_intern(&s->strs, status == 0 && dem ? dem : name);
	free(dem);
	return ret;
}

char *hs_sym_hex(const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(len * 2 + 1);
	size_t i;

	if (!hex)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 15];
	}
	hex[2 * len] = '\0';
	return hex;
}

/* ---- the module holding an address -------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct hs_sym_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->mod < y->mod ? -1 : x->mod > y->mod;
}

static int ranges_build(struct hs_symbolizer *s)
{
	size_t i, j, n = 0, cap = 0;

	for (i = 0; i < s->nmods; i++)
		n += s->mods[i]->nsegs;
	free(s->max_end);
	s->max_end = malloc((n ? n : 1) * sizeof(*s->max_end));
	if (!s->max_end || hs_sym_grow((void **)&s->ranges, &cap, n ? n : 1, sizeof(*s->ranges)))
		return -ENOMEM;
	s->nranges = 0;
	for (i = 0; i < s->nmods; i++) {
		for (j = 0; j < s->mods[i]->nsegs; j++) {
			const struct hs_sym_segment *g = &s->mods[i]->segs[j];

			if (g->memsz && g->start + g->memsz > g->start)
				s->ranges[s->nranges++] = (struct hs_sym_range){ g->start, g->start + g->memsz, i };
		}
	}
	hs_sym_sort(s->ranges, s->nranges, sizeof(*s->ranges), range_cmp);
	for (i = 0; i < s->nranges; i++)
		s->max_end[i] = i && s->max_end[i - 1] > s->ranges[i].end ? s->max_end[i - 1]
									 : s->ranges[i].end;
	s->ranges_stale = false;
	return 0;
}

/* The module holding addr (the last added one if several do), or NULL. */
static struct hs_sym_module *module_at(struct hs_symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi, best = SIZE_MAX;

	if (s->ranges_stale && ranges_build(s))
		return NULL;
	hi = s->nranges;
	while (lo < hi) {	/* first range starting after addr */
		size_t mid = lo + (hi - lo) / 2;

		if (s->ranges[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo > 0 && s->max_end[lo - 1] > addr; lo--) {
		const struct hs_sym_range *r = &s->ranges[lo - 1];

		if (r->end > addr && (best == SIZE_MAX || r->mod > best))
			best = r->mod;
	}
	return best == SIZE_MAX ? NULL : s->mods[best];
}

static void module_free(struct hs_sym_module *m)
{
	size_t i;

	if (m->dwfl)
		dwfl_end(m->dwfl);
	for (i = 0; i < m->ncus; i++)
		free(m->cus[i].r);
	free(m->cus);
	free(m->cu_ranges);
	free(m->syms);
	hs_u64map_release(&m->cu_map);
	free(m->path);
	free(m->build_id);
	free(m->build_id_hex);
	free(m->segs);
	free(m->found);
	free(m->problem);
	free(m);
}

/* ---- the cache and the public API ------------------------------------------------------- */

static int cache_store(struct hs_symbolizer *s, uint64_t addr, const struct hs_symframe *f,
		       size_t n, unsigned module_id)
{
	if (s->nents >= UINT32_MAX - 1 || s->nframes + n >= UINT32_MAX)
		return -ENOMEM;
	if (hs_sym_grow((void **)&s->frames, &s->frames_cap, s->nframes + n, sizeof(*f)) ||
	    hs_sym_grow((void **)&s->ents, &s->ents_cap, s->nents + 1, sizeof(*s->ents)))
		return -ENOMEM;
	memcpy(&s->frames[s->nframes], f, n * sizeof(*f));
	s->ents[s->nents] = (struct hs_sym_cache_ent){ (uint32_t)s->nframes, (uint32_t)n, module_id };
	if (hs_u64map_put(&s->cache, addr, (uint32_t)s->nents + 1))
		return -ENOMEM;
	s->nframes += n;
	s->nents++;
	return 0;
}

/* Copy n cached frames into out[max]: innermost first, the outermost always last. */
static size_t copy_frames(const struct hs_symframe *f, size_t n, struct hs_symframe *out,
			  size_t max)
{
	if (n <= max) {
		memcpy(out, f, n * sizeof(*f));
		return n;
	}
	memcpy(out, f, (max - 1) * sizeof(*f));
	out[max - 1] = f[n - 1];
	return max;
}

/* Symbolize addr without the cache into frames[HS_SYM_MAX_INLINE]. */
static size_t symbolize_uncached(struct hs_symbolizer *s, uint64_t addr,
				 struct hs_symframe *frames, unsigned *module_id)
{
	struct hs_sym_module *m = module_at(s, addr);

	*module_id = m ? m->id : 0;
	if (m && m->state == HS_MOD_UNOPENED)
		hs_sym_module_open(s, m);
	if (m && m->state == HS_MOD_OPEN)
		return hs_sym_resolve(s, m, addr, frames, HS_SYM_MAX_INLINE);
	memset(&frames[0], 0, sizeof(frames[0]));
	return 1;
}

/*
 * See symbolize.h. Strings in out[] stay valid until hs_symbolizer_free; the first call for
 * an address in a module opens that module's files. Not thread-safe.
 */
size_t hs_symbolize(struct hs_symbolizer *s, uint64_t addr, struct hs_symframe *out,
		    size_t max, unsigned *module_id)
{
	struct hs_symframe frames[HS_SYM_MAX_INLINE];
	uint32_t idx = hs_u64map_get(&s->cache, addr);
	unsigned mid;
	size_t n;

	if (idx) {
		const struct hs_sym_cache_ent *e = &s->ents[idx - 1];

		if (module_id)
			*module_id = e->module_id;
		return max ? copy_frames(&s->frames[e->first], e->n, out, max) : 0;
	}
	n = symbolize_uncached(s, addr, frames, &mid);
	cache_store(s, addr, frames, n, mid);	/* on failure: correct, only not cached */
	if (module_id)
		*module_id = mid;
	return max ? copy_frames(frames, n, out, max) : 0;
}

size_t hs_symbolize_in(struct hs_symbolizer *s, size_t index, uint64_t addr,
		       struct hs_symframe *out, size_t max)
{
	struct hs_symframe frames[HS_SYM_MAX_INLINE];
	uint64_t key = addr | (uint64_t)(index + 1) << 48;
	uint32_t idx = hs_u64map_get(&s->cache, key);
	struct hs_sym_module *m;
	size_t n = 1;

	if (idx) {
		const struct hs_sym_cache_ent *e = &s->ents[idx - 1];

		return max ? copy_frames(&s->frames[e->first], e->n, out, max) : 0;
	}
	m = index < s->nmods ? s->mods[index] : NULL;
	if (m && m->state == HS_MOD_UNOPENED)
		hs_sym_module_open(s, m);
	if (m && m->state == HS_MOD_OPEN)
		n = hs_sym_resolve(s, m, addr, frames, HS_SYM_MAX_INLINE);
	else
		memset(&frames[0], 0, sizeof(frames[0]));
	cache_store(s, key, frames, n, m ? m->id : 0);
	return max ? copy_frames(frames, n, out, max) : 0;
}

static int set_debug_dirs(struct hs_symbolizer *s, const struct hs_symbolizer_opts *opts)
{
	const char *const *dirs = opts ? opts->debug_dirs : NULL;
	size_t n = 0, len = 1, i, used;

	if (dirs) {
		while (dirs[n])
			n++;
	}
	s->debug_dirs = calloc(n + 2, sizeof(*s->debug_dirs));
	if (!s->debug_dirs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s->debug_dirs[s->ndebug_dirs++] = strdup(dirs[i]);
	if (!dirs && *s->sysroot &&
	    asprintf(&s->debug_dirs[s->ndebug_dirs++], "%s" HS_SYM_DEFAULT_DEBUG_DIR, s->sysroot) < 0)
		return -ENOMEM;
	if (!dirs)
		s->debug_dirs[s->ndebug_dirs++] = strdup(HS_SYM_DEFAULT_DEBUG_DIR);
	for (i = 0; i < s->ndebug_dirs; i++) {
		if (!s->debug_dirs[i])
			return -ENOMEM;
		len += strlen(s->debug_dirs[i]) + 1;
	}
	s->debuginfo_path = calloc(1, len);
	if (!s->debuginfo_path)
		return -ENOMEM;
	for (i = 0, used = 0; i < s->ndebug_dirs; i++)
		used += snprintf(s->debuginfo_path + used, len - used, "%s%s", i ? ":" : "",
				 s->debug_dirs[i]);
	return 0;
}

/*
 * See symbolize.h. Copies opts' strings. Default debug dirs: SYSROOT/usr/lib/debug (when a
 * sysroot is given), then /usr/lib/debug. Free with hs_symbolizer_free.
 */
struct hs_symbolizer *hs_symbolizer_new(const struct hs_symbolizer_opts *opts)
{
	struct hs_symbolizer *s = calloc(1, sizeof(*s));
	const char *root = opts && opts->sysroot ? opts->sysroot : "";
	size_t rlen = strlen(root);

	if (!s)
		return NULL;
	while (rlen > 0 && root[rlen - 1] == '/')	/* "/" and "" both mean no sysroot */
		rlen--;
	s->sysroot = strndup(root, rlen);
	if (!s->sysroot || set_debug_dirs(s, opts)) {
		hs_symbolizer_free(s);
		errno = ENOMEM;
		return NULL;
	}
	elf_version(EV_CURRENT);
	s->callbacks.find_elf = hs_sym_no_find_elf;
	s->callbacks.find_debuginfo = hs_sym_find_debuginfo;
	s->callbacks.section_address = dwfl_offline_section_address;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	return s;
}

/* Frees the symbolizer with every string it handed out; NULL is a no-op. */
void hs_symbolizer_free(struct hs_symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nmods; i++)
		module_free(s->mods[i]);
	free(s->mods);
	hs_u64map_release(&s->by_id);
	for (i = 0; i < s->ndebug_dirs; i++)
		free(s->debug_dirs[i]);
	free(s->debug_dirs);
	free(s->debuginfo_path);
	free(s->sysroot);
	free(s->ranges);
	free(s->max_end);
	hs_u64map_release(&s->cache);
	free(s->ents);
	free(s->frames);
	hs_strtab_release(&s->strs);
	free(s);
}

static struct hs_sym_module *module_by_id(struct hs_symbolizer *s, unsigned id)
{
	uint32_t idx = hs_u64map_get(&s->by_id, id);

	return idx ? s->mods[idx - 1] : NULL;
}

static struct hs_sym_module *module_new(unsigned id, const char *path, uint64_t bias,
					const uint8_t *build_id, size_t build_id_len,
					const struct hs_sym_segment *segs, size_t nsegs)
{
	struct hs_sym_module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->id = id;
	m->bias = bias;
	m->path = strdup(path ? path : "");
	m->build_id = malloc(build_id_len ? build_id_len : 1);
	m->build_id_hex = hs_sym_hex(build_id, build_id_len);
	m->segs = malloc((nsegs ? nsegs : 1) * sizeof(*segs));
	if (!m->path || !m->build_id || !m->build_id_hex || !m->segs) {
		module_free(m);
		return NULL;
	}
	if (build_id_len)
		memcpy(m->build_id, build_id, build_id_len);
	if (nsegs)
		memcpy(m->segs, segs, nsegs * sizeof(*segs));
	m->build_id_len = build_id_len;
	m->nsegs = nsegs;
	return m;
}

/*
 * See symbolize.h. Copies path, build_id and segs. id must be nonzero and new (-EINVAL,
 * -EEXIST). Where modules overlap, the one added last holds the address. Adding a module
 * empties the address cache (strings handed out stay valid).
 */
int hs_symbolizer_add_module(struct hs_symbolizer *s, unsigned id, const char *path,
			     uint64_t bias, const uint8_t *build_id, size_t build_id_len,
			     const struct hs_sym_segment *segs, size_t nsegs)
{
	struct hs_sym_module *m;

	if (id == 0 || (nsegs && !segs) || (build_id_len && !build_id))
		return -EINVAL;
	if (module_by_id(s, id))
		return -EEXIST;
	if (s->nmods >= UINT32_MAX - 1 ||
	    hs_sym_grow((void **)&s->mods, &s->mods_cap, s->nmods + 1, sizeof(*s->mods)))
		return -ENOMEM;
	m = module_new(id, path, bias, build_id, build_id_len, segs, nsegs);
	if (!m)
		return -ENOMEM;
	if (hs_u64map_put(&s->by_id, id, (uint32_t)s->nmods + 1)) {
		module_free(m);
		return -ENOMEM;
	}
	m->owner = s;
	s->mods[s->nmods++] = m;
	s->ranges_stale = true;
	/* Earlier answers may have changed; strings already handed out stay valid. */
	hs_u64map_release(&s->cache);
	s->nents = 0;
	s->nframes = 0;
	return 0;
}

/* See symbolize.h; the string is owned by the symbolizer. */
const char *hs_symbolizer_module_path(struct hs_symbolizer *s, unsigned id)
{
	struct hs_sym_module *m = module_by_id(s, id);

	return m ? m->path : NULL;
}

/*
 * See symbolize.h. Describes what symbolization has done so far: a module no address fell
 * into is not opened yet (found NULL, problem NULL). Strings owned by the symbolizer.
 */
int hs_symbolizer_module_info(struct hs_symbolizer *s, size_t i, struct hs_symmodule_info *out)
{
	const struct hs_sym_module *m;

	if (i >= s->nmods)
		return -ENOENT;
	m = s->mods[i];
	out->path = m->path;
	out->found = m->state == HS_MOD_OPEN ? m->found : NULL;
	out->build_id = m->build_id_hex;
	out->has_symbols = m->has_symbols;
	out->has_debuginfo = m->has_debuginfo;
	out->problem = m->problem;
	return 0;
}
