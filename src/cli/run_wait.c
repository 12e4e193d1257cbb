// SPDX-License-Identifier: MIT
/*
 * heapscope-wait: what `heapscope run` turns into while the program runs (docs/CLI.md).
 * The CLI maps libdw, libelf, zlib, zstd and libstdc++ (3.6 MB of RSS measured while it
 * only waited); a waiter on the C library takes 1.3 MB (0.7 MB statically linked). On
 * x86_64 and aarch64 this one is built without any library (HS_WAIT_FREESTANDING: its own
 * entry point and system calls), so what the tool keeps beside the program is a few pages.
 * Started by exec from the CLI right after the fork, it is still the program's parent:
 *
 *   heapscope-wait PID ERRFD CLI ARG...
 *
 * waits for PID (SIGINT and SIGQUIT ignored, as by a shell; SIGTERM and SIGHUP passed on;
 * the CLI blocked those from before its fork, and they stay blocked here: they are taken
 * with sigtimedwait together with SIGCHLD, so no handler is needed and none is missed),
 * reads from ERRFD the errno of a failed exec (nothing when the program started), then
 * execs CLI with ARG..., where the argument "@RESULT@" becomes "e<errno>" or "s<status>"
 * (the wait status). If that exec fails, the status is passed through here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* ---- system calls: raw (freestanding) or through the C library ------------------------ */

#ifdef HS_WAIT_FREESTANDING
#if defined(__x86_64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The kernel's initial stack: argc, argv[], NULL, envp[], NULL. */
__asm__(".text\n.global _start\n.type _start,@function\n_start:\n"
	"\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall wait_start\n\thlt\n");
#elif defined(__aarch64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c, x3 __asm__("x3") = d, x4 __asm__("x4") = e;
	register long x5 __asm__("x5") = f;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}

__asm__(".text\n.global _start\n.type _start,%function\n_start:\n"
	"\tmov x29, #0\n\tmov x30, #0\n\tmov x0, sp\n\tbl wait_start\n\tbrk #0\n");
#else
#error "HS_WAIT_FREESTANDING: x86_64 and aarch64 only"
#endif

/* What the compiler may call for struct copies and zeroing. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

/* A system call: its result, or -errno. */
static long sc(long n, long a, long b, long c, long d)
{
	return sys6(n, a, b, c, d, 0, 0);
}
#else
#include <unistd.h>

static long sc(long n, long a, long b, long c, long d)
{
	long r = syscall(n, a, b, c, d);

	return r == -1 ? -errno : r;
}
#endif

/* The kernel's sigset: 64 signals on every architecture Linux runs us on. */
#define KSET(sig) (1ull << ((sig) - 1))
#define KSET_BYTES 8

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void ignore(int sig)
{
	struct ksigaction a = { (void *)SIG_IGN, 0, NULL, 0 };

	sc(SYS_rt_sigaction, sig, (long)&a, 0, KSET_BYTES);
}

/* ---- the little output it has ------------------------------------------------------- */

static size_t len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	sc(SYS_write, 2, (long)s, (long)len(s), 0);
}

/* v in decimal after prefix, into buf (at least 24 bytes). */
static void fmt(char *buf, char prefix, long v)
{
	char tmp[24];
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	int n = 0, k = 0;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < 22);
	buf[k++] = prefix;
	if (v < 0)
		buf[k++] = '-';
	while (n)
		buf[k++] = tmp[--n];
	buf[k] = 0;
}

static long parse(const char *s)
{
	long v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* strerror's words for what execve says most, else the number. */
static const char *error_text(long e, char *num)
{
	switch (e) {
	case ENOENT:
		return "No such file or directory";
	case EACCES:
		return "Permission denied";
	case ENOEXEC:
		return "Exec format error";
	case ENOMEM:
		return "Cannot allocate memory";
	case E2BIG:
		return "Argument list too long";
	default:
		fmt(num, '#', e);
		return num;
	}
}

static int shell_status(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* ---- the waiter --------------------------------------------------------------------- */

static int run(int argc, char **argv, char **envp)
{
	uint64_t wanted = KSET(SIGTERM) | KSET(SIGHUP) | KSET(SIGCHLD), old = 0, fwd;
	long child, got, n, ex;
	struct timespec zero = { 0, 0 };
	char result[32], num[24];
	int status = 0, err = 0, fd;

	if (argc < 4) {
		say("heapscope-wait: started by `heapscope run`, not by hand\n");
		return 2;
	}
	child = parse(argv[1]);
	fd = (int)parse(argv[2]);
	ignore(SIGINT);
	ignore(SIGQUIT);
	/* SIGTERM and SIGHUP came blocked; SIGCHLD joins them (pending even at SIG_DFL). */
	sc(SYS_rt_sigprocmask, SIG_BLOCK, (long)&wanted, (long)&old, KSET_BYTES);
	do
		n = sc(SYS_read, fd, (long)&err, sizeof(err), 0);
	while (n == -EINTR);
	sc(SYS_close, fd, 0, 0, 0);
	for (;;) {
		got = sc(SYS_wait4, child, (long)&status, WNOHANG, 0);
		if (got == child || (got < 0 && got != -EINTR))
			break;
		got = sc(SYS_rt_sigtimedwait, (long)&wanted, 0, 0, KSET_BYTES);
		if (got == SIGTERM || got == SIGHUP)
			sc(SYS_kill, child, got, 0, 0);
	}
	/* Signals for the program that came after it ended: there is no one to pass them on to. */
	fwd = KSET(SIGTERM) | KSET(SIGHUP);
	while (sc(SYS_rt_sigtimedwait, (long)&fwd, 0, (long)&zero, KSET_BYTES) > 0)
		;
	old &= ~fwd;	/* the mask the CLI was given */
	sc(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, KSET_BYTES);
	if (n == (long)sizeof(err))
		fmt(result, 'e', err);
	else
		fmt(result, 's', status);
	for (int i = 4; i < argc; i++)
		if (same(argv[i], "@RESULT@"))
			argv[i] = result;
	ex = sc(SYS_execve, (long)argv[3], (long)(argv + 3), (long)envp, 0);
	say("heapscope-wait: cannot run '");
	say(argv[3]);
	say("' for the summary: ");
	say(error_text(-ex, num));
	say("\n");
	return n == (long)sizeof(err) ? 127 : shell_status(status);
}

#ifdef HS_WAIT_FREESTANDING
__attribute__((noreturn, used)) void wait_start(long *sp);

void wait_start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	sc(SYS_exit_group, run(argc, argv, argv + argc + 1), 0, 0, 0);
	for (;;)
		;
}
#else
extern char **environ;

int main(int argc, char **argv)
{
	return run(argc, argv, environ);
}
#endif
