// SPDX-License-Identifier: MIT
/*
 * `heapscope run [options] [--] PROGRAM ARGS`: start a program with the agent preloaded,
 * wait for it, then print the summary of its recording. The program's own output and exit
 * status go through untouched (128+N when it died of signal N); heapscope's words go to
 * stderr. Children and exec'd images get recordings of their own, listed at the end. Each
 * recording is compressed once its process is done with it (unless --no-compress).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "hsr_compress.h"
#include "leaks.h"
#include "suppress.h"

struct run_opts {
	const char *output;
	const char *depth;
	const char *unwind;
	const char *timeline_ms;
	const char *sample;
	unsigned top;
	int summary;
	int quiet;
	int compress;		/* compress the recordings when done (--no-compress: 0) */
	char **argv;		/* the program and its arguments */
	const char *leak_check;	/* --leak-check: "full", "summary", "none"; NULL: as the agent */
	int show_reachable;
	int gen_suppressions;
	const char *supp_path;	/* --suppressions */
	struct hs_suppressions supp;
	int error_exitcode;	/* --error-exitcode=N; 0: off */
	const char *check;	/* --check[=canary|guard]: "1" or "guard" */
	const char *quarantine;	/* --quarantine SIZE */
	const char *canary;	/* --canary N */
	int abort_on_error;
	unsigned error_kinds;	/* --errors-for-leak-kinds, default definite,possible */
};

void hs_usage_run(FILE *out)
{
	fprintf(out,
		"usage: heapscope run [options] [--] PROGRAM [ARGS...]\n\n"
		"Runs PROGRAM with the heapscope agent and reports on it when it ends.\n\n"
		"  -o, --output FILE    recording path (%%p: pid, %%n: program name);\n"
		"                       default heapscope.PROGRAM.PID.hsr in the current directory\n"
		"      --depth N        frames per call stack (default 64, at most 256)\n"
		"      --unwind cfi|fp  unwinder: DWARF CFI (default) or frame pointers only\n"
		"      --timeline-ms N  heap size sampling interval (default 10)\n"
		"      --sample SIZE    sample allocations every SIZE bytes on average (e.g. 512k);\n"
		"                       figures become estimates. Default: every allocation\n"
		"      --top N          stacks per list in the summary (default 5)\n"
		"      --no-summary     print no summary, only where the recording is\n"
		"      --no-compress    leave the recordings uncompressed (by default each is\n"
		"                       compressed with zstd once its process is done)\n"
		"      --leak-check=full|summary|none\n"
		"                       reachability scan at exit (default full): the LEAK\n"
		"                       SUMMARY and the lost stacks; summary: the LEAK SUMMARY\n"
		"                       only; none: no scan (leaks: blocks live at the end)\n"
		"      --show-reachable list still-reachable stacks too\n"
		"      --suppressions FILE  LeakSanitizer-style 'leak:PATTERN' lines\n"
		"      --gen-suppressions   print a suppression for each listed leak\n"
		"      --error-exitcode=N   exit with N when leaks are found (after suppressions)\n"
		"      --errors-for-leak-kinds=LIST  which count for it: definite, indirect,\n"
		"                       possible, reachable, all, none (default definite,possible)\n"
		"  -q, --quiet          no messages from the agent\n"
		"\nHeap checking (docs/CHECK.md):\n"
		"      --check[=canary|guard]  canaries around blocks, fill patterns, a quarantine\n"
		"                       of freed blocks, checked frees; guard: a PROT_NONE page\n"
		"                       after each block (an overflow faults where it happens)\n"
		"      --canary N       canary bytes after each block (default 16, at most 256)\n"
		"      --quarantine SIZE  freed bytes held back to catch writes after free (16M)\n"
		"      --abort-on-error stop at the first heap error (for a debugger)\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "heapscope: run: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see 'heapscope help run')\n");
	return 2;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The value of option argv[*i] ("--x=V" or "--x V"); NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

static int parse_number_opt(int argc, char **argv, int *i, const char *name,
			    const char **dst)
{
	const char *v = opt_value(argc, argv, i, name);

	if (!v || !all_digits(v))
		return bad_usage("option '%s' needs a number", name);
	*dst = v;
	return 0;
}

/* --leak-check, --suppressions (read now: a bad file stops here), --error-exitcode,
 * --errors-for-leak-kinds. 0 or 2. */
static int parse_leak_opt(int argc, char **argv, int *i, struct run_opts *o)
{
	const char *a = argv[*i], *v;
	char err[512];

	if (is_opt(a, "--error-exitcode")) {
		if (parse_number_opt(argc, argv, i, "--error-exitcode", &v) || atoi(v) > 255)
			return bad_usage("option '--error-exitcode' needs a number 0 to 255%s", "");
		o->error_exitcode = atoi(v);
		return 0;
	}
	v = opt_value(argc, argv, i, is_opt(a, "--leak-check") ? "--leak-check"
				 : is_opt(a, "--suppressions") ? "--suppressions"
				 : "--errors-for-leak-kinds");
	if (!v || !*v)
		return bad_usage("option '%s' needs a value", a);
	if (is_opt(a, "--errors-for-leak-kinds"))
		return hs_leak_kinds_parse(v, &o->error_kinds) ?
		       bad_usage("--errors-for-leak-kinds: bad list '%s'", v) : 0;
	if (is_opt(a, "--leak-check")) {
		if (strcmp(v, "full") && strcmp(v, "summary") && strcmp(v, "none"))
			return bad_usage("option '--leak-check' takes full, summary or none%s", "");
		o->leak_check = v;
		return 0;
	}
	if (o->supp_path)
		return bad_usage("--suppressions given twice%s", "");
	o->supp_path = v;
	if (hs_suppressions_load(&o->supp, v, err, sizeof(err))) {
		fprintf(stderr, "heapscope: %s\n", err);
		return 2;
	}
	return 0;
}

/* --check[=canary|guard], --quarantine SIZE, --canary N, --abort-on-error. 0 or 2. */
static int parse_check_opt(int argc, char **argv, int *i, struct run_opts *o)
{
	const char *a = argv[*i], *v;

	if (!strcmp(a, "--abort-on-error")) {
		o->abort_on_error = 1;
	} else if (!strcmp(a, "--check") || !strcmp(a, "--check=canary")) {
		o->check = "1";
	} else if (!strcmp(a, "--check=guard")) {
		o->check = "guard";
	} else if (is_opt(a, "--check")) {
		return bad_usage("--check takes 'canary' or 'guard', not '%s'", a + 8);
	} else if (is_opt(a, "--quarantine")) {
		v = opt_value(argc, argv, i, "--quarantine");
		if (!v || strspn(v, "0123456789") == 0)
			return bad_usage("option '--quarantine' needs a size (like 64M)%s", "");
		o->quarantine = v;
	} else {
		return parse_number_opt(argc, argv, i, "--canary", &o->canary);
	}
	return 0;
}

static int parse_one(int argc, char **argv, int *i, struct run_opts *o)
{
	const char *a = argv[*i], *v;

	if (!strcmp(a, "-o") || is_opt(a, "--output")) {
		v = opt_value(argc, argv, i, a[1] == 'o' ? "-o" : "--output");
		if (!v || !*v)
			return bad_usage("option '%s' needs a file name", a);
		o->output = v;
	} else if (is_opt(a, "--depth")) {
		return parse_number_opt(argc, argv, i, "--depth", &o->depth);
	} else if (is_opt(a, "--timeline-ms")) {
		return parse_number_opt(argc, argv, i, "--timeline-ms", &o->timeline_ms);
	} else if (is_opt(a, "--sample")) {
		v = opt_value(argc, argv, i, "--sample");
		if (!v || !*v || strspn(v, "0123456789") == 0)
			return bad_usage("option '--sample' needs a size (like 512k)%s", "");
		o->sample = v;
	} else if (is_opt(a, "--top")) {
		if (parse_number_opt(argc, argv, i, "--top", &v))
			return 2;
		o->top = (unsigned)atoi(v);
	} else if (is_opt(a, "--unwind")) {
		v = opt_value(argc, argv, i, "--unwind");
		if (!v || (strcmp(v, "cfi") && strcmp(v, "fp")))
			return bad_usage("option '--unwind' takes 'cfi' or 'fp'%s", "");
		o->unwind = v;
	} else if (is_opt(a, "--leak-check") || is_opt(a, "--suppressions") ||
		   is_opt(a, "--error-exitcode") || is_opt(a, "--errors-for-leak-kinds")) {
		return parse_leak_opt(argc, argv, i, o);
	} else if (is_opt(a, "--check") || is_opt(a, "--quarantine") || is_opt(a, "--canary") ||
		   !strcmp(a, "--abort-on-error")) {
		return parse_check_opt(argc, argv, i, o);
	} else if (!strcmp(a, "--show-reachable")) {
		o->show_reachable = 1;
	} else if (!strcmp(a, "--gen-suppressions")) {
		o->gen_suppressions = 1;
	} else if (!strcmp(a, "--no-summary")) {
		o->summary = 0;
	} else if (!strcmp(a, "--no-compress")) {
		o->compress = 0;
	} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		o->quiet = 1;
	} else {
		return bad_usage("unknown option '%s'", a);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	int i, err;

	memset(o, 0, sizeof(*o));
	o->top = 5;
	o->summary = 1;
	o->compress = 1;
	o->error_kinds = HS_LEAK_ERRORS_DEFAULT;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			break;
		err = parse_one(argc, argv, &i, o);
		if (err)
			return err;
	}
	if (i >= argc)
		return bad_usage("no program to run%s", "");
	o->argv = argv + i;
	return 0;
}

/* The agent: $HEAPSCOPE_AGENT, else ../lib/libheapscope.so next to this executable. */
static int find_agent(char out[PATH_MAX], size_t cap)
{
	const char *env = getenv("HEAPSCOPE_AGENT");
	char self[PATH_MAX - 64];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return -errno;
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash)
			*slash = 0;
		snprintf(out, cap, "%s/../lib/libheapscope.so", self);
		if (access(out, R_OK) != 0)
			snprintf(out, cap, "%s/../lib/heapscope/libheapscope.so", self);
	}
	if (access(out, R_OK) != 0) {
		fprintf(stderr, "heapscope: cannot find the agent '%s': %s\n", out,
			strerror(errno));
		return -ENOENT;
	}
	return 0;
}

static int set_env(const char *name, const char *value)
{
	if (value && setenv(name, value, 1) != 0) {
		fprintf(stderr, "heapscope: cannot set %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

/* LD_PRELOAD with the agent first, then what the user had. */
static int set_preload(const char *agent)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int ret;

	if (!old || !*old)
		return set_env("LD_PRELOAD", agent);
	if (asprintf(&v, "%s:%s", agent, old) < 0)
		return -1;
	ret = set_env("LD_PRELOAD", v);
	free(v);
	return ret;
}

/*
 * Said before the program runs: a recording that cannot be made (a missing or unwritable
 * directory, a directory in the file's place), as the agent would only find out inside it.
 * A directory named by a pattern (%p, %n) is left to the agent.
 */
static int output_unwritable(const char *output)
{
	const char *slash = strrchr(output, '/');
	char dir[PATH_MAX];
	struct stat st;
	size_t n = slash > output ? (size_t)(slash - output) : 1;

	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, output, n);
	dir[n] = '\0';
	if (strchr(dir, '%'))
		return 0;
	if (access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "heapscope: cannot write recording '%s': %s\n", output,
			strerror(errno));
		return 1;
	}
	if (!strchr(output, '%') && stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "heapscope: cannot write recording '%s': %s\n", output,
			strerror(EISDIR));
		return 1;
	}
	return 0;
}

/* -o FILE: an absolute path, replacing an old recording of that name. */
static int set_output(const char *output)
{
	char cwd[PATH_MAX], *abs = NULL;
	struct stat st;
	int ret;

	if (!output) {	/* the agent's default (options.c), in this directory */
		char def[PATH_MAX + 32];

		if (!getcwd(cwd, sizeof(cwd)))
			return 0;
		snprintf(def, sizeof(def), "%s/heapscope.%%n.%%p.hsr", cwd);
		return output_unwritable(def) ? -1 : 0;
	}
	if (output[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) || asprintf(&abs, "%s/%s", cwd, output) < 0)
			return -1;
		output = abs;
	}
	if (output_unwritable(output)) {
		free(abs);
		return -1;
	}
	if (!strchr(output, '%') && lstat(output, &st) == 0 && S_ISREG(st.st_mode) &&
	    unlink(output) != 0) {
		fprintf(stderr, "heapscope: cannot replace '%s': %s\n", output, strerror(errno));
		free(abs);
		return -1;
	}
	ret = set_env("HEAPSCOPE_OUTPUT", output);
	free(abs);
	return ret;
}

static int make_session(char *path, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, cap, "%s/heapscope-session.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "heapscope: cannot create '%s': %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int setup_env(const struct run_opts *o, const char *session)
{
	char agent[PATH_MAX];

	if (find_agent(agent, sizeof(agent)) < 0)
		return -1;
	if (set_output(o->output) || set_env("HEAPSCOPE_SESSION", session) ||
	    set_env("HEAPSCOPE_RUN", "1") || set_env("HEAPSCOPE_DEPTH", o->depth) ||
	    set_env("HEAPSCOPE_UNWIND", o->unwind) ||
	    set_env("HEAPSCOPE_TIMELINE_MS", o->timeline_ms) ||
	    set_env("HEAPSCOPE_SAMPLE", o->sample) ||
	    set_env("HEAPSCOPE_LEAK_CHECK", o->leak_check) ||
	    set_env("HEAPSCOPE_CHECK", o->check) ||
	    set_env("HEAPSCOPE_QUARANTINE", o->quarantine) ||
	    set_env("HEAPSCOPE_CANARY", o->canary) ||
	    set_env("HEAPSCOPE_ABORT_ON_ERROR", o->abort_on_error ? "1" : NULL) ||
	    set_env("HEAPSCOPE_QUIET", o->quiet ? "1" : NULL))
		return -1;
	return set_preload(agent);
}

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* The environment as it was before setup_env(): the waiter's and the summary's. */
static char **env_before;

static char **env_copy(void)
{
	extern char **environ;
	size_t n = 0;
	char **c;

	while (environ[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++)
		c[i] = strdup(environ[i]);	/* setenv may free what environ points to */
	return c;
}

/*
 * While the program runs, become heapscope-wait (src/cli/run_wait.c), found next to this
 * executable: libc only, where this process maps libdw, libelf, zlib, zstd and libstdc++
 * (3.6 MB of RSS measured while it waited). It execs `heapscope run --x-resume SESSION PID
 * RESULT ARGS...` when the program has ended, and the run goes on from there. Returns
 * only when it could not exec: the caller waits itself.
 */
static void become_waiter(int argc, char **argv, const char *session, int err_fd)
{
	char self[PATH_MAX], waiter[PATH_MAX + 32], pid[32], fd[16], **args;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int k = 0;

	if (n <= 0 || !env_before || getenv("HEAPSCOPE_RUN_NO_WAITER"))
		return;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return;
	snprintf(waiter, sizeof(waiter), "%.*s/heapscope-wait", (int)(slash - self), self);
	args = calloc((size_t)argc + 9, sizeof(*args));	/* 9 of ours, argc - 1, NULL */
	if (!args)
		return;
	snprintf(pid, sizeof(pid), "%ld", (long)child_pid);
	snprintf(fd, sizeof(fd), "%d", err_fd);
	args[k++] = waiter;
	args[k++] = pid;
	args[k++] = fd;
	args[k++] = self;
	args[k++] = "run";
	args[k++] = "--x-resume";
	args[k++] = (char *)session;
	args[k++] = pid;
	args[k++] = "@RESULT@";
	for (int i = 1; i < argc; i++)
		args[k++] = argv[i];
	fcntl(err_fd, F_SETFD, 0);	/* the waiter reads it */
	execve(waiter, args, env_before);
	fcntl(err_fd, F_SETFD, FD_CLOEXEC);
	free(args);
}

/* A wait status as a shell gives it: the exit status, or 128 + the killing signal. */
static int shell_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* The program's end as the waiter saw it: its status as a shell gives it, -1: no start. */
static int resume_result(const char *result, const char *program)
{
	int v = atoi(result + 1);

	if (result[0] == 'e') {
		fprintf(stderr, "heapscope: cannot run '%s': %s\n", program, strerror(v));
		return -1;
	}
	return shell_status(v);
}

/* Start the program; its status as the shell would give it, or 127 if it can't start. */
static int launch(int run_argc, char **run_argv, const char *session, char **argv)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal };
	struct sigaction old_int, old_quit;
	sigset_t held, old_mask;
	int status, err_pipe[2], err = 0;
	ssize_t n;

	if (pipe2(err_pipe, O_CLOEXEC) < 0)
		return 127;
	fflush(NULL);
	/*
	 * From before the fork on, a Ctrl-C or a SIGTERM meant for the program must not find
	 * this side without its dispositions, through the exec into heapscope-wait too: SIGINT
	 * and SIGQUIT ignored (exec keeps that), SIGTERM and SIGHUP held back (exec keeps the
	 * mask) until a handler is there to pass them on. The child puts back what it had.
	 */
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGHUP);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigprocmask(SIG_BLOCK, &held, &old_mask);
	child_pid = fork();
	if (child_pid < 0) {
		fprintf(stderr, "heapscope: cannot fork: %s\n", strerror(errno));
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		return 127;
	}
	if (child_pid == 0) {
		char pid[32];

		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		close(err_pipe[0]);
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		setenv("HEAPSCOPE_ROOT_PID", pid, 1);
		execvp(argv[0], argv);
		err = errno;
		if (write(err_pipe[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(err_pipe[1]);
	become_waiter(run_argc, run_argv, session, err_pipe[0]);
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	n = read(err_pipe[0], &err, sizeof(err));
	close(err_pipe[0]);
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(err)) {
		fprintf(stderr, "heapscope: cannot run '%s': %s\n", argv[0], strerror(err));
		return -1;
	}
	return shell_status(status);
}

struct session_entry {
	long pid;
	char path[PATH_MAX];
};

/* The recordings the agent announced, in creation order; count or -1. */
static int read_session(const char *session, struct session_entry *out, int max)
{
	FILE *f = fopen(session, "r");
	char line[PATH_MAX + 32];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		size_t len;

		if (!sp)
			continue;
		*sp = 0;
		out[n].pid = atol(line);
		snprintf(out[n].path, sizeof(out[n].path), "%s", sp + 1);
		len = strlen(out[n].path);
		if (len && out[n].path[len - 1] == '\n')
			out[n].path[len - 1] = 0;
		n++;
	}
	fclose(f);
	return n;
}

#define MAX_SESSION 256

/* --leak-check as given, else as the agent will take it (HEAPSCOPE_LEAK_CHECK, full). */
static enum hs_leak_check leak_check_mode(const struct run_opts *o)
{
	const char *v = o->leak_check ? o->leak_check : getenv("HEAPSCOPE_LEAK_CHECK");

	if (v && !strcmp(v, "none"))
		return HS_LEAK_CHECK_NONE;
	return v && !strcmp(v, "summary") ? HS_LEAK_CHECK_SUMMARY : HS_LEAK_CHECK_FULL;
}

/*
 * Whether the process that wrote e[i] is done with it: it started another image (a later
 * recording of the same pid) or it is gone. A process that outlives the program (a daemon)
 * may still be writing: its recording is left as it is, and so is a zombie's (a zombie
 * process leader may have threads still running).
 */
static int writer_done(const struct session_entry *e, int n, int i)
{
	for (int k = i + 1; k < n; k++)
		if (e[k].pid == e[i].pid)
			return 1;
	return kill((pid_t)e[i].pid, 0) < 0 && errno == ESRCH;
}

/* Compress each finished recording in place; one message when some could not be (they
 * stay as they were). */
static void compress_session(const struct session_entry *e, int n)
{
	char err[PATH_MAX + 128], first[PATH_MAX + 128] = "";
	int i, failed = 0;

	for (i = 0; i < n; i++) {
		int ret = writer_done(e, n, i) ? hsr_compress_file(e[i].path, err, sizeof(err)) : 0;

		if (ret >= 0 || ret == -ENOENT)	/* done, or removed: nothing to lose */
			continue;
		if (!failed++)
			memcpy(first, err, sizeof(first));
	}
	if (failed > 1)
		fprintf(stderr, "heapscope: %s; %d recordings left uncompressed\n", first, failed);
	else if (failed)
		fprintf(stderr, "heapscope: %s; left uncompressed\n", first);
}

/* Summary of the program's last image (to stderr unless --no-summary); the others are
 * listed. *errors: leak errors found, for --error-exitcode. */
static void report_session(struct run_opts *o, const char *session, uint64_t *errors)
{
	static struct session_entry e[MAX_SESSION];
	int n = read_session(session, e, MAX_SESSION), i, main_i = -1;
	struct hs_run_summary_opts so = { o->top, leak_check_mode(o), o->show_reachable,
					  o->gen_suppressions, o->supp_path ? &o->supp : NULL,
					  o->error_kinds };

	for (i = 0; i < n; i++)
		if (e[i].pid == child_pid)
			main_i = i;
	if (main_i >= 0 && (o->summary || o->error_exitcode))
		hs_report_run_summary(e[main_i].path, o->summary ? stderr : NULL, &so, errors);
	if (o->compress)
		compress_session(e, n);
	if (main_i < 0) {
		fprintf(stderr, "heapscope: the program wrote no recording\n");
		return;
	}
	fprintf(stderr, "heapscope: recording: %s\n", e[main_i].path);
	for (i = 0; i < n; i++)
		if (i != main_i)
			fprintf(stderr, "heapscope: also recorded: %s (pid %ld)\n", e[i].path,
				e[i].pid);
}

int hs_cmd_run(int argc, char **argv)
{
	struct run_opts o;
	char session[PATH_MAX];
	uint64_t errors = 0;
	int resume = argc >= 5 && !strcmp(argv[1], "--x-resume"), ret;

	/* run --x-resume SESSION PID RESULT ARGS...: heapscope-wait saw the program end */
	ret = resume ? parse_args(argc - 4, argv + 4, &o) : parse_args(argc, argv, &o);
	if (ret) {
		hs_suppressions_release(&o.supp);
		return ret;
	}
	if (resume) {
		snprintf(session, sizeof(session), "%s", argv[2]);
		child_pid = (pid_t)atol(argv[3]);
		ret = resume_result(argv[4], o.argv[0]);
	} else {
		if (make_session(session, sizeof(session)) < 0)
			return 1;
		env_before = env_copy();
		if (setup_env(&o, session) < 0) {
			unlink(session);
			return 1;
		}
		ret = launch(argc, argv, session, o.argv);
	}
	if (ret >= 0)
		report_session(&o, session, &errors);
	unlink(session);
	hs_suppressions_release(&o.supp);
	if (ret >= 0 && o.error_exitcode && errors)
		return o.error_exitcode;
	return ret < 0 ? 127 : ret;
}
