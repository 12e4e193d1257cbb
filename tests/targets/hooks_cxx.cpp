// SPDX-License-Identifier: MIT
/*
 * Target with a known allocation pattern through every C++ operator new and delete variant.
 * See tests/integration/t0110-hooks-cxx.py.
 */
#include <cstdio>
#include <new>
#include <stdexcept>
#include <vector>

#define NOINLINE __attribute__((noinline))

struct alignas(64) Aligned {
	char data[128];
};

void *keep[16];
int nkeep;

/* Make a block observable so the compiler can't drop a new/delete pair. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

NOINLINE void leak_new() { keep[nkeep++] = new long; }
NOINLINE void leak_new_array() { keep[nkeep++] = new char[300]; }
NOINLINE void leak_new_nothrow() { keep[nkeep++] = new (std::nothrow) double; }
NOINLINE void leak_new_array_nothrow() { keep[nkeep++] = new (std::nothrow) char[500]; }
NOINLINE void leak_new_aligned() { keep[nkeep++] = new Aligned; }
NOINLINE void leak_new_array_aligned() { keep[nkeep++] = new Aligned[3]; }

NOINLINE void new_delete_pairs()
{
	for (int i = 0; i < 5; i++) {
		int *p = new int(i);
		char *a = new char[64];
		Aligned *q = new Aligned;
		Aligned *qa = new Aligned[2];

		ESCAPE(p);
		ESCAPE(a);
		ESCAPE(q);
		ESCAPE(qa);

		delete p;	/* sized delete with -fsized-deallocation */
		delete[] a;
		delete q;
		delete[] qa;
	}
	double *d = new (std::nothrow) double;
	ESCAPE(d);
	::operator delete(d, std::nothrow);
}

NOINLINE void vector_growth()
{
	std::vector<long> v;

	for (long i = 0; i < 1000; i++)
		v.push_back(i);
	ESCAPE(v.data());
}

NOINLINE void throw_through()
{
	try {
		std::vector<char> v(1000);
		ESCAPE(v.data());
		throw std::runtime_error("expected");
	} catch (const std::exception &) {
	}
}

NOINLINE void bad_alloc_through()
{
	try {
		volatile size_t huge = (size_t)-1 / 4 * 3;	/* beyond any address space */
		char *p = new char[huge];
		keep[nkeep++] = p;
	} catch (const std::bad_alloc &) {
		std::puts("bad_alloc caught");
	}
}

int main()
{
	leak_new();
	leak_new_array();
	leak_new_nothrow();
	leak_new_array_nothrow();
	leak_new_aligned();
	leak_new_array_aligned();
	new_delete_pairs();
	vector_growth();
	throw_through();
	bad_alloc_through();
	std::printf("hooks_cxx done %d\n", nkeep);
	return 0;
}
