/* SPDX-License-Identifier: MIT */
/*
 * A minimal JSON writer for the reports (docs/JSON.md): commas, indentation, containers
 * that may stay on one line, strings made valid UTF-8 (bytes that are not become U+FFFD),
 * and the frames of a resolved stack as every JSON output writes them. Writes to a
 * stdio stream; the caller checks ferror() once at the end. Nothing here allocates.
 */
#ifndef HS_JSONW_H
#define HS_JSONW_H

#include <stdint.h>
#include <stdio.h>

#include "resolve.h"

#define HS_JW_MAX_DEPTH 8	/* the reports nest 5 deep (frames of a stack) */

/* Zero-initialize with .f set; depth 0 is outside any container. */
struct hs_jw {
	FILE *f;
	int depth;
	int first[HS_JW_MAX_DEPTH];	/* per depth: nothing written in the container yet */
	int flat[HS_JW_MAX_DEPTH];	/* per depth: the container stays on one line */
};

/* Start an element of the current container: separator, indentation, "key": (key NULL in
 * an array). */
void hs_jw_item(struct hs_jw *w, const char *key);

/* Open a container ('{' or '['), on one line when flat (or when its parent is). */
void hs_jw_open(struct hs_jw *w, const char *key, char c, int flat);
void hs_jw_close(struct hs_jw *w, char c);

/* Values: a string (NULL writes null), integers, booleans, null, a number of seconds
 * from nanoseconds (six decimals), a double with `decimals` decimals (non-finite: null). */
void hs_jw_put_string(FILE *f, const char *str);
void hs_jw_str(struct hs_jw *w, const char *key, const char *v);
void hs_jw_u64(struct hs_jw *w, const char *key, uint64_t v);
void hs_jw_i64(struct hs_jw *w, const char *key, int64_t v);
void hs_jw_bool(struct hs_jw *w, const char *key, int v);
void hs_jw_null(struct hs_jw *w, const char *key);
void hs_jw_seconds(struct hs_jw *w, const char *key, uint64_t ns);
void hs_jw_double(struct hs_jw *w, const char *key, double v, int decimals);

/* The frames of a stack as an array under key (docs/JSON.md, frames[]). */
void hs_jw_frames(struct hs_jw *w, const char *key, const struct hs_frame *frames, size_t n);

#endif
