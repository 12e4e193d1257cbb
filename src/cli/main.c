// SPDX-License-Identifier: MIT
/*
 * heapscope's command line: a table of commands, each in its own cmd_NAME.c. This file only
 * dispatches, and answers `help` and `--version`.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", hs_cmd_run, hs_usage_run, "run a program under heapscope and report" },
	{ "report", hs_cmd_report, hs_usage_report, "report on a recording" },
	{ "diff", hs_cmd_diff, hs_usage_diff, "what grew and shrank between two snapshots" },
	{ "ctl", hs_cmd_ctl, hs_usage_ctl, "control a running process that carries the agent" },
	{ "top", hs_cmd_top, hs_usage_top, "live view of a running process's heap" },
	{ "ps", hs_cmd_ps, hs_usage_ps, "list the processes that carry the agent" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: heapscope COMMAND [options] [--] [PROGRAM ARGS]\n\n"
		     "A heap profiler and memory debugger for C and C++ programs.\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'heapscope help COMMAND' or 'heapscope COMMAND --help' for details.\n"
		     "The agent alone: LD_PRELOAD=libheapscope.so PROGRAM (docs/AGENT.md).\n");
}

static const struct command *find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc < 3) {
		usage(stdout);
		return 0;
	}
	c = find(argv[2]);
	if (!c) {
		fprintf(stderr, "heapscope: no such command '%s'\n", argv[2]);
		return 2;
	}
	c->usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help(argc, argv);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("heapscope %s\n", HEAPSCOPE_VERSION);
		return 0;
	}
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "heapscope: no such command '%s' (see 'heapscope help')\n",
			argv[1]);
		return 2;
	}
	if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		c->usage(stdout);
		return 0;
	}
	return c->run(argc - 1, argv + 1);
}
