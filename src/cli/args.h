/* SPDX-License-Identifier: MIT */
/* Command-line helpers shared by the CLI's commands. */
#ifndef HS_CLI_ARGS_H
#define HS_CLI_ARGS_H

/*
 * If argv[*i] is option `name` ("--top" or "--top=10"), return its value (advancing *i
 * past a separate one) and set *matched to 1; a missing value sets *matched to -1 and
 * returns NULL. Another option: NULL, *matched untouched.
 */
const char *hs_opt_value(int argc, char **argv, int *i, const char *name, int *matched);

#endif
