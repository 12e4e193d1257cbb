// SPDX-License-Identifier: MIT
/*
 * One heap error per mode, for `heapscope run --check`: check_errors MODE, with MODE one
 * of overflow1, overflow8, underflow1, double_free, stack_free, interior_free, global_free,
 * write_after_free, new_free, malloc_delete, newarray_delete, realloc_freed, clean.
 * Each error happens in a function named after it; the program goes on and exits 0.
 * `check_errors guard_many N`: N blocks of 24 bytes kept live (more than guard mode's
 * mappings allow), a block aligned to 8 KiB, a page mapped and a thread started by the
 * program itself, then a 1-byte overflow of the last of the N blocks.
 * See tests/integration/t0900-check.py.
 */
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <pthread.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static char global_buffer[64];
static char *volatile sink;

NOINLINE static char *make_block(size_t n) { return (char *)malloc(n); }

NOINLINE static void overflow1()
{
	char *p = make_block(100);

	p[100] = 'x';	/* 1 byte past the end */
	ESCAPE(p);
	free(p);
}

NOINLINE static void overflow8()
{
	char *p = make_block(100);

	memset(p + 100, 'y', 8);	/* 8 bytes past the end */
	ESCAPE(p);
	free(p);
}

NOINLINE static void underflow1()
{
	char *p = make_block(100);

	p[-1] = 'z';	/* 1 byte before the start */
	ESCAPE(p);
	free(p);
}

NOINLINE static void double_free()
{
	char *p = make_block(48);

	free(p);
	ESCAPE(p);
	free(p);
}

NOINLINE static void stack_free()
{
	char local[32];

	ESCAPE(local);
	free(local);
}

NOINLINE static void interior_free()
{
	char *p = make_block(200);

	free(p + 40);
	sink = p;
}

NOINLINE static void global_free()
{
	free(global_buffer + 8);
}

NOINLINE static void write_after_free()
{
	char *p = make_block(64);

	free(p);
	ESCAPE(p);
	p[10] = 'w';
	p[11] = 'w';
	ESCAPE(p);
}

NOINLINE static void new_free()
{
	int *p = new int(5);

	ESCAPE(p);
	free(p);
}

NOINLINE static void malloc_delete()
{
	int *p = (int *)make_block(sizeof(int));

	delete p;
}

NOINLINE static void newarray_delete()
{
	long *p = new long[10];

	ESCAPE(p);
	delete p;
}

NOINLINE static void realloc_freed()
{
	char *p = make_block(32);

	free(p);
	ESCAPE(p);
	sink = (char *)realloc(p, 64);
}

NOINLINE static void clean()
{
	char *p = make_block(100);
	int *q = new int[4];

	memset(p, 0, 100);
	q[3] = 1;
	delete[] q;
	free(p);
}

static void *nothing(void *arg) { return arg; }

NOINLINE static int guard_many(long n)
{
	char **blocks = (char **)calloc((size_t)n, sizeof(char *));
	void *aligned = NULL, *page;
	pthread_t th;
	long got = 0;
	int ok_align, ok_map, ok_thread;

	for (long i = 0; blocks && i < n; i++)
		got += (blocks[i] = make_block(24)) != NULL;
	ok_align = posix_memalign(&aligned, 8192, 100) == 0 && !((uintptr_t)aligned & 8191);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok_map = page != MAP_FAILED;
	ok_thread = pthread_create(&th, NULL, nothing, NULL) == 0 && pthread_join(th, NULL) == 0;
	printf("guard_many: %ld of %ld blocks, aligned %s, mmap %s, thread %s\n", got, n,
	       ok_align ? "ok" : "failed", ok_map ? "ok" : "failed", ok_thread ? "ok" : "failed");
	if (got == n) {
		blocks[n - 1][24] = 'x';	/* 1 byte past the end */
		ESCAPE(blocks[n - 1]);
	}
	for (long i = 0; blocks && i < n; i++)
		free(blocks[i]);
	free(blocks);
	free(aligned);
	if (ok_map)
		munmap(page, 4096);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "guard_many"))
		return guard_many(atol(argv[2]));
	static const struct {
		const char *name;
		void (*fn)();
	} modes[] = {
		{ "overflow1", overflow1 }, { "overflow8", overflow8 }, { "underflow1", underflow1 },
		{ "double_free", double_free }, { "stack_free", stack_free },
		{ "interior_free", interior_free }, { "global_free", global_free },
		{ "write_after_free", write_after_free }, { "new_free", new_free },
		{ "malloc_delete", malloc_delete }, { "newarray_delete", newarray_delete },
		{ "realloc_freed", realloc_freed }, { "clean", clean },
	};

	for (const auto &m : modes) {
		if (argc > 1 && !strcmp(argv[1], m.name)) {
			m.fn();
			printf("%s done\n", m.name);
			return 0;
		}
	}
	fprintf(stderr, "unknown mode\n");
	return 2;
}
