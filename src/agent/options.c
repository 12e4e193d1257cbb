// SPDX-License-Identifier: MIT
/*
 * The agent's options: one table of HEAPSCOPE_* environment variables, read once at start
 * (docs/AGENT.md lists them). Parsing is done by hand: no malloc, no stdio, no locale.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

struct hs_options hs_opt;

enum opt_type { OPT_UINT, OPT_BOOL, OPT_STRING, OPT_MS };

struct opt_def {
	const char *env;
	enum opt_type type;
	void *dst;
	size_t size;		/* strings: buffer size */
	uint64_t min, max;
};

static const struct opt_def options[] = {
	{ "HEAPSCOPE_DEPTH", OPT_UINT, &hs_opt.depth, 0, 0, HS_MAX_DEPTH },
	{ "HEAPSCOPE_START", OPT_BOOL, &hs_opt.start_tracking, 0, 0, 1 },
	{ "HEAPSCOPE_QUIET", OPT_BOOL, &hs_opt.quiet, 0, 0, 1 },
	{ "HEAPSCOPE_RUN", OPT_BOOL, &hs_opt.from_run, 0, 0, 1 },
	{ "HEAPSCOPE_TIMELINE_MS", OPT_MS, &hs_opt.timeline_ns, 0, 1, 3600000 },
	{ "HEAPSCOPE_MAX_STACKS", OPT_UINT, &hs_opt.max_stacks, 0, 1024, 16000000 },
	{ "HEAPSCOPE_OUTPUT", OPT_STRING, hs_opt.output, sizeof(hs_opt.output), 0, 0 },
	{ "HEAPSCOPE_ROOT_PID", OPT_UINT, &hs_opt.root_pid, 0, 0, 0xffffffffu },
	{ "HEAPSCOPE_SESSION", OPT_STRING, hs_opt.session, sizeof(hs_opt.session), 0, 0 },
};

/* Decimal with an optional k/m/g suffix; -1 when malformed. */
static int parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == 'k' || *s == 'K')
		v <<= 10, s++;
	else if (*s == 'm' || *s == 'M')
		v <<= 20, s++;
	else if (*s == 'g' || *s == 'G')
		v <<= 30, s++;
	if (*s)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, uint64_t *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "off") ||
		 !strcmp(s, "false"))
		*out = 0;
	else
		return -1;
	return 0;
}

static void bad_value(const char *env)
{
	char msg[160] = "ignoring bad value of ";

	strncat(msg, env, sizeof(msg) - strlen(msg) - 1);
	hs_say(msg);
}

static void option_set(const struct opt_def *o, const char *val)
{
	uint64_t v;
	int err;

	if (o->type == OPT_STRING) {
		strncpy(o->dst, val, o->size - 1);
		return;
	}
	err = o->type == OPT_BOOL ? parse_bool(val, &v) : parse_uint(val, &v);
	if (err || v < o->min || v > o->max) {
		bad_value(o->env);
		return;
	}
	if (o->type == OPT_MS)
		*(uint64_t *)o->dst = v * 1000000ull;
	else if (o->type == OPT_BOOL)
		*(int *)o->dst = (int)v;
	else
		*(unsigned *)o->dst = (unsigned)v;
}

/* Defaults, then the environment. Called once, from hs_init. */
void hs_options_load(void)
{
	size_t i;
	const char *u;

	hs_opt.depth = 64;
	hs_opt.start_tracking = 1;
	hs_opt.timeline_ns = 10 * 1000000ull;
	hs_opt.max_stacks = 1u << 20;
	strcpy(hs_opt.output, "heapscope.%n.%p.hsr");
	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const char *val = getenv(options[i].env);

		if (val)
			option_set(&options[i], val);
	}
	u = getenv("HEAPSCOPE_UNWIND");
	if (u && !strcmp(u, "fp"))
		hs_opt.unwind_fp = 1;
	else if (u && strcmp(u, "cfi"))
		bad_value("HEAPSCOPE_UNWIND");
}
