// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the agent's option parser (src/agent/options.c). run.sh compiles
 * options.c with -Dgetenv=fuzz_getenv, so hs_options_load() reads a fake environment made
 * from the input: lines of NAME=VALUE ("HEAPSCOPE_" is prepended to a NAME that has
 * neither it nor a compatibility prefix, so DEPTH=3 means HEAPSCOPE_DEPTH=3). After each
 * load the options must be within the bounds docs/AGENT.md gives, and every string option
 * NUL-terminated. The agent's parser runs inside the target before anything else: it must
 * never crash on any value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define MAX_VARS 64

static struct {
	char name[64];
	char *value;
} vars[MAX_VARS];
static size_t nvars;

/* What options.c calls instead of getenv(). */
char *fuzz_getenv(const char *name);
char *fuzz_getenv(const char *name)
{
	size_t i;

	for (i = nvars; i-- > 0;)	/* the last definition wins, as in a real environment */
		if (!strcmp(vars[i].name, name))
			return vars[i].value;
	return NULL;
}

void hs_say(const char *msg)
{
	if (strlen(msg) > 4096)
		abort();
}

static int has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t len = strlen(prefix);

	return n >= len && !memcmp(s, prefix, len);
}

static void add_var(const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	size_t klen;

	if (!eq || nvars == MAX_VARS)
		return;
	klen = (size_t)(eq - line);
	vars[nvars].name[0] = 0;
	if (!has_prefix(line, klen, "HEAPSCOPE_") && !has_prefix(line, klen, "BACKTRACE_") &&
	    !has_prefix(line, klen, "DUMP_PEAK_"))
		strcpy(vars[nvars].name, "HEAPSCOPE_");
	if (klen >= sizeof(vars[0].name) - strlen(vars[nvars].name))
		return;
	strncat(vars[nvars].name, line, klen);
	vars[nvars].value = strndup(eq + 1, n - klen - 1);
	if (vars[nvars].value)
		nvars++;
}

static void check_bounds(void)
{
	if (hs_opt.depth > HS_MAX_DEPTH || hs_opt.max_stacks < 1024 ||
	    hs_opt.max_stacks > 16000000 || hs_opt.canary < 1 || hs_opt.canary > 256 ||
	    hs_opt.checkpoint_signal < 0 || hs_opt.checkpoint_signal > 64 ||
	    hs_opt.timeline_ns < 1000000ull || hs_opt.check < 0 || hs_opt.check > 2)
		abort();
	if (!memchr(hs_opt.output, 0, sizeof(hs_opt.output)) ||
	    !memchr(hs_opt.session, 0, sizeof(hs_opt.session)) ||
	    !memchr(hs_opt.socket_dir, 0, sizeof(hs_opt.socket_dir)) ||
	    !memchr(hs_opt.dump, 0, sizeof(hs_opt.dump)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	nvars = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		add_var(p, n);
		p += n + 1;
	}
	memset(&hs_opt, 0, sizeof(hs_opt));	/* a fresh process */
	hs_options_load();
	check_bounds();
	while (nvars)
		free(vars[--nvars].value);
	return 0;
}
