// SPDX-License-Identifier: MIT
/*
 * heapscope-wait: what `heapscope run` turns into while the program runs (docs/CLI.md).
 * The CLI maps libdw, libelf, zlib, zstd and libstdc++ (3.6 MB of RSS measured while it
 * only waited); this program needs the C library alone, so the tool's own footprint beside
 * the program is what a shell's would be. Started by exec from the CLI right after the
 * fork, it is still the program's parent:
 *
 *   heapscope-wait PID ERRFD CLI ARG...
 *
 * waits for PID (SIGINT and SIGQUIT ignored, as by a shell; SIGTERM and SIGHUP passed on;
 * the CLI ignored and held those back from before its fork, so none is missed in between),
 * reads from ERRFD the errno of a failed exec (nothing when the program started), then
 * execs CLI with ARG..., where the argument "@RESULT@" becomes "e<errno>" or "s<status>"
 * (the wait status). If that exec fails, the status is passed through here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static int shell_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal };
	char result[32];
	int status = 0, err = 0, fd;
	sigset_t held;
	ssize_t n;

	if (argc < 4) {
		fprintf(stderr, "heapscope-wait: started by `heapscope run`, not by hand\n");
		return 2;
	}
	child = (pid_t)atol(argv[1]);
	fd = atoi(argv[2]);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
	sigemptyset(&held);	/* held back by the CLI from before the fork to here */
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	do
		n = read(fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(fd);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(err))
		snprintf(result, sizeof(result), "e%d", err);
	else
		snprintf(result, sizeof(result), "s%d", status);
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], "@RESULT@"))
			argv[i] = result;
	execv(argv[3], argv + 3);
	fprintf(stderr, "heapscope-wait: cannot run '%s' for the summary: %s\n", argv[3],
		strerror(errno));
	return n == (ssize_t)sizeof(err) ? 127 : shell_status(status);
}
