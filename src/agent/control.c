// SPDX-License-Identifier: MIT
/*
 * The control thread and socket (see control.h). The socket lives in a directory only its
 * user can enter (/tmp/heapscope-UID, checked: a directory, ours, mode 0700, not a link),
 * and each connection's peer is checked with SO_PEERCRED. A connection carries one command
 * line and gets its answer; commands are in docs/CONTROL.md. The thread polls its socket
 * with a short timeout, which also bounds how late a signal-raised request is served, and
 * re-creates the socket if the program closed or replaced its descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "check.h"
#include "compat.h"
#include "control.h"
#include "dump.h"
#include "fdmove.h"
#include "fmt.h"
#include "faultinject.h"
#include "hsr_format.h"
#include "leakscan.h"
#include "modules.h"
#include "stacktab.h"
#include "threads.h"
#include "tracker.h"
#include "writer.h"

#define POLL_MS 100

static atomic_uint requests;
static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t sock_pid;			/* the process sock_path belongs to */
static uint64_t next_periodic, next_check, next_autosave;

/*
 * Crash safety: every HEAPSCOPE_AUTOSAVE (2 s), if anything changed, a snapshot, so a
 * process killed without warning leaves its recording up to then.
 */
static void autosave(uint64_t now)
{
	static uint64_t seen;
	struct hs_totals tot;

	if (!hs_opt.autosave_ns || now < next_autosave)
		return;
	next_autosave = now + hs_opt.autosave_ns;
	hs_tracker_totals(&tot);
	if (tot.alloc_calls + tot.free_calls == seen)
		return;
	seen = tot.alloc_calls + tot.free_calls;
	hs_writer_snapshot(HSR_REASON_PERIODIC, "autosave", 0);
}
static int window_prev_tracking;	/* tracking before `record` started */

void hs_control_request(unsigned req)
{
	atomic_fetch_or_explicit(&requests, req, memory_order_relaxed);
}

/* The socket directory: ours, a real directory, 0700. */
static int socket_dir(char *dir, size_t cap)
{
	struct hs_fmt f;
	struct stat st;

	hs_fmt_init(&f, dir, cap);
	if (hs_opt.socket_dir[0]) {
		hs_fmt_str(&f, hs_opt.socket_dir);
	} else {
		hs_fmt_str(&f, "/tmp/heapscope-");
		hs_fmt_uint(&f, geteuid());
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

static int socket_open(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[256];
	struct hs_fmt f;
	int fd, err = socket_dir(dir, sizeof(dir));

	if (err)
		return err;
	hs_fmt_init(&f, sock_path, sizeof(sock_path));
	hs_fmt_str(&f, dir);
	hs_fmt_str(&f, "/");
	hs_fmt_uint(&f, (uint64_t)getpid());
	hs_fmt_str(&f, ".sock");
	memcpy(addr.sun_path, sock_path, sizeof(addr.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sock_path);	/* a stale socket of an earlier process with our pid */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	listen_fd = hs_fd_move_high(fd);
	if (listen_fd < 0)
		return -EBUSY;	/* the program took the number: try again later */
	sock_pid = getpid();
	return 0;
}

/* Is listen_fd still our socket? The program may have closed or replaced it. */
static int socket_ok(void)
{
	struct stat st, mine;
	int type = 0;
	socklen_t len = sizeof(type);

	if (listen_fd < 0 || fstat(listen_fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &type, &len) < 0 || !type)
		return 0;
	return stat(sock_path, &mine) == 0 && S_ISSOCK(mine.st_mode);
}

/* A `key value` line of the status answer. */
static void status_line(struct hs_fmt *f, const char *key, uint64_t v)
{
	hs_fmt_str(f, key);
	hs_fmt_str(f, " ");
	hs_fmt_uint(f, v);
	hs_fmt_str(f, "\n");
}

static void answer_status(struct hs_fmt *f)
{
	struct hs_unwind_counts uc;
	struct hs_totals tot;

	hs_tracker_totals(&tot);
	hs_threads_unwind_counts(&uc);
	status_line(f, "pid", (uint64_t)getpid());
	status_line(f, "tracking", (uint64_t)atomic_load(&hs_state.tracking));
	status_line(f, "solo", (uint64_t)atomic_load(&hs_solo));
	status_line(f, "sample_interval", tot.sample_interval);
	status_line(f, "alloc_calls", tot.alloc_calls);
	status_line(f, "alloc_bytes", tot.alloc_bytes);
	status_line(f, "free_calls", tot.free_calls);
	status_line(f, "live_bytes", tot.alloc_bytes - tot.freed_bytes);
	status_line(f, "live_blocks", tot.alloc_calls - tot.free_calls);
	status_line(f, "peak_bytes", tot.peak_bytes);
	status_line(f, "stacks", hs_stacktab_max_id());
	status_line(f, "walks", uc.walks);
	status_line(f, "walk_frames", uc.frames);
	status_line(f, "walk_frames_reused", uc.reused);
	status_line(f, "walk_rule_misses", uc.misses);
	status_line(f, "uptime_ms", hs_now_ns() / 1000000);
	hs_fmt_str(f, "recording ");
	hs_fmt_str(f, hs_writer_path());
	hs_fmt_str(f, "\n");
}

static void answer_result(struct hs_fmt *f, int err)
{
	if (!err) {
		hs_fmt_str(f, "ok\n");
		return;
	}
	hs_fmt_str(f, "error: ");
	hs_fmt_str(f, strerror(-err));
	hs_fmt_str(f, "\n");
}

/* `start`: a clean baseline, then tracking. */
static int cmd_start(void)
{
	if (atomic_load(&hs_state.tracking))
		return 0;
	hs_tracker_reset(hs_tracker_sample_interval());
	hs_tracking_set(1);
	return 0;
}

static int cmd_sample(const char *arg)
{
	uint64_t size;

	if (hs_parse_size(arg, &size) < 0)
		return -EINVAL;
	if (size && hs_opt.check)
		return -ENOTSUP;	/* every block is checked: sampling does not mix */
	hs_tracker_reset(size);
	return 0;
}

static int cmd_record(const char *path)
{
	int err;

	if (!*path)
		return -EINVAL;
	err = hs_writer_redirect(path);
	if (err)
		return err;
	window_prev_tracking = atomic_load(&hs_state.tracking);
	hs_tracker_reset(hs_tracker_sample_interval());
	hs_tracking_set(1);
	return 0;
}

static int cmd_record_stop(void)
{
	int err = hs_writer_snapshot(HSR_REASON_COMMAND, "record-stop", 1);

	hs_tracking_set(window_prev_tracking);
	if (hs_writer_restore() < 0)
		return -ENOENT;
	hs_tracker_reset(hs_tracker_sample_interval());
	return err;
}

static int cmd_leak_check(struct hs_fmt *f)
{
	static const char *const names[] = { "definitely lost", "indirectly lost",
					     "possibly lost", "still reachable" };
	const struct hs_leak_result *r;
	int k, err = hs_leakscan_run(HSR_LEAKS_COMMAND, NULL, &r);

	if (err)
		return err;
	for (k = 0; k < HSR_LEAK_KINDS; k++) {
		hs_fmt_str(f, names[k]);
		hs_fmt_str(f, ": ");
		hs_fmt_uint(f, r->total.bytes[k]);
		hs_fmt_str(f, " bytes in ");
		hs_fmt_uint(f, r->total.blocks[k]);
		hs_fmt_str(f, " blocks\n");
	}
	return hs_writer_snapshot(HSR_REASON_COMMAND, "leak-check", 0);
}

/* The word after the command, and the rest of the line. */
static const char *arg_of(const char *line, size_t cmdlen)
{
	line += cmdlen;
	while (*line == ' ')
		line++;
	return line;
}

static int is_cmd(const char *line, const char *cmd)
{
	size_t n = strlen(cmd);

	return !strncmp(line, cmd, n) && (line[n] == 0 || line[n] == ' ');
}

static int run_command(const char *line, struct hs_fmt *f)
{
	if (is_cmd(line, "status")) {
		answer_status(f);
		return 0;
	}
	if (is_cmd(line, "checkpoint"))
		return hs_writer_snapshot(HSR_REASON_COMMAND, arg_of(line, 10), 0);
	if (is_cmd(line, "start"))
		return cmd_start();
	if (is_cmd(line, "stop")) {
		hs_tracking_set(0);
		return 0;
	}
	if (is_cmd(line, "sample"))
		return cmd_sample(arg_of(line, 6));
	if (is_cmd(line, "dump"))
		return hs_dump_live(*arg_of(line, 4) ? arg_of(line, 4) : NULL, HS_DUMP_BY_BYTES,
				    0, "heapscope dump");
	if (is_cmd(line, "snapshot"))
		return hs_writer_write_to(arg_of(line, 8), HSR_REASON_COMMAND, "snapshot");
	if (is_cmd(line, "leak-check"))
		return cmd_leak_check(f);
	if (is_cmd(line, "check")) {
		if (!hs_opt.check)
			return -ENOTSUP;
		hs_fmt_uint(f, hs_check_all(0));
		hs_fmt_str(f, " new errors\n");
		return hs_writer_snapshot(HSR_REASON_COMMAND, "check", 0);
	}
	if (is_cmd(line, "record-stop"))
		return cmd_record_stop();
	if (is_cmd(line, "record"))
		return cmd_record(arg_of(line, 6));
	return -ENOSYS;
}

void hs_control_command(const char *line, char *out, unsigned cap)
{
	struct hs_fmt f;
	int err;

	hs_fmt_init(&f, out, cap);
	hs_self.internal++;
	err = run_command(line, &f);
	hs_self.internal--;
	if (err == -ENOSYS) {
		hs_fmt_str(&f, "error: unknown command (status, checkpoint [NAME], start, stop, "
			       "sample SIZE, leak-check, dump [FILE], snapshot FILE, record FILE, record-stop)\n");
		return;
	}
	if (!is_cmd(line, "status") && (err || !(is_cmd(line, "leak-check") || is_cmd(line, "check"))))
		answer_result(&f, err);
}

/* One connection: a command line in, the answer out. Same user only. */
static void serve_client(int fd)
{
	static char in[1024], reply[4096];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0))
		return;
	while (n < sizeof(in) - 1 && poll(&p, 1, 2000) > 0) {
		ssize_t r = read(fd, in + n, sizeof(in) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(in, '\n', n))
			break;
	}
	in[n] = 0;
	if (memchr(in, '\n', n))
		*(char *)memchr(in, '\n', n) = 0;
	hs_control_command(in, reply, sizeof(reply));
	if (write(fd, reply, strlen(reply)) < 0)
		return;
}

/* HEAPSCOPE_DUMP's pattern: %p pid, %s a sequence number, %% a percent sign. */
static void dump_path(char *out, size_t cap)
{
	static unsigned seq;
	const char *p = hs_opt.dump;
	struct hs_fmt f;

	hs_fmt_init(&f, out, cap);
	seq++;
	for (; *p; p++) {
		char one[2] = { *p, 0 };

		if (*p == '%' && p[1] == 'p')
			hs_fmt_uint(&f, (uint64_t)getpid()), p++;
		else if (*p == '%' && p[1] == 's')
			hs_fmt_uint(&f, seq), p++;
		else if (*p == '%' && p[1] == '%')
			hs_fmt_str(&f, "%"), p++;
		else
			hs_fmt_str(&f, one);
	}
}

/* A trigger fired: a snapshot, and the text dump if one was asked for. */
static void trigger(unsigned reason, const char *name)
{
	char path[1100];

	hs_writer_snapshot(reason, name, 0);
	if (hs_opt.dump[0]) {
		dump_path(path, sizeof(path));
		hs_dump_live(path, HS_DUMP_BY_BYTES, 0, name);
	}
}

static void serve_requests(void)
{
	unsigned req = atomic_exchange_explicit(&requests, 0, memory_order_relaxed);
	uint64_t now = hs_now_ns();

	if (req & HS_REQ_CHECKPOINT)
		trigger(HSR_REASON_SIGNAL, "signal");
	if (req & HS_REQ_THRESHOLD)
		trigger(HSR_REASON_THRESHOLD, "threshold");
	if (req & HS_REQ_DUMP_BY_BYTES)
		hs_dump_live(NULL, HS_DUMP_BY_BYTES, 10, "heapscope live heap by size");
	if (req & HS_REQ_DUMP_BY_BLOCKS)
		hs_dump_live(NULL, HS_DUMP_BY_BLOCKS, 10, "heapscope live heap by count");
	hs_compat_tick(now);
	if (hs_opt.check && hs_opt.check_interval_ns && now >= next_check) {
		next_check = now + hs_opt.check_interval_ns;
		hs_check_all(0);
	}
	if (hs_opt.interval_ns && now >= next_periodic) {
		next_periodic = now + hs_opt.interval_ns;
		trigger(HSR_REASON_PERIODIC, "periodic");
	}
}

/* The lowest descriptor number not in use: where the next socket() would land. */
static int lowest_free_fd(void)
{
	int fd = 0;

	while (fd < (1 << 20) && fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

/*
 * The socket is gone (the program closed or replaced the descriptor, or making it failed):
 * make a new one once the program's descriptors have been quiet for a second (the lowest
 * free number unchanged), then at most every 2 s. A new socket takes the lowest free
 * descriptor for a moment; a program that closes everything and then opens /dev/null as
 * 0, 1, 2, or dup2()s over every free number, must not find us there while it does.
 * The old descriptor number is the program's now: it is not closed.
 */
static void socket_renew(void)
{
	static uint64_t quiet_since, next_try;
	static int last_low = -1;
	uint64_t now = hs_now_ns();
	int low = lowest_free_fd();

	if (low != last_low || !quiet_since) {
		last_low = low;
		quiet_since = now;
	}
	if (now < quiet_since + 1000000000ull || now < next_try)
		return;
	next_try = now + 2000000000ull;
	listen_fd = -1;
	if (socket_open() == 0)
		quiet_since = 0;
}

static void *control_main(void *arg)
{
	hs_self.internal = 1;	/* all of this thread's work is the agent's own */
	hs_threads_mark_agent();
	next_periodic = hs_now_ns() + hs_opt.interval_ns;
	next_autosave = hs_now_ns() + hs_opt.autosave_ns;
	for (;;) {
		struct pollfd p = { .fd = -1, .events = POLLIN };

		/*
		 * Poll and accept only on a descriptor that is our socket: the number may be the
		 * program's now, /dev/null say, always readable, and accept4() reserves the lowest
		 * free descriptor before it finds that out (a program dup2()ing over every free
		 * number then gets EBUSY).
		 */
		if (hs_opt.control && !socket_ok())
			socket_renew();
		if (hs_opt.control && listen_fd >= 0 && socket_ok())
			p.fd = listen_fd;
		if (poll(&p, 1, POLL_MS) > 0 && (p.revents & POLLIN) && socket_ok()) {
			int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				serve_client(fd);
				close(fd);
			}
		}
		if (atomic_load(&hs_state.finished))
			return NULL;
		serve_requests();
		autosave(hs_now_ns());
	}
	return arg;
}

static void on_checkpoint_signal(int sig)
{
	hs_control_request(HS_REQ_CHECKPOINT);
}

static void on_sigusr(int sig)
{
	hs_control_request(sig == SIGUSR1 ? HS_REQ_DUMP_BY_BYTES : HS_REQ_DUMP_BY_BLOCKS);
}

static void install(int sig, void (*fn)(int))
{
	struct sigaction sa;
	char msg[96] = "cannot handle signal ";
	struct hs_fmt f = { msg, sizeof(msg), strlen(msg) };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	if (sigaction(sig, &sa, NULL) == 0)
		return;
	hs_fmt_uint(&f, (uint64_t)sig);
	hs_fmt_str(&f, " (glibc keeps 32 and 33 for itself: use SIGRTMIN+N, 34 and up)");
	hs_say(msg);
}

static int thread_start(void)
{
	pthread_t th;
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	if (hs_fault(HS_FAULT_THREAD))
		return -EAGAIN;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
#ifdef HEAPSCOPE_WRAP
	err = pthread_create(&th, &attr, control_main, NULL);
#else
	err = hs_agent_thread_create(&th, &attr, control_main, NULL);
#endif
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

static int wanted(void)
{
	return hs_opt.control || hs_opt.autosave_ns || hs_opt.interval_ns ||
	       hs_opt.check_interval_ns || hs_opt.threshold || hs_opt.dump[0] ||
	       hs_opt.checkpoint_signal || hs_opt.sigusr_dumps;
}

/*
 * Features the user asked for that need the thread at once. The defaults (the socket,
 * autosave) can wait: a thread of the agent that exists while the program changes its
 * credentials thread by thread (prctl(PR_SET_KEEPCAPS) + capset, then setresuid, as
 * setpriv does) makes glibc's set*id broadcast fail in it and abort the process. So by
 * default the thread starts on the first allocation after HEAPSCOPE_CONTROL_DELAY (1 s),
 * when programs have long settled their credentials; short programs never get one.
 */
static int wanted_now(void)
{
	return !hs_opt.control_delay_ns || !hs_opt.start_tracking || hs_opt.interval_ns ||
	       hs_opt.check_interval_ns ||
	       hs_opt.threshold || hs_opt.dump[0] || hs_opt.checkpoint_signal ||
	       hs_opt.sigusr_dumps;
}

static atomic_int thread_started;
static uint64_t start_after;

/* The allocation path, now and then: is it time to start the thread? Cheap. */
int hs_control_due(uint64_t now)
{
	return !atomic_load_explicit(&thread_started, memory_order_relaxed) && start_after &&
	       (now >= start_after || atomic_load_explicit(&requests, memory_order_relaxed));
}

int hs_control_pending(void)
{
	return !atomic_load_explicit(&thread_started, memory_order_relaxed) && start_after;
}

__attribute__((noinline, cold)) void hs_control_poll(void)
{
	if (!hs_self.busy && hs_control_pending() && hs_control_due(hs_now_ns()))
		hs_control_start_late();
}

void hs_control_tracking_off(void)
{
	if (!atomic_load(&thread_started) && start_after)
		hs_control_start_late();
}

/*
 * From a program thread's allocation: signals wait until the agent's part is over, or the
 * program's handlers' allocations meanwhile (the signals thread_start holds are delivered
 * as it unblocks them, still inside) would go uncounted.
 */
void hs_control_start_late(void)
{
	int expected = 0;
	sigset_t all, old;

	hs_self.need_control = 0;
	if (!atomic_compare_exchange_strong(&thread_started, &expected, 1))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	hs_self.internal++;
	if (thread_start() < 0)
		hs_say("cannot start the control thread; heapscope ctl won't reach this process");
	hs_self.internal--;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int hs_control_start(void)
{
	int err = 0;

	if (!wanted())
		return 0;
	hs_self.internal++;
	if (hs_opt.control && socket_open() < 0)
		hs_say("no control socket (cannot use /tmp/heapscope-UID); heapscope ctl won't reach this process");
	if (hs_opt.checkpoint_signal)
		install(hs_opt.checkpoint_signal, on_checkpoint_signal);
	if (hs_opt.sigusr_dumps) {
		install(SIGUSR1, on_sigusr);
		install(SIGUSR2, on_sigusr);
	}
	if (wanted_now()) {
		atomic_store(&thread_started, 1);
		err = thread_start();
	} else {
		start_after = hs_now_ns() + hs_opt.control_delay_ns;
	}
	hs_self.internal--;
	return err;
}

void hs_control_after_fork(void)
{
	hs_self.need_control = 0;
	if (atomic_load(&hs_state.pid) != getpid())
		return;	/* a vfork child */
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	hs_self.internal++;
	if (hs_opt.control)
		socket_open();
	atomic_store(&thread_started, 1);
	if (wanted())
		thread_start();
	hs_self.internal--;
}

void hs_control_flush(void)
{
	hs_self.internal++;
	serve_requests();
	hs_self.internal--;
}

void hs_control_stop(void)
{
	if (listen_fd >= 0 && sock_path[0] && sock_pid == getpid())
		unlink(sock_path);
}
