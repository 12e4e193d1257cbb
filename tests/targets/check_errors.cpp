// SPDX-License-Identifier: MIT
/*
 * One heap error per mode, for `heapscope run --check`: check_errors MODE, with MODE one
 * of overflow1, overflow8, underflow1, double_free, stack_free, interior_free, global_free,
 * write_after_free, new_free, malloc_delete, newarray_delete, realloc_freed, clean.
 * Each error happens in a function named after it; the program goes on and exits 0.
 * See tests/integration/t0900-check.py.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

int main(int argc, char **argv)
{
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
