// SPDX-License-Identifier: MIT
/*
 * The JSON writer of jsonw.h. Output only: knows nothing of recordings beyond the frame
 * layout, and never allocates.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "jsonw.h"

/* A newline and the indentation of depth d (2 spaces a level). */
static void newline(FILE *f, int d)
{
	static const char spaces[] = "                                                  ";
	size_t n = 2 * (size_t)(d > 0 ? d : 0);

	fputc('\n', f);
	for (; n > sizeof(spaces) - 1; n -= sizeof(spaces) - 1)
		fwrite(spaces, 1, sizeof(spaces) - 1, f);
	fwrite(spaces, 1, n, f);
}

/* Start an element of the current container: separator, indentation, key. */
void hs_jw_item(struct hs_jw *w, const char *key)
{
	int d = w->depth;

	if (d > 0) {
		if (!w->first[d])
			fputs(w->flat[d] ? ", " : ",", w->f);
		if (!w->flat[d])
			newline(w->f, d);
		w->first[d] = 0;
	}
	if (key) {
		hs_jw_put_string(w->f, key);
		fputs(": ", w->f);
	}
}

void hs_jw_open(struct hs_jw *w, const char *key, char c, int flat)
{
	hs_jw_item(w, key);
	fputc(c, w->f);
	w->depth++;
	w->first[w->depth] = 1;
	w->flat[w->depth] = flat || w->flat[w->depth - 1];
}

void hs_jw_close(struct hs_jw *w, char c)
{
	int d = w->depth--;

	if (!w->flat[d] && !w->first[d])
		newline(w->f, d - 1);
	fputc(c, w->f);
}

/* Length of the valid UTF-8 sequence at s, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	uint32_t cp;

	if (s[0] > 0xf4 || n == 0)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	cp = n == 2 ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3f)
	   : n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3f)
		    : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3f);
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Length of the run at s that needs no escaping: printable ASCII but '"' and '\\'. */
static size_t plain_run(const unsigned char *s)
{
	size_t n = 0;

	while (s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\')
		n++;
	return n;
}

/* Write the character at s, escaped as needed; return how many bytes it took. */
static size_t put_char(FILE *f, const unsigned char *s)
{
	size_t n = *s < 0x80 ? 1 : utf8_len(s);

	if (*s == '"' || *s == '\\')
		fprintf(f, "\\%c", *s);
	else if (*s < 0x20 || *s == 0x7f)
		fprintf(f, "\\u%04x", *s);
	else if (n == 0)
		fputs("\\ufffd", f);
	else
		fwrite(s, 1, n, f);
	return n ? n : 1;
}

void hs_jw_put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t run = plain_run(s);

		if (run) {
			fwrite(s, 1, run, f);
			s += run;
		} else {
			s += put_char(f, s);
		}
	}
	fputc('"', f);
}

void hs_jw_str(struct hs_jw *w, const char *key, const char *v)
{
	hs_jw_item(w, key);
	if (v)
		hs_jw_put_string(w->f, v);
	else
		fputs("null", w->f);
}

void hs_jw_u64(struct hs_jw *w, const char *key, uint64_t v)
{
	hs_jw_item(w, key);
	fprintf(w->f, "%" PRIu64, v);
}

void hs_jw_bool(struct hs_jw *w, const char *key, int v)
{
	hs_jw_item(w, key);
	fputs(v ? "true" : "false", w->f);
}

void hs_jw_null(struct hs_jw *w, const char *key)
{
	hs_jw_item(w, key);
	fputs("null", w->f);
}

/* Nanoseconds as seconds, to the microsecond. */
void hs_jw_seconds(struct hs_jw *w, const char *key, uint64_t ns)
{
	hs_jw_item(w, key);
	fprintf(w->f, "%.6f", (double)ns / 1e9);
}

void hs_jw_i64(struct hs_jw *w, const char *key, int64_t v)
{
	hs_jw_item(w, key);
	fprintf(w->f, "%" PRId64, v);
}

void hs_jw_double(struct hs_jw *w, const char *key, double v, int decimals)
{
	hs_jw_item(w, key);
	if (isfinite(v))
		fprintf(w->f, "%.*f", decimals, v);
	else
		fputs("null", w->f);
}

static void put_frame(struct hs_jw *w, const struct hs_frame *f)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "0x%" PRIx64, f->address);
	hs_jw_open(w, NULL, '{', 1);
	hs_jw_str(w, "address", addr);
	hs_jw_str(w, "function", f->function);
	hs_jw_str(w, "file", f->file);
	if (f->line)
		hs_jw_u64(w, "line", f->line);
	else
		hs_jw_null(w, "line");
	hs_jw_str(w, "module", f->module);
	hs_jw_bool(w, "inlined", f->inlined);
	hs_jw_close(w, '}');
}

void hs_jw_frames(struct hs_jw *w, const char *key, const struct hs_frame *frames, size_t n)
{
	hs_jw_open(w, key, '[', 0);
	for (size_t i = 0; i < n; i++)
		put_frame(w, &frames[i]);
	hs_jw_close(w, ']');
}
