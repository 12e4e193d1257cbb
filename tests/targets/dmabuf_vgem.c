// SPDX-License-Identifier: MIT
/*
 * Target for t0830-dmabuf-vm (run inside the vgem VM of tests/vm/vgem.py): real dma-bufs
 * from vgem dumb buffers exported with DRM PRIME, followed through dup, mapping, close,
 * fork and exec. Known figures (docs/HEAPS.md), in the first image:
 *
 *   export_small 1 MiB (a), export_leaky 2 MiB (b, no CLOEXEC), export_big 4 MiB (c):
 *   dma-buf peak exactly 7 MiB, all three live;
 *   c dup'd then closed: still live; a mapped then closed: live until munmap;
 *   b exported a second time (same buffer) and F_DUPFD'd: still one 2 MiB buffer;
 *   export_small 1 MiB (e) replaced by dup2(b, e): freed;
 *   live at the end: b, 2 MiB in 1 block, leaked (never closed).
 *
 * A forked child inherits b, exports export_cloexec 1 MiB (CLOEXEC) and execs this program
 * with "image2": the child's recording ends at exec with that buffer freed and b live.
 * Without /dev/dri/card0 it prints "skip" and exits 77. No libdrm: the uapi structures are
 * declared here.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct drm_mode_create_dumb {
	uint32_t height, width, bpp, flags;
	uint32_t handle, pitch;
	uint64_t size;
};

struct drm_prime_handle {
	uint32_t handle, flags;
	int32_t fd;
};

#define DRM_IOCTL_MODE_CREATE_DUMB _IOWR('d', 0xB2, struct drm_mode_create_dumb)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR('d', 0x2d, struct drm_prime_handle)
#define MiB (1u << 20)

static int card;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* A vgem buffer of `mib` MiB (256 pixels of 4 bytes a row, 1024 rows a MiB). */
static uint32_t create(unsigned mib)
{
	struct drm_mode_create_dumb d = { .height = 1024 * mib, .width = 256, .bpp = 32 };

	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &d) < 0)
		die("DRM_IOCTL_MODE_CREATE_DUMB");
	if (d.size != (uint64_t)mib * MiB)
		die("dumb buffer size");
	return d.handle;
}

static int prime(uint32_t handle, uint32_t flags)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };

	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) < 0)
		die("DRM_IOCTL_PRIME_HANDLE_TO_FD");
	return p.fd;
}

__attribute__((noinline)) int export_small(uint32_t handle)
{
	return prime(handle, O_CLOEXEC | O_RDWR);
}

__attribute__((noinline)) int export_leaky(uint32_t handle)
{
	return prime(handle, O_RDWR);
}

__attribute__((noinline)) int export_big(uint32_t handle)
{
	return prime(handle, O_CLOEXEC | O_RDWR);
}

__attribute__((noinline)) int export_cloexec(uint32_t handle)
{
	return prime(handle, O_CLOEXEC | O_RDWR);
}

/* The forked child: one more buffer, gone at exec with CLOEXEC. */
static void child(const char *self)
{
	export_cloexec(create(1));
	execl(self, self, "image2", (char *)NULL);
	die("execl");
}

static void run(const char *self)
{
	uint32_t hb;
	int a, b, c, c2, e, again, b3, status;
	pid_t pid;
	char *p;

	a = export_small(create(1));
	b = export_leaky(hb = create(2));
	c = export_big(create(4));			/* dma-buf peak: 7 MiB */
	c2 = dup(c);
	close(c);
	p = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 1, 4096);
	close(a);					/* the mapping holds it */
	munmap(p, MiB);					/* a is gone: 6 MiB */
	close(c2);					/* c is gone: 2 MiB */
	again = export_leaky(hb);			/* the same buffer again */
	close(again);
	b3 = fcntl(b, F_DUPFD_CLOEXEC, 100);
	close(b3);
	e = export_small(create(1));			/* 3 MiB */
	if (dup2(b, e) != e)				/* e's buffer is gone: 2 MiB */
		die("dup2");
	close(e);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		child(self);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		die("fork");
	printf("vgem done, child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "image2")) {
		printf("image2 done\n");
		return 0;
	}
	card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (card < 0) {
		printf("skip: no /dev/dri/card0\n");
		return 77;
	}
	run(argv[0]);
	return 0;				/* b is never closed: a leak */
}
