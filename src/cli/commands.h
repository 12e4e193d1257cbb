/* SPDX-License-Identifier: MIT */
/*
 * The CLI's commands: one file each (cmd_NAME.c), dispatched by main.c's table. Each takes
 * the arguments after the command name (argv[0] is the command name) and returns the
 * process exit status: 0 success, 1 operation failed, 2 usage error (`run` passes the
 * target's status through).
 */
#ifndef HS_COMMANDS_H
#define HS_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

int hs_cmd_run(int argc, char **argv);
int hs_cmd_report(int argc, char **argv);
int hs_cmd_ctl(int argc, char **argv);
int hs_cmd_top(int argc, char **argv);
int hs_cmd_ps(int argc, char **argv);
int hs_cmd_diff(int argc, char **argv);

/* Usage text of each command, for `heapscope help CMD` and `CMD --help`. */
void hs_usage_run(FILE *out);
void hs_usage_report(FILE *out);
void hs_usage_ctl(FILE *out);
void hs_usage_top(FILE *out);
void hs_usage_ps(FILE *out);
void hs_usage_diff(FILE *out);

/* What `heapscope run` says about the leaks (--leak-check). */
enum hs_leak_check {
	HS_LEAK_CHECK_NONE,		/* no scan: the leaks are the blocks live at the end */
	HS_LEAK_CHECK_SUMMARY,		/* the LEAK SUMMARY only */
	HS_LEAK_CHECK_FULL,		/* and the lost stacks */
};

struct hs_suppressions;

struct hs_run_summary_opts {
	unsigned top;			/* stacks per list; 0: the summary block only */
	enum hs_leak_check leak_check;
	int show_reachable;		/* list still-reachable stacks too */
	int gen_suppressions;		/* a suppression per listed leak, after the list */
	struct hs_suppressions *supp;	/* --suppressions, or NULL */
	unsigned error_kinds;		/* categories counted in *errors (HS_LEAK_BIT) */
};

/*
 * What `heapscope run` prints when the target ends: the summary with its LEAK SUMMARY,
 * then the top lost stacks (or, without a scan, live ones) and the top stacks at the
 * peak, symbolized. Writes to `out` (stderr, so the target's own stdout stays as it
 * was); with `out` NULL, prints nothing. *errors gets the blocks in o->error_kinds after
 * suppressions (for --error-exitcode). Returns 0, or 1 after printing one message if the recording cannot
 * be read.
 */
int hs_report_run_summary(const char *path, FILE *out, const struct hs_run_summary_opts *o,
			  uint64_t *errors);

#endif
