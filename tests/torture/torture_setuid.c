// SPDX-License-Identifier: MIT
/*
 * Installed setuid or setgid root by tests/integration/t1000-torture-setuid.py and run by
 * an unprivileged user with LD_PRELOAD set: the loader ignores the agent (secure mode).
 * Prints its real and effective ids and allocates a little.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	char *volatile p = malloc(100);

	free(p);
	printf("uid %d euid %d gid %d egid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	return 0;
}
