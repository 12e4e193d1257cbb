// SPDX-License-Identifier: MIT
/*
 * The accounting of heaps other than the host's (see heaps.h), and the public API through
 * which a program reports its own pools (heapscope_heap_register / _alloc / _free). The
 * figures are atomics that the writer reads without a lock; the block table and every
 * change to the figures happen under one spinlock, which a thread never takes twice: a
 * call from a signal handler that interrupted this thread inside it is dropped. Nothing
 * here runs on the host's allocation path except hs_heaps_host_crossed(), which is
 * lock-free and reached only while another heap is in use. Never calls malloc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "agent.h"
#include "arena.h"
#include "dmabuf.h"
#include "heaps.h"
#include "heapscope.h"
#include "hsr_encode.h"
#include "modules.h"
#include "stacktab.h"
#include "tracker.h"

struct heap {
	char name[HS_HEAP_NAME_MAX];
	atomic_int used;		/* registered, or (dma-buf) a buffer was seen */
	_Atomic int64_t live_bytes;
	_Atomic int64_t live_blocks;
	_Atomic uint64_t peak_bytes;
	_Atomic uint64_t peak_t;
	_Atomic uint64_t epoch;		/* advances with each new peak of this heap */
};

static struct {
	atomic_int active;		/* some heap other than the host's is in use */
	_Atomic unsigned nheaps;	/* ids 1 .. nheaps-1 exist */
	_Atomic int64_t others_live;	/* live bytes of all heaps but the host's */
	_Atomic uint64_t total_peak;	/* highest host + others at one moment */
	_Atomic uint64_t total_peak_t;
	uint32_t gen;			/* the tracker generation the figures count for */
	struct heap heap[HSR_MAX_HEAPS];
} H = { .nheaps = 2, .heap[HSR_HEAP_DMABUF].name = "dma-buf" };

/* The block table: open addressing, linear probing, deletion by backward shift. */
#define BLOCK_BITS 16
#define BLOCK_CAP (1u << BLOCK_BITS)
#define BLOCK_MAX (BLOCK_CAP / 4 * 3)

struct block {
	uintptr_t key;
	uint64_t size;
	struct hs_stack *stack;
	uint16_t heap;			/* 0: an empty slot */
	uint16_t gen;
};

static struct {
	atomic_flag lock;
	struct block *slot;
	unsigned n;
	_Atomic uint64_t dropped;	/* events lost: nested calls, table full */
} B;

static __thread int in_heaps __attribute__((tls_model("initial-exec")));

static int heaps_lock(void)
{
	unsigned spins = 0;

	if (in_heaps) {
		atomic_fetch_add_explicit(&B.dropped, 1, memory_order_relaxed);
		return -EBUSY;
	}
	in_heaps = 1;
	while (atomic_flag_test_and_set_explicit(&B.lock, memory_order_acquire)) {
		if (++spins % 64 == 0)
			sched_yield();
		hs_cpu_relax();
	}
	return 0;
}

static void heaps_unlock(void)
{
	atomic_flag_clear_explicit(&B.lock, memory_order_release);
	in_heaps = 0;
}

void hs_heaps_lock_all(void)
{
	hs_dmabuf_lock_all();
	while (atomic_flag_test_and_set_explicit(&B.lock, memory_order_acquire))
		hs_cpu_relax();
}

void hs_heaps_unlock_all(void)
{
	atomic_flag_clear_explicit(&B.lock, memory_order_release);
	hs_dmabuf_unlock_all();
}

int hs_heaps_init(void)
{
	return pthread_atfork(hs_heaps_lock_all, hs_heaps_unlock_all, hs_heaps_unlock_all) ? -1
											     : 0;
}

static void raise_total(uint64_t total, uint64_t t)
{
	uint64_t old = atomic_load_explicit(&H.total_peak, memory_order_relaxed);

	while (total > old) {
		if (atomic_compare_exchange_weak_explicit(&H.total_peak, &old, total,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_store_explicit(&H.total_peak_t, t, memory_order_relaxed);
			break;
		}
	}
}

/* Tell the tracker at which host live bytes the total passes its peak. */
static void update_total_at(void)
{
	uint64_t peak = atomic_load_explicit(&H.total_peak, memory_order_relaxed);
	int64_t others = atomic_load_explicit(&H.others_live, memory_order_relaxed);

	if (others <= 0)
		hs_tracker_set_total_at(peak);
	else
		hs_tracker_set_total_at(peak > (uint64_t)others ? peak - (uint64_t)others : 0);
}

/* Host + others now; a new total peak if it is one. */
static void check_total(void)
{
	uint64_t host, hpeak, ht;
	int64_t others = atomic_load_explicit(&H.others_live, memory_order_relaxed);

	hs_tracker_host(&host, &hpeak, &ht);
	raise_total(host + (others > 0 ? (uint64_t)others : 0), hs_now_ns());
}

void hs_heaps_host_crossed(uint64_t host_live)
{
	int64_t others = atomic_load_explicit(&H.others_live, memory_order_relaxed);

	raise_total(host_live + (others > 0 ? (uint64_t)others : 0), hs_now_ns());
	update_total_at();
}

/* First use of another heap: until now the total was the host heap alone. */
static void activate(void)
{
	uint64_t live, peak, t;

	if (hs_likely(atomic_load_explicit(&H.active, memory_order_relaxed)))
		return;
	hs_tracker_host(&live, &peak, &t);
	raise_total(peak, t);
	atomic_store(&H.active, 1);
	update_total_at();
}

/* The counters were reset (tracker generation): every heap starts from zero. Lock held. */
static void check_gen(void)
{
	uint32_t gen = hs_tracker_gen();
	unsigned i;

	if (hs_likely(H.gen == gen))
		return;
	H.gen = gen;
	for (i = 1; i < HSR_MAX_HEAPS; i++) {
		struct heap *hp = &H.heap[i];

		atomic_store(&hp->live_bytes, 0);
		atomic_store(&hp->live_blocks, 0);
		atomic_store(&hp->peak_bytes, 0);
		atomic_store(&hp->peak_t, 0);
		atomic_fetch_add(&hp->epoch, 1);
	}
	atomic_store(&H.others_live, 0);
	atomic_store(&H.total_peak, 0);
	atomic_store(&H.total_peak_t, 0);
	if (atomic_load(&H.active)) {
		atomic_store(&H.active, 0);
		activate();
	}
}

/* Save s's live figures as they were at its heap's latest peak, before they change. */
static void heap_touch(struct heap *hp, struct hs_stack *s)
{
	hs_stack_save_peak(s, atomic_load_explicit(&hp->epoch, memory_order_relaxed));
}

static void raise_heap_peak(struct heap *hp, uint64_t live)
{
	uint64_t old = atomic_load_explicit(&hp->peak_bytes, memory_order_relaxed);

	while (live > old) {
		if (atomic_compare_exchange_weak_explicit(&hp->peak_bytes, &old, live,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			atomic_store_explicit(&hp->peak_t, hs_now_ns(), memory_order_relaxed);
			atomic_fetch_add_explicit(&hp->epoch, 1, memory_order_relaxed);
			break;
		}
	}
}

static void account_alloc(struct heap *hp, struct hs_stack *s, uint64_t size)
{
	int64_t live;

	heap_touch(hp, s);
	atomic_fetch_add_explicit(&s->alloc_calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->alloc_bytes, size, memory_order_relaxed);
	atomic_fetch_add_explicit(&hp->live_blocks, 1, memory_order_relaxed);
	live = atomic_fetch_add_explicit(&hp->live_bytes, (int64_t)size, memory_order_relaxed) +
	       (int64_t)size;
	atomic_fetch_add_explicit(&H.others_live, (int64_t)size, memory_order_relaxed);
	if (live > 0 && (uint64_t)live > atomic_load_explicit(&hp->peak_bytes, memory_order_relaxed))
		raise_heap_peak(hp, (uint64_t)live);
	check_total();
	update_total_at();
}

static void account_free(struct heap *hp, struct hs_stack *s, uint64_t size)
{
	heap_touch(hp, s);
	atomic_fetch_add_explicit(&s->free_calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->freed_bytes, size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&hp->live_blocks, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&hp->live_bytes, (int64_t)size, memory_order_relaxed);
	atomic_fetch_sub_explicit(&H.others_live, (int64_t)size, memory_order_relaxed);
	update_total_at();
}

static unsigned block_home(unsigned heap, uintptr_t key)
{
	uint64_t h = ((uint64_t)key ^ ((uint64_t)heap << 56)) * 0x9e3779b97f4a7c15ull;

	return (unsigned)(h >> (64 - BLOCK_BITS));
}

/* The slot holding (heap, key), or the empty slot where it would go. Lock held. */
static struct block *block_find(unsigned heap, uintptr_t key)
{
	unsigned i = block_home(heap, key);

	for (;; i = (i + 1) & (BLOCK_CAP - 1)) {
		struct block *b = &B.slot[i];

		if (!b->heap || (b->heap == heap && b->key == key))
			return b;
	}
}

/* Empty slot i, moving later entries of its probe run back. Lock held. */
static void block_delete(unsigned i)
{
	unsigned j = i, k;

	for (;;) {
		j = (j + 1) & (BLOCK_CAP - 1);
		if (!B.slot[j].heap)
			break;
		k = block_home(B.slot[j].heap, B.slot[j].key);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		B.slot[i] = B.slot[j];
		i = j;
	}
	memset(&B.slot[i], 0, sizeof(B.slot[i]));
	B.n--;
}

/* Forget a live block; count its free if it belongs to this generation. Lock held. */
static void block_remove(struct block *b)
{
	struct block old = *b;

	block_delete((unsigned)(b - B.slot));
	if (old.gen == (H.gen & 0xffff) && old.stack)
		account_free(&H.heap[old.heap], old.stack, old.size);
}

static int valid_heap(unsigned heap)
{
	return heap > HSR_HEAP_HOST && heap < atomic_load(&H.nheaps);
}

int hs_heaps_block_alloc(unsigned heap, uintptr_t key, uint64_t size, struct hs_stack *s)
{
	struct block *b;
	int err = 0;

	if (!valid_heap(heap) || !s)
		return -EINVAL;
	if (heaps_lock())
		return -EBUSY;
	check_gen();
	activate();
	atomic_store_explicit(&H.heap[heap].used, 1, memory_order_relaxed);
	if (!B.slot && !(B.slot = hs_arena_map(BLOCK_CAP * sizeof(*B.slot)))) {
		err = -ENOMEM;
		goto out_unlock;
	}
	b = block_find(heap, key);
	if (b->heap) {			/* freed behind our back: its address came again */
		block_remove(b);
		b = block_find(heap, key);
	}
	if (B.n >= BLOCK_MAX) {
		atomic_fetch_add_explicit(&B.dropped, 1, memory_order_relaxed);
		err = -ENOSPC;
		goto out_unlock;
	}
	*b = (struct block){ key, size, s, (uint16_t)heap, (uint16_t)(H.gen & 0xffff) };
	B.n++;
	account_alloc(&H.heap[heap], s, size);
out_unlock:
	heaps_unlock();
	return err;
}

int hs_heaps_block_free(unsigned heap, uintptr_t key)
{
	struct block *b;

	if (!valid_heap(heap))
		return -EINVAL;
	if (heaps_lock())
		return -EBUSY;
	check_gen();
	if (B.slot) {
		b = block_find(heap, key);
		if (b->heap)
			block_remove(b);
	}
	heaps_unlock();
	return 0;
}

/* Names compare on their first HS_HEAP_NAME_MAX - 1 bytes (what is kept of them). */
static int same_name(const char *kept, const char *name)
{
	size_t i;

	for (i = 0; i < HS_HEAP_NAME_MAX - 1 && name[i]; i++) {
		if (kept[i] != name[i])
			return 0;
	}
	return kept[i] == '\0';
}

static int find_heap(const char *name)
{
	unsigned i, n = atomic_load(&H.nheaps);

	for (i = 1; i < n; i++) {
		if (same_name(H.heap[i].name, name))
			return (int)i;
	}
	return -ENOENT;
}

int hs_heaps_register(const char *name)
{
	unsigned n;
	int id;

	if (!name || !*name)
		return -EINVAL;
	id = find_heap(name);
	if (id > 0)
		return id;
	if (heaps_lock())
		return -EBUSY;
	id = find_heap(name);
	n = atomic_load(&H.nheaps);
	if (id < 0 && n < HSR_MAX_HEAPS) {
		strncpy(H.heap[n].name, name, HS_HEAP_NAME_MAX - 1);
		atomic_store(&H.heap[n].used, 1);
		atomic_store(&H.nheaps, n + 1);
		id = (int)n;
	}
	if (id > 0) {
		check_gen();
		activate();
	}
	heaps_unlock();
	return id > 0 ? id : -ENOSPC;
}

struct hs_stack *hs_heaps_capture(unsigned heap, uintptr_t ra)
{
	return hs_tracker_capture(HSR_KIND_HEAP_BASE + heap, ra);
}

int hs_heaps_active(void)
{
	return atomic_load_explicit(&H.active, memory_order_relaxed);
}

static uint64_t total_peak(uint64_t *t)
{
	uint64_t live, hpeak, ht, peak = atomic_load(&H.total_peak);

	hs_tracker_host(&live, &hpeak, &ht);
	*t = atomic_load(&H.total_peak_t);
	if (hpeak > peak) {	/* no other heap in use yet (or a race): the host's */
		*t = ht;
		return hpeak;
	}
	return peak;
}

void hs_heaps_peaks(uint64_t *dma_peak, uint64_t *total)
{
	uint64_t t;

	*dma_peak = atomic_load(&H.heap[HSR_HEAP_DMABUF].peak_bytes);
	*total = total_peak(&t);
}

size_t hs_heaps_record_size(uint32_t max)
{
	return 64 + HSR_MAX_HEAPS * (HS_HEAP_NAME_MAX + 80) + ((size_t)max + 2) * 32;
}

/* Fill a 4-byte placeholder with `count` as a padded varint (docs/FORMAT.md). */
static void patch_count(struct hsr_buf *b, size_t at, uint32_t count)
{
	b->buf[at + 0] = 0x80 | (count & 0x7f);
	b->buf[at + 1] = 0x80 | ((count >> 7) & 0x7f);
	b->buf[at + 2] = 0x80 | ((count >> 14) & 0x7f);
	b->buf[at + 3] = (count >> 21) & 0x7f;
}

/* The stacks of heap id that held memory at its peak. */
static void put_heap_stacks(struct hsr_buf *b, unsigned id, uint32_t max,
			    int (*written)(const struct hs_stack *s))
{
	uint64_t epoch = atomic_load(&H.heap[id].epoch), bytes, blocks;
	uint32_t sid, prev = 0, count = 0;
	size_t at = b->len;

	hsr_put_u32le(b, 0);
	for (sid = 1; sid <= max; sid++) {
		struct hs_stack *s = hs_stacktab_get(sid);

		if (!s || hsr_kind_heap(s->kind) != id || !written(s))
			continue;
		hs_tracker_stack_peak(s, epoch, &bytes, &blocks);
		if (!bytes && !blocks)
			continue;
		hsr_put_uv(b, sid - prev);
		prev = sid;
		hsr_put_uv(b, bytes);
		hsr_put_uv(b, blocks);
		count++;
	}
	if (!hsr_buf_overflowed(b))
		patch_count(b, at, count);
}

static void put_heap(struct hsr_buf *b, unsigned id, uint32_t max,
		     int (*written)(const struct hs_stack *s))
{
	struct heap *hp = &H.heap[id];
	int64_t live = atomic_load(&hp->live_bytes), blocks = atomic_load(&hp->live_blocks);

	hsr_put_uv(b, id);
	hsr_put_str(b, hp->name);
	hsr_put_uv(b, live > 0 ? (uint64_t)live : 0);
	hsr_put_uv(b, blocks > 0 ? (uint64_t)blocks : 0);
	hsr_put_uv(b, atomic_load(&hp->peak_bytes));
	hsr_put_uv(b, atomic_load(&hp->peak_t));
	put_heap_stacks(b, id, max, written);
}

void hs_heaps_put(struct hsr_buf *b, uint32_t max, int (*written)(const struct hs_stack *s))
{
	unsigned id, n = atomic_load(&H.nheaps), count = 0;
	uint64_t t, peak;
	size_t rec, at;

	/* Counters reset since the last heap event: zero figures too. Never wait (a crash). */
	if (!in_heaps && !atomic_flag_test_and_set_explicit(&B.lock, memory_order_acquire)) {
		check_gen();
		atomic_flag_clear_explicit(&B.lock, memory_order_release);
	}
	peak = total_peak(&t);
	rec = hsr_record_begin(b, HSR_HEAPS);
	hsr_put_uv(b, hs_now_ns());
	hsr_put_uv(b, peak);
	hsr_put_uv(b, t);
	at = b->len;
	hsr_put_u32le(b, 0);
	for (id = 1; id < n; id++) {
		if (!atomic_load(&H.heap[id].used))
			continue;
		put_heap(b, id, max, written);
		count++;
	}
	hsr_put_uv(b, atomic_load(&B.dropped));
	if (!hsr_buf_overflowed(b))
		patch_count(b, at, count);
	hsr_record_end(b, rec);
}

/* The public API (include/heapscope.h). */

HS_EXPORT int heapscope_heap_register(const char *name)
{
	if (!atomic_load(&hs_state.initialized))
		return -EAGAIN;
	return hs_heaps_register(name);
}

HS_EXPORT void heapscope_heap_alloc(int heap, const void *addr, size_t size)
{
	int saved = errno;

	if (atomic_load(&hs_state.initialized) && hs_should_track() && valid_heap((unsigned)heap))
		hs_heaps_block_alloc((unsigned)heap, (uintptr_t)addr, size,
				     hs_heaps_capture((unsigned)heap,
						      (uintptr_t)__builtin_return_address(0)));
	errno = saved;
}

HS_EXPORT void heapscope_heap_free(int heap, const void *addr)
{
	int saved = errno;

	if (atomic_load(&hs_state.initialized) && !hs_self.internal && valid_heap((unsigned)heap))
		hs_heaps_block_free((unsigned)heap, (uintptr_t)addr);
	errno = saved;
}
