/* SPDX-License-Identifier: MIT */
/*
 * Figures for people: counts with thousands separators ("12,345"), byte sizes in 1000-based
 * units as heaptrack shows them ("512.0 kB", "1.23 MB"), times in seconds. Used by the text
 * output only; JSON carries raw numbers. Writes into caller buffers, never allocates.
 */
#ifndef HS_HUMAN_H
#define HS_HUMAN_H

#include <stddef.h>
#include <stdint.h>

#define HS_HUMAN_LEN 32		/* enough for any figure below */

/* "12,345" into buf (HS_HUMAN_LEN bytes); returns buf. */
char *hs_human_count(char *buf, uint64_t n);

/* "1.23 MB" into buf; returns buf. */
char *hs_human_bytes(char *buf, uint64_t bytes);

/* The number part of hs_human_bytes() into buf ("1.23"), the unit ("MB") returned. */
const char *hs_human_bytes_split(char *buf, uint64_t bytes);

/* hs_human_bytes() when is_bytes, else hs_human_count(); returns buf. */
char *hs_human_value(char *buf, uint64_t n, int is_bytes);

/* "1.234 s" from nanoseconds; returns buf. */
char *hs_human_seconds(char *buf, uint64_t ns);

/* "16.2%" of part in whole ("0.0%" when whole is 0); returns buf. */
char *hs_human_percent(char *buf, uint64_t part, uint64_t whole);

#endif
