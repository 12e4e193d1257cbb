// SPDX-License-Identifier: MIT
/*
 * Moving the agent's descriptors out of the program's way (see fdmove.h).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdmove.h"

static int same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int hs_fd_move_high(int fd)
{
	struct stat mine, now;
	int high;

	if (fstat(fd, &mine) < 0)
		return -1;
	high = fcntl(fd, F_DUPFD_CLOEXEC, HS_HIGH_FD);
	if (high < 0)
		return fd;
	if (fstat(high, &now) < 0 || !same(&now, &mine)) {
		/* The program took the number between our fstat and dup: the low one is its. */
		close(high);
		return -1;
	}
	/* Still the same object? Then the low number is ours to close. */
	if (fstat(fd, &now) == 0 && same(&now, &mine))
		close(fd);
	return high;
}
