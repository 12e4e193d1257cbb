// SPDX-License-Identifier: MIT
/*
 * The recording writer (see writer.h). Records are encoded into a staging buffer mapped
 * from the agent's arena and written with write(2). Per-stack "written" marks make each
 * snapshot list only the stacks that changed. Must never call malloc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "fmt.h"
#include "hsr_encode.h"
#include "errors.h"
#include "fdmove.h"
#include "faultinject.h"
#include "heaps.h"
#include "hsr_format.h"
#include "leakscan.h"
#include "modules.h"
#include "threads.h"
#include "ptrmap.h"
#include "stacktab.h"
#include "tracker.h"
#include "writer.h"

#if defined(__x86_64__)
#define HS_ARCH "x86_64"
#elif defined(__aarch64__)
#define HS_ARCH "aarch64"
#elif defined(__arm__)
#define HS_ARCH "arm"
#elif defined(__i386__)
#define HS_ARCH "i386"
#else
#define HS_ARCH "unknown"
#endif

#define MAX_MESSAGES 8

static struct {
	atomic_flag lock;
	int failed;
	int fd;
	char cwd[1024];
	char exe[1024];
	char path[2200];
	uint64_t start_realtime;
	int created;		/* path exists: append to it */
	int keep_fd;		/* the open recording, kept between writes (-1: none) */
	dev_t keep_dev;		/* ... and what it is, to notice when the program */
	ino_t keep_ino;		/*     closed or reused that descriptor */
	int full;		/* standalone dump: everything, marks untouched */
	char saved_path[2200];	/* the main recording while a window recording runs */
	uint32_t snap_seq;
	uint64_t peak_epoch_written;
	uint64_t reset_written;	/* reset_t of the last RESET record */
	uint64_t leaks_written;	/* seq of the last scan written */
	uint32_t batch;		/* writes so far: marks the stacks each one adds */
	uint32_t nodes_written;	/* frame-tree nodes 1..this are in the recording */
	uint32_t last_leaf;	/* the last STACK_LEAF entry's node */
	unsigned char *buf;
	size_t cap, len;
	unsigned nmsg, nmsg_written;
	struct {
		unsigned level;
		uint64_t t;
		char text[200];
	} msg[MAX_MESSAGES];
} w = { .fd = -1, .keep_fd = -1 };

int hs_writer_init(void)
{
	struct timespec rt;
	ssize_t n;

	if (!getcwd(w.cwd, sizeof(w.cwd)))
		strcpy(w.cwd, "/tmp");
	n = readlink("/proc/self/exe", w.exe, sizeof(w.exe) - 1);
	w.exe[n > 0 ? n : 0] = 0;
	clock_gettime(CLOCK_REALTIME, &rt);
	w.start_realtime = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec -
			   hs_now_ns();
	w.cap = 1 << 20;
	w.buf = hs_arena_map(w.cap);
	return w.buf ? 0 : -ENOMEM;
}

const char *hs_writer_path(void)
{
	return w.path;
}

/* Append to a NUL-terminated buffer of `cap` bytes. */
static void append(char *dst, size_t cap, const char *src)
{
	struct hs_fmt f = { dst, cap, strlen(dst) };

	hs_fmt_str(&f, src);
}

static void append_uint(char *dst, size_t cap, uint64_t v)
{
	struct hs_fmt f = { dst, cap, strlen(dst) };

	hs_fmt_uint(&f, v);
}

static const char *exe_name(void)
{
	const char *slash = strrchr(w.exe, '/');

	return slash ? slash + 1 : (w.exe[0] ? w.exe : "program");
}

/*
 * Expand the output pattern: %p pid, %n program name, %% percent. Under `heapscope run`,
 * processes other than the one it started get ".PID" appended when the pattern has no %p,
 * so that the path the user chose holds the program's own recording.
 */
static void format_path(char *out, size_t cap)
{
	const char *p = hs_opt.output;
	int other = hs_opt.root_pid && hs_opt.root_pid != (unsigned)getpid() &&
		    !strstr(p, "%p");

	out[0] = 0;
	if (p[0] != '/') {
		append(out, cap, w.cwd);
		append(out, cap, "/");
	}
	for (; *p; p++) {
		char one[2] = { *p, 0 };

		if (*p == '%' && p[1] == 'p') {
			append_uint(out, cap, (uint64_t)getpid());
			p++;
		} else if (*p == '%' && p[1] == 'n') {
			append(out, cap, exe_name());
			p++;
		} else if (*p == '%' && p[1] == '%') {
			append(out, cap, "%");
			p++;
		} else {
			append(out, cap, one);
		}
	}
	if (other) {
		append(out, cap, ".");
		append_uint(out, cap, (uint64_t)getpid());
	}
}

static void report_failure(const char *what, int err)
{
	char msg[2600] = "";

	append(msg, sizeof(msg), what);
	append(msg, sizeof(msg), " '");
	append(msg, sizeof(msg), w.path);
	append(msg, sizeof(msg), "': ");
	append(msg, sizeof(msg), strerror(err));
	append(msg, sizeof(msg), "; recording stopped");
	hs_say(msg);
	w.failed = 1;
}

/* Tell `heapscope run` about this recording: one "PID PATH" line, appended. */
static void note_session(void)
{
	char line[2300] = "";
	int fd;

	if (!hs_opt.session[0])
		return;
	fd = open(hs_opt.session, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	append_uint(line, sizeof(line), (uint64_t)getpid());
	append(line, sizeof(line), " ");
	append(line, sizeof(line), w.path);
	append(line, sizeof(line), "\n");
	if (write(fd, line, strlen(line)) < 0)
		line[0] = 0;
	close(fd);
}

/*
 * The recording stays open between writes, on a descriptor moved above the program's own
 * (opening it at every autosave would take the lowest free descriptor for a moment and race
 * with the program's close(0); open() or dup2). If the program closed or reused it, it is
 * opened again.
 */

static int keep_valid(void)
{
	struct stat st;

	return w.keep_fd >= 0 && fstat(w.keep_fd, &st) == 0 && st.st_dev == w.keep_dev &&
	       st.st_ino == w.keep_ino && S_ISREG(st.st_mode);
}

static int is_file(int fd, const char *path);

static void keep(int fd)
{
	struct stat st;

	if (!is_file(fd, w.path))
		return;	/* the program took the number while we wrote: it is not ours to keep */
	fd = hs_fd_move_high(fd);
	w.keep_fd = fd >= 0 && fstat(fd, &st) == 0 ? fd : -1;
	if (fd >= 0 && w.keep_fd < 0)
		close(fd);
	if (w.keep_fd < 0)
		return;
	w.keep_dev = st.st_dev;
	w.keep_ino = st.st_ino;
}

/* Forget the kept descriptor (a forked child's is its parent's file). */
static void keep_drop(int do_close)
{
	if (w.keep_fd >= 0 && do_close)
		close(w.keep_fd);
	w.keep_fd = -1;
}

/*
 * open(path) that makes sure the descriptor is the file: a program that dup2()s over every
 * free number (or another thread's open) can take the number between our open and first
 * use, and we must neither write into its descriptor nor close it. A file we created for
 * nothing is removed again. -1 with errno (EBUSY when the number kept being taken).
 */
static int is_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int open_ours(const char *path, int flags)
{
	for (int tries = 0; tries < 8; tries++) {
		int fd = open(path, flags, 0600);

		if (fd < 0)
			return -1;
		if (is_file(fd, path))
			return fd;
		if (flags & O_CREAT)
			unlink(path);
	}
	errno = EBUSY;
	return -1;
}

/* Open the recording: create it the first time (never over an existing file). */
static int file_open(void)
{
	char base[2100];
	int i;

	if (w.path[0] && w.created && !w.full && keep_valid()) {
		w.fd = w.keep_fd;
		return 0;
	}
	if (w.path[0] && w.created) {
		w.fd = open_ours(w.path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		return w.fd < 0 ? -errno : 0;
	}
	if (w.path[0]) {	/* a path chosen by command: exactly there */
		w.fd = open_ours(w.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC);
		w.created = w.fd >= 0;
		return w.fd < 0 ? -errno : 1;
	}
	format_path(base, sizeof(base));
	for (i = 0; i < 1000; i++) {
		w.path[0] = 0;
		append(w.path, sizeof(w.path), base);
		if (i) {
			append(w.path, sizeof(w.path), ".");
			append_uint(w.path, sizeof(w.path), (uint64_t)i);
		}
		w.fd = open_ours(w.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC);
		if (w.fd >= 0 || errno != EEXIST)
			break;
	}
	if (w.fd < 0) {
		int err = errno;

		w.path[0] = 0;
		append(w.path, sizeof(w.path), base);
		return -err;
	}
	w.created = 1;
	note_session();
	return 1;
}

static int flush(void)
{
	size_t off = 0;

	while (off < w.len) {
		ssize_t n = hs_fault(HS_FAULT_WRITE) ? (errno = ENOSPC, -1) :
			    write(w.fd, w.buf + off, w.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	w.len = 0;
	return 0;
}

/*
 * Room for a record of at most `need` bytes in the staging buffer. What is staged goes out
 * once it passes 64 KiB, not only when the buffer is full: the buffer's pages that a write
 * touches are memory the program keeps (a reservation is sized for the worst case, the
 * records are far smaller), and the file only ever gets whole records.
 */
#define FLUSH_AT (64u << 10)

static int reserve(size_t need)
{
	int err;

	if (w.len + need <= w.cap && w.len < FLUSH_AT)
		return 0;
	err = flush();
	if (err)
		return err;
	if (need > w.cap) {
		size_t cap = (need + (1 << 20)) & ~(size_t)((1 << 20) - 1);
		unsigned char *buf = hs_arena_map(cap);

		if (!buf)
			return -ENOMEM;
		munmap(w.buf, w.cap);
		w.buf = buf;
		w.cap = cap;
	}
	return 0;
}

/* A cursor over the free part of the staging buffer; commit() keeps what was encoded. */
static void cursor(struct hsr_buf *b)
{
	hsr_buf_init(b, w.buf + w.len, w.cap - w.len);
}

static void commit(const struct hsr_buf *b)
{
	w.len += b->len;
}

int hs_read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return 0;
	while ((size_t)total < cap && (n = read(fd, buf + total, cap - (size_t)total)) > 0)
		total += n;
	close(fd);
	return (int)total;
}

static int put_process(void)
{
	static char cmdline[4096];
	struct utsname uts;
	struct hsr_buf b;
	size_t rec;
	int n = hs_read_small_file("/proc/self/cmdline", cmdline, sizeof(cmdline));
	int err = reserve(sizeof(cmdline) + sizeof(w.exe) + 512);

	if (err)
		return err;
	if (uname(&uts) < 0)
		uts.nodename[0] = 0;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_PROCESS);
	hsr_put_uv(&b, (uint64_t)getpid());
	hsr_put_uv(&b, (uint64_t)getppid());
	hsr_put_uv(&b, w.start_realtime);
	hsr_put_str(&b, w.exe);
	hsr_put_bytes(&b, cmdline, (size_t)n);
	hsr_put_str(&b, HS_ARCH);
	hsr_put_uv(&b, sizeof(void *));
	hsr_put_uv(&b, (uint64_t)sysconf(_SC_PAGESIZE));
	hsr_put_uv(&b, hs_tracker_sample_interval());
	hsr_put_uv(&b, hs_opt.depth);
	hsr_put_uv(&b, (hs_opt.from_run ? HSR_PROCESS_FLAG_RUN : 0) |
			       (hs_opt.start_tracking ? HSR_PROCESS_FLAG_STARTED : 0));
	hsr_put_str(&b, uts.nodename);
	hsr_record_end(&b, rec);
	commit(&b);
	return 0;
}

static int put_module(struct hs_module *m)
{
	struct hsr_buf b;
	size_t rec;
	uint32_t i;
	int err = reserve(strlen(m->path) + 128 + m->nsegs * 48);

	if (err)
		return err;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_MODULE);
	hsr_put_uv(&b, m->id);
	hsr_put_uv(&b, m->bias);
	hsr_put_str(&b, m->path);
	hsr_put_bytes(&b, m->build_id, m->build_id_len);
	hsr_put_uv(&b, m->nsegs);
	for (i = 0; i < m->nsegs; i++) {
		hsr_put_uv(&b, m->segs[i].start);
		hsr_put_uv(&b, m->segs[i].memsz);
		hsr_put_uv(&b, m->segs[i].offset);
		hsr_put_uv(&b, m->segs[i].flags);
	}
	hsr_put_uv(&b, m->load_epoch);
	hsr_record_end(&b, rec);
	commit(&b);
	if (!w.full)
		atomic_store(&m->written, 1);
	return 0;
}

static int put_module_unload(struct hs_module *m)
{
	struct hsr_buf b;
	size_t rec;
	int err = reserve(32);

	if (err)
		return err;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_MODULE_UNLOAD);
	hsr_put_uv(&b, m->id);
	hsr_put_uv(&b, m->unload_t);
	hsr_put_uv(&b, m->unload_epoch);
	hsr_record_end(&b, rec);
	commit(&b);
	if (!w.full)
		atomic_store(&m->unload_written, 1);
	return 0;
}

static int put_modules(void)
{
	unsigned i, n;
	int err = 0;

	hs_modules_refresh();
	n = hs_modules_count();
	for (i = 0; i < n && !err; i++) {
		struct hs_module *m = hs_module_at(i);

		if (w.full || !atomic_load(&m->written))
			err = put_module(m);
		if (!err && atomic_load(&m->unloaded) && (w.full || !atomic_load(&m->unload_written)))
			err = put_module_unload(m);
	}
	return err;
}

static int put_stack(struct hs_stack *s)
{
	struct hsr_buf b;
	size_t rec;
	unsigned i;
	struct hs_frames it = hs_frames_of(s);
	uintptr_t prev;
	int err = reserve(32 + (size_t)s->depth * 11);

	if (err)
		return err;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_STACK);
	hsr_put_uv(&b, s->id);
	hsr_put_uv(&b, s->kind);
	hsr_put_uv(&b, s->depth);
	for (i = 0, prev = 0; i < s->depth; i++) {
		uintptr_t pc = hs_frames_next(&it);

		if (i == 0)
			hsr_put_uv(&b, pc);
		else
			hsr_put_sv(&b, (int64_t)(intptr_t)(pc - prev));
		prev = pc;
	}
	hsr_record_end(&b, rec);
	commit(&b);
	if (!w.full)
		atomic_store(&s->written, 1);
	return 0;
}

/* Stack ids 1..max, then the overflow record if it was used; NULL for holes. */
static struct hs_stack *stack_at(uint32_t id, uint32_t max)
{
	struct hs_stack *o;

	if (id <= max)
		return hs_stacktab_get(id);
	o = hs_stacktab_overflow();
	return atomic_load(&o->alloc_calls) ? o : NULL;
}

/*
 * A placeholder of `width` bytes for a uv whose value is known only later, and its filling
 * as a padded (non-minimal) varint: 4 bytes for a record's count of entries (below 2^28),
 * 10 for any 64-bit value.
 */
static size_t put_uv_slot(struct hsr_buf *b, int width)
{
	size_t at = b->len;

	for (int i = 0; i < width; i++)
		hsr_put_u8(b, i < width - 1 ? 0x80 : 0);
	return at;
}

static void patch_uv(struct hsr_buf *b, size_t at, uint64_t v, int width)
{
	if (at + (size_t)width > b->len)
		return;		/* the buffer overflowed: the record is dropped anyway */
	for (int i = 0; i < width; i++, v >>= 7)
		b->buf[at + i] = (uint8_t)((v & 0x7f) | (i < width - 1 ? 0x80 : 0));
}

/*
 * A record that lists stacks by id (SNAPSHOT, PEAK, LEAKS, STACK_LEAF, STACK_EPOCHS): its
 * fixed fields, then a count patched in at the end, then per stack the id's delta and the
 * stack's fields.
 */
struct sparse {
	struct hsr_buf b;
	size_t rec, nat;
	uint32_t prev, count;
};

/* Room for `head` bytes of fixed fields and `per` bytes for each of max + 1 stacks. */
static int sparse_begin(struct sparse *sp, uint8_t type, size_t head, size_t per, uint32_t max)
{
	int err = reserve(head + 32 + (size_t)(max + 1) * per);

	if (err)
		return err;
	memset(sp, 0, sizeof(*sp));
	cursor(&sp->b);
	sp->rec = hsr_record_begin(&sp->b, type);
	return 0;
}

/* After the fixed fields: the place of the count. */
static void sparse_list(struct sparse *sp)
{
	sp->nat = put_uv_slot(&sp->b, 4);
}

/* One more stack: its id (as a delta); its fields follow. */
static void sparse_id(struct sparse *sp, uint32_t id)
{
	hsr_put_uv(&sp->b, id - sp->prev);
	sp->prev = id;
	sp->count++;
}

/* Close the record and keep it (an empty list only when keep_empty). 0 or -EOVERFLOW. */
static int sparse_end(struct sparse *sp, int keep_empty)
{
	hsr_record_end(&sp->b, sp->rec);
	if (hsr_buf_overflowed(&sp->b))
		return -EOVERFLOW;
	if (!sp->count && !keep_empty)
		return 0;
	patch_uv(&sp->b, sp->nat, sp->count, 4);
	commit(&sp->b);
	return 0;
}

static int written_stack(const struct hs_stack *s)
{
	return w.full || atomic_load(&s->written);
}

static int new_stack(struct hs_stack *s)
{
	return s && (w.full || !atomic_load(&s->written)) &&
	       (atomic_load(&s->alloc_calls) || atomic_load(&s->referenced));
}

/* Whether s is written as a leaf of the frame tree (its nodes are in the recording). */
static int as_leaf(const struct hs_stack *s)
{
	return !w.full && s->depth && s->leaf && s->leaf <= w.nodes_written;
}

/*
 * The new stacks from *next on that are frame-tree leaves, in one STACK_LEAF record, up to
 * the first new one that is not (left in *next; max + 2 when none is left). A stack's leaf
 * is given from the last one written: a new stack's nodes are usually the newest, so the
 * difference is a few nodes (python3: 13,000 stacks in 4 KB instead of 41 KB compressed).
 */
static int put_stack_nodes(uint32_t *next, uint32_t max)
{
	struct sparse sp;
	uint32_t id;
	int err = sparse_begin(&sp, HSR_STACK_LEAF, 0, 20, max);

	if (err)
		return err;
	sparse_list(&sp);
	for (id = *next; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);

		if (!new_stack(s))
			continue;
		if (!as_leaf(s))
			break;
		sparse_id(&sp, s->id);
		hsr_put_uv(&sp.b, s->kind);
		hsr_put_sv(&sp.b, (int64_t)s->leaf - (int64_t)w.last_leaf);
		w.last_leaf = s->leaf;
		atomic_store(&s->written, 1);
	}
	*next = id;
	return sparse_end(&sp, 0);
}

/*
 * The module epochs of this write's new stacks, where not 0: a frame of a stack belongs to
 * the module that was loaded at its address in the stack's epoch (FORMAT.md).
 */
static int put_stack_epochs(uint32_t max)
{
	struct sparse sp;
	uint32_t id;
	int err = sparse_begin(&sp, HSR_STACK_EPOCHS, 0, 10, max);

	if (err)
		return err;
	sparse_list(&sp);
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);

		if (!s || s->batch != w.batch || !s->epoch)
			continue;
		sparse_id(&sp, s->id);
		hsr_put_uv(&sp.b, s->epoch);
	}
	return sparse_end(&sp, 0);
}

#define FRAMES_CHUNK 8192u	/* nodes per FRAME_PCS record: a reservation of 208 KiB */

/*
 * The recording's table of return addresses (FRAME_PCS, docs/FORMAT.md): most nodes repeat
 * an address another node has (python3: 45,887 nodes over 2,850 addresses), so each
 * address is written once, sorted with the others new in its record, and a node names it
 * by index (python3's nodes: 49 -> 39 KB of zstd). An open-addressing map, address + 1 ->
 * index (all ones, never a return address, would read as empty), at a load of 3/4 at most
 * (python3: 4,096 slots, 48 KB), in mappings of its own; emptied with the recording's
 * marks. Should a mapping be refused, the recording goes on with FRAMES records.
 */
static struct {
	uintptr_t *key;		/* address + 1; 0: empty */
	uint32_t *idx;		/* given when the record is written (put_frame_pcs) */
	uint32_t cap, n;	/* slots (a power of 2); addresses in the recording's table */
	int off;		/* a mapping was refused: FRAMES records */
	uintptr_t *fresh;	/* a record's new addresses, FRAMES_CHUNK of them at most */
} pct;

static inline uint32_t pct_slot(uintptr_t key)
{
	uint64_t h = hs_fmix64(key);

	for (uint32_t i = (uint32_t)h & (pct.cap - 1);; i = (i + 1) & (pct.cap - 1))
		if (!pct.key[i] || pct.key[i] == key)
			return i;
}

static void pct_unmap(uintptr_t *key, uint32_t *idx, uint32_t cap)
{
	if (key)
		munmap(key, (size_t)cap * sizeof(*key));
	if (idx)
		munmap(idx, (size_t)cap * sizeof(*idx));
}

/* Room for one more entry beside `used`; 0 or -ENOMEM (the map as it was). */
static int pct_room(uint32_t used)
{
	uintptr_t *key = pct.key, *nkey;
	uint32_t *idx = pct.idx, *nidx, cap = pct.cap, ncap = cap ? cap * 2 : 1024;

	if (cap && (uint64_t)(used + 1) * 4 <= (uint64_t)cap * 3)
		return 0;
	nkey = hs_arena_map((size_t)ncap * sizeof(*nkey));
	nidx = hs_arena_map((size_t)ncap * sizeof(*nidx));
	if (!nkey || !nidx) {
		pct_unmap(nkey, nidx, ncap);
		return -ENOMEM;
	}
	pct.key = nkey;
	pct.idx = nidx;
	pct.cap = ncap;
	for (uint32_t i = 0; i < cap; i++) {
		if (key[i]) {
			uint32_t j = pct_slot(key[i]);

			pct.key[j] = key[i];
			pct.idx[j] = idx[i];
		}
	}
	pct_unmap(key, idx, cap);
	return 0;
}

static void pct_clear(void)
{
	if (pct.key)
		memset(pct.key, 0, (size_t)pct.cap * sizeof(*pct.key));
	pct.n = 0;
	pct.off = 0;
}

static void sift_down(uintptr_t *a, uint32_t i, uint32_t n)
{
	for (uint32_t c; (c = 2 * i + 1) < n; i = c) {
		uintptr_t t;

		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[i] >= a[c])
			return;
		t = a[i];
		a[i] = a[c];
		a[c] = t;
	}
}

/* Heapsort: no allocation (the writer may not call malloc), no recursion. */
static void sort_addresses(uintptr_t *a, uint32_t n)
{
	for (uint32_t k = n / 2; k-- > 0;)
		sift_down(a, k, n);
	for (uint32_t end = n; end-- > 1;) {
		uintptr_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/*
 * The addresses of nodes from..from+n-1 not yet in the table, sorted, into pct.fresh[0..*nf),
 * and in the map without their index yet; -1 (FRAMES from now) if a mapping is refused.
 */
static int pct_fresh(uint32_t from, uint32_t n, uint32_t *nf)
{
	*nf = 0;
	if (!pct.fresh && !(pct.fresh = hs_arena_map(FRAMES_CHUNK * sizeof(*pct.fresh))))
		goto off;
	for (uint32_t id = from; id < from + n; id++) {
		uintptr_t pc;
		uint32_t parent, j;

		hs_stacktab_node(id, &pc, &parent);
		if (pct_room(pct.n + *nf) < 0)
			goto off;
		j = pct_slot(pc + 1);
		if (!pct.key[j]) {
			pct.key[j] = pc + 1;
			pct.fresh[(*nf)++] = pc;
		}
	}
	sort_addresses(pct.fresh, *nf);
	return 0;
off:
	pct_clear();
	pct.off = 1;
	return -1;
}

/* Nodes from..from+n-1 as a FRAME_PCS record, their new addresses first. */
static void put_frame_pcs(struct hsr_buf *b, uint32_t from, uint32_t n, uint32_t nf)
{
	size_t rec = hsr_record_begin(b, HSR_FRAME_PCS);
	uintptr_t last = 0;

	hsr_put_uv(b, nf);
	for (uint32_t i = 0; i < nf; i++) {
		pct.idx[pct_slot(pct.fresh[i] + 1)] = pct.n + i;
		hsr_put_uv(b, (uint64_t)(pct.fresh[i] - last));
		last = pct.fresh[i];
	}
	pct.n += nf;
	hsr_put_uv(b, n);
	for (uint32_t id = from; id < from + n; id++) {
		uintptr_t pc;
		uint32_t parent;

		hs_stacktab_node(id, &pc, &parent);
		hsr_put_uv(b, id - parent);
		hsr_put_uv(b, pct.idx[pct_slot(pc + 1)]);
	}
	hsr_record_end(b, rec);
}

/* The same as a FRAMES record: each address from its parent's. */
static void put_frames(struct hsr_buf *b, uint32_t from, uint32_t n)
{
	size_t rec = hsr_record_begin(b, HSR_FRAMES);

	hsr_put_uv(b, n);
	for (uint32_t id = from; id < from + n; id++) {
		uintptr_t pc, base = 0;
		uint32_t parent, up;

		hs_stacktab_node(id, &pc, &parent);
		if (parent)
			hs_stacktab_node(parent, &base, &up);
		hsr_put_uv(b, id - parent);
		hsr_put_sv(b, (int64_t)(intptr_t)(pc - base));	/* signed on 32-bit too */
	}
	hsr_record_end(b, rec);
}

/*
 * The frame tree's nodes not yet in the recording, up to `upto`: the agent's node ids are
 * the recording's (1, 2, ..., each parent before its children).
 */
static int put_frame_nodes(uint32_t upto)
{
	while (w.nodes_written < upto) {
		uint32_t from = w.nodes_written + 1, n = upto - w.nodes_written, nf;
		struct hsr_buf b;
		int err;

		if (n > FRAMES_CHUNK)
			n = FRAMES_CHUNK;
		err = reserve(32 + (size_t)n * 26);
		if (err)
			return err;
		cursor(&b);
		if (!pct.off && pct_fresh(from, n, &nf) == 0)
			put_frame_pcs(&b, from, n, nf);
		else
			put_frames(&b, from, n);
		commit(&b);
		w.nodes_written = from + n - 1;
	}
	return 0;
}

/*
 * New stacks: in a standalone dump, with their frames; otherwise as leaves of the frame
 * tree, its nodes not yet written first (FRAME_PCS records), then a STACK_LEAF entry each.
 */
static int put_stacks(uint32_t max)
{
	uint32_t id;
	int err = 0;

	w.batch++;
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);

		if (new_stack(s))
			s->batch = w.batch;
	}
	/* read after the stacks: the nodes of every stack seen so far are below it */
	if (!w.full)
		err = put_frame_nodes(hs_stacktab_nodes());
	if (err)
		return err;
	/*
	 * In increasing id order, as readers take them: runs of call-tree leaves, and between
	 * them the stacks without frames (below BACKTRACE_MIN_SIZE, the overflow record).
	 */
	for (id = 1; id <= max + 1 && !err;) {
		err = put_stack_nodes(&id, max);
		if (!err && id <= max + 1)
			err = put_stack(stack_at(id++, max));
	}
	return err ? err : put_stack_epochs(max);
}

/*
 * The snapshot's totals are the sums of the stacks' figures it carries (those it lists and
 * those the reader keeps from before), read once each: in a process that goes on
 * allocating while it is written, totals read apart from the stacks would not add up.
 * Stacks of other heaps are not in the totals (docs/HEAPS.md).
 */
static int put_snapshot(unsigned reason, const char *name, const struct hs_totals *tot,
			uint32_t max)
{
	struct sparse sp;
	uint32_t id;
	uint64_t sum[5] = { 0 };
	size_t at[5];
	int err = sparse_begin(&sp, HSR_SNAPSHOT, 256 + (name ? strlen(name) : 0), 56, max);

	if (err)
		return err;
	hsr_put_uv(&sp.b, ++w.snap_seq);
	hsr_put_uv(&sp.b, reason);
	hsr_put_uv(&sp.b, hs_now_ns());
	hsr_put_str(&sp.b, name);
	for (int i = 0; i < 5; i++)
		at[i] = put_uv_slot(&sp.b, 10);	/* calls, bytes, frees, freed bytes, temporary */
	hsr_put_uv(&sp.b, tot->peak_bytes);
	hsr_put_uv(&sp.b, tot->peak_t);
	sparse_list(&sp);
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);
		uint64_t v[5];

		if (!s || !written_stack(s))
			continue;
		v[0] = atomic_load_explicit(&s->alloc_calls, memory_order_relaxed);
		v[1] = atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
		v[2] = atomic_load_explicit(&s->free_calls, memory_order_relaxed);
		v[3] = atomic_load_explicit(&s->freed_bytes, memory_order_relaxed);
		v[4] = atomic_load_explicit(&s->temporary, memory_order_relaxed);
		if (w.full ? !v[0] : v[0] == s->written_calls && v[2] == s->written_frees) {
			/* unchanged: the reader keeps what it has, the same calls and frees
			   (and the same bytes, but for a block whose calls were counted and
			   bytes not yet when the stack was last written) */
			if (!w.full && !hsr_kind_heap(s->kind))
				for (int i = 0; i < 5; i++)
					sum[i] += v[i];
			continue;
		}
		if (!w.full) {
			s->written_calls = v[0];
			s->written_frees = v[2];
		}
		if (!hsr_kind_heap(s->kind))
			for (int i = 0; i < 5; i++)
				sum[i] += v[i];
		sparse_id(&sp, s->id);
		for (int i = 0; i < 5; i++)
			hsr_put_uv(&sp.b, v[i]);
	}
	for (int i = 0; i < 5; i++)
		patch_uv(&sp.b, at[i], sum[i], 10);
	return sparse_end(&sp, 1);
}

static int put_peak(const struct hs_totals *tot, uint32_t max)
{
	struct sparse sp;
	uint32_t id;
	int err = sparse_begin(&sp, HSR_PEAK, 64, 32, max);

	if (err)
		return err;
	hsr_put_uv(&sp.b, tot->peak_t);
	hsr_put_uv(&sp.b, tot->peak_bytes);
	sparse_list(&sp);
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);
		uint64_t bytes, blocks;

		if (!s || !written_stack(s) || hsr_kind_heap(s->kind))
			continue;	/* other heaps' stacks: in HEAPS, at their own peaks */
		hs_tracker_stack_peak(s, tot->peak_epoch, &bytes, &blocks);
		if (!bytes && !blocks)
			continue;
		sparse_id(&sp, s->id);
		hsr_put_uv(&sp.b, bytes);
		hsr_put_uv(&sp.b, blocks);
	}
	err = sparse_end(&sp, 1);
	if (!err && !w.full)
		w.peak_epoch_written = tot->peak_epoch;
	return err;
}

/* Other heaps (dma-buf, the program's pools): their figures and peaks, whole each time. */
static int put_heaps(uint32_t max)
{
	struct hsr_buf b;
	int err = reserve(hs_heaps_record_size(max));

	if (err)
		return err;
	cursor(&b);
	hs_heaps_put(&b, max, written_stack);
	if (hsr_buf_overflowed(&b))
		return -EOVERFLOW;
	commit(&b);
	return 0;
}

struct timeline_ctx {
	int err;
	uint64_t last_t;
};

static void put_timeline_cb(const struct hs_timeline_point *pts, unsigned n, void *arg)
{
	struct timeline_ctx *ctx = arg;
	struct hsr_buf b;
	size_t rec;
	unsigned i;

	ctx->err = reserve(32 + (size_t)n * 32);
	if (ctx->err || !n)
		return;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_TIMELINE);
	hsr_put_uv(&b, n);
	for (i = 0; i < n; i++) {
		uint64_t t = pts[i].t > ctx->last_t ? pts[i].t : ctx->last_t;

		hsr_put_uv(&b, t - ctx->last_t);
		ctx->last_t = t;
		hsr_put_uv(&b, pts[i].live_bytes);
		hsr_put_uv(&b, pts[i].alloc_calls);
	}
	hsr_record_end(&b, rec);
	commit(&b);
}

static int put_timeline(void)
{
	static uint64_t last_t;
	struct timeline_ctx ctx = { 0, last_t };

	hs_tracker_timeline_drain(put_timeline_cb, &ctx);
	last_t = ctx.last_t;
	return ctx.err;
}

static int put_messages(void)
{
	struct hsr_buf b;
	size_t rec;
	unsigned i;
	int err;

	for (i = w.full ? 0 : w.nmsg_written; i < w.nmsg; i++) {
		err = reserve(256);
		if (err)
			return err;
		cursor(&b);
		rec = hsr_record_begin(&b, HSR_MESSAGE);
		hsr_put_uv(&b, w.msg[i].t);
		hsr_put_uv(&b, w.msg[i].level);
		hsr_put_str(&b, w.msg[i].text);
		hsr_record_end(&b, rec);
		commit(&b);
	}
	if (!w.full)
		w.nmsg_written = w.nmsg;
	return 0;
}

static int put_end(unsigned reason)
{
	struct hs_unwind_counts uc;
	struct hsr_buf b;
	size_t rec;
	int err = reserve(128);

	if (err)
		return err;
	hs_threads_unwind_counts(&uc);
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_END);
	hsr_put_uv(&b, hs_now_ns());
	hsr_put_uv(&b, reason == HSR_REASON_EXEC ? 2 : reason == HSR_REASON_SIGNAL ? 3 : 1);
	hsr_put_uv(&b, hs_arena_mapped_bytes());
	hsr_put_uv(&b, hs_stacktab_max_id());
	hsr_put_uv(&b, hs_stacktab_dropped());
	/* the agent's own memory in use: arena (stack records, small tables), pointer map */
	hsr_put_uv(&b, hs_arena_used_bytes());
	hsr_put_uv(&b, hs_ptrmap_table_bytes());
	hsr_put_uv(&b, hs_ptrmap_count());
	hsr_put_uv(&b, hs_stacktab_table_bytes());
	/* what the stack walks did (docs/UNWIND.md) */
	hsr_put_uv(&b, uc.walks);
	hsr_put_uv(&b, uc.frames);
	hsr_put_uv(&b, uc.hits);
	hsr_put_uv(&b, uc.misses);
	hsr_put_uv(&b, uc.reused);
	hsr_record_end(&b, rec);
	commit(&b);
	return 0;
}

void hs_writer_message(unsigned level, const char *text)
{
	unsigned i = w.nmsg;

	if (i >= MAX_MESSAGES)
		return;
	w.msg[i].level = level;
	w.msg[i].t = hs_now_ns();
	strncpy(w.msg[i].text, text, sizeof(w.msg[i].text) - 1);
	w.nmsg = i + 1;
}

static void put_figures(struct hsr_buf *b, const struct hs_leak_figures *f)
{
	unsigned k;

	for (k = 0; k < HSR_LEAK_KINDS; k++) {
		hsr_put_uv(b, f->bytes[k]);
		hsr_put_uv(b, f->blocks[k]);
	}
}

/* The result of the latest reachability scan, for the stacks already written. */
static int put_leaks(const struct hs_leak_result *r, uint32_t max)
{
	struct sparse sp;
	uint32_t id;
	int err = sparse_begin(&sp, HSR_LEAKS, 128, 90, r->nstacks < max ? r->nstacks : max);

	if (err)
		return err;
	hsr_put_uv(&sp.b, r->t);
	hsr_put_uv(&sp.b, r->reason);
	hsr_put_uv(&sp.b, r->flags);
	hsr_put_uv(&sp.b, r->threads);
	put_figures(&sp.b, &r->total);
	sparse_list(&sp);
	for (id = 1; id <= r->nstacks && id <= max + 1; id++) {
		const struct hs_leak_figures *f = &r->per_stack[id];
		struct hs_stack *s = stack_at(id, max);

		if (!s || !written_stack(s))
			continue;
		if (!(f->blocks[0] | f->blocks[1] | f->blocks[2] | f->blocks[3]))
			continue;
		sparse_id(&sp, id);
		put_figures(&sp.b, f);
	}
	err = sparse_end(&sp, 1);
	if (!err && !w.full)
		w.leaks_written = r->seq;
	return err;
}

static uint32_t written_id(const struct hs_stack *s)
{
	return s && (w.full || atomic_load(&s->written)) ? s->id : 0;
}

/* Every heap error so far (counts grow, so the whole list each time; the last one holds). */
static int put_errors(void)
{
	unsigned i, n = hs_errors_count();
	struct hsr_buf b;
	size_t rec;
	int err = reserve(32 + (size_t)n * 128);

	if (err)
		return err;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_ERRORS);
	hsr_put_uv(&b, n);
	for (i = 0; i < n; i++) {
		const struct hs_error *e = hs_error_at(i);

		hsr_put_uv(&b, e->kind);
		hsr_put_uv(&b, e->t);
		hsr_put_uv(&b, e->addr);
		hsr_put_uv(&b, e->size);
		hsr_put_sv(&b, e->offset);
		hsr_put_uv(&b, e->nbytes);
		hsr_put_uv(&b, written_id(e->alloc));
		hsr_put_uv(&b, written_id(e->freed));
		hsr_put_uv(&b, written_id(e->where));
		hsr_put_uv(&b, e->alloc_kind);
		hsr_put_uv(&b, e->free_kind);
		hsr_put_uv(&b, e->count);
	}
	hsr_record_end(&b, rec);
	commit(&b);
	return 0;
}

/* Counters were reset (tracking restarted, sampling changed): readers start over. */
static int put_reset(const struct hs_totals *tot)
{
	struct hsr_buf b;
	size_t rec;
	int err = reserve(32);

	if (err)
		return err;
	cursor(&b);
	rec = hsr_record_begin(&b, HSR_RESET);
	hsr_put_uv(&b, tot->reset_t & ~1ull);
	hsr_put_uv(&b, tot->sample_interval);
	hsr_record_end(&b, rec);
	commit(&b);
	w.reset_written = tot->reset_t;
	return 0;
}

static int write_records(unsigned reason, const char *name, int final, int created)
{
	struct hs_totals tot;
	uint32_t max = hs_stacktab_ready_id();	/* ids in order, none skipped for a while */
	int err = 0;

	if (created) {
		struct hsr_buf b;

		cursor(&b);
		hsr_put_header(&b);
		commit(&b);
		err = put_process();
	}
	hs_tracker_totals(&tot);
	if (!err && !created && tot.reset_t != w.reset_written)
		err = put_reset(&tot);
	if (created && !w.full)
		w.reset_written = tot.reset_t;
	if (!err)
		err = put_modules();
	if (!err)
		err = put_stacks(max);
	if (!err && hs_errors_count())
		err = put_errors();
	if (!err && hs_leakscan_last() &&
	    (w.full || hs_leakscan_last()->seq != w.leaks_written))
		err = put_leaks(hs_leakscan_last(), max);
	if (!err)
		err = put_snapshot(reason, name, &tot, max);
	if (!err && (created || tot.peak_epoch != w.peak_epoch_written))
		err = put_peak(&tot, max);
	if (!err && hs_heaps_active())
		err = put_heaps(max);
	if (!err && !w.full)
		err = put_timeline();
	if (!err)
		err = put_messages();
	if (!err && final)
		err = put_end(reason);
	if (!err)
		err = flush();
	return err;
}

static void lock_wait(void)
{
	while (atomic_flag_test_and_set_explicit(&w.lock, memory_order_acquire))
		hs_cpu_relax();
}

/* The lock, but not forever: a crash may have struck while this thread held it. */
static int lock_for_crash(void)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (!atomic_flag_test_and_set_explicit(&w.lock, memory_order_acquire))
			return 0;
		usleep(1000);
	}
	return -EDEADLK;
}

int hs_writer_snapshot(unsigned reason, const char *name, int final)
{
	int err, created;

	if (reason != HS_REASON_CRASH)
		lock_wait();
	else if (lock_for_crash() < 0)
		return -EDEADLK;
	if (w.failed) {
		err = -EIO;
		goto out_unlock;
	}
	hs_self.internal++;
	created = file_open();
	if (created < 0) {
		report_failure("cannot create recording", -created);
		err = created;
		goto out_internal;
	}
	w.len = 0;
	err = write_records(reason == HS_REASON_CRASH ? HSR_REASON_SIGNAL : reason, name, final,
			    created);
	if (err)
		report_failure("cannot write recording", -err);
	if (final || err) {
		if (w.fd != w.keep_fd)
			close(w.fd);
		keep_drop(1);
	} else if (w.fd != w.keep_fd) {
		keep_drop(0);	/* the old one is not ours any more: don't close it */
		keep(w.fd);
	}
	w.fd = -1;
out_internal:
	hs_self.internal--;
out_unlock:
	atomic_flag_clear_explicit(&w.lock, memory_order_release);
	return err;
}

void hs_writer_lock(void)
{
	lock_wait();
}

void hs_writer_unlock(void)
{
	atomic_flag_clear_explicit(&w.lock, memory_order_release);
}

/* Everything must be written again (a new recording file). Writer lock held. */
static void reset_marks(void)
{
	uint32_t id, max = hs_stacktab_max_id();
	unsigned i;

	w.snap_seq = 0;
	w.peak_epoch_written = 0;
	w.created = 0;
	w.nodes_written = 0;
	pct_clear();
	w.last_leaf = 0;
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = stack_at(id, max);

		if (!s)
			continue;
		atomic_store(&s->written, 0);
		s->written_calls = s->written_frees = 0;
	}
	for (i = 0; i < hs_modules_count(); i++) {
		atomic_store(&hs_module_at(i)->written, 0);
		atomic_store(&hs_module_at(i)->unload_written, 0);
	}
}

/* In a forked child (writer lock held): a recording of its own, elsewhere. */
void hs_writer_atfork_child(void)
{
	char msg[64] = "forked from process ";

	reset_marks();
	keep_drop(1);	/* the child's copy of its parent's descriptor */
	w.path[0] = 0;
	w.saved_path[0] = 0;
	w.nmsg = w.nmsg_written = 0;
	append_uint(msg, sizeof(msg), (uint64_t)getppid());
	hs_writer_message(HSR_MSG_INFO, msg);
}

int hs_writer_write_to(const char *path, unsigned reason, const char *name)
{
	char saved[sizeof(w.path)];
	int created, err, saved_created;
	uint32_t saved_seq;

	lock_wait();
	memcpy(saved, w.path, sizeof(saved));
	saved_created = w.created;
	saved_seq = w.snap_seq;
	w.snap_seq = 0;
	w.path[0] = 0;
	append(w.path, sizeof(w.path), path);
	w.created = 0;
	w.full = 1;
	hs_self.internal++;
	created = file_open();
	err = created < 0 ? created : 0;
	if (!err) {
		w.len = 0;
		err = write_records(reason, name, 1, 1);
		close(w.fd);
		w.fd = -1;
	}
	hs_self.internal--;
	w.full = 0;
	memcpy(w.path, saved, sizeof(saved));
	w.created = saved_created;
	w.snap_seq = saved_seq;
	atomic_flag_clear_explicit(&w.lock, memory_order_release);
	return err;
}

int hs_writer_redirect(const char *path)
{
	lock_wait();
	if (w.saved_path[0]) {
		atomic_flag_clear_explicit(&w.lock, memory_order_release);
		return -EBUSY;
	}
	keep_drop(1);
	memcpy(w.saved_path, w.path, sizeof(w.saved_path));
	if (!w.saved_path[0])
		format_path(w.saved_path, sizeof(w.saved_path));
	reset_marks();
	w.path[0] = 0;
	append(w.path, sizeof(w.path), path);
	atomic_flag_clear_explicit(&w.lock, memory_order_release);
	return 0;
}

int hs_writer_restore(void)
{
	lock_wait();
	if (!w.saved_path[0]) {
		atomic_flag_clear_explicit(&w.lock, memory_order_release);
		return -ENOENT;
	}
	reset_marks();
	keep_drop(1);
	memcpy(w.path, w.saved_path, sizeof(w.path));
	w.saved_path[0] = 0;
	/* The main recording exists if it was ever written: append to it then. */
	w.created = access(w.path, F_OK) == 0;
	atomic_flag_clear_explicit(&w.lock, memory_order_release);
	return 0;
}
