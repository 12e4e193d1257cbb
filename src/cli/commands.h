/* SPDX-License-Identifier: MIT */
/*
 * The CLI's commands: one file each (cmd_NAME.c), dispatched by main.c's table. Each takes
 * the arguments after the command name (argv[0] is the command name) and returns the
 * process exit status: 0 success, 1 operation failed, 2 usage error (`run` passes the
 * target's status through).
 */
#ifndef HS_COMMANDS_H
#define HS_COMMANDS_H

#include <stdio.h>

int hs_cmd_run(int argc, char **argv);
int hs_cmd_report(int argc, char **argv);
int hs_cmd_ctl(int argc, char **argv);
int hs_cmd_top(int argc, char **argv);
int hs_cmd_ps(int argc, char **argv);

/* Usage text of each command, for `heapscope help CMD` and `CMD --help`. */
void hs_usage_run(FILE *out);
void hs_usage_report(FILE *out);
void hs_usage_ctl(FILE *out);
void hs_usage_top(FILE *out);
void hs_usage_ps(FILE *out);

/*
 * What `heapscope run` prints when the target ends: the summary, then the top leak stacks
 * and the top stacks at the peak, symbolized, `top` of each. Writes to `out` (stderr, so the
 * target's own stdout stays as it was). Returns 0, or 1 after printing one message if the
 * recording cannot be read.
 */
int hs_report_run_summary(const char *path, FILE *out, unsigned top);

#endif
