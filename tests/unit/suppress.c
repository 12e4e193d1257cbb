// SPDX-License-Identifier: MIT
/*
 * Unit test of leak suppressions (src/analyze/suppress.c): LeakSanitizer's template
 * matching (substring, `*`, `^`, `$`) and `?`, matching frames by function, file and
 * module, the parser's messages, and thousands of random files, which must parse or be
 * refused with a message, never crash (run under ASan too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

#include "unit.h"

static const struct {
	const char *pattern, *str;
	int match;
} cases[] = {
	{ "foo", "foo", 1 },	      { "foo", "xfooy", 1 },	   { "foo", "fo", 0 },
	{ "^foo", "foobar", 1 },      { "^foo", "xfoo", 0 },	   { "foo$", "xfoo", 1 },
	{ "foo$", "foox", 0 },	      { "^foo$", "foo", 1 },	   { "^foo$", "foo2", 0 },
	{ "a*c", "xxabbbcyy", 1 },    { "a*c", "ca", 0 },	   { "^a*c$", "abc", 1 },
	{ "lib*.so", "/usr/lib/libz.so.1", 1 }, { "lib?.so", "libz.so", 1 },
	{ "lib?.so", "libzz.so", 0 }, { "*", "x", 1 },		   { "foo", "", 0 },
	{ "a$", "aba", 1 },	      { "**a**", "xa", 1 },	   { "^$", "x", 0 },
};

static void test_template(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = hs_template_match(cases[i].pattern, cases[i].str);

		if (got != cases[i].match) {
			fprintf(stderr, "match('%s', '%s') = %d\n", cases[i].pattern, cases[i].str, got);
			failures++;
		}
	}
	CHECK(!hs_template_match("foo", NULL));
}

static void test_parse(void)
{
	static const char good[] = "# comment\n\n  leak:leak_direct  \r\nleak:libfoo*.so\n\tleak: x";
	struct hs_suppressions s;
	struct hs_frame f[2] = { { .function = "bar", .file = "/src/a.c", .module = "/lib/libfoo1.so" },
				 { .function = "main", .file = "/src/m.c", .module = "/bin/p" } };
	char err[256];

	CHECK(hs_suppressions_parse(&s, good, sizeof(good) - 1, "g", err, sizeof(err)) == 0);
	CHECK(s.n == 3 && !strcmp(s.rules[0].pattern, "leak_direct") && s.rules[0].line == 3);
	CHECK(s.n == 3 && !strcmp(s.rules[2].pattern, "x") && s.rules[2].line == 5);
	CHECK(hs_suppressions_match(&s, f, 2) == 1);		/* by module */
	f[0].module = "/lib/libbar.so";
	CHECK(hs_suppressions_match(&s, f, 2) == -1);
	f[1].function = "leak_direct_helper";			/* any frame, substring */
	CHECK(hs_suppressions_match(&s, f, 2) == 0);
	f[1].function = "_start";				/* program start: not looked at */
	f[1].file = f[1].module = NULL;
	CHECK(hs_suppressions_match(&s, f, 2) == -1);
	hs_suppressions_release(&s);
	CHECK(hs_suppressions_parse(&s, "leak:a\nrace:b\n", 14, "f", err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "f:2: only 'leak:' suppressions are supported"));
	CHECK(hs_suppressions_parse(&s, "foo\n", 4, "f", err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "f:1: expected 'leak:PATTERN'"));
	CHECK(hs_suppressions_parse(&s, "leak:\n", 6, "f", err, sizeof(err)) == -EINVAL);
	CHECK(hs_suppressions_parse(&s, "leak:a\0b\n", 9, "f", err, sizeof(err)) == -EINVAL);
	CHECK(hs_suppressions_load(&s, "/nonexistent/s", err, sizeof(err)) == -ENOENT);
	CHECK(!strcmp(err, "cannot open '/nonexistent/s': No such file or directory"));
}

static void test_random(unsigned rounds)
{
	static const char alphabet[] = "leak:*?^$#\n \t\r\0abc/.";
	static char buf[6000];
	struct hs_frame f = { .function = "abc*", .file = "a/b.c", .module = "/x/libabc.so" };
	char err[128];

	srand(4242);
	for (unsigned i = 0; i < rounds; i++) {
		size_t n = (size_t)rand() % sizeof(buf);
		struct hs_suppressions s;

		for (size_t j = 0; j < n; j++)
			buf[j] = rand() % 4 ? alphabet[rand() % (sizeof(alphabet) - 1)] : (char)rand();
		if (i % 3 == 0 && n > 5)
			memcpy(buf, "leak:", 5);
		if (hs_suppressions_parse(&s, buf, n, "r", err, sizeof(err)) == 0) {
			(void)hs_suppressions_match(&s, &f, 1);
			hs_suppressions_release(&s);
		} else {
			CHECK(err[0] == 'r');
		}
	}
}

int main(void)
{
	test_template();
	test_parse();
	test_random(3000);
	if (failures) {
		fprintf(stderr, "unit_suppress: %d checks failed\n", failures);
		return 1;
	}
	printf("unit_suppress: all checks passed\n");
	return 0;
}
