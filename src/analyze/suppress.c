// SPDX-License-Identifier: MIT
/*
 * LeakSanitizer-style suppressions (suppress.h): parsing a file of `leak:` lines and
 * matching resolved stacks against them. The parser bounds every line and never trusts
 * the file; the matcher is iterative (no recursion on the pattern), so no pattern can
 * exhaust the stack.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

#define MAX_FILE (64u << 20)

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line [p, p + n): 0 and *pat (malloc'd, or NULL for a comment/blank), or -EINVAL. */
static int parse_line(const char *p, size_t n, char **pat, const char **why)
{
	static const char type[] = "leak:";

	*pat = NULL;
	while (n && is_blank(*p))
		p++, n--;
	while (n && is_blank(p[n - 1]))
		n--;
	if (n == 0 || *p == '#')
		return 0;
	if (memchr(p, '\0', n)) {
		*why = "a NUL byte in the line";
		return -EINVAL;
	}
	if (n < sizeof(type) - 1 || memcmp(p, type, sizeof(type) - 1) != 0) {
		*why = memchr(p, ':', n) ? "only 'leak:' suppressions are supported"
					 : "expected 'leak:PATTERN'";
		return -EINVAL;
	}
	p += sizeof(type) - 1;
	n -= sizeof(type) - 1;
	while (n && is_blank(*p))
		p++, n--;
	if (n == 0) {
		*why = "empty pattern after 'leak:'";
		return -EINVAL;
	}
	*pat = strndup(p, n);
	return *pat ? 0 : -ENOMEM;
}

static int add_rule(struct hs_suppressions *s, char *pat, unsigned line, size_t *cap)
{
	if (s->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct hs_suppression *r = reallocarray(s->rules, ncap, sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->rules = r;
		*cap = ncap;
	}
	s->rules[s->n++] = (struct hs_suppression){ .pattern = pat, .line = line };
	return 0;
}

static int bad_line(char *err, size_t errlen, const char *name, unsigned line, const char *why)
{
	snprintf(err, errlen, "%s:%u: %s", name, line, why);
	return -EINVAL;
}

static int parse_text(struct hs_suppressions *s, const char *text, size_t len,
		      const char *name, char *err, size_t errlen)
{
	size_t cap = 0, start = 0;
	unsigned line = 0;
	const char *why = NULL;

	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - text) - start : len - start;
		char *pat;
		int ret;

		line++;
		if (n > HS_SUPP_MAX_LINE)
			return bad_line(err, errlen, name, line, "line too long");
		ret = parse_line(text + start, n, &pat, &why);
		if (ret == -EINVAL)
			return bad_line(err, errlen, name, line, why);
		if (!ret && pat && s->n >= HS_SUPP_MAX_RULES)
			ret = -E2BIG;
		if (!ret && pat)
			ret = add_rule(s, pat, line, &cap);
		if (ret) {
			free(pat);
			snprintf(err, errlen, "%s: %s", name, strerror(-ret));
			return ret;
		}
		start += n + 1;
	}
	return 0;
}

int hs_suppressions_parse(struct hs_suppressions *s, const char *text, size_t len,
			  const char *name, char *err, size_t errlen)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = parse_text(s, text, len, name, err, errlen);
	if (ret)
		hs_suppressions_release(s);
	return ret;
}

static int read_all(FILE *f, char **buf, size_t *len)
{
	size_t cap = 0, n = 0;
	char *b = NULL;

	for (;;) {
		if (n == cap) {
			char *nb = cap >= MAX_FILE ? NULL : realloc(b, cap ? cap * 2 : 4096);

			if (!nb) {
				free(b);
				return cap >= MAX_FILE ? -EFBIG : -ENOMEM;
			}
			b = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
	}
	if (ferror(f)) {
		free(b);
		return -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

int hs_suppressions_load(struct hs_suppressions *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;
	int ret;

	memset(s, 0, sizeof(*s));
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return ret;
	}
	ret = read_all(f, &buf, &len);
	fclose(f);
	if (ret) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(-ret));
		return ret;
	}
	ret = hs_suppressions_parse(s, buf, len, path, err, errlen);
	free(buf);
	return ret;
}

void hs_suppressions_release(struct hs_suppressions *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rules[i].pattern);
	free(s->rules);
	s->rules = NULL;
	s->n = 0;
}

/*
 * Glob match of p (ending at pend) against the whole of s: `*` any run, `?` one
 * character. Iterative, backtracking to the last `*` only: linear-ish, bounded.
 */
static int glob_match(const char *p, const char *pend, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (p < pend && (*p == '?' || *p == *s)) {
			p++, s++;
		} else if (p < pend && *p == '*') {
			star = ++p;
			resume = s;
		} else if (star) {
			p = star;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (p < pend && *p == '*')
		p++;
	return p == pend;
}

int hs_template_match(const char *pattern, const char *str)
{
	const char *end = pattern + strlen(pattern);
	int anchored_start = 0, anchored_end = 0;
	char *glob;
	int ret;

	if (!str || !*str)
		return 0;
	if (*pattern == '^')
		anchored_start = 1, pattern++;
	if (end > pattern && end[-1] == '$')
		anchored_end = 1, end--;
	glob = malloc((size_t)(end - pattern) + 3);
	if (!glob)
		return 0;
	sprintf(glob, "%s%.*s%s", anchored_start ? "" : "*", (int)(end - pattern), pattern,
		anchored_end ? "" : "*");
	ret = glob_match(glob, glob + strlen(glob), str);
	free(glob);
	return ret;
}

static int frame_matches(const char *pattern, const struct hs_frame *f)
{
	return hs_template_match(pattern, f->function) || hs_template_match(pattern, f->file) ||
	       hs_template_match(pattern, f->module);
}

long hs_suppressions_match(const struct hs_suppressions *s, const struct hs_frame *frames,
			   size_t n)
{
	for (size_t r = 0; r < s->n; r++) {
		for (size_t i = 0; i < n && !hs_frame_is_program_start(&frames[i]); i++) {
			if (frame_matches(s->rules[r].pattern, &frames[i]))
				return (long)r;
		}
	}
	return -1;
}

int hs_suppressions_apply(struct hs_suppressions *s, const struct hsr_recording *rec,
			  struct hs_resolver *res, uint8_t **out)
{
	uint8_t *flags = calloc(rec->nstacks + 1, 1);

	*out = NULL;
	if (!flags)
		return -ENOMEM;
	for (uint32_t id = 0; id <= rec->nstacks && s->n; id++) {
		const struct hsr_counters *c = &rec->stacks[id].last;
		const struct hs_frame *frames;
		size_t n;
		long r;

		if (c->alloc_calls <= c->free_calls)
			continue;
		if (hs_resolver_stack(res, id, &frames, &n)) {
			free(flags);
			return -ENOMEM;
		}
		r = hs_suppressions_match(s, frames, n);
		if (r >= 0) {
			flags[id] = 1;
			s->rules[r].stacks++;
		}
	}
	*out = flags;
	return 0;
}
