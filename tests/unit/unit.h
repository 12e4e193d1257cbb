/* SPDX-License-Identifier: MIT */
/* The unit tests' check: report a false condition with its line and count it. */
#ifndef HS_UNIT_H
#define HS_UNIT_H

#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#cond);                                              \
			failures++;                                                  \
		}                                                                    \
	} while (0)

#endif
