// SPDX-License-Identifier: MIT
/*
 * Live-heap dumps in text (see dump.h). The stacks are gathered into a scratch mapping,
 * sorted, and formatted without stdio into a static buffer that is flushed with write(2).
 * dladdr() names exported functions; it takes the loader's lock but does not allocate.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "dump.h"
#include "fmt.h"
#include "hsr_format.h"
#include "modules.h"
#include "stacktab.h"
#include "tracker.h"

struct dump_out {
	int fd;
	int err;
	struct hs_fmt f;
	char buf[65536];
};

static atomic_flag dump_lock;
static struct dump_out out;

static void out_flush(void)
{
	if (!out.err)
		out.err = hs_write_out(out.fd, out.buf, out.f.len);
	hs_fmt_init(&out.f, out.buf, sizeof(out.buf));
}

/* Make room for a line of up to 1 kB. */
static void out_line(void)
{
	if (out.f.len + 1024 > sizeof(out.buf))
		out_flush();
}

static uint64_t live_bytes(struct hs_stack *s)
{
	return atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed) -
	       atomic_load_explicit(&s->freed_bytes, memory_order_relaxed);
}

static uint64_t live_blocks(struct hs_stack *s)
{
	return atomic_load_explicit(&s->alloc_calls, memory_order_relaxed) -
	       atomic_load_explicit(&s->free_calls, memory_order_relaxed);
}

static int by_bytes(const void *a, const void *b)
{
	uint64_t x = live_bytes(*(struct hs_stack *const *)a);
	uint64_t y = live_bytes(*(struct hs_stack *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_blocks(const void *a, const void *b)
{
	uint64_t x = live_blocks(*(struct hs_stack *const *)a);
	uint64_t y = live_blocks(*(struct hs_stack *const *)b);

	return x < y ? 1 : x > y ? -1 : by_bytes(a, b);
}

void hs_dump_frame(struct hs_fmt *f, unsigned i, uintptr_t pc)
{
	const struct hs_module *m = hs_module_find(pc - 1);
	Dl_info info;

	hs_fmt_str(f, "    #");
	hs_fmt_uint(f, i);
	hs_fmt_str(f, " ");
	hs_fmt_hex(f, pc);
	if (m) {
		const char *slash = strrchr(m->path, '/');

		hs_fmt_str(f, " ");
		hs_fmt_str(f, slash ? slash + 1 : m->path);
		hs_fmt_str(f, "+");
		hs_fmt_hex(f, pc - m->bias);
	}
	if (dladdr((void *)(pc - 1), &info) && info.dli_sname) {
		hs_fmt_str(f, " (");
		hs_fmt_str(f, info.dli_sname);
		hs_fmt_str(f, "+");
		hs_fmt_hex(f, pc - (uintptr_t)info.dli_saddr);
		hs_fmt_str(f, ")");
	}
	hs_fmt_str(f, "\n");
}

static void put_frame(unsigned i, uintptr_t pc)
{
	out_line();
	hs_dump_frame(&out.f, i, pc);
}

static void put_stack(unsigned rank, struct hs_stack *s)
{
	struct hs_frames it = hs_frames_of(s);
	unsigned i;

	out_line();
	hs_fmt_str(&out.f, "#");
	hs_fmt_uint(&out.f, rank);
	hs_fmt_str(&out.f, " ");
	hs_fmt_uint(&out.f, live_bytes(s));
	hs_fmt_str(&out.f, " bytes in ");
	hs_fmt_uint(&out.f, live_blocks(s));
	hs_fmt_str(&out.f, " blocks (allocs ");
	hs_fmt_uint(&out.f, atomic_load(&s->alloc_calls));
	hs_fmt_str(&out.f, ", frees ");
	hs_fmt_uint(&out.f, atomic_load(&s->free_calls));
	hs_fmt_str(&out.f, ") [");
	hs_fmt_str(&out.f, hsr_kind_name(s->kind));
	hs_fmt_str(&out.f, "]\n");
	if (!s->depth)
		hs_fmt_str(&out.f, "    (no stack: smaller than BACKTRACE_MIN_SIZE)\n");
	for (i = 0; i < s->depth; i++)
		put_frame(i, hs_frames_next(&it));
}

static void put_header(const char *title, uint64_t nstacks)
{
	struct hs_totals tot;

	hs_tracker_totals(&tot);
	hs_fmt_str(&out.f, title ? title : "heapscope live heap");
	hs_fmt_str(&out.f, ": pid ");
	hs_fmt_uint(&out.f, (uint64_t)getpid());
	hs_fmt_str(&out.f, ", t=");
	hs_fmt_uint(&out.f, hs_now_ns() / 1000000);
	hs_fmt_str(&out.f, " ms\nlive: ");
	hs_fmt_uint(&out.f, tot.alloc_bytes - tot.freed_bytes);
	hs_fmt_str(&out.f, " bytes in ");
	hs_fmt_uint(&out.f, tot.alloc_calls - tot.free_calls);
	hs_fmt_str(&out.f, " blocks from ");
	hs_fmt_uint(&out.f, nstacks);
	hs_fmt_str(&out.f, " stacks; peak ");
	hs_fmt_uint(&out.f, tot.peak_bytes);
	hs_fmt_str(&out.f, " bytes; ");
	hs_fmt_uint(&out.f, tot.alloc_calls);
	hs_fmt_str(&out.f, " allocation calls");
	if (tot.sample_interval) {
		hs_fmt_str(&out.f, " (estimates: sampled every ");
		hs_fmt_uint(&out.f, tot.sample_interval);
		hs_fmt_str(&out.f, " bytes)");
	}
	hs_fmt_str(&out.f, "\n");
}

/* Stacks holding live memory, into a scratch mapping; the count, or -ENOMEM. */
static long gather(struct hs_stack ***list, size_t *mapped)
{
	uint32_t id, max = hs_stacktab_max_id();
	long n = 0;

	*mapped = ((size_t)max + 2) * sizeof(**list);
	*list = hs_arena_map(*mapped);
	if (!*list)
		return -ENOMEM;
	for (id = 1; id <= max + 1; id++) {
		struct hs_stack *s = id <= max ? hs_stacktab_get(id) : hs_stacktab_overflow();

		if (s && live_blocks(s))
			(*list)[n++] = s;
	}
	return n;
}

int hs_dump_live(const char *path, enum hs_dump_order order, unsigned top, const char *title)
{
	struct hs_stack **list;
	size_t mapped;
	long n, i;
	int err;

	while (atomic_flag_test_and_set_explicit(&dump_lock, memory_order_acquire))
		hs_cpu_relax();
	hs_self.internal++;
	out.err = 0;
	out.fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)
		      : STDERR_FILENO;
	err = out.fd < 0 ? -errno : 0;
	n = err ? 0 : gather(&list, &mapped);
	if (n < 0)
		err = (int)n;
	if (!err) {
		qsort(list, (size_t)n, sizeof(*list), order == HS_DUMP_BY_BLOCKS ? by_blocks : by_bytes);
		hs_fmt_init(&out.f, out.buf, sizeof(out.buf));
		put_header(title, (uint64_t)n);
		for (i = 0; i < n && (!top || i < (long)top); i++)
			put_stack((unsigned)i + 1, list[i]);
		out_flush();
		err = -out.err;
		munmap(list, mapped);
	}
	if (path && out.fd >= 0)
		close(out.fd);
	hs_self.internal--;
	atomic_flag_clear_explicit(&dump_lock, memory_order_release);
	return err;
}
