// SPDX-License-Identifier: MIT
/*
 * The interposed file-descriptor and mapping functions that dma-buf tracking needs (see
 * dmabuf.h): ioctl (the allocations), close, dup, dup2, dup3, fcntl's F_DUPFD, close_range,
 * closefrom, mmap, munmap, mremap. Each forwards exactly, returns what the real function
 * returned and leaves errno as it left it; the fast path is one load of dmabuf.h's counters
 * (or, for ioctl, a compare of the request) before or after the forward. The real functions
 * are found with dlsym(RTLD_NEXT, ...) at the agent's start (hs_next_cached); a call made
 * while a lookup is under way (the loader mapping memory) goes to the system call itself. The agent's own calls come here
 * too (-Bsymbolic): they pass the fast path. Not part of libheapscope_wrap.a.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "dmabuf.h"

#define RA() ((uintptr_t)__builtin_return_address(0))

static struct {
	int (*ioctl)(int, unsigned long, void *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, void *);
	int (*fcntl64)(int, int, void *);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off64_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, void *);
} real;

#define NEXT(fn) ((__typeof__(real.fn))hs_next_cached((void **)&real.fn, #fn, 1))

/* At the agent's start (hs_hooks_resolve): each looked up once, absent ones for good. */
void hs_fd_hooks_resolve(void)
{
	(void)NEXT(ioctl);
	(void)NEXT(close);
	(void)NEXT(dup);
	(void)NEXT(dup2);
	(void)NEXT(dup3);
	(void)NEXT(fcntl);
	(void)NEXT(fcntl64);
	(void)NEXT(close_range);
	(void)NEXT(closefrom);
	(void)NEXT(mmap);
	(void)NEXT(mmap64);
	(void)NEXT(munmap);
	(void)NEXT(mremap);
}

HS_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	int (*fn)(int, unsigned long, void *) = NEXT(ioctl);
	va_list ap;
	void *arg;
	int ret, saved;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	ret = fn ? fn(fd, request, arg) : (int)syscall(SYS_ioctl, fd, request, arg);
	if (hs_unlikely(hs_dmabuf_ioctl_allocates(request)) && ret >= 0 && hs_should_track()) {
		saved = errno;
		hs_dmabuf_ioctl_done(request, arg, RA());
		errno = saved;
	}
	return ret;
}

HS_EXPORT int close(int fd)
{
	int (*fn)(int) = NEXT(close);
	int saved;

	if (hs_unlikely(hs_dmabuf_fd_known(fd))) {
		saved = errno;
		hs_dmabuf_close(fd);
		errno = saved;
	}
	return fn ? fn(fd) : (int)syscall(SYS_close, fd);
}

/* After a successful dup of any kind: newfd refers to what oldfd does. */
static void after_dup(int oldfd, int newfd)
{
	int saved;

	if (newfd < 0 || !(hs_dmabuf_fd_known(oldfd) || hs_dmabuf_fd_known(newfd)))
		return;
	saved = errno;
	hs_dmabuf_dup(oldfd, newfd);
	errno = saved;
}

HS_EXPORT int dup(int fd)
{
	int (*fn)(int) = NEXT(dup);
	int ret = fn ? fn(fd) : (int)syscall(SYS_dup, fd);

	after_dup(fd, ret);
	return ret;
}

HS_EXPORT int dup2(int oldfd, int newfd)
{
	int (*fn)(int, int) = NEXT(dup2);
	int ret = fn ? fn(oldfd, newfd) : (int)syscall(SYS_dup3, oldfd, newfd, 0);

	after_dup(oldfd, ret);
	return ret;
}

HS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int (*fn)(int, int, int) = NEXT(dup3);
	int ret = fn ? fn(oldfd, newfd, flags) : (int)syscall(SYS_dup3, oldfd, newfd, flags);

	after_dup(oldfd, ret);
	return ret;
}

static int fcntl_common(int (*fn)(int, int, void *), int fd, int cmd, void *arg)
{
	int ret = fn ? fn(fd, cmd, arg) : (int)syscall(SYS_fcntl, fd, cmd, arg);

	if (hs_unlikely(cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		after_dup(fd, ret);
	return ret;
}

HS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(NEXT(fcntl), fd, cmd, arg);
}

HS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(NEXT(fcntl64), fd, cmd, arg);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_UNSHARE (1u << 1)
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#endif

/* Declared by glibc 2.34 and later only. */
int close_range(unsigned first, unsigned last, int flags);
void closefrom(int lowfd);

HS_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int (*fn)(unsigned, unsigned, int) = NEXT(close_range);
	int saved;

	if (hs_unlikely(atomic_load_explicit(&hs_dmabuf_fast.nfds, memory_order_relaxed)) &&
	    first <= last && !((unsigned)flags & ~CLOSE_RANGE_UNSHARE)) {
		saved = errno;
		hs_dmabuf_close_range(first, last);
		errno = saved;
	}
#ifdef SYS_close_range
	if (!fn)
		return (int)syscall(SYS_close_range, first, last, flags);
#endif
	return fn ? fn(first, last, flags) : (errno = ENOSYS, -1);
}

HS_EXPORT void closefrom(int lowfd)
{
	void (*fn)(int) = NEXT(closefrom);
	int saved;

	if (hs_unlikely(atomic_load_explicit(&hs_dmabuf_fast.nfds, memory_order_relaxed)) &&
	    lowfd >= 0) {
		saved = errno;
		hs_dmabuf_close_range((unsigned)lowfd, ~0u);
		errno = saved;
	}
	if (fn)
		fn(lowfd);
}

/* After a successful mmap: a fixed mapping replaced what was there; a dma-buf mapping. */
static void after_mmap(void *p, size_t len, int flags, int fd)
{
	int saved;

	if (p == MAP_FAILED || !(hs_dmabuf_mapped_any() || hs_dmabuf_fd_known(fd)))
		return;
	saved = errno;
	if ((flags & MAP_FIXED) && hs_dmabuf_mapped_any())
		hs_dmabuf_munmap(p, len);
	if (hs_dmabuf_fd_known(fd))
		hs_dmabuf_mmap(fd, p, len);
	errno = saved;
}

/* The system call, for calls made while the real mmap is being looked up. */
static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
#ifdef SYS_mmap2	/* 32-bit: the offset in 4096-byte units */
	return (void *)syscall(SYS_mmap2, addr, len, prot, flags, fd, (long)(off >> 12));
#else
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
#endif
}

HS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *(*fn)(void *, size_t, int, int, int, off_t) = NEXT(mmap);
	void *p = fn ? fn(addr, len, prot, flags, fd, off)
		     : raw_mmap(addr, len, prot, flags, fd, off);

	after_mmap(p, len, flags, fd);
	return p;
}

HS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	void *(*fn)(void *, size_t, int, int, int, off64_t) = NEXT(mmap64);
	void *p;

	if (!fn)
		return mmap(addr, len, prot, flags, fd, (off_t)off);
	p = fn(addr, len, prot, flags, fd, off);
	after_mmap(p, len, flags, fd);
	return p;
}

HS_EXPORT int munmap(void *addr, size_t len)
{
	int (*fn)(void *, size_t) = NEXT(munmap);
	int saved;

	/* Before the real call: once unmapped, another thread may map the range again. */
	if (hs_unlikely(hs_dmabuf_mapped_any()) && !((uintptr_t)addr & ((uintptr_t)getpagesize() - 1))) {
		saved = errno;
		hs_dmabuf_munmap(addr, len);
		errno = saved;
	}
	return fn ? fn(addr, len) : (int)syscall(SYS_munmap, addr, len);
}

HS_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *(*fn)(void *, size_t, size_t, int, void *) = NEXT(mremap);
	void *want = NULL, *p;
	va_list ap;
	int saved;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	p = fn ? fn(old, old_len, new_len, flags, want)
	       : (void *)syscall(SYS_mremap, old, old_len, new_len, flags, want);
	if (p != MAP_FAILED && hs_unlikely(hs_dmabuf_mapped_any())) {
		saved = errno;
		hs_dmabuf_mremap(old, old_len, p, new_len);
		errno = saved;
	}
	return p;
}
