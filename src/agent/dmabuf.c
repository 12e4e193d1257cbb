// SPDX-License-Identifier: MIT
/*
 * dma-buf buffers as heap 1 (see dmabuf.h): which fds and mappings refer to which buffer,
 * and how many references each buffer has left. A buffer's allocation and free are handed
 * to heaps.c, keyed by its inode (on kernels before 5.x, whose dma-bufs share one anonymous
 * inode, by a number of our own: fds dup'd from one another still count as one buffer).
 * All changes happen under one spinlock taken with every signal blocked; the hooks test
 * hs_dmabuf_fast first, so programs without dma-bufs never come here. Never calls malloc;
 * the tables are mapped from the agent's arena when the first dma-buf appears.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "dmabuf.h"
#include "heaps.h"
#include "siglock.h"

#ifndef DMA_BUF_MAGIC
#define DMA_BUF_MAGIC 0x444d4142	/* "DMAB", linux/magic.h */
#endif

#define MAX_BUFS 8192
#define MAX_MAPS 8192

struct hs_dmabuf_fast hs_dmabuf_fast;

struct dbuf {
	uint64_t key;			/* inode, or (top bit | n) without a dma-buf fs */
	uint32_t refs;			/* fds and mappings; 0: a free slot */
};

struct dmap {
	uintptr_t start, end;		/* page-rounded; end 0: a free slot */
	uint32_t slot;			/* buffer slot + 1 */
};

static struct {
	atomic_flag lock;		/* hs_siglock: a handler might close a dma-buf fd */
	uint32_t *fd_buf;		/* also published in hs_dmabuf_fast */
	int max_fd;			/* highest fd ever known */
	unsigned nbufs_hw, nmaps_hw;	/* slots used so far (high-water marks) */
	uint64_t next_key;
	uintptr_t map_lo, map_hi;	/* every mapping lies in [map_lo, map_hi) */
	struct dbuf *bufs;
	struct dmap *maps;
} D;

void hs_dmabuf_lock_all(void)
{
	while (atomic_flag_test_and_set_explicit(&D.lock, memory_order_acquire))
		hs_cpu_relax();
}

void hs_dmabuf_unlock_all(void)
{
	atomic_flag_clear_explicit(&D.lock, memory_order_release);
}

/* Not in a vfork child: it shares our memory but not our fds' future. */
static int own_process(void)
{
	return atomic_load(&hs_state.initialized) && getpid() == atomic_load(&hs_state.pid);
}

/* The tables, mapped on first use. Lock held. 0 or -ENOMEM. */
static int tables(void)
{
	if (D.fd_buf)
		return 0;
	D.bufs = hs_arena_map(MAX_BUFS * sizeof(*D.bufs));
	D.maps = hs_arena_map(MAX_MAPS * sizeof(*D.maps));
	D.fd_buf = hs_arena_map(HS_DMABUF_MAX_FD * sizeof(*D.fd_buf));
	if (!D.bufs || !D.maps || !D.fd_buf) {
		D.fd_buf = NULL;
		return -ENOMEM;
	}
	atomic_store_explicit(&hs_dmabuf_fast.fd_buf, D.fd_buf, memory_order_release);
	return 0;
}

/* One reference to buffer slot + 1 less; the buffer is freed with its last. Lock held. */
static void unref(uint32_t slot)
{
	struct dbuf *b = &D.bufs[slot - 1];

	if (!b->refs || --b->refs)
		return;
	hs_heaps_block_free(HSR_HEAP_DMABUF, (uintptr_t)b->key);
	b->key = 0;
}

/* fd now refers to slot + 1 (0: to nothing we follow). Lock held. */
static void fd_point(int fd, uint32_t slot)
{
	uint32_t old = D.fd_buf[fd];

	if (old == slot)
		return;
	__atomic_store_n(&D.fd_buf[fd], slot, __ATOMIC_RELAXED);
	if (slot && !old)
		atomic_fetch_add_explicit(&hs_dmabuf_fast.nfds, 1, memory_order_relaxed);
	if (!slot && old)
		atomic_fetch_sub_explicit(&hs_dmabuf_fast.nfds, 1, memory_order_relaxed);
	if (slot) {
		D.bufs[slot - 1].refs++;
		if (fd > D.max_fd)
			D.max_fd = fd;
	}
	if (old)
		unref(old);
}

static int fd_ok(int fd)
{
	return fd >= 0 && (unsigned)fd < HS_DMABUF_MAX_FD;
}

/* The slot of buffer `key`, or a new one (refs 0; *created set). 0 when full. Lock held. */
static uint32_t slot_of(uint64_t key, int *created)
{
	uint32_t i, free_slot = 0;

	*created = 0;
	for (i = 0; i < D.nbufs_hw; i++) {
		if (D.bufs[i].refs && D.bufs[i].key == key)
			return i + 1;
		if (!D.bufs[i].refs && !free_slot)
			free_slot = i + 1;
	}
	if (!free_slot && D.nbufs_hw < MAX_BUFS)
		free_slot = ++D.nbufs_hw;
	if (free_slot) {
		D.bufs[free_slot - 1].key = key;
		D.bufs[free_slot - 1].refs = 0;
		*created = 1;
	}
	return free_slot;
}

/* The fd an allocation ioctl returned in its argument, or -1. */
static int returned_fd(unsigned long request, const void *arg)
{
	if (!arg)
		return -1;
	if (request == HS_DRM_IOCTL_PRIME_HANDLE_TO_FD)
		return ((const struct hs_drm_prime_handle *)arg)->fd;
	if (request == HS_DMA_HEAP_IOCTL_ALLOC)
		return (int)((const struct hs_dma_heap_allocation_data *)arg)->fd;
	if (request == HS_ION_IOC_ALLOC)
		return (int)((const struct hs_ion_allocation_data *)arg)->fd;
	return ((const struct hs_ion_fd_data *)arg)->fd;
}

/* What the ioctl itself said the size is, for when the fd can't tell (lseek). */
static uint64_t requested_len(unsigned long request, const void *arg)
{
	if (request == HS_DMA_HEAP_IOCTL_ALLOC)
		return ((const struct hs_dma_heap_allocation_data *)arg)->len;
	if (request == HS_ION_IOC_ALLOC)
		return ((const struct hs_ion_allocation_data *)arg)->len;
	return 0;
}

/* The buffer's identity and size, from its fd. 0 or -errno. */
static int describe(int fd, uint64_t *key, uint64_t *size)
{
	struct statfs sfs;
	struct stat st;
	off_t end;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == DMA_BUF_MAGIC)
		*key = st.st_ino;
	else
		*key = 0;	/* an anonymous inode: decided under the lock */
	end = lseek(fd, 0, SEEK_END);
	*size = end > 0 ? (uint64_t)end : 0;
	if (end >= 0)
		lseek(fd, 0, SEEK_SET);
	return 0;
}

void hs_dmabuf_ioctl_done(unsigned long request, void *arg, uintptr_t ra)
{
	int fd = returned_fd(request, arg), created;
	uint64_t key = 0, size = 0;
	struct hs_stack *s;
	uint32_t slot;
	sigset_t old;

	if (!fd_ok(fd) || !own_process() || describe(fd, &key, &size) < 0)
		return;
	if (!size)
		size = requested_len(request, arg);
	s = hs_heaps_capture(HSR_HEAP_DMABUF, ra);
	hs_siglock(&D.lock, &old);
	if (tables() < 0)
		goto out_unlock;
	if (!key)
		key = (uint64_t)(UINTPTR_MAX / 2 + 1) | ++D.next_key;	/* the top bit: ours */
	slot = slot_of(key, &created);
	if (!slot)
		goto out_unlock;
	if (created)
		hs_heaps_block_alloc(HSR_HEAP_DMABUF, (uintptr_t)key, size, s);
	fd_point(fd, slot);
out_unlock:
	hs_sigunlock(&D.lock, &old);
}

void hs_dmabuf_close(int fd)
{
	sigset_t old;

	if (!fd_ok(fd) || !own_process())
		return;
	hs_siglock(&D.lock, &old);
	if (D.fd_buf)
		fd_point(fd, 0);
	hs_sigunlock(&D.lock, &old);
}

void hs_dmabuf_dup(int oldfd, int newfd)
{
	sigset_t old;

	if (!fd_ok(oldfd) || !fd_ok(newfd) || oldfd == newfd || !own_process())
		return;
	hs_siglock(&D.lock, &old);
	if (D.fd_buf)
		fd_point(newfd, D.fd_buf[oldfd]);
	hs_sigunlock(&D.lock, &old);
}

void hs_dmabuf_close_range(unsigned first, unsigned last)
{
	sigset_t old;
	unsigned fd;

	if (!own_process())
		return;
	hs_siglock(&D.lock, &old);
	for (fd = first; D.fd_buf && fd <= last && fd <= (unsigned)D.max_fd; fd++)
		fd_point((int)fd, 0);
	hs_sigunlock(&D.lock, &old);
}

static uintptr_t page_up(uintptr_t v)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	return (v + page - 1) & ~(page - 1);
}

void hs_dmabuf_mmap(int fd, void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr, end = page_up(start + len);
	sigset_t old;
	unsigned i;

	if (!fd_ok(fd) || !len || !own_process())
		return;
	hs_siglock(&D.lock, &old);
	if (!D.fd_buf || !D.fd_buf[fd])
		goto out_unlock;
	for (i = 0; i < D.nmaps_hw && D.maps[i].end; i++)
		;
	if (i == MAX_MAPS)
		goto out_unlock;
	if (i == D.nmaps_hw)
		D.nmaps_hw++;
	D.maps[i] = (struct dmap){ start, end, D.fd_buf[fd] };
	D.bufs[D.fd_buf[fd] - 1].refs++;
	if (!atomic_fetch_add(&hs_dmabuf_fast.nmaps, 1)) {
		D.map_lo = start;
		D.map_hi = end;
	}
	if (start < D.map_lo)
		D.map_lo = start;
	if (end > D.map_hi)
		D.map_hi = end;
out_unlock:
	hs_sigunlock(&D.lock, &old);
}

/* Mapping i is gone. Lock held. */
static void map_drop(unsigned i)
{
	uint32_t slot = D.maps[i].slot;

	D.maps[i].start = D.maps[i].end = 0;
	atomic_fetch_sub(&hs_dmabuf_fast.nmaps, 1);
	unref(slot);
}

/* [lo, hi) was unmapped: mappings inside it go, those it overlaps at one end shrink. */
static void unmap_range(uintptr_t lo, uintptr_t hi)
{
	unsigned i;

	for (i = 0; i < D.nmaps_hw; i++) {
		struct dmap *m = &D.maps[i];

		if (!m->end || hi <= m->start || lo >= m->end)
			continue;
		if (lo <= m->start && hi >= m->end)
			map_drop(i);
		else if (lo <= m->start)
			m->start = hi;
		else if (hi >= m->end)
			m->end = lo;
		/* a hole in the middle: the rest is still mapped */
	}
}

void hs_dmabuf_munmap(void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr, hi = page_up(lo + len);
	sigset_t old;

	if (!len || !own_process())
		return;
	hs_siglock(&D.lock, &old);
	if (D.maps && hi > D.map_lo && lo < D.map_hi)
		unmap_range(lo, hi);
	hs_sigunlock(&D.lock, &old);
}

void hs_dmabuf_mremap(void *old_addr, size_t old_len, void *new_addr, size_t new_len)
{
	uintptr_t start = (uintptr_t)old_addr, end = page_up(start + old_len);
	sigset_t old;
	unsigned i;

	if (!own_process())
		return;
	hs_siglock(&D.lock, &old);
	for (i = 0; D.maps && i < D.nmaps_hw; i++) {
		struct dmap *m = &D.maps[i];

		if (m->end && m->start == start && m->end == end) {
			m->start = (uintptr_t)new_addr;
			m->end = page_up(m->start + new_len);
			if (m->start < D.map_lo)
				D.map_lo = m->start;
			if (m->end > D.map_hi)
				D.map_hi = m->end;
			break;
		}
	}
	hs_sigunlock(&D.lock, &old);
}

void hs_dmabuf_before_exec(void)
{
	sigset_t old;
	unsigned i;
	int fd;

	if (!atomic_load_explicit(&hs_dmabuf_fast.nfds, memory_order_relaxed) &&
	    !hs_dmabuf_mapped_any())
		return;
	if (!own_process())
		return;
	hs_siglock(&D.lock, &old);
	for (fd = 0; D.fd_buf && fd <= D.max_fd; fd++) {
		if (D.fd_buf[fd] && (syscall(SYS_fcntl, fd, F_GETFD) & FD_CLOEXEC))
			fd_point(fd, 0);
	}
	for (i = 0; D.maps && i < D.nmaps_hw; i++) {
		if (D.maps[i].end)
			map_drop(i);
	}
	hs_sigunlock(&D.lock, &old);
}
