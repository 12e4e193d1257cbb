// SPDX-License-Identifier: MIT
/*
 * The table of loaded modules (see modules.h): filled from dl_iterate_phdr, read lock-free
 * by the unwinder and the recording writer. Entries live in arena memory and are published
 * by a release store of the count; they are never freed or moved, only marked unloaded.
 * A refresh is serialized by a try-lock: whoever finds it taken (another thread, or a
 * signal handler that interrupted the refresh) gets a miss instead of waiting.
 *
 * Must not call malloc, stdio or anything else that may allocate or take a lock a signal
 * handler could wait on; the loader's own lock (inside dl_iterate_phdr) is recursive.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "modules.h"

#define MODULES_MAX 4096

struct span {
	uintptr_t lo, hi;
};

static struct hs_module *mods[MODULES_MAX];
static struct span spans[MODULES_MAX];	/* copy of lo/hi: a dense array to scan */
static atomic_uint nmods;
static atomic_uint hint;		/* index of the last module found */
static atomic_int refresh_lock;
static atomic_int initialized;
static const struct hs_module *self_mod;
static uint64_t t0;

/* Owned by the holder of refresh_lock. */
static unsigned long long last_adds, last_subs;
static int have_counts;
static uint32_t generation;
static char exe_path[4096];

struct refresh {
	int first;	/* next callback is the first of this iteration */
	int listed;	/* the whole list was walked: vanished modules can be marked */
	int changed;
};

uint64_t hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec - t0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static const char *str_copy(const char *s, size_t len)
{
	char *d = hs_arena_alloc(len + 1, 1);

	if (d)
		__builtin_memcpy(d, s, len);	/* arena memory is zeroed: d[len] == 0 */
	return d;
}

static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

uintptr_t hs_module_readable_end(const struct hs_module *m, uintptr_t addr)
{
	for (uint32_t i = 0; i < m->nsegs; i++) {
		const struct hs_segment *s = &m->segs[i];

		if (addr - s->start < s->memsz && (s->flags & PF_R))
			return s->start + s->memsz;
	}
	return 0;
}

static int module_holds(const struct hs_module *m, uintptr_t pc)
{
	if (atomic_load_explicit(&m->unloaded, memory_order_relaxed))
		return 0;
	if (m->nsegs == HS_MODULE_MAX_SEGS)	/* segments were cut: trust the span */
		return 1;
	for (uint32_t i = 0; i < m->nsegs; i++)
		if (pc - m->segs[i].start < m->segs[i].memsz)
			return 1;
	return 0;
}

/* Newest first, so a module loaded where an unloaded one was is the one found. */
static const struct hs_module *find_loaded(uintptr_t pc)
{
	unsigned n = atomic_load_explicit(&nmods, memory_order_acquire);
	unsigned h = atomic_load_explicit(&hint, memory_order_relaxed);

	if (h < n && pc - spans[h].lo < spans[h].hi - spans[h].lo && module_holds(mods[h], pc))
		return mods[h];
	for (unsigned i = n; i-- > 0;) {
		if (pc - spans[i].lo >= spans[i].hi - spans[i].lo || !module_holds(mods[i], pc))
			continue;
		atomic_store_explicit(&hint, i, memory_order_relaxed);
		return mods[i];
	}
	return NULL;
}

static int in_segments(const struct hs_module *m, uintptr_t addr, uintptr_t size)
{
	uintptr_t end = hs_module_readable_end(m, addr);

	return end && size <= end - addr;
}

static uint32_t load_u32(uintptr_t a)
{
	uint32_t v;

	__builtin_memcpy(&v, (const void *)a, sizeof(v));
	return v;
}

/* Walk the notes of one PT_NOTE segment for NT_GNU_BUILD_ID, owner "GNU". */
static void read_build_id(struct hs_module *m, uintptr_t p, uintptr_t size, uintptr_t align)
{
	uintptr_t end = p + size;

	if (!in_segments(m, p, size))
		return;
	align = align == 8 ? 8 : 4;
	while (end - p >= 12) {
		uint32_t namesz = load_u32(p), descsz = load_u32(p + 4), type = load_u32(p + 8);
		uintptr_t name = p + 12;
		uintptr_t desc = name + ((namesz + align - 1) & ~(align - 1));
		uintptr_t next = desc + ((descsz + align - 1) & ~(align - 1));

		if (namesz > size || descsz > size || next > end || next <= p)
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    __builtin_memcmp((const void *)name, "GNU", 4) == 0) {
			m->build_id_len = descsz < HS_MODULE_MAX_BUILD_ID ? descsz
									   : HS_MODULE_MAX_BUILD_ID;
			__builtin_memcpy(m->build_id, (const void *)desc, m->build_id_len);
			return;
		}
		p = next;
	}
}

static void add_segment(struct hs_module *m, const ElfW(Phdr) *ph)
{
	uintptr_t start = m->bias + ph->p_vaddr;

	if (start < m->lo)
		m->lo = start;
	if (start + ph->p_memsz > m->hi)
		m->hi = start + ph->p_memsz;
	if (m->nsegs == HS_MODULE_MAX_SEGS)
		return;
	m->segs[m->nsegs++] = (struct hs_segment){ start, ph->p_memsz, ph->p_offset, ph->p_flags };
}

static void read_phdrs(struct hs_module *m, const struct dl_phdr_info *info)
{
	m->lo = UINTPTR_MAX;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD) {
			add_segment(m, ph);
		} else if (ph->p_type == PT_GNU_EH_FRAME) {
			m->eh_frame_hdr = (const uint8_t *)(m->bias + ph->p_vaddr);
			m->eh_frame_hdr_size = ph->p_memsz;
		} else if (ph->p_type == 0x70000001) {	/* PT_ARM_EXIDX */
			m->arm_exidx = (const uint8_t *)(m->bias + ph->p_vaddr);
			m->arm_exidx_size = ph->p_memsz;
		}
	}
	for (unsigned i = 0; i < info->dlpi_phnum && !m->build_id_len; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_NOTE)
			read_build_id(m, m->bias + ph->p_vaddr, ph->p_memsz, ph->p_align);
	}
}

static const char *module_path(const char *name)
{
	ssize_t n;

	if (name[0])
		return str_copy(name, str_len(name));
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (n <= 0)
		return str_copy("", 0);
	return str_copy(exe_path, (size_t)n);
}

/* A new entry for info, or NULL (no PT_LOAD, out of memory). Caller holds the lock. */
static atomic_uint unload_epoch;	/* modules seen unloaded so far */

static struct hs_module *module_new(const struct dl_phdr_info *info, unsigned id)
{
	struct hs_module *m = hs_arena_alloc(sizeof(*m), 64);
	const char *name = info->dlpi_name ? info->dlpi_name : "";

	if (!m)
		return NULL;
	m->id = id;
	m->bias = info->dlpi_addr;
	m->phdr = info->dlpi_phdr;
	read_phdrs(m, info);
	if (!m->nsegs)
		return NULL;
	m->dl_name = str_copy(name, str_len(name));
	m->path = module_path(name);
	if (!m->dl_name || !m->path)
		return NULL;
	m->seen = generation;
	m->load_epoch = atomic_load(&unload_epoch);
	return m;
}

static struct hs_module *module_listed(const struct dl_phdr_info *info)
{
	unsigned n = atomic_load_explicit(&nmods, memory_order_relaxed);
	const char *name = info->dlpi_name ? info->dlpi_name : "";

	for (unsigned i = n; i-- > 0;) {
		struct hs_module *m = mods[i];

		if (m->bias == info->dlpi_addr && m->phdr == info->dlpi_phdr &&
		    !atomic_load_explicit(&m->unloaded, memory_order_relaxed) &&
		    streq(m->dl_name, name))
			return m;
	}
	return NULL;
}

/* Nothing changed since the last complete walk? Then the walk can stop at once. */
static int counts_unchanged(const struct dl_phdr_info *info, size_t size)
{
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
		return 0;
	if (have_counts && info->dlpi_adds == last_adds && info->dlpi_subs == last_subs)
		return 1;
	last_adds = info->dlpi_adds;
	last_subs = info->dlpi_subs;
	have_counts = 1;
	return 0;
}

static int refresh_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct refresh *r = arg;
	unsigned n = atomic_load_explicit(&nmods, memory_order_relaxed);
	struct hs_module *m;

	if (r->first) {
		r->first = 0;
		if (counts_unchanged(info, size))
			return 1;
		r->listed = 1;
	}
	m = module_listed(info);
	if (m) {
		m->seen = generation;
		return 0;
	}
	if (n == MODULES_MAX)
		return 0;
	m = module_new(info, n + 1);
	if (!m)
		return 0;
	mods[n] = m;
	spans[n] = (struct span){ m->lo, m->hi };
	atomic_store_explicit(&nmods, n + 1, memory_order_release);
	r->changed = 1;
	return 0;
}

uint32_t hs_modules_epoch(void)
{
	return atomic_load_explicit(&unload_epoch, memory_order_relaxed);
}

static int mark_vanished(void)
{
	unsigned n = atomic_load_explicit(&nmods, memory_order_relaxed);
	int changed = 0;

	for (unsigned i = 0; i < n; i++) {
		struct hs_module *m = mods[i];

		if (m->seen == generation || atomic_load_explicit(&m->unloaded,
								  memory_order_relaxed))
			continue;
		m->unload_t = hs_now_ns();
		m->unload_epoch = atomic_fetch_add(&unload_epoch, 1) + 1;
		atomic_store_explicit(&m->unloaded, 1, memory_order_release);
		changed = 1;
	}
	return changed;
}

/* 1 if anything changed, 0 if not, -EAGAIN if another refresh is running. */
static int refresh(void)
{
	struct refresh r = { .first = 1 };

	if (atomic_exchange_explicit(&refresh_lock, 1, memory_order_acquire))
		return -EAGAIN;
	generation++;
	dl_iterate_phdr(refresh_cb, &r);
	if (r.listed && mark_vanished())
		r.changed = 1;
	atomic_store_explicit(&refresh_lock, 0, memory_order_release);
	return r.changed;
}

int hs_modules_refresh(void)
{
	return refresh() > 0;
}

int hs_modules_init(void)
{
	struct timespec ts;

	if (atomic_exchange_explicit(&initialized, 1, memory_order_acq_rel))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	refresh();
	if (!hs_modules_count())
		return -ENOENT;
#ifndef HEAPSCOPE_WRAP
	self_mod = find_loaded((uintptr_t)&hs_modules_init);
#endif	/* else linked into the executable (wrap.c): its code and data are the program's */
	return 0;
}

int hs_module_lookup(uintptr_t pc, const struct hs_module **out)
{
	int rc;

	*out = find_loaded(pc);
	if (*out)
		return 0;
	rc = refresh();
	if (rc > 0)
		*out = find_loaded(pc);
	if (*out)
		return 0;
	return rc < 0 ? rc : -ENOENT;
}

const struct hs_module *hs_module_find(uintptr_t pc)
{
	const struct hs_module *m;

	hs_module_lookup(pc, &m);
	return m;
}

unsigned hs_modules_count(void)
{
	return atomic_load_explicit(&nmods, memory_order_acquire);
}

struct hs_module *hs_module_at(unsigned i)
{
	return i < hs_modules_count() ? mods[i] : NULL;
}

const struct hs_module *hs_module_self(void)
{
	return self_mod;
}

void hs_modules_atfork_child(void)
{
	atomic_store_explicit(&refresh_lock, 0, memory_order_release);
}
