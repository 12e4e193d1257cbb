// SPDX-License-Identifier: MIT
/*
 * scan_million: a heap of a million live blocks at exit, for timing the leak scan.
 *
 * Usage: scan_million BLOCKS [LOST]
 *
 * Builds a singly linked list of BLOCKS - LOST nodes (32 bytes each) reachable from a
 * global, and a second list of LOST nodes whose head pointer is then dropped (one block
 * definitely lost, the rest indirectly lost), and exits without freeing anything. A
 * linked list is the scan's worst case for depth: every block is found only through the
 * one before it. Defaults: LOST = BLOCKS / 10. Prints one line that depends only on the
 * arguments.
 */
#include <stdio.h>
#include <stdlib.h>

struct node {
	struct node *next;
	unsigned long value[3];
};

/* The reachable list: external and volatile, so the compiler keeps the store to it. */
struct node *volatile kept;

/* A list of n nodes, the last one first; its head. */
__attribute__((noinline)) static struct node *build(unsigned long n, unsigned long seed)
{
	struct node *head = NULL;

	for (unsigned long i = 0; i < n; i++) {
		struct node *nd = malloc(sizeof(*nd));

		if (!nd)
			exit(1);
		nd->next = head;
		nd->value[0] = seed + i;
		nd->value[1] = nd->value[2] = 0;
		head = nd;
	}
	return head;
}

/* Build the lost list and drop it; the sum of its values, so the work is not elided. */
__attribute__((noinline)) static unsigned long lose(unsigned long n)
{
	volatile unsigned long sum = 0;
	struct node *head = build(n, 7);

	for (struct node *nd = head; nd; nd = nd->next)
		sum += nd->value[0];
	head = NULL;
	return sum;
}

int main(int argc, char **argv)
{
	unsigned long blocks, lost, sum = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: scan_million BLOCKS [LOST]\n");
		return 2;
	}
	blocks = strtoul(argv[1], NULL, 10);
	lost = argc == 3 ? strtoul(argv[2], NULL, 10) : blocks / 10;
	if (lost > blocks)
		lost = blocks;
	sum += lose(lost);
	kept = build(blocks - lost, 1);
	for (struct node *nd = kept; nd; nd = nd->next)
		sum += nd->value[0];
	printf("scan_million: %lu blocks, %lu lost, checksum %lu\n", blocks, lost, sum);
	return 0;
}
