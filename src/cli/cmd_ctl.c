// SPDX-License-Identifier: MIT
/*
 * `heapscope ctl PID COMMAND`: control a running process that carries the agent, through
 * its control socket: status, checkpoints, start/stop, sampling, dumps, and window
 * recordings (`record --seconds S -o FILE`, compressed once complete). Paths are made
 * absolute here, since the agent runs in the target's working directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_client.h"
#include "commands.h"
#include "hsr_compress.h"

void hs_usage_ctl(FILE *out)
{
	fprintf(out,
		"usage: heapscope ctl PID COMMAND [ARGS]\n\n"
		"Controls a running process that carries the heapscope agent.\n\n"
		"  status                 tracking state and totals\n"
		"  checkpoint [NAME]      write a snapshot into the process's recording\n"
		"  start | stop           start tracking (a clean baseline) or stop it\n"
		"  sample SIZE            sample every SIZE bytes on average (0: exact); restarts\n"
		"  dump FILE              write the live heap, per stack, as text to FILE\n"
		"  snapshot FILE          write the current state as a recording of its own\n"
		"  record --seconds S -o FILE [--no-compress]\n"
		"                         track only the next S seconds, into recording FILE\n"
		"                         (compressed with zstd unless --no-compress)\n");
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "heapscope: ctl: %s\n(see 'heapscope help ctl')\n", msg);
	return 2;
}

/* "CMD /absolute/path" into line. */
static int with_path(char *line, size_t cap, const char *cmd, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(line, cap, "%s %s", cmd, path) < (int)cap ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(line, cap, "%s %s/%s", cmd, cwd, path) < (int)cap ? 0 : -1;
}

/* One command; its answer on stdout, or the agent's error on stderr (exit 1). */
static int send_line(pid_t pid, const char *line, int quiet_ok)
{
	static char reply[65536];
	int err = hs_agent_request(pid, line, reply, sizeof(reply), 120000);

	if (err)
		return hs_agent_error(pid, err);
	if (!strncmp(reply, "error:", 6)) {
		fprintf(stderr, "heapscope: process %ld: %s", (long)pid, reply);
		return 1;
	}
	if (!(quiet_ok && !strcmp(reply, "ok\n")))
		fputs(reply, stdout);
	return 0;
}

/* The window recording is complete (the agent went back to its own): compress it; when
 * that fails, say so, and the recording stays as it was. */
static void compress_window(const char *path)
{
	char err[PATH_MAX + 128];
	int ret = hsr_compress_file(path, err, sizeof(err));

	if (ret < 0 && ret != -ENOENT)
		fprintf(stderr, "heapscope: %s; left uncompressed\n", err);
}

static int cmd_record(pid_t pid, int argc, char **argv)
{
	const char *out = NULL;
	char line[PATH_MAX + 32];
	double seconds = -1;
	int i, ret, compress = 1;

	for (i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--no-compress"))
			compress = 0;
		else
			return usage_error("record takes --seconds S -o FILE [--no-compress]");
	}
	if (!out || seconds < 0)
		return usage_error("record takes --seconds S -o FILE [--no-compress]");
	if (access(out, F_OK) == 0 && unlink(out) < 0) {
		fprintf(stderr, "heapscope: cannot replace '%s': %s\n", out, strerror(errno));
		return 1;
	}
	if (with_path(line, sizeof(line), "record", out) < 0)
		return usage_error("path too long");
	ret = send_line(pid, line, 1);
	if (ret)
		return ret;
	usleep((useconds_t)(seconds * 1e6));
	ret = send_line(pid, "record-stop", 1);
	if (ret)
		return ret;
	if (compress)
		compress_window(out);
	fprintf(stderr, "heapscope: recorded %.3g s of process %ld into %s\n", seconds,
		(long)pid, out);
	return 0;
}

static int cmd_with_file(pid_t pid, const char *cmd, int argc, char **argv)
{
	char line[PATH_MAX + 32];

	if (argc != 2)
		return usage_error("this command takes one FILE");
	if (with_path(line, sizeof(line), cmd, argv[1]) < 0)
		return usage_error("path too long");
	return send_line(pid, line, 1);
}

int hs_cmd_ctl(int argc, char **argv)
{
	char line[1024];
	pid_t pid;
	const char *cmd;

	if (argc < 3)
		return usage_error("needs a PID and a command");
	pid = hs_parse_pid(argv[1]);
	if (pid < 0)
		return usage_error("the first argument must be a process id");
	cmd = argv[2];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "record"))
		return cmd_record(pid, argc, argv);
	if (!strcmp(cmd, "dump") || !strcmp(cmd, "snapshot"))
		return cmd_with_file(pid, cmd, argc, argv);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "start") || !strcmp(cmd, "stop"))
		return argc == 1 ? send_line(pid, cmd, 0) : usage_error("takes no argument");
	if (!strcmp(cmd, "sample") && argc == 2) {
		snprintf(line, sizeof(line), "sample %s", argv[1]);
		return send_line(pid, line, 0);
	}
	if (!strcmp(cmd, "checkpoint") && argc <= 2) {
		snprintf(line, sizeof(line), "checkpoint %s", argc == 2 ? argv[1] : "");
		return send_line(pid, line, 0);
	}
	if (!strcmp(cmd, "leak-check") || !strcmp(cmd, "check")) {
		snprintf(line, sizeof(line), "%s", cmd);
		return send_line(pid, line, 0);
	}
	return usage_error("unknown command");
}
