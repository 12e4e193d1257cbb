// SPDX-License-Identifier: MIT
/*
 * The agent's options: one table of HEAPSCOPE_* environment variables, read once at start
 * (docs/AGENT.md lists them). Parsing is done by hand: no malloc, no stdio, no locale.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "fmt.h"

struct hs_options hs_opt;

enum opt_type { OPT_UINT, OPT_BOOL, OPT_STRING, OPT_MS, OPT_SIZE, OPT_DURATION, OPT_SIGNAL,
		OPT_MIB };

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
	{ "HEAPSCOPE_SAMPLE", OPT_SIZE, &hs_opt.sample, 0, 0, 1ull << 40 },
	{ "HEAPSCOPE_INTERVAL", OPT_DURATION, &hs_opt.interval_ns, 0, 0, UINT64_MAX },
	{ "HEAPSCOPE_THRESHOLD", OPT_SIZE, &hs_opt.threshold, 0, 0, UINT64_MAX },
	{ "HEAPSCOPE_CHECKPOINT_SIGNAL", OPT_SIGNAL, &hs_opt.checkpoint_signal, 0, 1, 64 },
	{ "HEAPSCOPE_CONTROL", OPT_BOOL, &hs_opt.control, 0, 0, 1 },
	{ "HEAPSCOPE_SOCKET_DIR", OPT_STRING, hs_opt.socket_dir, sizeof(hs_opt.socket_dir), 0, 0 },
	{ "HEAPSCOPE_DUMP", OPT_STRING, hs_opt.dump, sizeof(hs_opt.dump), 0, 0 },
	{ "HEAPSCOPE_EXIT_LINE", OPT_BOOL, &hs_opt.exit_line, 0, 0, 1 },
	{ "HEAPSCOPE_SIGUSR_DUMPS", OPT_BOOL, &hs_opt.sigusr_dumps, 0, 0, 1 },
	{ "HEAPSCOPE_SCAN_SIGNAL", OPT_SIGNAL, &hs_opt.scan_signal, 0, 1, 64 },
	{ "HEAPSCOPE_CANARY", OPT_UINT, &hs_opt.canary, 0, 1, 256 },
	{ "HEAPSCOPE_QUARANTINE", OPT_SIZE, &hs_opt.quarantine, 0, 0, 1ull << 40 },
	{ "HEAPSCOPE_ABORT_ON_ERROR", OPT_BOOL, &hs_opt.abort_on_error, 0, 0, 1 },
	{ "HEAPSCOPE_CHECK_INTERVAL", OPT_DURATION, &hs_opt.check_interval_ns, 0, 0, UINT64_MAX },
	{ "HEAPSCOPE_AUTOSAVE", OPT_DURATION, &hs_opt.autosave_ns, 0, 0, UINT64_MAX },
	{ "HEAPSCOPE_CRASH_HANDLER", OPT_BOOL, &hs_opt.crash_handler, 0, 0, 1 },
	{ "HEAPSCOPE_TERM_HANDLER", OPT_BOOL, &hs_opt.term_handler, 0, 0, 1 },
	{ "HEAPSCOPE_CONTROL_DELAY", OPT_DURATION, &hs_opt.control_delay_ns, 0, 0, UINT64_MAX },
	{ "HEAPSCOPE_UNWIND_REUSE", OPT_BOOL, &hs_opt.unwind_reuse, 0, 0, 1 },
	{ "HEAPSCOPE_OTHER_STACKS", OPT_BOOL, &hs_opt.other_stacks, 0, 0, 1 },
	{ "HEAPSCOPE_SOLO", OPT_BOOL, &hs_opt.solo, 0, 0, 1 },
	/* The names of the hook libraries heapscope replaces (docs/AGENT.md, "Compatibility"). */
	{ "BACKTRACE_MIN_SIZE", OPT_SIZE, &hs_opt.min_stack_size, 0, 0, UINT64_MAX },
	{ "DUMP_PEAK_VALUE_MB", OPT_MIB, &hs_opt.threshold, 0, 0, 1ull << 30 },
};

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

/* "10" (seconds), "500ms", "2s", "5m". */
static int parse_duration(const char *s, uint64_t *ns)
{
	uint64_t v = 0, unit = 1000000000ull;

	if (!*s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > UINT64_MAX / 10 / 1000000000ull)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (!strcmp(s, "ms"))
		unit = 1000000ull;
	else if (!strcmp(s, "m"))
		unit = 60000000000ull;
	else if (*s && strcmp(s, "s"))
		return -1;
	if (v > UINT64_MAX / unit)
		return -1;	/* would wrap */
	*ns = v * unit;
	return 0;
}

/* A number, SIGUSR1, SIGUSR2, SIGRTMIN+N or RTMIN+N. */
static int parse_signal(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (!strncmp(s, "SIG", 3))
		s += 3;
	if (!strcmp(s, "USR1"))
		return *out = SIGUSR1, 0;
	if (!strcmp(s, "USR2"))
		return *out = SIGUSR2, 0;
	if (!strncmp(s, "RTMIN", 5)) {
		if (s[5] == '+' && hs_parse_size(s + 6, &n) < 0)
			return -1;
		if (s[5] && s[5] != '+')
			return -1;
		*out = (uint64_t)SIGRTMIN + n;
		return 0;
	}
	return hs_parse_size(s, out);
}

static int parse_value(const struct opt_def *o, const char *val, uint64_t *v)
{
	switch (o->type) {
	case OPT_BOOL:
		return parse_bool(val, v);
	case OPT_DURATION:
		return parse_duration(val, v);
	case OPT_SIGNAL:
		return parse_signal(val, v);
	default:
		return hs_parse_size(val, v);
	}
}

static void option_set(const struct opt_def *o, const char *val)
{
	uint64_t v;
	int err;

	if (o->type == OPT_STRING) {
		strncpy(o->dst, val, o->size - 1);
		return;
	}
	err = parse_value(o, val, &v);
	if (err || v < o->min || v > o->max) {
		bad_value(o->env);
		return;
	}
	if (o->type == OPT_MS)
		*(uint64_t *)o->dst = v * 1000000ull;
	else if (o->type == OPT_MIB)
		*(uint64_t *)o->dst = v << 20;
	else if (o->type == OPT_SIZE || o->type == OPT_DURATION)
		*(uint64_t *)o->dst = v;
	else if (o->type == OPT_BOOL || o->type == OPT_SIGNAL)
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
	hs_opt.canary = 16;
	hs_opt.quarantine = 16u << 20;
	hs_opt.autosave_ns = 2000000000ull;
	hs_opt.control_delay_ns = 1000000000ull;
	hs_opt.crash_handler = 1;
	hs_opt.term_handler = 1;
	hs_opt.start_tracking = 1;
	hs_opt.timeline_ns = 10 * 1000000ull;
	hs_opt.max_stacks = 1u << 20;
	hs_opt.control = 1;
	hs_opt.unwind_reuse = 1;
	hs_opt.other_stacks = 1;
	hs_opt.solo = 1;
	strcpy(hs_opt.output, "heapscope.%n.%p.hsr");
	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const char *val = getenv(options[i].env);

		if (val)
			option_set(&options[i], val);
	}
	if (!getenv("HEAPSCOPE_EXIT_LINE") &&
	    (getenv("DUMP_PEAK_VALUE_MB") || getenv("BACKTRACE_MIN_SIZE")))
		hs_opt.exit_line = 1;	/* what those tools' users read at exit */
	u = getenv("HEAPSCOPE_CHECK");
	if (u && (!strcmp(u, "1") || !strcmp(u, "canary") || !strcmp(u, "yes")))
		hs_opt.check = 1;
	else if (u && !strcmp(u, "guard"))
		hs_opt.check = 2;
	else if (u && strcmp(u, "0") && strcmp(u, "no"))
		bad_value("HEAPSCOPE_CHECK");
	hs_opt.leak_check = 2;
	u = getenv("HEAPSCOPE_LEAK_CHECK");
	if (u && !strcmp(u, "none"))
		hs_opt.leak_check = 0;
	else if (u && !strcmp(u, "summary"))
		hs_opt.leak_check = 1;
	else if (u && strcmp(u, "full"))
		bad_value("HEAPSCOPE_LEAK_CHECK");
	u = getenv("HEAPSCOPE_UNWIND");
	if (u && !strcmp(u, "fp"))
		hs_opt.unwind_fp = 1;
	else if (u && strcmp(u, "cfi"))
		bad_value("HEAPSCOPE_UNWIND");
}
