// SPDX-License-Identifier: MIT
/*
 * C++ exceptions through allocating frames: N times, ex_frame() recurses DEPTH deep, each
 * frame holding a 64-byte block from operator new (std::unique_ptr<char[]>); the bottom
 * throws, and unwinding frees every block on the way up. Every 100th catch leaks a 12-byte
 * new int[3] from ex_catch_leak(). Then operator new failures: bad_alloc from
 * ex_huge() and nullptr from nothrow new in ex_huge_nothrow(), BAD times each (failed
 * calls are not allocation calls). Prints "exceptions: N thrown, BAD bad_alloc, BAD null".
 * Usage: torture_exceptions [N]. See tests/integration/t1000-torture-exceptions.py.
 */
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>

static const int DEPTH = 8;
static const int BAD = 100;
static int *volatile kept;
static char *volatile sink;
static volatile size_t huge = (size_t)1 << 62;

__attribute__((noinline)) static std::unique_ptr<char[]> ex_block()
{
	return std::unique_ptr<char[]>(new char[64]);
}

__attribute__((noinline)) static int ex_frame(int d)
{
	std::unique_ptr<char[]> b = ex_block();

	b[0] = (char)d;
	if (d == 0)
		throw std::runtime_error("bottom of the stack reached, unwinding through frames");
	return ex_frame(d - 1) + b[0];
}

__attribute__((noinline)) static void ex_catch_leak()
{
	kept = new int[3];
}

__attribute__((noinline)) static int ex_huge()
{
	try {
		sink = new char[huge];	/* kept in a volatile: new may not be elided */
		return 0;
	} catch (const std::bad_alloc &) {
		return 1;
	}
}

__attribute__((noinline)) static int ex_huge_nothrow()
{
	sink = new (std::nothrow) char[huge];
	return sink == nullptr;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000, thrown = 0;
	int bad = 0, null = 0;

	for (long i = 0; i < n; i++) {
		try {
			ex_frame(DEPTH - 1);
		} catch (const std::exception &e) {
			thrown++;
			if (i % 100 == 0)
				ex_catch_leak();
		}
	}
	for (int i = 0; i < BAD; i++) {
		bad += ex_huge();
		null += ex_huge_nothrow();
	}
	printf("exceptions: %ld thrown, %d bad_alloc, %d null\n", thrown, bad, null);
	return 0;
}
