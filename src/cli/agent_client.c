// SPDX-License-Identifier: MIT
/*
 * The CLI side of the control socket (see agent_client.h). A connection carries one line
 * and its answer; the agent closes it after answering.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent_client.h"

void hs_socket_dir(char *out, size_t cap)
{
	const char *env = getenv("HEAPSCOPE_SOCKET_DIR");

	if (env && *env)
		snprintf(out, cap, "%s", env);
	else
		snprintf(out, cap, "/tmp/heapscope-%u", (unsigned)geteuid());
}

pid_t hs_parse_pid(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > 0x7fffffff)
		return -1;
	return (pid_t)v;
}

static int connect_agent(pid_t pid)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[160], path[200];
	int fd, err;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	hs_socket_dir(dir, sizeof(dir));
	if ((size_t)snprintf(path, sizeof(path), "%s/%ld.sock", dir, (long)pid) >=
	    sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (access(addr.sun_path, F_OK) < 0)
		return -ENOENT;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = errno == ECONNREFUSED ? -ENOENT : -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int read_reply(int fd, char *reply, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n < cap - 1) {
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		r = read(fd, reply + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	reply[n] = 0;
	return 0;
}

int hs_agent_request(pid_t pid, const char *line, char *reply, size_t cap, int timeout_ms)
{
	int fd = connect_agent(pid), err = 0;
	size_t len = strlen(line);
	char *msg;

	if (fd < 0)
		return fd;
	msg = malloc(len + 2);
	if (!msg) {
		close(fd);
		return -ENOMEM;
	}
	memcpy(msg, line, len);
	msg[len] = '\n';
	if (write(fd, msg, len + 1) != (ssize_t)(len + 1))
		err = -errno;
	free(msg);
	if (!err)
		err = read_reply(fd, reply, cap, timeout_ms);
	close(fd);
	return err;
}

int hs_agent_error(pid_t pid, int err)
{
	char dir[160];

	hs_socket_dir(dir, sizeof(dir));
	if (err == -ESRCH)
		fprintf(stderr, "heapscope: no process %ld\n", (long)pid);
	else if (err == -ENOENT)
		fprintf(stderr, "heapscope: process %ld carries no heapscope agent "
				"(no socket %s/%ld.sock)\n", (long)pid, dir, (long)pid);
	else if (err == -ETIMEDOUT)
		fprintf(stderr, "heapscope: process %ld did not answer (its control thread starts "
				"on its first allocation after HEAPSCOPE_CONTROL_DELAY, 1 s)\n",
			(long)pid);
	else
		fprintf(stderr, "heapscope: cannot reach process %ld: %s\n", (long)pid,
			strerror(-err));
	return 1;
}
