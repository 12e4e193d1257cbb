// SPDX-License-Identifier: MIT
/*
 * The agent's life: start on first use (or at load), fork handlers, the last recording at
 * exit, before an exec, and the hooks that keep the module table true (dlclose). Also the
 * public API of include/heapscope.h. Internal failures are said once and stop tracking;
 * the target always goes on.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "check.h"
#include "control.h"
#include "dmabuf.h"
#include "errors.h"
#include "fmt.h"
#include "heaps.h"
#include "hooks_sig.h"
#include "heapscope.h"
#include "hsr_format.h"
#include "leakscan.h"
#include "modules.h"
#include "ptrmap.h"
#include "stacktab.h"
#include "threads.h"
#include "tracker.h"
#include "unwind.h"
#include "writer.h"

struct hs_state hs_state;

int hs_write_out(int fd, const void *buf, size_t n)
{
	static const struct timespec now = { 0, 0 };
	int saved = errno, err = 0, had_pipe;
	sigset_t pipe, old, pending;
	size_t off = 0;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	had_pipe = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	while (off < n) {
		ssize_t r = write(fd, (const char *)buf + off, n - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		off += (size_t)r;
	}
	/* the SIGPIPE that write raised is ours to take, not one the program had waiting */
	if (err == EPIPE && !had_pipe)
		while (sigtimedwait(&pipe, NULL, &now) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return err;
}

void hs_say(const char *msg)
{
	char line[512] = "heapscope: ";
	size_t n = strlen(line);

	if (hs_opt.quiet)
		return;
	while (*msg && n < sizeof(line) - 2)
		line[n++] = *msg++;
	line[n++] = '\n';
	hs_write_out(STDERR_FILENO, line, n);
}

void hs_fail(const char *what)
{
	int expected = 0;

	hs_tracking_set(0);
	if (!atomic_compare_exchange_strong(&hs_state.failed, &expected, 1))
		return;
	hs_say(what);
	hs_say("tracking stopped; the program goes on");
	hs_writer_message(HSR_MSG_ERROR, what);
}

void hs_arena_failed(void)
{
	hs_fail("the system refused memory for the agent's tables");
}

static void atfork_prepare(void)
{
	hs_self.internal++;
	hs_leakscan_lock();
	hs_check_lock();
	hs_writer_lock();
	hs_tracker_lock_all();
	hs_stacktab_lock();
}

static void atfork_parent(void)
{
	hs_stacktab_unlock();
	hs_tracker_unlock_all();
	hs_writer_unlock();
	hs_check_unlock();
	hs_leakscan_unlock();
	hs_self.internal--;
}

static void atfork_child(void)
{
	atomic_store(&hs_state.pid, getpid());
	hs_threads_atfork_child();
	hs_self.need_control = 1;	/* the control thread did not come along */
	hs_stacktab_atfork_child();
	hs_tracker_unlock_all();
	hs_tracker_atfork_child();
	hs_modules_atfork_child();
	hs_writer_atfork_child();
	hs_writer_unlock();
	hs_check_unlock();
	hs_leakscan_unlock();
	hs_errors_atfork_child();
	hs_arena_atfork_child();
	hs_self.internal--;
}

/*
 * A fatal signal the program does not handle itself: write the recording, then let the
 * signal do what it would have done (the handler is reset on entry and the signal raised
 * again, so the process dies of it as it would have).
 */
void hs_write_on_signal(int sig)
{
	char msg[64] = "terminated by signal ";
	struct hs_fmt f = { msg, sizeof(msg), strlen(msg) };
	int expected = 0;

	hs_fmt_uint(&f, (uint64_t)sig);
	if (atomic_load(&hs_state.initialized) && atomic_load(&hs_state.pid) == getpid() &&
	    atomic_compare_exchange_strong(&hs_state.finished, &expected, 1)) {
		hs_self.internal++;
		hs_writer_message(HSR_MSG_ERROR, msg);
		hs_writer_snapshot(HS_REASON_CRASH, "crash", 1);
		hs_control_stop();
		hs_self.internal--;
	}
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uc)
{
	hs_check_fault(sig, si, uc);	/* a guard-page fault is reported as a heap error */
	hs_write_on_signal(sig);
	if (si->si_code <= 0)	/* sent, not raised by a fault: send it again */
		raise(sig);
}

static void install_fatal_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };
	struct sigaction sa, old;
	unsigned i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			sigaction(sigs[i], &sa, NULL);
	}
}

/* The process hooks' next definitions (hs_next_cached), all looked up at start. */
static struct {
	void *_exit, *execve, *execv, *execvp, *execvpe, *fexecve, *dlclose, *pthread_create;
} next;

#define NEXT(type, fn) ((type)hs_next_cached(&next.fn, #fn, 1))

typedef int (*exec_fn)(const char *, char *const[]);
typedef int (*exec_env_fn)(const char *, char *const[], char *const[]);
typedef int (*thread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
				void *);

/*
 * Now, before the program can have a dlerror() pending (agent.h), and so that a forked
 * child's _exit needs no loader. None of this in libheapscope_wrap.a: no next definitions.
 */
static void hooks_resolve(void)
{
#ifndef HEAPSCOPE_WRAP
	(void)NEXT(void *, _exit);
	(void)NEXT(void *, execve);
	(void)NEXT(void *, execv);
	(void)NEXT(void *, execvp);
	(void)NEXT(void *, execvpe);
	(void)NEXT(void *, fexecve);
	(void)NEXT(void *, dlclose);
	(void)NEXT(void *, pthread_create);
	hs_fd_hooks_resolve();
	hs_cxx_hooks_resolve();
	hs_sig_hooks_resolve();
#endif
}

static int init_parts(void)
{
	hs_options_load();
	hs_threads_init();
	if (hs_modules_init() < 0)
		return -1;
	if (hs_unwind_init(hs_opt.unwind_fp ? HS_UNWIND_FP : HS_UNWIND_CFI) < 0)
		return -1;
	hs_unwind_set_reuse(hs_opt.unwind_reuse);
	hs_unwind_set_other_stacks(hs_opt.other_stacks);
	if (hs_stacktab_init(hs_opt.max_stacks) < 0 || hs_ptrmap_init() < 0)
		return -1;
	if (hs_tracker_init() < 0 || hs_writer_init() < 0)
		return -1;
	if (hs_opt.check && hs_check_init() < 0)
		return -1;
	/* Other heaps, dma-buf: fork handlers of their own, registered first so that their
	 * locks are taken after the writer's and the tracker's (munmap may need them). */
	if (hs_heaps_init() < 0)
		return -1;
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
		return -1;
	hooks_resolve();
	if (hs_opt.crash_handler)
		install_fatal_handlers();
#ifndef HEAPSCOPE_WRAP
	if (hs_opt.term_handler)
		hs_term_handlers_install();
#endif
	return 0;
}

void hs_init(void)
{
	static atomic_int once;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&once, &expected, 1))
		return;	/* done, or another thread (or this one, nested) is at it */
	hs_self.internal++;
	if (hs_real_resolve() < 0 || init_parts() < 0) {
		atomic_store(&hs_state.initialized, 1);
		hs_fail("cannot start (out of memory or no allocator found)");
		hs_self.internal--;
		return;
	}
	atomic_store(&hs_state.pid, getpid());
	hs_tracking_set(hs_opt.start_tracking);
	atomic_store_explicit(&hs_state.initialized, 1, memory_order_release);
	if (hs_control_start() < 0)
		hs_say("cannot start the control thread; checkpoints by signal, time and command are off");
	hs_self.internal--;
	/*
	 * The starting thread now, not at its first tracked call: sampled, that is its first
	 * sample point, which can lie anywhere (inside the C library's dlerror(), or a signal
	 * handler), and registering reads /proc/self/maps through stdio for the main thread's
	 * stack. Exact mode registered it at the same moment as this (its first allocation).
	 */
	if (!hs_self.ready && !hs_self.internal)
		hs_threads_register(&hs_self);
}

__attribute__((constructor)) static void hs_ctor(void)
{
	hs_init();
}

/* The line the hook libraries heapscope replaces printed at exit (MB = MiB, as theirs). */
static void exit_line(void)
{
	struct hs_totals tot;
	uint64_t dma, total;
	char line[200];
	struct hs_fmt f;

	hs_tracker_totals(&tot);
	hs_heaps_peaks(&dma, &total);
	hs_fmt_init(&f, line, sizeof(line));
	hs_fmt_str(&f, "host peak used: ");
	hs_fmt_uint(&f, tot.peak_bytes >> 20);
	hs_fmt_str(&f, "MB, dma peak used ");
	hs_fmt_uint(&f, dma >> 20);
	hs_fmt_str(&f, "MB, total peak used: ");
	hs_fmt_uint(&f, total >> 20);
	hs_fmt_str(&f, "MB\n");
	hs_write_out(STDERR_FILENO, line, f.len);
}

/*
 * The end of this image's recording, once. Not in a vfork child: it shares the parent's
 * memory (and the writer's marks) and got no fork handler, so its pid gives it away.
 */
static void finish(unsigned reason)
{
	struct hs_leak_self self;
	int expected = 0;

	HS_LEAK_SELF(&self);	/* first: the registers as the caller left them */
	if (!atomic_load(&hs_state.initialized) || atomic_load(&hs_state.pid) != getpid())
		return;
	if (!atomic_compare_exchange_strong(&hs_state.finished, &expected, 1))
		return;
	hs_control_flush();
	if (hs_opt.check)
		hs_check_all((uintptr_t)__builtin_return_address(0));
	if (reason == HSR_REASON_EXIT && hs_opt.leak_check && atomic_load(&hs_state.tracking) &&
	    !hs_tracker_sample_interval()) {
		const struct hs_leak_result *r;

		hs_leakscan_run(HSR_LEAKS_EXIT, &self, &r);
	}
	hs_writer_snapshot(reason, NULL, 1);
	hs_control_stop();
	if (hs_opt.exit_line && reason == HSR_REASON_EXIT)
		exit_line();
}

/* The last recording: runs among the last destructors, after the program's own. */
__attribute__((destructor)) static void hs_dtor(void)
{
	finish(HSR_REASON_EXIT);
}

/* Before an exec replaces this image: its recording ends here. */
static void before_exec(void)
{
	hs_dmabuf_before_exec();	/* CLOEXEC dma-buf fds and all mappings go */
	finish(HSR_REASON_EXEC);
}

/* If the exec failed, the image goes on: later snapshots append to the same recording. */
static void after_failed_exec(void)
{
	if (atomic_load(&hs_state.pid) == getpid())
		atomic_store(&hs_state.finished, 0);
}

/* Programs that end with _exit (shells, forked children) skip destructors. */
HS_EXPORT void _exit(int status)
{
	void (*real)(int) = NEXT(void (*)(int), _exit);

	finish(HSR_REASON_EXIT);
	real(status);
	__builtin_unreachable();
}

HS_EXPORT void _Exit(int status)
{
	_exit(status);
}

/*
 * Under `heapscope run`, a program that execs with an environment of its own (env -i,
 * a sanitized environment) would drop the agent: its LD_PRELOAD and HEAPSCOPE_* variables
 * are put back. `out` has room for n entries; returns envp itself when nothing is missing.
 */
#define MAX_ENV 4096

static int is_ours(const char *e)
{
	return !strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "HEAPSCOPE_", 10);
}

static char *const *with_agent(char *const envp[], char **out, size_t n)
{
	extern char **environ;
	size_t i, k = 0;

	if (!hs_opt.from_run || !envp)
		return envp;
	for (i = 0; envp[i]; i++)
		if (!strncmp(envp[i], "LD_PRELOAD=", 11) && strstr(envp[i], "libheapscope"))
			return envp;	/* the agent is there */
	for (i = 0; envp[i] && k + 1 < n; i++)
		if (!is_ours(envp[i]))
			out[k++] = envp[i];
	for (i = 0; environ && environ[i] && k + 1 < n; i++)
		if (is_ours(environ[i]))
			out[k++] = environ[i];
	out[k] = NULL;
	return out;
}

HS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	exec_env_fn real = NEXT(exec_env_fn, execve);
	char *env[MAX_ENV];
	int ret;

	before_exec();
	ret = real(path, argv, with_agent(envp, env, MAX_ENV));
	after_failed_exec();
	return ret;
}

HS_EXPORT int execv(const char *path, char *const argv[])
{
	exec_fn real = NEXT(exec_fn, execv);
	int ret;

	before_exec();
	ret = real(path, argv);
	after_failed_exec();
	return ret;
}

HS_EXPORT int execvp(const char *file, char *const argv[])
{
	exec_fn real = NEXT(exec_fn, execvp);
	int ret;

	before_exec();
	ret = real(file, argv);
	after_failed_exec();
	return ret;
}

HS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	exec_env_fn real = NEXT(exec_env_fn, execvpe);
	char *env[MAX_ENV];
	int ret;

	before_exec();
	ret = real(file, argv, with_agent(envp, env, MAX_ENV));
	after_failed_exec();
	return ret;
}

HS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int (*real)(int, char *const[], char *const[]) =
		NEXT(int (*)(int, char *const[], char *const[]), fexecve);
	char *env[MAX_ENV];
	int ret;

	before_exec();
	ret = real(fd, argv, with_agent(envp, env, MAX_ENV));
	after_failed_exec();
	return ret;
}

/* execl, execlp, execle: gather the variadic arguments and take the vector path. */
#define MAX_EXECL_ARGS 4096

static int collect_args(const char *arg0, va_list ap, char **argv)
{
	int n = 0;

	argv[n++] = (char *)arg0;
	while (arg0 && n < MAX_EXECL_ARGS - 1) {
		argv[n] = va_arg(ap, char *);
		if (!argv[n])
			break;
		n++;
	}
	argv[n] = NULL;
	return n;
}

HS_EXPORT int execl(const char *path, const char *arg0, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;

	va_start(ap, arg0);
	collect_args(arg0, ap, argv);
	va_end(ap);
	return execv(path, argv);
}

HS_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	char *argv[MAX_EXECL_ARGS];
	va_list ap;

	va_start(ap, arg0);
	collect_args(arg0, ap, argv);
	va_end(ap);
	return execvp(file, argv);
}

HS_EXPORT int execle(const char *path, const char *arg0, ...)
{
	char *argv[MAX_EXECL_ARGS];
	char *const *envp;
	va_list ap;

	va_start(ap, arg0);
	collect_args(arg0, ap, argv);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

HS_EXPORT int dlclose(void *handle)
{
	int (*real)(void *) = NEXT(int (*)(void *), dlclose);
	int ret;

	/* Note the module first, in case no frame of it was ever unwound. */
	if (atomic_load(&hs_state.initialized))
		hs_modules_refresh();
	ret = real(handle);
	if (atomic_load(&hs_state.initialized) && hs_modules_refresh())
		hs_unwind_invalidate();
	return ret;
}

HS_EXPORT int heapscope_checkpoint(const char *name)
{
	if (!atomic_load(&hs_state.initialized) || atomic_load(&hs_state.finished))
		return -1;
	return hs_writer_snapshot(HSR_REASON_API, name, 0);
}

HS_EXPORT long heapscope_leak_check(void)
{
	struct hs_leak_self self;
	const struct hs_leak_result *r;
	long err;

	HS_LEAK_SELF(&self);
	if (!atomic_load(&hs_state.initialized) || atomic_load(&hs_state.finished))
		return -1;
	err = hs_leakscan_run(HSR_LEAKS_API, &self, &r);
	if (err)
		return err;
	hs_writer_snapshot(HSR_REASON_API, "leak-check", 0);
	return (long)(r->total.bytes[HSR_LEAK_DEFINITE] + r->total.bytes[HSR_LEAK_INDIRECT]);
}

/* Threads register as they start, so a scan knows their stacks even if they never allocate. */
struct start_args {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct start_args a = *(struct start_args *)p;

	hs_real.free(p);
	if (atomic_load(&hs_state.initialized) && !hs_self.ready)
		hs_threads_register(&hs_self);
	return a.fn(a.arg);
}

/* The agent's own thread (control.c): no program thread, so the program stays solo. */
#ifndef HEAPSCOPE_WRAP	/* control.c calls the C library's there: the hook is renamed */
int hs_agent_thread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			   void *arg)
{
	thread_create_fn real = NEXT(thread_create_fn, pthread_create);

	if (!real)
		return EAGAIN;
	return real(th, attr, fn, arg);
}
#endif

HS_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	thread_create_fn real = NEXT(thread_create_fn, pthread_create);
	struct start_args *a;
	int ret;

	hs_tracker_solo_end();	/* before the thread exists */
	if (!real)
		return EAGAIN;
	if (!hs_real.malloc || !(a = hs_real.malloc(sizeof(*a))))
		return real(th, attr, fn, arg);
	a->fn = fn;
	a->arg = arg;
	ret = real(th, attr, thread_start, a);
	if (ret)
		hs_real.free(a);
	return ret;
}

HS_EXPORT int heapscope_check_bounds(void)
{
	if (!atomic_load(&hs_state.initialized) || !hs_opt.check)
		return -1;
	return (int)hs_check_all((uintptr_t)__builtin_return_address(0));
}

HS_EXPORT int heapscope_is_tracking(void)
{
	return atomic_load(&hs_state.tracking);
}
