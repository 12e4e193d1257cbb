// SPDX-License-Identifier: MIT
/*
 * Human-readable figures (human.h): 1000-based byte units, thousands separators. Formats
 * into caller buffers of HS_HUMAN_LEN bytes; no allocation, no output.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "human.h"

char *hs_human_count(char *buf, uint64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
	char *p = buf;

	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			*p++ = ',';
		*p++ = digits[i];
	}
	*p = '\0';
	return buf;
}

const char *hs_human_bytes_split(char *buf, uint64_t bytes)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 1000) {
		snprintf(buf, HS_HUMAN_LEN, "%" PRIu64, bytes);
		return "B";
	}
	v /= 1000.0;
	while (v >= (u == 0 ? 999.95 : 999.995) && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	snprintf(buf, HS_HUMAN_LEN, u == 0 ? "%.1f" : "%.2f", v);
	return units[u];
}

char *hs_human_bytes(char *buf, uint64_t bytes)
{
	const char *unit = hs_human_bytes_split(buf, bytes);
	size_t len = strlen(buf);

	snprintf(buf + len, HS_HUMAN_LEN - len, " %s", unit);
	return buf;
}

char *hs_human_seconds(char *buf, uint64_t ns)
{
	snprintf(buf, HS_HUMAN_LEN, "%.3f s", (double)ns / 1e9);
	return buf;
}

char *hs_human_percent(char *buf, uint64_t part, uint64_t whole)
{
	snprintf(buf, HS_HUMAN_LEN, "%.1f%%", whole ? 100.0 * (double)part / (double)whole : 0.0);
	return buf;
}

char *hs_human_value(char *buf, uint64_t n, int is_bytes)
{
	return is_bytes ? hs_human_bytes(buf, n) : hs_human_count(buf, n);
}
