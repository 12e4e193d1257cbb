// SPDX-License-Identifier: MIT
/*
 * Unit test of views, symbolization and export over a recording of real stacks: this
 * program captures its own call stacks (backtrace) from known functions, writes them as a
 * recording with its real modules (dl_iterate_phdr), then checks the leaks/peak/allocs/
 * temporary views, and that the text and JSON reports name those functions with their
 * file and line. With an argument, it only writes the recording there (for trying the
 * CLI by hand).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "hsr_encode.h"
#include "hsr_format.h"
#include "hsr_reader.h"
#include "profile.h"
#include "resolve.h"

#include "unit.h"

#define MAX_FRAMES 32

struct captured {
	uint64_t frames[MAX_FRAMES];
	size_t n;
};

static struct captured stacks[4];
static uint8_t mem[1 << 20];
static struct hsr_buf out;
static unsigned next_module = 1;

/* Stands for an allocation function: records the stack of its caller. */
static __attribute__((noinline)) void fake_alloc(struct captured *c)
{
	void *pcs[MAX_FRAMES + 1];
	int n = backtrace(pcs, MAX_FRAMES + 1);

	for (int i = 1; i < n; i++)	/* frame 0 is fake_alloc itself */
		c->frames[c->n++] = (uint64_t)(uintptr_t)pcs[i];
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void leak_small(void)
{
	fake_alloc(&stacks[0]);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void leak_big(void)
{
	fake_alloc(&stacks[1]);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void churn(void)
{
	fake_alloc(&stacks[2]);
	__asm__ volatile("" ::: "memory");
}

/* The build-id note in one PT_NOTE segment, written as the MODULE field; 0 if none. */
static int put_build_id(const struct dl_phdr_info *info, const ElfW(Phdr) *ph)
{
	const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
	const uint8_t *end = p + ph->p_memsz;

	while (p + sizeof(ElfW(Nhdr)) <= end) {
		const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
		size_t name = (nh->n_namesz + 3) & ~3u, desc = (nh->n_descsz + 3) & ~3u;

		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4) {
			hsr_put_bytes(&out, p + sizeof(*nh) + name, nh->n_descsz);
			return 1;
		}
		p += sizeof(*nh) + name + desc;
	}
	return 0;
}

static int put_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	char exe[4096] = "";
	const char *path = info->dlpi_name;
	size_t r, nload = 0;
	int have_id = 0;

	if (!path[0]) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		path = exe;
	}
	if (path[0] != '/')
		return 0;	/* the vDSO */
	r = hsr_record_begin(&out, HSR_MODULE);
	hsr_put_uv(&out, next_module++);
	hsr_put_uv(&out, info->dlpi_addr);
	hsr_put_str(&out, path);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		nload += info->dlpi_phdr[i].p_type == PT_LOAD;
		if (info->dlpi_phdr[i].p_type == PT_NOTE && !have_id)
			have_id = put_build_id(info, &info->dlpi_phdr[i]);
	}
	if (!have_id)
		hsr_put_bytes(&out, "", 0);
	hsr_put_uv(&out, nload);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		hsr_put_uv(&out, info->dlpi_addr + ph->p_vaddr);
		hsr_put_uv(&out, ph->p_memsz);
		hsr_put_uv(&out, ph->p_offset);
		hsr_put_uv(&out, ph->p_flags);
	}
	hsr_record_end(&out, r);
	return 0;
}

static void put_process(void)
{
	size_t r = hsr_record_begin(&out, HSR_PROCESS);

	hsr_put_uv(&out, (uint64_t)getpid());
	hsr_put_uv(&out, (uint64_t)getppid());
	hsr_put_uv(&out, 0);
	hsr_put_str(&out, "/tests/unit/unit_report");
	hsr_put_bytes(&out, "./unit_report\0", 14);
	hsr_put_str(&out, "x86_64");
	hsr_put_uv(&out, 8);
	hsr_put_uv(&out, 4096);
	hsr_put_uv(&out, 0);
	hsr_put_uv(&out, MAX_FRAMES);
	hsr_put_uv(&out, 1);
	hsr_put_str(&out, "test");
	hsr_record_end(&out, r);
}

static void put_stack(unsigned id, unsigned kind, const struct captured *c)
{
	size_t r = hsr_record_begin(&out, HSR_STACK);

	hsr_put_uv(&out, id);
	hsr_put_uv(&out, kind);
	hsr_put_uv(&out, c->n);
	for (size_t i = 0; i < c->n; i++) {
		if (i == 0)
			hsr_put_uv(&out, c->frames[0]);
		else
			hsr_put_sv(&out, (int64_t)(c->frames[i] - c->frames[i - 1]));
	}
	hsr_record_end(&out, r);
}

/* Per stack: alloc_calls, alloc_bytes, free_calls, freed_bytes, temporary. */
static const uint64_t figures[3][5] = {
	{ 20, 2000, 0, 0, 0 },			/* leak_small: 2.0 kB in 20 blocks */
	{ 1, 100000, 0, 0, 0 },			/* leak_big: 100.0 kB in 1 block */
	{ 5000, 5000000, 5000, 5000000, 4000 },	/* churn: all freed, 4000 temporary */
};

static void put_snapshot_and_end(void)
{
	size_t r = hsr_record_begin(&out, HSR_SNAPSHOT);

	hsr_put_uv(&out, 1);
	hsr_put_uv(&out, HSR_REASON_EXIT);
	hsr_put_uv(&out, 1234000000);
	hsr_put_str(&out, "");
	for (int k = 0; k < 5; k++)
		hsr_put_uv(&out, figures[0][k] + figures[1][k] + figures[2][k]);
	hsr_put_uv(&out, 612000);	/* peak_bytes */
	hsr_put_uv(&out, 612000000);
	hsr_put_uv(&out, 3);
	for (int s = 0; s < 3; s++) {
		hsr_put_uv(&out, 1);
		for (int k = 0; k < 5; k++)
			hsr_put_uv(&out, figures[s][k]);
	}
	hsr_record_end(&out, r);
	r = hsr_record_begin(&out, HSR_PEAK);
	hsr_put_uv(&out, 612000000);
	hsr_put_uv(&out, 612000);
	hsr_put_uv(&out, 2);
	hsr_put_uv(&out, 2);		/* leak_big */
	hsr_put_uv(&out, 100000);
	hsr_put_uv(&out, 1);
	hsr_put_uv(&out, 1);		/* churn */
	hsr_put_uv(&out, 512000);
	hsr_put_uv(&out, 512);
	hsr_record_end(&out, r);
	r = hsr_record_begin(&out, HSR_END);
	hsr_put_uv(&out, 1234000000);
	hsr_put_uv(&out, 1);
	hsr_put_uv(&out, 65536);
	hsr_put_uv(&out, 3);
	hsr_put_uv(&out, 0);
	hsr_record_end(&out, r);
}

static void write_recording(const char *path)
{
	FILE *f;

	leak_small();
	leak_big();
	churn();
	hsr_buf_init(&out, mem, sizeof(mem));
	hsr_put_header(&out);
	put_process();
	dl_iterate_phdr(put_module, NULL);
	put_stack(1, HSR_KIND_MALLOC, &stacks[0]);
	put_stack(2, HSR_KIND_NEW, &stacks[1]);
	put_stack(3, HSR_KIND_CALLOC, &stacks[2]);
	put_snapshot_and_end();
	f = fopen(path, "wb");
	if (!f || hsr_buf_overflowed(&out) || fwrite(mem, 1, out.len, f) != out.len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void check_views(const struct hsr_recording *rec)
{
	struct hs_view_result v;

	CHECK(hs_view_default(rec) == HS_VIEW_LEAKS);
	CHECK(hs_view_compute(rec, HS_VIEW_LEAKS, HS_SORT_DEFAULT, 0, &v) == 0);
	CHECK(v.nmatching == 2 && v.nrows == 2 && v.sort == HS_SORT_BYTES);
	CHECK(v.rows[0].stack_id == 2 && v.rows[1].stack_id == 1);
	CHECK(v.total.live_bytes == 102000 && v.total.live_blocks == 21);
	hs_view_release(&v);
	CHECK(hs_view_compute(rec, HS_VIEW_LEAKS, HS_SORT_BLOCKS, 1, &v) == 0);
	CHECK(v.nmatching == 2 && v.nrows == 1 && v.rows[0].stack_id == 1);
	hs_view_release(&v);
	CHECK(hs_view_compute(rec, HS_VIEW_PEAK, HS_SORT_DEFAULT, 10, &v) == 0);
	CHECK(v.nrows == 2 && v.rows[0].stack_id == 3 && v.rows[0].f.peak_blocks == 512);
	hs_view_release(&v);
	CHECK(hs_view_compute(rec, HS_VIEW_ALLOCS, HS_SORT_CALLS, 10, &v) == 0);
	CHECK(v.nrows == 3 && v.rows[0].stack_id == 3 && v.rows[2].stack_id == 2);
	hs_view_release(&v);
	CHECK(hs_view_compute(rec, HS_VIEW_TEMPORARY, HS_SORT_DEFAULT, 10, &v) == 0);
	CHECK(v.nrows == 1 && v.sort == HS_SORT_TEMPORARY && v.rows[0].f.temporary == 4000);
	hs_view_release(&v);
}

/* Run an exporter into a string the caller frees. */
static char *export_to_string(const struct hsr_recording *rec, enum hs_view view, int json)
{
	struct hs_view_result v;
	struct hs_resolver res;
	struct hs_report r = { .rec = rec, .view = &v, .res = &res, .version = "test" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	hs_summary_compute(rec, &r.summary);
	CHECK(f && hs_view_compute(rec, view, HS_SORT_DEFAULT, 10, &v) == 0);
	CHECK(hs_resolver_init(&res, rec, NULL) == 0);
	CHECK((json ? hs_export_json(f, &r) : hs_export_text(f, &r)) == 0);
	fclose(f);
	hs_resolver_release(&res);
	hs_view_release(&v);
	return buf;
}

static void check_text(const struct hsr_recording *rec)
{
	char *t = export_to_string(rec, HS_VIEW_LEAKS, 0);

	CHECK(strstr(t, "heapscope report: ./unit_report (pid "));
	CHECK(strstr(t, "  allocation calls    5,021   (5.10 MB)\n"));
	CHECK(strstr(t, "  temporary           4,000   (79.7% of calls)\n"));
	CHECK(strstr(t, "  peak heap           612.0 kB at 0.612 s\n"));
	CHECK(strstr(t, "  live at end         102.0 kB in 21 blocks\n"));
	CHECK(strstr(t, "leaks: 102.0 kB in 21 blocks from 2 stacks (top 2)\n"));
	CHECK(strstr(t, "#1  100.0 kB in 1 block, 1 call   [operator new]\n"));
	CHECK(strstr(t, "      leak_big (report.c:"));
	CHECK(strstr(t, "      leak_small (report.c:"));
	CHECK(strstr(t, "unit_report\n"));
	CHECK(!strstr(t, "__libc_start"));
	CHECK(strstr(t, "other views: --peak --allocs --temporary\n"));
	if (failures)
		fputs(t, stderr);
	free(t);
}

static void check_json(const struct hsr_recording *rec)
{
	char *j = export_to_string(rec, HS_VIEW_PEAK, 1);

	CHECK(strncmp(j, "{\n  \"version\": 1,\n  \"tool\": \"heapscope\"", 38) == 0);
	CHECK(strstr(j, "\"view\": \"peak\""));
	CHECK(strstr(j, "\"sort\": \"bytes\""));
	CHECK(strstr(j, "\"cmdline\": [\"./unit_report\"]"));
	CHECK(strstr(j, "\"end_reason\": \"exit\""));
	CHECK(strstr(j, "\"peak_time_s\": 0.612000"));
	CHECK(strstr(j, "\"allocator\": \"calloc\""));
	CHECK(strstr(j, "\"function\": \"churn\", \"file\": \"/"));
	CHECK(strstr(j, "report.c\", \"line\": "));
	CHECK(strstr(j, "\"inlined\": false"));
	if (failures)
		fputs(j, stderr);
	free(j);
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/hs_unit_report_XXXXXX";
	struct hsr_recording *rec;
	char err[256];
	int fd;

	if (argc > 1) {
		write_recording(argv[1]);
		return 0;
	}
	fd = mkstemp(path);
	if (fd < 0)
		return perror("mkstemp"), 1;
	close(fd);
	write_recording(path);
	if (hsr_recording_load(path, &rec, err, sizeof(err))) {
		fprintf(stderr, "unit_report: %s\n", err);
		return 1;
	}
	check_views(rec);
	check_text(rec);
	check_json(rec);
	hsr_recording_free(rec);
	unlink(path);
	if (failures) {
		fprintf(stderr, "unit_report: %d checks failed\n", failures);
		return 1;
	}
	printf("unit_report: all checks passed\n");
	return 0;
}
