// SPDX-License-Identifier: MIT
/*
 * The stack table (see stacktab.h): an open-addressing hash of pointers to stack records,
 * filled with CAS. It starts small (a table touched at random costs memory for every page
 * it spans) and doubles at half load: the thread that finds it full copies it into a new
 * table and publishes that; lookups go on in the old one meanwhile (it stays valid and is
 * never freed), inserters wait for the copy, except a nested call (a signal handler) which
 * inserts in the old table and may create a duplicate record — harmless for the figures.
 * Records come from the agent's arena and are never freed. Must never call malloc.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"
#include "arena.h"
#include "hsr_format.h"
#include "modules.h"
#include "stacktab.h"

struct table {
	uint64_t mask;
	_Atomic(struct hs_stack *) slots[];
};

#define INITIAL_SLOTS 4096

static _Atomic(struct table *) cur;
static atomic_int migrating;
static atomic_uint inflight;		/* inserters at work (intern_slow) */
static struct hs_stack *_Atomic *by_id;
/* by id, the overflow record's (max + 1) too; mapped when sampling first starts */
static struct hs_stack_half *_Atomic halves;
static struct hs_stack_half no_half;	/* where a race with that start lands */
static uint64_t max_slots;
static unsigned max_stacks;
static atomic_uint next_id;
static atomic_ullong dropped;
static struct hs_stack overflow;
static struct hs_stack given_up;	/* by_id's mark of an id lost in a race, for good */
static atomic_uint ready;		/* ids 1..ready are all published or given up */

static struct table *table_new(uint64_t nslots)
{
	struct table *t = hs_arena_map(sizeof(*t) + nslots * sizeof(t->slots[0]));

	if (t)
		t->mask = nslots - 1;
	return t;
}

/* The hash of (kind, frames) from its chain's state over all the frames (stacktab.h). */
static inline void stack_hash(unsigned kind, const uintptr_t *frames, size_t n, uint64_t *h1,
			      uint64_t *h2)
{
	struct hs_stack_hash st = hs_stack_hash_seed();

	for (size_t i = n; i-- > 0;)
		st = hs_stack_hash_step(st, frames[i]);
	hs_stack_hash_final(st, kind, n, h1, h2);
}

static inline int stack_equal(const struct hs_stack *s, uint64_t h1, uint64_t h2,
			      unsigned kind, size_t n)
{
	return s->hash == h1 && s->hash2 == h2 && s->kind == kind && s->depth == n;
}

/* ---- the frame tree ----------------------------------------------------------------- */

/*
 * Nodes 1, 2, ... in pages that never move (readers index them without a lock); created
 * under `nodes.lock` only, through an index of (parent, pc) that only the lock holder
 * reads. A parent's id is always below its children's. A page keeps its nodes' pcs and
 * parents in two arrays: 12 bytes a node on 64-bit, not 16 with a struct's padding.
 */
#define NODE_PAGE_BITS 12
#define NODE_PAGE (1u << NODE_PAGE_BITS)
#define NODE_PAGES (1u << 14)		/* at most 64M nodes */

struct fpage {
	uintptr_t pc[NODE_PAGE];
	uint32_t parent[NODE_PAGE];
};

static struct {
	atomic_flag lock;
	struct fpage *_Atomic *pages;
	atomic_uint count;
	uint32_t *index;		/* node ids, open addressing by (parent, pc) */
	uint32_t mask;
} nodes;

/* Node id's pc and parent (id from 1 to the count published). */
static inline void node_read(uint32_t id, uintptr_t *pc, uint32_t *parent)
{
	const struct fpage *pg =
		atomic_load_explicit(&nodes.pages[id >> NODE_PAGE_BITS], memory_order_acquire);

	*pc = pg->pc[id & (NODE_PAGE - 1)];
	*parent = pg->parent[id & (NODE_PAGE - 1)];
}

uintptr_t hs_frames_next(struct hs_frames *it)
{
	uintptr_t pc;

	if (it->own)
		return *it->own++;
	if (!it->node)
		return 0;
	node_read(it->node, &pc, &it->node);
	return pc;
}

size_t hs_stacktab_frames(const struct hs_stack *s, uintptr_t *out, size_t max)
{
	struct hs_frames it = hs_frames_of(s);
	size_t i;

	for (i = 0; i < s->depth && i < max; i++)
		out[i] = hs_frames_next(&it);
	return i;
}

void hs_stacktab_node(uint32_t id, uintptr_t *pc, uint32_t *parent)
{
	node_read(id, pc, parent);
}

uint32_t hs_stacktab_nodes(void)
{
	return atomic_load_explicit(&nodes.count, memory_order_acquire);
}

static inline uint64_t node_hash(uint32_t parent, uintptr_t pc)
{
	uint64_t h = ((uint64_t)pc ^ ((uint64_t)parent << 40 | parent)) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 32);
}

static void index_put(uint32_t *index, uint32_t mask, uint32_t id)
{
	uintptr_t pc;
	uint32_t parent, i;

	node_read(id, &pc, &parent);
	i = (uint32_t)node_hash(parent, pc) & mask;

	while (index[i])
		i = (i + 1) & mask;
	index[i] = id;
}

/* Double the index at three quarters' load. 0, or -1 when out of memory. */
static int index_grow(void)
{
	uint32_t count = atomic_load_explicit(&nodes.count, memory_order_relaxed);
	uint32_t cap = nodes.mask ? (nodes.mask + 1) * 2 : 1u << 12, *index;

	if (nodes.mask && (uint64_t)(count + 1) * 4 < ((uint64_t)nodes.mask + 1) * 3)
		return 0;
	index = hs_arena_map((size_t)cap * sizeof(*index));
	if (!index)
		return -1;
	for (uint32_t id = 1; id <= count; id++)
		index_put(index, cap - 1, id);
	if (nodes.index)
		munmap(nodes.index, (size_t)(nodes.mask + 1) * sizeof(*nodes.index));
	nodes.index = index;
	nodes.mask = cap - 1;
	return 0;
}

/* The node (parent, pc), added if new; 0 when out of memory or nodes. Under the lock. */
static uint32_t node_get(uint32_t parent, uintptr_t pc)
{
	uint32_t i, id, count;
	struct fpage *page;

	if (index_grow())
		return 0;
	for (i = (uint32_t)node_hash(parent, pc) & nodes.mask; (id = nodes.index[i]);
	     i = (i + 1) & nodes.mask) {
		uintptr_t id_pc;
		uint32_t id_parent;

		node_read(id, &id_pc, &id_parent);
		if (id_pc == pc && id_parent == parent)
			return id;
	}
	count = atomic_load_explicit(&nodes.count, memory_order_relaxed);
	id = count + 1;
	if (id >= NODE_PAGE * NODE_PAGES)
		return 0;
	page = atomic_load_explicit(&nodes.pages[id >> NODE_PAGE_BITS], memory_order_relaxed);
	if (!page) {
		page = hs_arena_map(sizeof(*page));
		if (!page)
			return 0;
		atomic_store_explicit(&nodes.pages[id >> NODE_PAGE_BITS], page,
				      memory_order_release);
	}
	page->pc[id & (NODE_PAGE - 1)] = pc;
	page->parent[id & (NODE_PAGE - 1)] = parent;
	nodes.index[i] = id;
	atomic_store_explicit(&nodes.count, id, memory_order_release);
	return id;
}

void hs_stacktab_lock(void)
{
	hs_spin_lock(&nodes.lock);
}

void hs_stacktab_unlock(void)
{
	atomic_flag_clear_explicit(&nodes.lock, memory_order_release);
}

static struct hs_stack *published(struct hs_stack *s);

void hs_stacktab_atfork_child(void)
{
	uint32_t max = hs_stacktab_max_id(), id, unpublished = 0;
	const struct table *t = atomic_load(&cur);

	/* the threads that were inserting or growing did not come along, nor their ids */
	atomic_store(&inflight, 0);
	atomic_store(&migrating, 0);
	for (id = atomic_load(&ready) + 1; by_id && id <= max; id++)
		unpublished += !atomic_load_explicit(&by_id[id], memory_order_relaxed);
	/*
	 * A record such a thread had put in the table is whole: published, so that the child
	 * counts and writes the allocations it sees on it (the table is scanned only then).
	 */
	for (uint64_t i = 0; unpublished && t && i <= t->mask; i++) {
		struct hs_stack *s = atomic_load_explicit(&t->slots[i], memory_order_relaxed);

		if (s)
			published(s);
	}
	for (id = atomic_load(&ready) + 1; by_id && id <= max; id++)
		if (!atomic_load_explicit(&by_id[id], memory_order_relaxed))
			atomic_store_explicit(&by_id[id], &given_up, memory_order_relaxed);
	hs_stacktab_unlock();
}

/*
 * The leaf node of frames[0..n), with the nodes it lacks added; 0 on failure. A nested
 * call (a signal handler, maybe of the lock's holder) only tries the lock.
 */
static uint32_t frames_leaf(const uintptr_t *frames, size_t n, int nested)
{
	uint32_t node = 0;

	if (!n)
		return 0;
	hs_self.interning++;	/* first: a handler landing while we wait only tries, too */
	if (nested) {
		if (atomic_flag_test_and_set_explicit(&nodes.lock, memory_order_acquire)) {
			hs_self.interning--;
			return 0;
		}
	} else {
		hs_stacktab_lock();
	}
	for (size_t i = n; i-- > 0;) {
		node = node_get(node, frames[i]);
		if (!node)
			break;
	}
	hs_self.interning--;
	hs_stacktab_unlock();
	return node;
}

static struct hs_stack *stack_new(uint64_t h1, uint64_t h2, unsigned kind, uint32_t leaf,
				  const uintptr_t *frames, size_t n)
{
	size_t extra = n && !leaf ? n * sizeof(*frames) : 0;	/* outside the tree */
	struct hs_stack *s = hs_arena_alloc(sizeof(*s) + extra, 8);

	if (!s)
		return NULL;
	if (extra) {
		s->own = 1;
		memcpy(s + 1, frames, extra);
	}
	s->hash = h1;
	s->hash2 = h2;
	s->kind = (uint8_t)kind;
	s->depth = (uint16_t)n;
	s->leaf = leaf;
	s->epoch = hs_modules_epoch();
	return s;
}

int hs_stacktab_init(unsigned max)
{
	max_slots = INITIAL_SLOTS;
	while (max_slots < (uint64_t)max * 2)
		max_slots <<= 1;
	atomic_store(&cur, table_new(INITIAL_SLOTS));
	by_id = hs_arena_map(((size_t)max + 2) * sizeof(*by_id));
	if (!nodes.pages)
		nodes.pages = hs_arena_map(NODE_PAGES * sizeof(*nodes.pages));
	if (!atomic_load(&cur) || !by_id || !nodes.pages)
		return -ENOMEM;
	max_stacks = max;
	overflow.kind = HSR_KIND_NONE;
	overflow.id = max + 1;
	return 0;
}

static struct hs_stack *refuse(void)
{
	atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
	return &overflow;
}

/*
 * A record is in the table (place) before its id names it (by_id): another thread finds it
 * there meanwhile, counts its allocations on it, and the frees of those blocks look it up
 * by id. Whoever finds it unpublished publishes it: before, frees in that window went
 * uncounted (t0800's stress_mt under qemu-user: up to 1,249 of 160,000 in 3 of 2,060 runs,
 * while the interning thread was preempted between the two stores).
 */
static inline struct hs_stack *published(struct hs_stack *s)
{
	if (hs_unlikely(!atomic_load_explicit(&s->published, memory_order_acquire))) {
		struct hs_stack *none = NULL;

		/* fails only if published meanwhile, or given up (hs_stacktab_ready_id) */
		atomic_compare_exchange_strong_explicit(&by_id[s->id], &none, s,
							memory_order_acq_rel, memory_order_acquire);
		atomic_store_explicit(&s->published, 1, memory_order_release);
	}
	return s;
}

/* Inline in each caller: a stack's lookup is on every allocation whose walk is not the last's. */
static inline __attribute__((always_inline)) struct hs_stack *
lookup(const struct table *t, uint64_t h1, uint64_t h2, unsigned kind, size_t n)
{
	uint64_t i;

	for (i = h1 & t->mask;; i = (i + 1) & t->mask) {
		struct hs_stack *s = atomic_load_explicit(&t->slots[i], memory_order_acquire);

		if (!s)
			return NULL;
		if (stack_equal(s, h1, h2, kind, n))
			return s;
	}
}

/* Put s in t unless an equal stack is there; the one that is in t. */
static struct hs_stack *place(struct table *t, struct hs_stack *s)
{
	uint64_t i;

	for (i = s->hash & t->mask;; i = (i + 1) & t->mask) {
		struct hs_stack *o = NULL;

		if (atomic_compare_exchange_strong_explicit(&t->slots[i], &o, s,
							    memory_order_acq_rel,
							    memory_order_acquire))
			return s;
		if (stack_equal(o, s->hash, s->hash2, s->kind, s->depth))
			return o;
	}
}

/* Double the table (the caller won `migrating`). */
static void grow(struct table *old)
{
	struct table *t = table_new((old->mask + 1) * 2);
	uint64_t i;

	if (t) {
		size_t bytes = sizeof(*old) + (old->mask + 1) * sizeof(old->slots[0]);

		for (i = 0; i <= old->mask; i++) {
			struct hs_stack *s = atomic_load(&old->slots[i]);

			if (s)
				place(t, s);
		}
		atomic_store_explicit(&cur, t, memory_order_release);
		/*
		 * A lookup may still be reading the old table, so it stays mapped; but its pages
		 * after the first (which holds the mask) go back to the kernel and read as zero
		 * from now on: empty slots, a miss, which the slow path looks up again in the
		 * new table. 224 KB of python3's RSS.
		 */
		if (bytes > 4096)
			madvise((char *)old + 4096, ((bytes + 4095) & ~(size_t)4095) - 4096,
				MADV_DONTNEED);
	}
	atomic_store_explicit(&migrating, 0, memory_order_release);
}

/* Room for one more stack: grow at half load, or wait for a grow in progress. */
static struct table *room(int nested)
{
	struct table *t = atomic_load_explicit(&cur, memory_order_acquire);
	uint32_t n = atomic_load_explicit(&next_id, memory_order_relaxed);
	int expected = 0;

	if ((uint64_t)n * 2 >= t->mask + 1 && t->mask + 1 < max_slots && !nested &&
	    atomic_compare_exchange_strong(&migrating, &expected, 1)) {
		/* inserters that began before the grow finish in the old table first */
		for (unsigned spins = 0; atomic_load(&inflight);)
			hs_backoff(&spins);
		if (t == atomic_load(&cur))
			grow(t);
		else
			atomic_store(&migrating, 0);
	}
	while (!nested && atomic_load_explicit(&migrating, memory_order_acquire))
		hs_cpu_relax();
	return atomic_load_explicit(&cur, memory_order_acquire);
}

/* Out of line: the found path above it then saves no registers for it. */
static __attribute__((noinline)) struct hs_stack *intern_slow(unsigned kind,
							       const uintptr_t *frames, size_t n,
							       uint64_t h1, uint64_t h2,
							       int nested);

struct hs_stack *hs_stacktab_intern(unsigned kind, const uintptr_t *frames, size_t n)
{
	uint64_t h1, h2;

	stack_hash(kind, frames, n, &h1, &h2);
	return hs_stacktab_intern_hashed(kind, frames, n, h1, h2);
}

struct hs_stack *hs_stacktab_intern_hashed(unsigned kind, const uintptr_t *frames, size_t n,
					   uint64_t h1, uint64_t h2)
{
	struct table *t = atomic_load_explicit(&cur, memory_order_acquire);
	struct hs_stack *s;

	s = lookup(t, h1, h2, kind, n);
	if (hs_likely(s != NULL))
		return published(s);
	if (atomic_load_explicit(&next_id, memory_order_relaxed) >= max_stacks)
		return refuse();
	/*
	 * A signal handler's call may land here while this thread is growing the table or the
	 * frame tree, before the tracker marks it busy: it must neither wait for that nor
	 * start a grow.
	 */
	return intern_slow(kind, frames, n, h1, h2, hs_self.busy || hs_self.interning);
}

/* Create the stack and put it in t (its id in by_id): the record that is in t for it. */
static struct hs_stack *insert_new(struct table *t, unsigned kind, const uintptr_t *frames,
				   size_t n, uint64_t h1, uint64_t h2, int nested)
{
	struct hs_stack *s = lookup(t, h1, h2, kind, n), *fresh, *won;
	uint32_t leaf;

	if (s)
		return published(s);
	leaf = frames_leaf(frames, n, nested);
	if (n && !leaf && !nested)
		return refuse();	/* out of memory */
	fresh = stack_new(h1, h2, kind, leaf, frames, n);
	if (!fresh)
		return refuse();
	fresh->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) + 1;
	won = place(t, fresh);
	if (won != fresh) {
		/* another thread interned it first; our id is a hole */
		atomic_store_explicit(&by_id[fresh->id], &given_up, memory_order_release);
		return published(won);
	}
	if (hs_stacktab_placed)
		hs_stacktab_placed(fresh);
	atomic_store_explicit(&by_id[fresh->id], fresh, memory_order_release);
	atomic_store_explicit(&fresh->published, 1, memory_order_release);
	/* A nested call's grow may have copied the table before our stack was in it. */
	while (t != atomic_load_explicit(&cur, memory_order_acquire)) {
		t = atomic_load_explicit(&cur, memory_order_acquire);
		won = place(t, fresh);
		if (won != fresh)
			return published(won);
	}
	return fresh;
}

/*
 * A new stack. Inserters count themselves in `inflight` while they insert, and a grow
 * waits for them, so that no insert lands in a table already copied: two threads
 * interning one stack during a grow once made two records of it (unit.stacktab). A nested
 * call (a signal handler) neither waits nor counts; it may still make a duplicate record,
 * which only splits the stack's figures between two entries.
 */
static __attribute__((noinline)) struct hs_stack *intern_slow(unsigned kind,
							       const uintptr_t *frames, size_t n,
							       uint64_t h1, uint64_t h2,
							       int nested)
{
	struct hs_stack *s;
	struct table *t;

	hs_self.interning++;
	for (;;) {
		t = room(nested);
		if (nested)
			break;
		atomic_fetch_add(&inflight, 1);
		if (!atomic_load(&migrating))
			break;
		atomic_fetch_sub(&inflight, 1);	/* a grow began: wait for it */
	}
	if (!nested)
		t = atomic_load_explicit(&cur, memory_order_acquire);
	s = insert_new(t, kind, frames, n, h1, h2, nested);
	if (!nested)
		atomic_fetch_sub(&inflight, 1);
	hs_self.interning--;
	return s;
}

int hs_stacktab_halves(void)
{
	static atomic_flag mapping;
	struct hs_stack_half *h;

	if (atomic_load_explicit(&halves, memory_order_acquire))
		return 0;
	hs_spin_lock(&mapping);		/* ctl and a reset at once: rare, short */
	if (!atomic_load_explicit(&halves, memory_order_acquire)) {
		h = hs_arena_map(((size_t)max_stacks + 2) * sizeof(*h));
		if (h)
			atomic_store_explicit(&halves, h, memory_order_release);
	}
	atomic_flag_clear_explicit(&mapping, memory_order_release);
	return atomic_load_explicit(&halves, memory_order_acquire) ? 0 : -ENOMEM;
}

struct hs_stack_half *hs_stacktab_half(const struct hs_stack *s)
{
	struct hs_stack_half *h = atomic_load_explicit(&halves, memory_order_acquire);

	return h ? &h[s->id] : NULL;
}

struct hs_stack_half *hs_stacktab_half_of_sampled(const struct hs_stack *s)
{
	struct hs_stack_half *h = hs_stacktab_half(s);

	return h ? h : &no_half;
}

size_t hs_stacktab_table_bytes(void)
{
	const struct table *t = atomic_load(&cur);

	return (t->mask + 1) * sizeof(t->slots[0]) +
	       (size_t)hs_stacktab_max_id() * sizeof(*by_id) +
	       (size_t)hs_stacktab_nodes() * (sizeof(uintptr_t) + sizeof(uint32_t)) +
	       (nodes.mask ? (size_t)(nodes.mask + 1) * sizeof(*nodes.index) : 0);
}

uint32_t hs_stacktab_max_id(void)
{
	uint32_t n = atomic_load_explicit(&next_id, memory_order_acquire);

	return n < max_stacks ? n : max_stacks;
}

struct hs_stack *hs_stacktab_get(uint32_t id)
{
	struct hs_stack *s;

	if (id == 0 || id > hs_stacktab_max_id())
		return NULL;
	s = atomic_load_explicit(&by_id[id], memory_order_acquire);
	return s == &given_up ? NULL : s;
}

/*
 * An id left unpublished for a second: its thread will not publish it (a signal handler
 * that interrupted the insert and never returned, by longjmp). Given up then, so that the
 * stacks after it are written; if it is published after all, readers see a hole there.
 */
#define STUCK_NS 1000000000ull

uint32_t hs_stacktab_ready_id(void)
{
	static uint32_t stuck_id;	/* the writer's own (it calls this under its lock) */
	static uint64_t stuck_since;
	uint32_t max = hs_stacktab_max_id(), r = atomic_load_explicit(&ready, memory_order_relaxed);

	while (r < max) {
		struct hs_stack *s = atomic_load_explicit(&by_id[r + 1], memory_order_acquire);

		if (!s) {
			uint64_t now = hs_now_ns();

			if (stuck_id != r + 1) {
				stuck_id = r + 1;
				stuck_since = now;
				break;
			}
			if (now - stuck_since < STUCK_NS)
				break;
			/* given up; or published this very moment (the CAS fails): taken either way */
			atomic_compare_exchange_strong(&by_id[r + 1], &s, &given_up);
		}
		r++;
	}
	atomic_store_explicit(&ready, r, memory_order_relaxed);
	return r;
}

struct hs_stack *hs_stacktab_overflow(void)
{
	return &overflow;
}

uint64_t hs_stacktab_dropped(void)
{
	return atomic_load_explicit(&dropped, memory_order_relaxed);
}
