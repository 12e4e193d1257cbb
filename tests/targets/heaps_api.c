// SPDX-License-Identifier: MIT
/*
 * Target for t0820-heaps: a program that reports its own pools through the heap API of
 * include/heapscope.h, found with dlsym so that it runs unchanged without the agent. Known
 * figures (docs/HEAPS.md):
 *
 *   host: one 100,000-byte block, live from the start until after the pools' total peak
 *   gpu-pool: 1,000 (freed) + 3,000 (leaked, gpu_alloc_small) + 5,000 (gpu_alloc_big) ->
 *             peak 8,000 with the 3,000 and 5,000 blocks; 700 then 900 at one address
 *             (the 900 replaces the 700), freed; live at the end 3,000 in 1 block
 *   texture-cache: 2,000 + 4,000 (texture_upload) -> peak 6,000, all freed
 *   dma-buf (the agent's own heap, reported by hand): 3 MiB in dma_export, freed
 *   host again: 4 MiB allocated and freed at the end, with gpu-pool's 3,000 live
 *   total peak: 100,000 + 8,000 + 2,000 while the first host block is live, 3,000 + 3 MiB
 *               with the dma-buf, then 4 MiB + 3,000 reached by malloc: that one
 *
 * Writes with write(2) only, so that stdio allocates nothing while it runs.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int (*reg)(const char *);
static void (*heap_alloc)(int, const void *, size_t);
static void (*heap_free)(int, const void *);

static char *volatile keep;	/* so that the compiler keeps malloc and free */

static void *addr(unsigned long a)
{
	return (void *)a;
}

static void pool_alloc(int heap, unsigned long a, size_t size)
{
	if (heap_alloc)
		heap_alloc(heap, addr(a), size);
}

static void pool_free(int heap, unsigned long a)
{
	if (heap_free)
		heap_free(heap, addr(a));
}

__attribute__((noinline)) void gpu_alloc_small(int heap, unsigned long a, size_t size)
{
	pool_alloc(heap, a, size);
}

__attribute__((noinline)) void gpu_alloc_big(int heap, unsigned long a, size_t size)
{
	pool_alloc(heap, a, size);
}

__attribute__((noinline)) void texture_upload(int heap, unsigned long a, size_t size)
{
	pool_alloc(heap, a, size);
}

__attribute__((noinline)) void dma_export(int heap, unsigned long a, size_t size)
{
	pool_alloc(heap, a, size);
}

static int heap_id(const char *name)
{
	return reg ? reg(name) : -1;
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		exit(3);
}

int main(void)
{
	char *host;
	int gpu, tex, dma;

	reg = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_heap_register");
	heap_alloc = (void (*)(int, const void *, size_t))dlsym(RTLD_DEFAULT,
								 "heapscope_heap_alloc");
	heap_free = (void (*)(int, const void *))dlsym(RTLD_DEFAULT, "heapscope_heap_free");
	gpu = heap_id("gpu-pool");
	tex = heap_id("texture-cache");
	dma = heap_id("dma-buf");
	if (reg && (heap_id("gpu-pool") != gpu || dma != 1 || gpu == tex || heap_id("") >= 0))
		say("heap ids wrong\n");

	host = malloc(100000);
	keep = host;
	gpu_alloc_small(gpu, 0x1000, 1000);
	gpu_alloc_small(gpu, 0x2000, 3000);
	pool_free(gpu, 0x1000);
	gpu_alloc_big(gpu, 0x3000, 5000);		/* gpu-pool peak: 8,000 */
	texture_upload(tex, 0x1000, 2000);		/* total peak #1 */
	pool_free(gpu, 0x3000);
	free(keep);
	texture_upload(tex, 0x2000, 4000);		/* texture-cache peak: 6,000 */
	pool_free(tex, 0x1000);
	pool_free(tex, 0x2000);
	gpu_alloc_small(gpu, 0x5000, 700);
	gpu_alloc_small(gpu, 0x5000, 900);		/* the 700 is gone with it */
	pool_free(gpu, 0x5000);
	pool_free(gpu, 0x9999);				/* unknown: nothing */
	pool_free(0, 0x2000);				/* the host heap: not through this API */
	pool_alloc(99, 0x1, 123);			/* no such heap */
	dma_export(dma, 0x7000, 3 << 20);		/* total peak #2 */
	pool_free(dma, 0x7000);
	keep = malloc(4 << 20);				/* total peak */
	free(keep);
	say("heaps done\n");
	return 0;
}
