/* SPDX-License-Identifier: MIT */
/*
 * Leak suppressions in LeakSanitizer's syntax (docs/LEAKS.md): a file of `leak:PATTERN`
 * lines, `#` comments and blank lines. A pattern matches a stack when it matches, for
 * any frame, the function name, the source file or the module path; it matches a string
 * when it occurs in it (`*` stands for any run of characters, `?` for one; `^` anchors
 * at the start, `$` at the end), as LSan's TemplateMatch does. Frames from the program's
 * start outwards (_start, __libc_start_main) are not looked at. Never prints.
 */
#ifndef HS_SUPPRESS_H
#define HS_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "hsr_reader.h"
#include "resolve.h"

#define HS_SUPP_MAX_LINE 4096	/* a longer line is refused */
#define HS_SUPP_MAX_RULES 100000

struct hs_suppression {
	char *pattern;		/* after "leak:", surrounding blanks removed */
	unsigned line;		/* in the file */
	uint64_t stacks;	/* stacks it matched (first matching rule only) */
};

struct hs_suppressions {
	struct hs_suppression *rules;
	size_t n;
};

/*
 * Parse suppressions from text[0 .. len) (need not be NUL-terminated) into s, which the
 * caller releases with hs_suppressions_release() (on failure s is left empty). `name` is
 * used in messages. On a line
 * that is not a comment, blank or `leak:PATTERN` with a non-empty pattern, or one longer
 * than HS_SUPP_MAX_LINE, returns -EINVAL and writes "NAME:LINE: why" into err; -ENOMEM.
 * Other LSan types (`called_from_lib:` ...) are refused too: they mean nothing here.
 */
int hs_suppressions_parse(struct hs_suppressions *s, const char *text, size_t len,
			  const char *name, char *err, size_t errlen);

/* Read and parse the file at path (at most 64 MiB). As above; -errno when it cannot be
 * read, with "cannot open 'PATH': why" in err. */
int hs_suppressions_load(struct hs_suppressions *s, const char *path, char *err, size_t errlen);

void hs_suppressions_release(struct hs_suppressions *s);

/* LSan's template match of pattern against str (see above); an empty str never matches. */
int hs_template_match(const char *pattern, const char *str);

/* The first rule matching any of frames[0 .. n), or -1. */
long hs_suppressions_match(const struct hs_suppressions *s, const struct hs_frame *frames,
			   size_t n);

/*
 * Which of rec's stacks the rules suppress: *out gets nstacks + 1 flags (1: suppressed),
 * owned by the caller (free()). Only stacks holding live blocks at the end are resolved
 * and matched; each rule's `stacks` counts its matches. 0 or -ENOMEM.
 */
int hs_suppressions_apply(struct hs_suppressions *s, const struct hsr_recording *rec,
			  struct hs_resolver *res, uint8_t **out);

#endif
