/* SPDX-License-Identifier: MIT */
/*
 * The reachability scan's categories as reports use them (docs/LEAKS.md): whether a
 * recording's last scan describes its end, the figures counted as lost, the LEAK SUMMARY
 * (memcheck's four categories plus what suppressions took out), and which categories
 * count as errors for --error-exitcode. Numbers only: no symbols, no output.
 */
#ifndef HS_LEAKS_H
#define HS_LEAKS_H

#include <stdint.h>

#include "hsr_reader.h"
#include "profile.h"

/* Bits of a set of categories (--errors-for-leak-kinds), by enum hsr_leak_kind. */
#define HS_LEAK_BIT(kind) (1u << (kind))
#define HS_LEAK_ERRORS_DEFAULT (HS_LEAK_BIT(HSR_LEAK_DEFINITE) | HS_LEAK_BIT(HSR_LEAK_POSSIBLE))

/* The LEAK SUMMARY of a recording. */
struct hs_leak_summary {
	int classified;			/* a current scan: the categories below hold */
	const struct hsr_leaks *scan;	/* the recording's scan (NULL when classified is 0) */
	struct hsr_leak_figures total;	/* by category, suppressed blocks taken out */
	uint64_t suppressed_bytes;	/* lost (without a scan: live) in suppressed stacks */
	uint64_t suppressed_blocks;
	uint64_t live_bytes;		/* without a scan: live at the end, not suppressed */
	uint64_t live_blocks;
	size_t lost_stacks;		/* stacks with lost (or, without a scan, live) blocks */
	size_t suppressed_stacks;
};

/* Whether rec has a scan that describes its end (no snapshot was taken after it). */
int hs_leaks_classified(const struct hsr_recording *rec);

/* Whether any of the eight figures is non-zero. */
int hs_leak_figures_any(const struct hsr_leak_figures *f);

/* Lost: definitely + indirectly + possibly (saturating). */
uint64_t hs_leak_lost_bytes(const struct hsr_leak_figures *f);
uint64_t hs_leak_lost_blocks(const struct hsr_leak_figures *f);

/* The leaks view's key for a classified row: lost bytes (blocks), or still-reachable
 * ones when the row has no lost block. */
uint64_t hs_leak_key(const struct hsr_leak_figures *f, int bytes);

/* Mark a row's figures suppressed: its lost blocks (without a scan, its live blocks) go
 * to suppressed_bytes/blocks and out of the lost categories. */
void hs_leak_suppress(struct hs_figures *f, int classified);

/* The LEAK SUMMARY of rec under opts (suppressions; NULL: none) into *out. */
void hs_leak_summary_compute(const struct hsr_recording *rec, const struct hs_view_opts *opts,
			     struct hs_leak_summary *out);

/* Blocks in the categories of `kinds` (HS_LEAK_BIT set); without a scan, the live blocks
 * not suppressed when kinds has HSR_LEAK_DEFINITE. */
uint64_t hs_leak_error_blocks(const struct hs_leak_summary *s, unsigned kinds);

/* "definitely lost", ... ; and the JSON keys "definitely_lost", ... (static strings). */
const char *hs_leak_kind_name(unsigned kind);
const char *hs_leak_kind_key(unsigned kind);

/*
 * Parse a --errors-for-leak-kinds / --show-leak-kinds list as valgrind spells it
 * ("definite,possible", "all", "none"; also "indirect", "reachable") into *kinds.
 * 0 or -EINVAL.
 */
int hs_leak_kinds_parse(const char *list, unsigned *kinds);

#endif
