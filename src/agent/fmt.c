// SPDX-License-Identifier: MIT
/*
 * Formatting and parsing helpers for the agent (see fmt.h). Must never call malloc or stdio.
 */
#include <string.h>

#include "fmt.h"

void hs_fmt_init(struct hs_fmt *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	if (cap)
		buf[0] = 0;
}

void hs_fmt_str(struct hs_fmt *f, const char *s)
{
	while (s && *s && f->len + 1 < f->cap)
		f->buf[f->len++] = *s++;
	if (f->cap)
		f->buf[f->len < f->cap ? f->len : f->cap - 1] = 0;
}

void hs_fmt_uint(struct hs_fmt *f, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;

	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	hs_fmt_str(f, tmp + i);
}

void hs_fmt_int(struct hs_fmt *f, int64_t v)
{
	if (v < 0) {
		hs_fmt_str(f, "-");
		hs_fmt_uint(f, (uint64_t)0 - (uint64_t)v);
		return;
	}
	hs_fmt_uint(f, (uint64_t)v);
}

void hs_fmt_hex(struct hs_fmt *f, uint64_t v)
{
	char tmp[20];
	int i = sizeof(tmp) - 1;

	tmp[i] = 0;
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	hs_fmt_str(f, tmp + i);
}

void hs_fmt_pad(struct hs_fmt *f, size_t width)
{
	while (f->len < width)
		hs_fmt_str(f, " ");
}

void hs_fmt_bytes(struct hs_fmt *f, uint64_t v)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	uint64_t whole = v, tenths = 0;
	unsigned u = 0;

	while (whole >= 1000 && u < 4) {
		tenths = (v * 10 / 1000) % 10;
		v /= 1000;
		whole = v;
		u++;
	}
	hs_fmt_uint(f, whole);
	if (u) {
		hs_fmt_str(f, ".");
		hs_fmt_uint(f, tenths);
	}
	hs_fmt_str(f, " ");
	hs_fmt_str(f, units[u]);
}

int hs_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	unsigned shift = 0;

	if (*s == 'k' || *s == 'K')
		shift = 10, s++;
	else if (*s == 'm' || *s == 'M')
		shift = 20, s++;
	else if (*s == 'g' || *s == 'G')
		shift = 30, s++;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;	/* would wrap */
	v <<= shift;
	if (*s == 'b' || *s == 'B')
		s++;
	if (*s)
		return -1;
	*out = v;
	return 0;
}
