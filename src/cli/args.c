// SPDX-License-Identifier: MIT
/* Command-line helpers shared by the CLI's commands (see args.h). */
#include <string.h>

#include "args.h"

const char *hs_opt_value(int argc, char **argv, int *i, const char *name, int *matched)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len) != 0 || (arg[len] != '\0' && arg[len] != '='))
		return NULL;
	*matched = 1;
	if (arg[len] == '=')
		return arg + len + 1;
	if (*i + 1 >= argc) {
		*matched = -1;
		return NULL;
	}
	return argv[++*i];
}
