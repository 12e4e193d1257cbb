// SPDX-License-Identifier: MIT
/*
 * `heapscope ps`: the processes of this user that carry the agent, found by their control
 * sockets, with their state. Sockets of processes that are gone are removed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_client.h"
#include "commands.h"
#include "human.h"

void hs_usage_ps(FILE *out)
{
	fprintf(out, "usage: heapscope ps\n\n"
		     "Lists this user's processes that carry the heapscope agent.\n");
}

/* The value of "key N" in a status answer; 0 if absent. */
static unsigned long long field(const char *status, const char *key)
{
	size_t n = strlen(key);
	const char *p;

	for (p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	}
	return 0;
}

static void program_name(pid_t pid, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	n = readlink(path, out, cap - 1);
	if (n < 0) {
		snprintf(out, cap, "?");
		return;
	}
	out[n] = 0;
}

static void show(pid_t pid)
{
	char status[4096], prog[512], live[32], peak[32];

	if (hs_agent_request(pid, "status", status, sizeof(status), 1000) < 0) {
		/* alive, with a socket, but its control thread has not started (yet) */
		program_name(pid, prog, sizeof(prog));
		printf("%7ld  %-8s %10s %10s %12s  %s\n", (long)pid, "?", "-", "-", "-", prog);
		return;
	}
	program_name(pid, prog, sizeof(prog));
	printf("%7ld  %-8s %10s %10s %12llu  %s\n", (long)pid,
	       field(status, "tracking") ? "on" : "off",
	       hs_human_bytes(live, field(status, "live_bytes")),
	       hs_human_bytes(peak, field(status, "peak_bytes")), field(status, "alloc_calls"),
	       prog);
}

int hs_cmd_ps(int argc, char **argv)
{
	char dir[160], path[512];
	struct dirent *e;
	DIR *d;

	if (argc > 1) {
		fprintf(stderr, "heapscope: ps: takes no argument\n");
		return 2;
	}
	hs_socket_dir(dir, sizeof(dir));
	printf("%7s  %-8s %10s %10s %12s  %s\n", "PID", "TRACKING", "LIVE", "PEAK", "CALLS",
	       "PROGRAM");
	d = opendir(dir);
	if (!d)
		return 0;	/* no agent ever ran for this user */
	while ((e = readdir(d))) {
		pid_t pid;
		char *dot = strstr(e->d_name, ".sock");

		if (!dot || dot[5])
			continue;
		*dot = 0;
		pid = hs_parse_pid(e->d_name);
		if (pid < 0)
			continue;
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			snprintf(path, sizeof(path), "%s/%s.sock", dir, e->d_name);
			unlink(path);	/* left by a process that died */
			continue;
		}
		show(pid);
	}
	closedir(d);
	return 0;
}
