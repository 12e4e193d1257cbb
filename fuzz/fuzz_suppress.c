// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the suppression parser and LSan-style template matcher
 * (src/analyze/suppress.c). The input is parsed as a suppressions file; when it parses,
 * each rule is matched against strings cut from the input itself and against a few fixed
 * frames. Must never crash, leak or run away (the matcher is meant to be bounded).
 * Built by fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "suppress.h"

/* suppress.c's matcher asks resolve.c whether a frame is the program's start: stubbed. */
int hs_frame_is_program_start(const struct hs_frame *f)
{
	return f->function && !strcmp(f->function, "__libc_start_main");
}

/* Only hs_suppressions_apply() calls it, which this target does not. */
int hs_resolver_stack(struct hs_resolver *res, uint32_t id, const struct hs_frame **frames,
		      size_t *n)
{
	abort();
}

static void match_all(const struct hs_suppressions *s, const char *subject)
{
	struct hs_frame frames[3] = {
		{ .function = subject, .file = "src/a.c", .module = "/usr/lib/libx.so" },
		{ .function = "main", .file = NULL, .module = subject },
		{ .function = "__libc_start_main", .file = subject, .module = NULL },
	};
	size_t i;

	for (i = 0; i < s->n; i++)
		hs_template_match(s->rules[i].pattern, subject);
	hs_suppressions_match(s, frames, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hs_suppressions s;
	char err[256], *subject;
	size_t cut = size / 2;

	if (hs_suppressions_parse(&s, (const char *)data, size, "fuzz", err, sizeof(err)) == 0) {
		/* The second half of the input, up to its first NUL, as a string to match. */
		subject = strndup((const char *)data + cut, size - cut);
		if (subject) {
			match_all(&s, subject);
			free(subject);
		}
		hs_suppressions_release(&s);
	} else if (!memchr(err, '\0', sizeof(err))) {
		abort();	/* the message must be a C string */
	}
	return 0;
}
