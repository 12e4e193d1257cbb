// SPDX-License-Identifier: MIT
/*
 * Heap checking (see check.h). Block layout:
 *
 *   raw ... [ header: size, raw offset, kind, state, magic, stacks | 8-byte canary ] user
 *   data (size bytes) [ tail canary, N bytes ]
 *
 * The header is 32 bytes so that user data keeps malloc's 16-byte alignment. A pointer
 * given to free is trusted only if the pointer map knows it; anything else is read through
 * the kernel (process_vm_readv), so a wild pointer can't make the agent fault. Damaged
 * blocks are never given back to the allocator. The quarantine is a ring behind a try-lock
 * (a signal handler that finds it busy frees at once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "check.h"
#include "errors.h"
#include "fmt.h"
#include "hsr_format.h"
#include "modules.h"
#include "ptrmap.h"
#include "stacktab.h"
#include "tracker.h"
#include "unwind.h"
#include "writer.h"

#define HDR 32
#define MAGIC 0x4853
#define GUARD_FLAG 0x80000000u	/* in raw_off: the block has pages of its own */
#define GUARDED(h) ((h)->raw_off & GUARD_FLAG)
#define RAW_OFF(h) ((h)->raw_off & ~GUARD_FLAG)
#define LIVE 0xa1
#define FREED 0xf2
#define FILL_NEW 0xcd
#define FILL_FREED 0xdd
#define CANARY 0xfd
#define QUARANTINE_SLOTS 65536

struct hdr {
	uint64_t size;
	uint32_t raw_off;
	uint8_t kind;
	uint8_t state;
	uint16_t magic;
	uint32_t alloc_stack;	/* stack ids, for reports */
	uint32_t free_stack;
	uint8_t canary[8];
};

_Static_assert(sizeof(struct hdr) == HDR, "header must keep 16-byte alignment");

/* A freed block in quarantine; a guarded one is known by its mapping (it is unreadable). */
struct qentry {
	void *user;
	uintptr_t base;		/* guard mode: the mapping, else 0 */
	size_t bytes;		/* what it holds of the quarantine's budget */
};

struct guard_info {
	size_t span;		/* bytes of the mapping */
	uint64_t size;
	uint32_t alloc_stack, free_stack;
	uint8_t kind;
};

#define GUARD_SLOTS (1u << 20)
#define TOMB 1
#define GUARD_BACK_PAGES 4096	/* a fault this far past a block's start is still found */

static struct {
	size_t page;
	_Atomic uintptr_t *keys;	/* guard mode: a block's first page ... */
	_Atomic uintptr_t *vals;	/* ... and its user pointer, | 1 once freed */
	struct guard_info *info;	/* ... and what reports need once it is unreadable */
	size_t tail;			/* canary bytes after each block */
	uint64_t quarantine_max;	/* bytes */
	atomic_flag qlock;
	struct qentry *ring;
	unsigned head, count;
	uint64_t qbytes;
	size_t guard_max;		/* guard mode: blocks with pages of their own, at most */
	atomic_size_t guarded;		/* ... now, live or in quarantine */
	atomic_flag guard_said;
} ck;

/*
 * Guard mode's blocks are two mappings each (their pages and the PROT_NONE one), live or
 * in quarantine, and the kernel allows a process vm.max_map_count mappings (65,530 by
 * default); when they run out, the program's own mmap calls fail too (thread stacks,
 * files, its allocator's arenas). So guarded blocks take at most seven eighths of the
 * limit, and blocks past that (or whose mapping fails, or aligned to more than a page)
 * get canaries instead, as in canary mode.
 */
static size_t guard_max_blocks(void)
{
	char buf[32] = { 0 };
	unsigned long max = 0;

	if (hs_read_small_file("/proc/sys/vm/max_map_count", buf, sizeof(buf) - 1) > 0)
		max = strtoul(buf, NULL, 10);
	if (!max)
		max = 65530;
	return (size_t)(max - max / 8) / 2;
}

static int guard_take(void)
{
	struct hs_fmt f;
	char msg[256];

	if (atomic_fetch_add(&ck.guarded, 1) < ck.guard_max)
		return 1;
	atomic_fetch_sub(&ck.guarded, 1);
	if (!atomic_flag_test_and_set(&ck.guard_said)) {
		hs_fmt_init(&f, msg, sizeof(msg));
		hs_fmt_str(&f, "guard pages: ");
		hs_fmt_uint(&f, ck.guard_max);
		hs_fmt_str(&f, " blocks have pages of their own, all that the system's mapping "
			       "limit leaves (vm.max_map_count); others get canaries until some "
			       "are freed");
		hs_say(msg);
		hs_writer_message(HSR_MSG_WARNING, msg);
	}
	return 0;
}

int hs_check_init(void)
{
	ck.page = (size_t)sysconf(_SC_PAGESIZE);
	ck.tail = hs_opt.canary;
	ck.quarantine_max = hs_opt.quarantine;
	ck.ring = hs_arena_map(QUARANTINE_SLOTS * sizeof(*ck.ring));
	if (hs_opt.check == 2) {
		ck.guard_max = guard_max_blocks();
		ck.keys = hs_arena_map(GUARD_SLOTS * sizeof(*ck.keys));
		ck.vals = hs_arena_map(GUARD_SLOTS * sizeof(*ck.vals));
		ck.info = hs_arena_map(GUARD_SLOTS * sizeof(*ck.info));
		if (!ck.keys || !ck.vals || !ck.info)
			return -ENOMEM;
	}
	return ck.ring ? 0 : -ENOMEM;
}

/* Guard mode's registry: a block's first page -> its user pointer. Lock-free. */
static size_t guard_slot(uintptr_t base)
{
	return (size_t)((base / ck.page) * 0x9e3779b97f4a7c15ull >> 44) & (GUARD_SLOTS - 1);
}

static void guard_register(uintptr_t base, uintptr_t user, size_t span)
{
	size_t i = guard_slot(base), n;

	for (n = 0; n < GUARD_SLOTS; n++, i = (i + 1) & (GUARD_SLOTS - 1)) {
		uintptr_t k = atomic_load(&ck.keys[i]);

		if ((k == 0 || k == TOMB) &&
		    atomic_compare_exchange_strong(&ck.keys[i], &k, base)) {
			ck.info[i].span = span;
			atomic_store(&ck.vals[i], user);
			return;
		}
	}
}

static _Atomic uintptr_t *guard_find(uintptr_t base)
{
	size_t i = guard_slot(base), n;

	for (n = 0; n < GUARD_SLOTS; n++, i = (i + 1) & (GUARD_SLOTS - 1)) {
		uintptr_t k = atomic_load(&ck.keys[i]);

		if (k == base)
			return &ck.vals[i];
		if (!k)
			return NULL;
	}
	return NULL;
}

/* The guarded block whose mapping holds addr (searching back page by page), or NULL. */
static _Atomic uintptr_t *guard_block_at(uintptr_t addr, uintptr_t *base)
{
	uintptr_t page = addr & ~(uintptr_t)(ck.page - 1);
	unsigned k;

	for (k = 0; k < GUARD_BACK_PAGES && page >= k * ck.page; k++) {
		uintptr_t b = page - k * ck.page;
		_Atomic uintptr_t *v = guard_find(b);

		if (v) {
			*base = b;
			return addr < b + ck.info[v - ck.vals].span ? v : NULL;
		}
	}
	return NULL;
}

static void guard_unregister(uintptr_t base)
{
	_Atomic uintptr_t *v = guard_find(base);

	if (v)
		atomic_store(&ck.keys[v - ck.vals], TOMB);
}

static inline struct hdr *hdr_of(void *user)
{
	return (struct hdr *)((char *)user - HDR);
}

static struct hs_stack *stack_of(uint32_t id)
{
	struct hs_stack *s = hs_stacktab_get(id);

	return s ? s : (id == hs_stacktab_overflow()->id ? hs_stacktab_overflow() : NULL);
}

/* Header, canaries, fill, accounting of a new block at user (raw_off from its start). */
static void *block_init(char *user, size_t size, uint32_t raw_off, size_t tail, unsigned kind,
			int zero, uintptr_t ra)
{
	struct hdr *h = hdr_of(user);

	h->size = size;
	h->raw_off = raw_off;
	h->kind = (uint8_t)kind;
	h->state = LIVE;
	h->magic = MAGIC;
	h->free_stack = 0;
	memset(h->canary, CANARY, sizeof(h->canary));
	if (!zero)
		memset(user, FILL_NEW, size);
	memset(user + size, CANARY, tail);
	h->alloc_stack = 0;
	if (hs_should_track()) {
		struct hs_stack *s = hs_track_alloc(user, size, kind, ra);

		h->alloc_stack = s ? s->id : 0;
	}
	return user;
}

/* Guard mode: the block ends against a PROT_NONE page (up to alignment slack). */
static void *guard_alloc(size_t size, size_t align, unsigned kind, int zero, uintptr_t ra)
{
	size_t a = align > 16 ? align : 16, body, data;
	char *base, *user;

	if (a > ck.page || size > SIZE_MAX / 4 || !guard_take())
		return NULL;
	body = (size + a - 1) & ~(a - 1);
	data = (body + HDR + a + ck.page - 1) & ~(ck.page - 1);
	base = mmap(NULL, data + ck.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base != MAP_FAILED && mprotect(base + data, ck.page, PROT_NONE) != 0) {
		munmap(base, data + ck.page);
		base = MAP_FAILED;
	}
	if (base == MAP_FAILED) {
		atomic_fetch_sub(&ck.guarded, 1);
		return NULL;
	}
	user = base + data - body;
	guard_register((uintptr_t)base, (uintptr_t)user, data + ck.page);
	return block_init(user, size, (uint32_t)(user - base) | GUARD_FLAG, body - size, kind,
			  zero, ra);
}

void *hs_check_alloc(size_t size, size_t align, unsigned kind, int zero, uintptr_t ra)
{
	size_t off = align > HDR ? align : HDR, total;
	char *raw;

	if (hs_opt.check == 2) {
		int saved = errno;
		void *p = guard_alloc(size, align, kind, zero, ra);

		if (p)
			return p;
		errno = saved;	/* a failed mapping's, not the program's to see */
	}
	if (__builtin_add_overflow(size, off + ck.tail, &total)) {
		errno = ENOMEM;	/* as the C library's malloc */
		return NULL;
	}
	if (align > 16)
		raw = hs_real.memalign ? hs_real.memalign(off, total) : NULL;
	else
		raw = zero ? hs_real.calloc(1, total) : hs_real.malloc(total);
	if (!raw)
		return NULL;
	return block_init(raw + off, size, (uint32_t)off, ck.tail, kind, zero, ra);
}

/* Canary bytes after a block: fixed, or up to its page end in guard mode. */
static size_t tail_of(const void *user, const struct hdr *h)
{
	uintptr_t base, end;

	if (!GUARDED(h))
		return ck.tail;
	base = (uintptr_t)user - RAW_OFF(h);
	end = (base + RAW_OFF(h) + h->size + ck.page - 1) & ~(ck.page - 1);
	return end - ((uintptr_t)user + h->size);
}

/* Guard mode: the pages of a block, from its base. */
static size_t guard_span(const void *user, const struct hdr *h, uintptr_t *base)
{
	*base = (uintptr_t)user - RAW_OFF(h);
	return (RAW_OFF(h) + h->size + ck.page - 1) & ~(ck.page - 1);
}

/* Read len bytes at addr through the kernel: 0, or -1 where nothing is mapped. */
static int peek(const void *addr, void *out, size_t len)
{
	struct iovec local = { out, len }, remote = { (void *)addr, len };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* The release that matches an allocation kind. */
static enum hs_free_kind family(unsigned kind)
{
	switch (kind) {
	case HSR_KIND_NEW:
	case HSR_KIND_NEW_NOTHROW:
		return HS_FREE_DELETE;
	case HSR_KIND_NEW_ARRAY:
	case HSR_KIND_NEW_ARRAY_NOTHROW:
		return HS_FREE_DELETE_ARRAY;
	case HSR_KIND_NEW_ALIGNED:
	case HSR_KIND_NEW_ALIGNED_NOTHROW:
		return HS_FREE_DELETE_ALIGNED;
	case HSR_KIND_NEW_ARRAY_ALIGNED:
	case HSR_KIND_NEW_ARRAY_ALIGNED_NOTHROW:
		return HS_FREE_DELETE_ARRAY_ALIGNED;
	default:
		return HS_FREE_C;
	}
}

static unsigned free_stack_kind(enum hs_free_kind fk)
{
	if (fk == HS_FREE_C)
		return HSR_KIND_FREE;
	return fk == HS_FREE_DELETE || fk == HS_FREE_DELETE_ALIGNED ? HSR_KIND_DELETE
								     : HSR_KIND_DELETE_ARRAY;
}

/* Errors about a block: fill the block's part of e. */
static void about_block(struct hs_error *e, void *user, const struct hdr *h)
{
	e->addr = (uintptr_t)user;
	e->size = h->size;
	e->alloc = stack_of(h->alloc_stack);
	e->freed = h->free_stack ? stack_of(h->free_stack) : NULL;
	e->alloc_kind = h->kind;
}

/* First damaged byte and how many, in [p, p + n) that should all be `byte`; 0 if none. */
static size_t damaged(const uint8_t *p, size_t n, uint8_t byte, size_t *first)
{
	uint64_t word = 0x0101010101010101ull * byte, w;
	size_t i = 0, count = 0;

	/* Whole words while they are intact (the common case), then byte by byte. */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w != word)
			break;
	}
	for (; i < n; i++) {
		if (p[i] != byte) {
			if (!count)
				*first = i;
			count++;
		}
	}
	return count;
}

/*
 * Whether p is a live block of ours: the pointer map's yes, or else (not there, or where it
 * cannot be asked without waiting: a signal handler nested in its own thread's
 * bookkeeping, as waiting for the lock the interrupted code holds hung t1000's signal
 * storm under --check) the header's, read through the kernel: ours, live, canary whole.
 */
static int live_block(void *p)
{
	struct hdr h;
	size_t first = 0;
	int r = hs_track_is_live(p);

	if (r > 0)
		return r;
	/* Not in the map: also a block allocated while tracking was off (ctl stop, a sampled
	   restart), which realloc must not take for a freed one (it freed it and said ENOMEM:
	   python3 under --check died after `heapscope ctl PID stop`). */
	return peek((char *)p - HDR, &h, HDR) == 0 && h.magic == MAGIC && h.state == LIVE &&
	       !damaged(h.canary, sizeof(h.canary), CANARY, &first);
}

/* Check both canaries of a live block; report and return 1 if either was written. */
static int canaries_damaged(void *user, const struct hdr *h, struct hs_stack *where)
{
	struct hs_error e = { .where = where };
	size_t first = 0, n;

	n = damaged(h->canary, sizeof(h->canary), CANARY, &first);
	if (n || h->magic != MAGIC)
		about_block(&e, user, h);
	if (n) {
		e.kind = HSR_ERR_UNDERFLOW;
		e.offset = (int64_t)first - (int64_t)sizeof(h->canary);
		e.nbytes = n;
		hs_error_add(&e);
	}
	n = damaged((const uint8_t *)user + h->size, tail_of(user, h), CANARY, &first);
	if (n) {
		if (!e.addr)
			about_block(&e, user, h);
		e.kind = HSR_ERR_OVERFLOW;
		e.offset = (int64_t)(h->size + first);
		e.nbytes = n;
		hs_error_add(&e);
	}
	return h->magic != MAGIC || e.kind != 0;
}

/* Give a freed block's memory back, once its fill is verified. */
static void evict(const struct qentry *q, struct hs_stack *where)
{
	struct hdr *h = hdr_of(q->user);
	struct hs_error e = { .kind = HSR_ERR_USE_AFTER_FREE, .where = where };
	size_t first = 0, n;

	if (q->base) {	/* unreadable: a write would have faulted */
		guard_unregister(q->base);
		munmap((void *)q->base, q->bytes);
		atomic_fetch_sub(&ck.guarded, 1);
		return;
	}
	n = damaged(q->user, h->size, FILL_FREED, &first);
	if (n) {
		about_block(&e, q->user, h);
		e.offset = (int64_t)first;
		e.nbytes = n;
		hs_error_add(&e);
	}
	hs_real.free((char *)q->user - RAW_OFF(h));
}

/* What a freed block will be in quarantine; guard mode makes its pages inaccessible. */
static struct qentry retire(void *user, const struct hdr *h)
{
	struct qentry q = { user, 0, h->size + HDR + ck.tail };
	size_t data;

	if (GUARDED(h)) {
		data = guard_span(user, h, &q.base);
		q.bytes = data + ck.page;
		_Atomic uintptr_t *v = guard_find(q.base);

		if (v) {
			struct guard_info *gi = &ck.info[v - ck.vals];

			gi->size = h->size;
			gi->alloc_stack = h->alloc_stack;
			gi->free_stack = h->free_stack;
			gi->kind = h->kind;
			atomic_store(v, (uintptr_t)user | 1);
		}
		mprotect((void *)q.base, data, PROT_NONE);
	}
	return q;
}

/* Keep a freed block for a while; the oldest ones leave when the quarantine is full. */
static void quarantine(const struct qentry *q, struct hs_stack *where)
{
	if (!ck.quarantine_max ||
	    atomic_flag_test_and_set_explicit(&ck.qlock, memory_order_acquire)) {
		evict(q, where);
		return;
	}
	while (ck.count && (ck.qbytes + q->bytes > ck.quarantine_max ||
			    ck.count == QUARANTINE_SLOTS)) {
		struct qentry old = ck.ring[(ck.head + QUARANTINE_SLOTS - ck.count) %
					    QUARANTINE_SLOTS];

		ck.qbytes -= old.bytes;
		ck.count--;
		evict(&old, where);
	}
	ck.ring[ck.head] = *q;
	ck.head = (ck.head + 1) % QUARANTINE_SLOTS;
	ck.count++;
	ck.qbytes += q->bytes;
	atomic_flag_clear_explicit(&ck.qlock, memory_order_release);
}

void hs_check_lock(void)
{
	if (hs_opt.check)
		hs_spin_lock(&ck.qlock);
}

void hs_check_unlock(void)
{
	if (hs_opt.check)
		atomic_flag_clear_explicit(&ck.qlock, memory_order_release);
}

/* An error about a pointer that is no block of ours. */
static void bad_pointer(unsigned kind, void *p, const struct hdr *h, enum hs_free_kind fk,
			uintptr_t ra, void *user)
{
	struct hs_error e = { .kind = kind, .addr = (uintptr_t)p };

	if (h)
		about_block(&e, user ? user : p, h);
	if (user)
		e.offset = (char *)p - (char *)user;
	e.free_kind = free_stack_kind(fk);
	e.where = hs_tracker_capture(e.free_kind, ra);
	hs_error_add(&e);
}

static int on_a_stack(uintptr_t p)
{
	return p >= hs_self.stack_lo && p < hs_self.stack_hi;
}

static int in_a_module(uintptr_t p)
{
	const struct hs_module *m = hs_module_find(p);

	return m != NULL;
}

/* The live block p points inside of, searching back a few kB; its start or NULL. */
static void *inside_of(void *p, struct hdr *out)
{
	uintptr_t q = (uintptr_t)p & ~(uintptr_t)15;
	unsigned k;

	for (k = 1; k <= 256; k++) {
		uintptr_t start = q - 16 * k;

		if (live_block((void *)start) && peek((void *)(start - HDR), out, HDR) == 0 &&
		    out->magic == MAGIC && (uintptr_t)p < start + out->size)
			return (void *)start;
	}
	return NULL;
}

/*
 * What p is when the pointer map does not know it: a freed block of ours (1), a live one
 * allocated while tracking was off (2), or something else, reported here (0), or a block
 * from outside check mode (3: give it to the real free).
 */
static int identify(void *p, struct hdr *h, enum hs_free_kind fk, uintptr_t ra, int realloc)
{
	struct hdr inner;
	void *start;
	size_t first = 0;

	if (hs_opt.check == 2) {
		uintptr_t base;
		_Atomic uintptr_t *v = guard_block_at((uintptr_t)p, &base);

		if (v && atomic_load(v) == ((uintptr_t)p | 1)) {
			bad_pointer(realloc ? HSR_ERR_REALLOC_FREED : HSR_ERR_DOUBLE_FREE, p, NULL,
				    fk, ra, NULL);
			return 0;
		}
	}
	if (peek((char *)p - HDR, h, HDR) == 0 && h->magic == MAGIC)
		return h->state == FREED ? 1 : 2;
	if (peek((char *)p - HDR, h, HDR) == 0 && !damaged(h->canary, 8, CANARY, &first)) {
		/* Ours once, given back to the allocator since (its canary survives there). */
		bad_pointer(realloc ? HSR_ERR_REALLOC_FREED : HSR_ERR_DOUBLE_FREE, p, NULL, fk, ra,
			    NULL);
		return 0;
	}
	if (on_a_stack((uintptr_t)p)) {
		bad_pointer(HSR_ERR_STACK_FREE, p, NULL, fk, ra, NULL);
		return 0;
	}
	start = inside_of(p, &inner);
	if (start) {
		bad_pointer(HSR_ERR_INTERIOR_FREE, p, &inner, fk, ra, start);
		return 0;
	}
	if (in_a_module((uintptr_t)p) || peek((char *)p - 16, &inner, 16) < 0) {
		bad_pointer(HSR_ERR_INVALID_FREE, p, NULL, fk, ra, NULL);
		return 0;
	}
	return 3;
}

/*
 * Release a block: validate it, then account, fill and quarantine it. Returns its size, or
 * -1 when p was not a live block of ours (reported, or handed to the real free).
 */
static int64_t release(void *p, enum hs_free_kind fk, uintptr_t ra, int from_realloc)
{
	struct hdr copy, *h = hdr_of(p);
	uint64_t size;
	struct hs_block_info info;
	struct hs_stack *where;
	struct qentry q;
	int what = live_block(p) ? 2 : identify(p, &copy, fk, ra, from_realloc), queued;

	if (what == 3)
		hs_real.free(p);
	if (what == 1)
		bad_pointer(from_realloc ? HSR_ERR_REALLOC_FREED : HSR_ERR_DOUBLE_FREE, p, &copy,
			    fk, ra, p);
	if (what != 2)
		return -1;
	where = hs_tracker_capture(free_stack_kind(fk), ra);
	queued = hs_track_forget(p, &info);
	hs_track_account_free(&info);
	if (canaries_damaged(p, h, where))
		return -1;	/* a damaged block is never handed back */
	if (family(h->kind) != fk && !from_realloc) {
		struct hs_error e = { .kind = HSR_ERR_MISMATCH, .where = where,
				      .free_kind = free_stack_kind(fk) };

		about_block(&e, p, h);
		hs_error_add(&e);
	}
	size = h->size;	/* a guarded block's header is unreadable once retired */
	h->free_stack = where ? where->id : 0;
	h->state = FREED;
	memset(p, FILL_FREED, size);
	if (queued) {
		hs_track_retire_later(p);
		return (int64_t)size;
	}
	q = retire(p, h);
	quarantine(&q, where);
	return (int64_t)size;
}

void hs_check_retire(void *p)
{
	struct hdr *h = hdr_of(p);
	struct hs_stack *where = hs_stacktab_get(h->free_stack);
	struct qentry q = retire(p, h);

	quarantine(&q, where);
}

void hs_check_free(void *p, enum hs_free_kind fk, uintptr_t ra)
{
	if (!p || hs_bootstrap_owns(p))
		return;
	release(p, fk, ra, 0);
	if (hs_opt.abort_on_error && hs_errors_total())
		abort();
}

void *hs_check_realloc(void *p, size_t size, unsigned kind, uintptr_t ra)
{
	struct hdr *h;
	void *q;
	size_t old;

	if (!p)
		return hs_check_alloc(size, 0, kind, 0, ra);
	if (!size) {
		hs_check_free(p, HS_FREE_C, ra);
		return NULL;
	}
	h = hdr_of(p);
	if (!live_block(p)) {
		release(p, HS_FREE_C, ra, 1);
		errno = ENOMEM;
		return NULL;
	}
	old = h->size;
	q = hs_check_alloc(size, 0, kind, 0, ra);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	release(p, HS_FREE_C, ra, 1);
	return q;
}

size_t hs_check_usable_size(void *p)
{
	struct hdr h;

	if (!p)
		return 0;
	if (live_block(p) && peek((char *)p - HDR, &h, HDR) == 0 && h.magic == MAGIC)
		return h.size;
	return hs_real.malloc_usable_size ? hs_real.malloc_usable_size(p) : 0;
}

struct check_ctx {
	struct hs_stack *where;
	unsigned errors;
};

static void check_block(uintptr_t p, const struct hs_ptrmap_entry *e, void *arg)
{
	struct check_ctx *c = arg;

	if (canaries_damaged((void *)p, hdr_of((void *)p), c->where))
		c->errors++;
}

unsigned hs_check_all(uintptr_t ra)
{
	struct check_ctx c = { hs_tracker_capture(HSR_KIND_CHECK, ra), 0 };
	uint64_t before = hs_errors_total();
	unsigned i;
	int entered;

	if (!hs_opt.check)
		return 0;
	hs_self.internal++;
	entered = hs_tracker_enter();
	hs_ptrmap_foreach(hs_tracker_gen(), check_block, &c);
	hs_tracker_leave(entered);
	hs_check_lock();
	for (i = 0; i < ck.count; i++) {
		const struct qentry *q = &ck.ring[(ck.head + QUARANTINE_SLOTS - 1 - i) %
						  QUARANTINE_SLOTS];
		void *u = q->user;
		size_t first = 0, n = q->base ? 0 : damaged(u, hdr_of(u)->size, FILL_FREED, &first);

		if (n) {
			struct hs_error e = { .kind = HSR_ERR_USE_AFTER_FREE, .where = c.where,
					      .offset = (int64_t)first, .nbytes = n };

			about_block(&e, u, hdr_of(u));
			hs_error_add(&e);
		}
	}
	hs_check_unlock();
	hs_self.internal--;
	return (unsigned)(hs_errors_total() - before);
}

int hs_check_fault(int sig, siginfo_t *si, void *ucv)
{
	struct hs_error e = { 0 };
	uintptr_t base, val, frames[HS_MAX_DEPTH], pc = 0;
	_Atomic uintptr_t *v;
	size_t n, k;

	if (hs_opt.check != 2 || (sig != SIGSEGV && sig != SIGBUS))
		return 0;
	v = guard_block_at((uintptr_t)si->si_addr, &base);
	if (!v)
		return 0;
	val = atomic_load(v);
	e.addr = val & ~(uintptr_t)1;
	e.offset = (int64_t)((uintptr_t)si->si_addr - e.addr);
	e.nbytes = 1;
	if (val & 1) {
		const struct guard_info *gi = &ck.info[v - ck.vals];

		e.kind = HSR_ERR_GUARD_USE_AFTER_FREE;
		e.size = gi->size;
		e.alloc = stack_of(gi->alloc_stack);
		e.freed = gi->free_stack ? stack_of(gi->free_stack) : NULL;
		e.alloc_kind = gi->kind;
	} else {
		e.kind = HSR_ERR_GUARD_OVERFLOW;
		about_block(&e, (void *)e.addr, hdr_of((void *)e.addr));
	}
#if defined(__x86_64__)
	pc = (uintptr_t)((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
#endif
	n = hs_unwind_from((uintptr_t)frames, frames, hs_opt.depth, pc + 1, hs_self.stack_lo,
			   hs_self.stack_hi, NULL);
	for (k = 0; k < n && pc && frames[k] != pc + 1; k++)
		;
	if (k < n) {	/* start at the faulting instruction, past the signal frame */
		memmove(frames, frames + k, (n - k) * sizeof(*frames));
		n -= k;
	}
	e.where = n ? hs_stacktab_intern(HSR_KIND_CHECK, frames, n) : NULL;
	hs_error_add(&e);
	return 1;
}
