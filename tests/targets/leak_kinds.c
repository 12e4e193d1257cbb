// SPDX-License-Identifier: MIT
/*
 * Blocks of every kind a leak checker tells apart, with exactly known figures, for
 * comparing heapscope's reachability scan with valgrind's memcheck. Usage:
 *   leak_kinds direct|tree|global|interior|thread|clean
 *   direct    10 blocks of 100 bytes, no pointer left: definitely lost 1000 in 10
 *   tree      a tree of 7 nodes of 48 bytes, the root dropped: definitely lost 48 in 1
 *             (the root), indirectly lost 288 in 6
 *   global    a global table (80 bytes) of 10 blocks of 200: still reachable 2080 in 11
 *   interior  a global pointing 100 bytes into a block of 256: possibly lost 256 in 1
 *   thread    a block of 300 held only by another thread's stack and one of 400 only by
 *             its __thread variable, that thread parked while main exits: still
 *             reachable 700 in 2
 *   clean     everything freed: nothing in any category
 *   mixed LIB direct's 10 blocks, then 2 blocks of 500 lost from leaky_alloc() in the
 *             library LIB (dlopen'ed, tests/targets/lib/libleaky.c): definitely lost
 *             2000 in 12 (for suppressions: by function, by library)
 * Prints nothing (no stdio buffer is allocated); before returning, main scrubs the
 * stack below its frame so that no stale copy of a pointer survives there.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *volatile left, *volatile right;	/* volatile: the links are kept */
	char payload[32];
};

void **volatile g_table;
char *volatile g_interior;
static __thread void *volatile tls_block;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

__attribute__((noinline)) static void leak_direct(void)
{
	for (int i = 0; i < 10; i++) {
		char *volatile p = malloc(100);

		p[0] = 1;
	}
}

__attribute__((noinline)) static void leak_tree(void)
{
	struct node *volatile n[7];

	for (int i = 0; i < 7; i++)
		n[i] = calloc(1, sizeof(struct node));
	for (int i = 0; i < 3; i++) {
		n[i]->left = n[2 * i + 1];
		n[i]->right = n[2 * i + 2];
	}
	for (int i = 0; i < 7; i++)
		n[i] = NULL;
}

__attribute__((noinline)) static void hold_global(void)
{
	void **t = malloc(10 * sizeof(void *));

	for (int i = 0; i < 10; i++)
		t[i] = malloc(200);
	g_table = t;
}

__attribute__((noinline)) static void hold_interior(void)
{
	char *p = malloc(256);

	g_interior = p + 100;
}

__attribute__((noinline)) static void *parked_thread(void *arg)
{
	void *volatile on_stack = malloc(300);

	tls_block = malloc(400);
	pthread_mutex_lock(&lock);
	ready = 1;
	pthread_cond_broadcast(&cond);
	while (ready)		/* never cleared: parked until the process exits */
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return on_stack;
}

__attribute__((noinline)) static int start_parked_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, parked_thread, NULL))
		return 1;
	pthread_mutex_lock(&lock);
	while (!ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return 0;
}

__attribute__((noinline)) static void clean(void)
{
	void *volatile a = malloc(123), *volatile b = calloc(3, 50);

	free(a);
	free(b);
}

__attribute__((noinline)) static int leak_mixed(const char *lib)
{
	void *h = lib ? dlopen(lib, RTLD_NOW) : NULL;
	void *(*alloc)(size_t) = h ? (void *(*)(size_t))dlsym(h, "leaky_alloc") : NULL;

	if (!alloc)
		return 1;
	leak_direct();
	for (int i = 0; i < 2; i++) {
		char *volatile p = alloc(500);

		p[0] = 1;
	}
	free(malloc(1));	/* the last block allocated is not one of those counted */
	return 0;
}

/* Zero the stack below main's frame: dead frames must not hold pointers. */
__attribute__((noinline)) static void scrub(void)
{
	volatile char buf[32768];

	memset((char *)buf, 0, sizeof(buf));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int ret = 0;

	if (!strcmp(mode, "direct"))
		leak_direct();
	else if (!strcmp(mode, "tree"))
		leak_tree();
	else if (!strcmp(mode, "global"))
		hold_global();
	else if (!strcmp(mode, "interior"))
		hold_interior();
	else if (!strcmp(mode, "thread"))
		ret = start_parked_thread();
	else if (!strcmp(mode, "clean"))
		clean();
	else if (!strcmp(mode, "mixed"))
		ret = leak_mixed(argc > 2 ? argv[2] : NULL);
	else
		ret = 2;
	scrub();
	return ret;
}
