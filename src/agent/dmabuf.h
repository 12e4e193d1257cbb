/* SPDX-License-Identifier: MIT */
/*
 * dma-buf buffers as heap 1 (heaps.h). A buffer is born when an allocation ioctl returns a
 * dma-buf fd (DMA_HEAP_IOCTL_ALLOC, ION, DRM_IOCTL_PRIME_HANDLE_TO_FD), is known by its
 * inode (every fd and mapping of one buffer shares it), has the size of its file, and dies
 * when its last reference goes: the fds (close, dup2/dup3 over it, close_range, CLOEXEC at
 * exec) and the mappings (munmap, mmap over it). hooks_fd.c calls in here; the tests on the
 * hot paths of close, ioctl and mmap are the inline ones below: one load while the process
 * has no dma-buf, one table read otherwise. docs/HEAPS.md has the rules.
 *
 * The slow paths take one spinlock with every signal blocked, so a handler can't interrupt
 * its holder; fork handlers (heaps.c) take it too. Events in a vfork child, which shares the
 * parent's memory, are ignored. Never calls malloc.
 */
#ifndef HS_DMABUF_H
#define HS_DMABUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#define HS_DMABUF_MAX_FD (1u << 20)	/* fds above are not followed */

struct hs_dmabuf_fast {
	_Atomic unsigned nfds;		/* fds known to be dma-bufs */
	_Atomic unsigned nmaps;		/* mappings of dma-bufs */
	_Atomic(uint32_t *) fd_buf;	/* fd -> buffer slot + 1, 0: not a dma-buf we know */
};
extern struct hs_dmabuf_fast hs_dmabuf_fast;

/* Whether fd is a dma-buf fd the agent follows. Async-signal-safe. */
static inline int hs_dmabuf_fd_known(int fd)
{
	uint32_t *t;

	if (__builtin_expect(!atomic_load_explicit(&hs_dmabuf_fast.nfds, memory_order_relaxed), 1))
		return 0;
	t = atomic_load_explicit(&hs_dmabuf_fast.fd_buf, memory_order_acquire);
	return fd >= 0 && (unsigned)fd < HS_DMABUF_MAX_FD && t &&
	       __atomic_load_n(&t[fd], __ATOMIC_RELAXED);
}

/* Whether some dma-buf is mapped (munmap, mremap and fixed mmaps must look). */
static inline int hs_dmabuf_mapped_any(void)
{
	return __builtin_expect(atomic_load_explicit(&hs_dmabuf_fast.nmaps,
						     memory_order_relaxed) != 0, 0);
}

/*
 * The ioctls that return a new dma-buf fd, with the layouts of their arguments (the
 * kernel's uapi: linux/dma-heap.h, drm/drm.h, and ION's staging/android/uapi/ion.h, whose
 * header is not installed; legacy ION before Linux 4.12 gave fds by SHARE and MAP).
 */
struct hs_dma_heap_allocation_data {	/* DMA_HEAP_IOCTL_ALLOC */
	uint64_t len;
	uint32_t fd;
	uint32_t fd_flags;
	uint64_t heap_flags;
};

struct hs_ion_allocation_data {		/* ION_IOC_ALLOC, Linux 4.12 and later */
	uint64_t len;
	uint32_t heap_id_mask;
	uint32_t flags;
	uint32_t fd;
	uint32_t unused;
};

struct hs_ion_fd_data {			/* ION_IOC_SHARE, ION_IOC_MAP (legacy) */
	int handle;
	int fd;
};

struct hs_drm_prime_handle {		/* DRM_IOCTL_PRIME_HANDLE_TO_FD */
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
};

#define HS_DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct hs_dma_heap_allocation_data)
#define HS_ION_IOC_ALLOC _IOWR('I', 0, struct hs_ion_allocation_data)
#define HS_ION_IOC_MAP _IOWR('I', 2, struct hs_ion_fd_data)
#define HS_ION_IOC_SHARE _IOWR('I', 4, struct hs_ion_fd_data)
#define HS_DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct hs_drm_prime_handle)

/* Whether an ioctl request may return a new dma-buf fd. */
static inline int hs_dmabuf_ioctl_allocates(unsigned long request)
{
	return request == HS_DRM_IOCTL_PRIME_HANDLE_TO_FD || request == HS_DMA_HEAP_IOCTL_ALLOC ||
	       request == HS_ION_IOC_ALLOC || request == HS_ION_IOC_SHARE ||
	       request == HS_ION_IOC_MAP;
}

/*
 * ioctl `request` succeeded with argument arg: follow the dma-buf fd it returned, with the
 * stack of the caller whose return address is ra.
 */
void hs_dmabuf_ioctl_done(unsigned long request, void *arg, uintptr_t ra);

/* fd is about to be closed (call only when hs_dmabuf_fd_known(fd)). */
void hs_dmabuf_close(int fd);

/* newfd now refers to what oldfd does (dup, dup2, dup3, F_DUPFD); a dma-buf newfd was
 * replaced. Call when either is known. */
void hs_dmabuf_dup(int oldfd, int newfd);

/* fds first..last were closed (close_range, closefrom). */
void hs_dmabuf_close_range(unsigned first, unsigned last);

/* fd was mapped at [addr, addr + len). Call when hs_dmabuf_fd_known(fd). */
void hs_dmabuf_mmap(int fd, void *addr, size_t len);

/* [addr, addr + len) was unmapped (munmap, or a fixed mmap over it). */
void hs_dmabuf_munmap(void *addr, size_t len);

/* A mapping moved (mremap). */
void hs_dmabuf_mremap(void *old_addr, size_t old_len, void *new_addr, size_t new_len);

/*
 * This image is about to exec: fds with FD_CLOEXEC and every mapping go away. If the exec
 * fails they are taken as gone all the same.
 */
void hs_dmabuf_before_exec(void);

/* Fork support: take and release the lock. */
void hs_dmabuf_lock_all(void);
void hs_dmabuf_unlock_all(void);

#endif
