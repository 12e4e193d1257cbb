// SPDX-License-Identifier: MIT
/*
 * Unit test of the recording reader (src/record/hsr_reader.c): writes a synthetic
 * recording with the writer's encoder, reads it back and checks every figure exactly;
 * then reads every truncated prefix of it and thousands of randomly corrupted copies,
 * which must load cleanly or fail with a message, never crash (run under ASan too).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hsr_decode.h"
#include "hsr_encode.h"
#include "hsr_format.h"
#include "hsr_reader.h"

#include "hsr_fixture.h"
#include "unit.h"

#define CHECK_U(a, b)                                                                \
	do {                                                                         \
		unsigned long long a_ = (a), b_ = (b);                               \
		if (a_ != b_) {                                                      \
			fprintf(stderr, "%s:%d: %s == %llu, expected %llu\n", __FILE__, \
				__LINE__, #a, a_, b_);                               \
			failures++;                                                  \
		}                                                                    \
	} while (0)

static uint8_t mem[1 << 16];
static char tmp_path[] = "/tmp/hs_unit_reader_XXXXXX";

static void put_counters(struct hsr_buf *b, uint64_t ac, uint64_t ab, uint64_t fc, uint64_t fb,
			 uint64_t tmp)
{
	hsr_put_uv(b, ac);
	hsr_put_uv(b, ab);
	hsr_put_uv(b, fc);
	hsr_put_uv(b, fb);
	hsr_put_uv(b, tmp);
}

static void put_module(struct hsr_buf *b, unsigned id, uint64_t bias, const char *path)
{
	size_t r = hsr_record_begin(b, HSR_MODULE);

	hsr_put_uv(b, id);
	hsr_put_uv(b, bias);
	hsr_put_str(b, path);
	hsr_put_bytes(b, "\xab\xcd\x01", id == 1 ? 3 : 0);
	hsr_put_uv(b, 2);
	hsr_put_uv(b, bias + 0x1000);	/* text */
	hsr_put_uv(b, 0x2000);
	hsr_put_uv(b, 0x1000);
	hsr_put_uv(b, 5);
	hsr_put_uv(b, bias + 0x4000);	/* data */
	hsr_put_uv(b, 0x800);
	hsr_put_uv(b, 0x3000);
	hsr_put_uv(b, 6);
	hsr_record_end(b, r);
}

static void put_stack(struct hsr_buf *b, unsigned id, unsigned kind, const uint64_t *f, size_t n)
{
	size_t r = hsr_record_begin(b, HSR_STACK);

	hsr_put_uv(b, id);
	hsr_put_uv(b, kind);
	hsr_put_uv(b, n);
	for (size_t i = 0; i < n; i++) {
		if (i == 0)
			hsr_put_uv(b, f[0]);
		else
			hsr_put_sv(b, (int64_t)(f[i] - f[i - 1]));
	}
	hsr_record_end(b, r);
}

static const uint64_t frames1[] = { 0x555555555100, 0x555555555080, 0x7ffff7a2d1ca };
static const uint64_t frames2[] = { 0x555555555300 };
static const uint64_t frames3[] = { 0x555555555400, 0x555555556000 };

static void put_snapshot1(struct hsr_buf *b)
{
	size_t r = hsr_record_begin(b, HSR_SNAPSHOT);

	hsr_put_uv(b, 1);
	hsr_put_uv(b, HSR_REASON_API);
	hsr_put_uv(b, 1000000);
	hsr_put_str(b, "first");
	put_counters(b, 11, 1064, 5, 500, 2);
	hsr_put_uv(b, 1200);
	hsr_put_uv(b, 900000);
	hsr_put_uv(b, 2);
	hsr_put_uv(b, 1);		/* stack 1 */
	put_counters(b, 10, 1000, 5, 500, 2);
	hsr_put_uv(b, 1);		/* stack 2 */
	put_counters(b, 1, 64, 0, 0, 0);
	hsr_record_end(b, r);
}

static void put_snapshot2(struct hsr_buf *b)
{
	size_t r = hsr_record_begin(b, HSR_SNAPSHOT);

	hsr_put_uv(b, 2);
	hsr_put_uv(b, HSR_REASON_EXIT);
	hsr_put_uv(b, 2000000);
	hsr_put_str(b, "");
	put_counters(b, 24, 2364, 21, 2100, 10);
	hsr_put_uv(b, 1564);
	hsr_put_uv(b, 1500000);
	hsr_put_uv(b, 2);
	hsr_put_uv(b, 1);		/* stack 1 */
	put_counters(b, 20, 2000, 20, 2000, 10);
	hsr_put_uv(b, 2);		/* stack 3; stack 2 carried forward */
	put_counters(b, 3, 300, 1, 100, 0);
	hsr_record_end(b, r);
}

static void put_peak(struct hsr_buf *b, uint64_t t, uint64_t bytes, int second)
{
	size_t r = hsr_record_begin(b, HSR_PEAK);

	hsr_put_uv(b, t);
	hsr_put_uv(b, bytes);
	hsr_put_uv(b, 2);
	hsr_put_uv(b, 1);
	hsr_put_uv(b, second ? 1200 : 700);
	hsr_put_uv(b, second ? 12 : 7);
	hsr_put_uv(b, second ? 2 : 1);	/* stack 3 in the second, stack 2 in the first */
	hsr_put_uv(b, second ? 300 : 64);
	hsr_put_uv(b, second ? 3 : 1);
	hsr_record_end(b, r);
}

/* A scan: the first (before snapshot 1) names stack 1; the second (before snapshot 2)
 * names stacks 2 and 3, with counts padded to 4 bytes as the agent writes them. */
static void put_leaks(struct hsr_buf *b, int second)
{
	size_t r = hsr_record_begin(b, HSR_LEAKS);
	static const uint64_t s2[8] = { 64, 1, 0, 0, 0, 0, 0, 0 };
	static const uint64_t s3[8] = { 0, 0, 100, 1, 0, 0, 100, 1 };

	hsr_put_uv(b, second ? 1999000 : 999000);
	hsr_put_uv(b, second ? HSR_LEAKS_EXIT : HSR_LEAKS_API);
	hsr_put_uv(b, HSR_LEAKS_FLAG_STOPPED);
	hsr_put_uv(b, second ? 2 : 1);
	for (unsigned k = 0; k < 8; k++)
		hsr_put_uv(b, second ? s2[k] + s3[k] : k == 7 ? 5 : k == 6 ? 500 : 0);
	hsr_put_u32le(b, 0x00808080u | (second ? 2u : 1u));	/* padded count */
	hsr_put_uv(b, second ? 2 : 1);				/* first stack id */
	for (unsigned k = 0; k < 8; k++)
		hsr_put_uv(b, second ? s2[k] : k == 7 ? 5 : k == 6 ? 500 : 0);
	if (second) {
		hsr_put_uv(b, 1);
		for (unsigned k = 0; k < 8; k++)
			hsr_put_uv(b, s3[k]);
	}
	hsr_record_end(b, r);
}

/* t_delta runs on across records: the first point is relative to the previous record's last. */
static void put_timeline(struct hsr_buf *b, const uint64_t (*pts)[3], size_t n)
{
	size_t r = hsr_record_begin(b, HSR_TIMELINE);
	static uint64_t prev;

	hsr_put_uv(b, n);
	for (size_t i = 0; i < n; i++) {
		hsr_put_uv(b, pts[i][0] - prev);
		hsr_put_uv(b, pts[i][1]);
		hsr_put_uv(b, pts[i][2]);
		prev = pts[i][0];
	}
	hsr_record_end(b, r);
}

static void put_small_records(struct hsr_buf *b)
{
	size_t r = hsr_record_begin(b, 42);	/* unknown type: skipped */

	hsr_put_str(b, "from the future");
	hsr_record_end(b, r);
	r = hsr_record_begin(b, HSR_MESSAGE);
	hsr_put_uv(b, 1500);
	hsr_put_uv(b, HSR_MSG_WARNING);
	hsr_put_str(b, "stack table full");
	hsr_put_uv(b, 99);		/* a field from a later version: ignored */
	hsr_record_end(b, r);
}

static void put_end(struct hsr_buf *b)
{
	size_t r = hsr_record_begin(b, HSR_MODULE_UNLOAD);

	hsr_put_uv(b, 2);
	hsr_put_uv(b, 1900000);
	hsr_record_end(b, r);
	r = hsr_record_begin(b, HSR_END);
	hsr_put_uv(b, 2100000);
	hsr_put_uv(b, 1);
	hsr_put_uv(b, 4096);
	hsr_put_uv(b, 3);
	hsr_put_uv(b, 7);
	hsr_put_str(b, "trailing bytes");
	hsr_record_end(b, r);
}

static const uint64_t tl1[][3] = { { 100, 10, 1 }, { 500, 700, 8 }, { 900000, 1200, 11 } };
static const uint64_t tl2[][3] = { { 1500000, 1564, 20 }, { 2000000, 264, 24 } };

/* The whole synthetic recording into mem; returns its length. */
static size_t build_recording(void)
{
	struct hsr_buf b;

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_process(&b, "./prog\0arg one\0", 15, 3);
	put_module(&b, 1, 0x555555554000, "/tmp/prog");
	put_module(&b, 2, 0x7ffff7a00000, "/lib/x86_64-linux-gnu/libc.so.6");
	put_stack(&b, 1, HSR_KIND_MALLOC, frames1, 3);
	put_stack(&b, 2, HSR_KIND_NEW, frames2, 1);
	put_leaks(&b, 0);
	put_snapshot1(&b);
	put_peak(&b, 900000, 1200, 0);
	put_timeline(&b, tl1, 3);
	put_small_records(&b);
	put_stack(&b, 3, HSR_KIND_CALLOC, frames3, 2);
	put_leaks(&b, 1);
	put_snapshot2(&b);
	put_peak(&b, 1500000, 1564, 1);
	put_timeline(&b, tl2, 2);
	put_end(&b);
	if (hsr_buf_overflowed(&b))
		abort();
	return b.len;
}

static void write_file(const void *p, size_t n)
{
	FILE *f = fopen(tmp_path, "wb");

	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(tmp_path);
		exit(1);
	}
}

static void check_counters(const struct hsr_counters *c, uint64_t ac, uint64_t ab, uint64_t fc,
			   uint64_t fb, uint64_t tmp)
{
	CHECK_U(c->alloc_calls, ac);
	CHECK_U(c->alloc_bytes, ab);
	CHECK_U(c->free_calls, fc);
	CHECK_U(c->freed_bytes, fb);
	CHECK_U(c->temporary, tmp);
}

static void check_process(const struct hsr_recording *rec)
{
	const struct hsr_process *p = &rec->process;

	CHECK(p->present);
	CHECK_U(p->pid, 4242);
	CHECK_U(p->ppid, 1);
	CHECK_U(p->start_realtime_ns, 1700000000000000000ull);
	CHECK(strcmp(p->exe, "/tmp/prog") == 0);
	CHECK_U(p->argc, 2);
	CHECK(p->argc == 2 && strcmp(p->argv[0], "./prog") == 0);
	CHECK(p->argc == 2 && strcmp(p->argv[1], "arg one") == 0 && !p->argv[2]);
	CHECK(strcmp(p->arch, "x86_64") == 0);
	CHECK_U(p->pointer_size, 8);
	CHECK_U(p->page_size, 4096);
	CHECK_U(p->sample_interval, 0);
	CHECK_U(p->max_depth, 64);
	CHECK_U(p->flags, 3);
	CHECK(strcmp(p->hostname, "box") == 0);
}

static void check_modules(const struct hsr_recording *rec)
{
	const struct hsr_module *m = hsr_recording_module(rec, 1);

	CHECK_U(rec->nmodules, 2);
	CHECK(m && strcmp(m->path, "/tmp/prog") == 0);
	CHECK(m && m->build_id_len == 3 && memcmp(m->build_id, "\xab\xcd\x01", 3) == 0);
	CHECK(m && m->nsegs == 2 && m->segs[1].vaddr == 0x555555558000 && m->segs[1].flags == 6);
	CHECK(m && !m->unloaded && m->bias == 0x555555554000);
	m = hsr_recording_module(rec, 2);
	CHECK(m && m->build_id_len == 0 && !m->build_id && m->unloaded && m->unload_t == 1900000);
	CHECK(!hsr_recording_module(rec, 3));
}

static void check_stacks(const struct hsr_recording *rec)
{
	const struct hsr_stack *s = rec->stacks;

	CHECK_U(rec->nstacks, 3);
	CHECK_U(s[0].nframes, 0);
	CHECK(s[1].kind == HSR_KIND_MALLOC && s[1].nframes == 3);
	CHECK(memcmp(s[1].frames, frames1, sizeof(frames1)) == 0);
	CHECK(s[2].kind == HSR_KIND_NEW && s[2].nframes == 1 && s[2].frames[0] == frames2[0]);
	CHECK(s[3].kind == HSR_KIND_CALLOC && s[3].nframes == 2);
	CHECK(memcmp(s[3].frames, frames3, sizeof(frames3)) == 0);
	check_counters(&s[1].last, 20, 2000, 20, 2000, 10);
	check_counters(&s[2].last, 1, 64, 0, 0, 0);	/* carried forward */
	check_counters(&s[3].last, 3, 300, 1, 100, 0);
	CHECK_U(s[1].peak_bytes, 1200);			/* the last PEAK wins */
	CHECK_U(s[1].peak_blocks, 12);
	CHECK_U(s[2].peak_bytes, 0);
	CHECK_U(s[3].peak_bytes, 300);
	CHECK_U(s[3].peak_blocks, 3);
	CHECK(rec->peak.present && rec->peak.t == 1500000 && rec->peak.peak_bytes == 1564);
}

static void check_snapshots(const struct hsr_recording *rec)
{
	const struct hsr_snapshot *s = rec->snapshots;
	struct hsr_counters st[4];

	CHECK_U(rec->nsnapshots, 2);
	CHECK(s[0].seq == 1 && s[0].reason == HSR_REASON_API && s[0].t == 1000000);
	CHECK(strcmp(s[0].name, "first") == 0 && strcmp(s[1].name, "") == 0);
	check_counters(&s[0].total, 11, 1064, 5, 500, 2);
	CHECK(s[0].peak_bytes == 1200 && s[0].peak_t == 900000 && s[0].nentries == 2);
	check_counters(&s[1].total, 24, 2364, 21, 2100, 10);
	CHECK(s[1].entries[1].id == 3 && s[1].reason == HSR_REASON_EXIT);
	CHECK(hsr_recording_last_snapshot(rec) == &s[1]);
	CHECK_U(hsr_recording_state_at(rec, 0, st), 0);
	check_counters(&st[1], 10, 1000, 5, 500, 2);
	check_counters(&st[2], 1, 64, 0, 0, 0);
	check_counters(&st[3], 0, 0, 0, 0, 0);
	CHECK_U(hsr_recording_state_at(rec, 1, st), 0);
	check_counters(&st[1], 20, 2000, 20, 2000, 10);
	check_counters(&st[2], 1, 64, 0, 0, 0);
	check_counters(&st[3], 3, 300, 1, 100, 0);
	CHECK(hsr_recording_state_at(rec, 2, st) == -ERANGE);
	CHECK(strcmp(hsr_reason_name(HSR_REASON_API), "api") == 0);
}

static void check_rest(const struct hsr_recording *rec)
{
	CHECK_U(rec->ntimeline, 5);
	CHECK(rec->timeline[0].t == 100 && rec->timeline[1].t == 500);
	CHECK(rec->timeline[2].live_bytes == 1200 && rec->timeline[2].alloc_calls == 11);
	CHECK(rec->timeline[3].t == 1500000 && rec->timeline[4].t == 2000000);
	CHECK_U(rec->nmessages, 1);
	CHECK(rec->messages[0].level == HSR_MSG_WARNING && rec->messages[0].t == 1500);
	CHECK(strcmp(rec->messages[0].text, "stack table full") == 0);
	CHECK(rec->end.present && rec->end.t == 2100000 && rec->end.reason == 1);
	CHECK(rec->end.agent_bytes == 4096 && rec->end.nstacks == 3 && rec->end.dropped == 7);
	CHECK(!rec->truncated && rec->problem[0] == '\0');
}

static void check_leaks(const struct hsr_recording *rec)
{
	const struct hsr_leaks *lk = &rec->leaks;
	const struct hsr_stack *s = rec->stacks;

	CHECK(lk->present && lk->current && lk->count == 2 && lk->snapshot == 1);
	CHECK(lk->t == 1999000 && lk->reason == HSR_LEAKS_EXIT && lk->threads == 2);
	CHECK(lk->flags == HSR_LEAKS_FLAG_STOPPED && lk->nentries == 2);
	CHECK_U(lk->total.bytes[HSR_LEAK_DEFINITE], 64);
	CHECK_U(lk->total.blocks[HSR_LEAK_INDIRECT], 1);
	CHECK_U(lk->total.bytes[HSR_LEAK_REACHABLE], 100);
	CHECK_U(s[1].leak.blocks[HSR_LEAK_REACHABLE], 0);	/* only in the first scan */
	CHECK_U(s[2].leak.bytes[HSR_LEAK_DEFINITE], 64);
	CHECK_U(s[2].leak.blocks[HSR_LEAK_DEFINITE], 1);
	CHECK_U(s[3].leak.bytes[HSR_LEAK_INDIRECT], 100);
	CHECK_U(s[3].leak.blocks[HSR_LEAK_REACHABLE], 1);
	CHECK_U(s[3].leak.bytes[HSR_LEAK_DEFINITE], 0);
}

/* A scan followed by a later snapshot no longer describes the end: not current. */
static void test_stale_leaks(void)
{
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_process(&b, "./prog\0arg one\0", 15, 3);
	put_stack(&b, 1, HSR_KIND_MALLOC, frames1, 3);
	put_stack(&b, 2, HSR_KIND_NEW, frames2, 1);
	put_leaks(&b, 0);
	put_snapshot1(&b);
	put_stack(&b, 3, HSR_KIND_CALLOC, frames3, 2);
	put_snapshot2(&b);
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->leaks.present && !rec->leaks.current && rec->leaks.count == 1);
	CHECK(rec && rec->stacks[1].leak.bytes[HSR_LEAK_REACHABLE] == 500);
	hsr_recording_free(rec);
}

static void test_full(size_t len)
{
	struct hsr_recording *rec;
	char err[256];

	write_file(mem, len);
	CHECK_U(hsr_recording_load(tmp_path, &rec, err, sizeof(err)), 0);
	if (!rec)
		return;
	CHECK_U(rec->size, len);
	check_process(rec);
	check_modules(rec);
	check_stacks(rec);
	check_snapshots(rec);
	check_rest(rec);
	check_leaks(rec);
	hsr_recording_free(rec);
}

/* Touch everything a report would, so ASan sees any bad pointer or count. */
static void exercise(const struct hsr_recording *rec)
{
	struct hsr_counters *st = calloc(rec->nstacks + 1, sizeof(*st));
	volatile uint64_t sum = 0;

	for (size_t k = 0; st && k < rec->nsnapshots; k++)
		CHECK(hsr_recording_state_at(rec, k, st) == 0);
	for (size_t i = 0; i <= rec->nstacks; i++) {
		for (size_t j = 0; j < rec->stacks[i].nframes; j++)
			sum += rec->stacks[i].frames[j];
		sum += rec->stacks[i].last.alloc_bytes + rec->stacks[i].peak_bytes;
	}
	for (size_t i = 0; i < rec->nmodules; i++)
		sum += strlen(rec->modules[i].path) + rec->modules[i].nsegs;
	for (size_t i = 0; i < rec->process.argc; i++)
		sum += strlen(rec->process.argv[i]);
	for (size_t i = 0; i < rec->nmessages; i++)
		sum += strlen(rec->messages[i].text);
	(void)sum;
	free(st);
}

static void test_truncations(size_t len)
{
	char err[256];

	for (size_t n = 0; n < len; n++) {
		struct hsr_recording *rec;
		int ret;

		write_file(mem, n);
		err[0] = '\0';
		ret = hsr_recording_load(tmp_path, &rec, err, sizeof(err));
		if (n < HSR_HEADER_LEN) {
			CHECK(ret < 0 && !rec && strstr(err, "cannot read '"));
			CHECK(n == 0 || strstr(err, "truncated at byte"));
			continue;
		}
		CHECK(ret == 0 && rec && rec->truncated && rec->problem[0]);
		if (rec)
			exercise(rec);
		hsr_recording_free(rec);
	}
}

static void test_corruptions(size_t len, unsigned rounds)
{
	static uint8_t copy[sizeof(mem)];
	char err[256];

	srand(12345);
	for (unsigned i = 0; i < rounds; i++) {
		struct hsr_recording *rec;
		unsigned nflips = 1 + rand() % 4;

		memcpy(copy, mem, len);
		for (unsigned j = 0; j < nflips; j++) {
			size_t at = HSR_HEADER_LEN + (size_t)rand() % (len - HSR_HEADER_LEN);

			copy[at] = (rand() % 3 == 0) ? 0xff : (uint8_t)rand();
		}
		write_file(copy, len - (i % 7 == 0 ? (size_t)rand() % 40 : 0));
		if (hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0) {
			exercise(rec);
			hsr_recording_free(rec);
		} else {
			CHECK(!rec && err[0]);
		}
	}
}

static int load_err(const void *p, size_t n, char *err, size_t errlen)
{
	struct hsr_recording *rec;
	int ret;

	write_file(p, n);
	ret = hsr_recording_load(tmp_path, &rec, err, errlen);
	hsr_recording_free(rec);
	return ret;
}

static void test_bad_files(void)
{
	char err[256];
	uint8_t v2[16] = "HSREC\r\n\0\2\0\0\0\0\0\0\0";
	struct hsr_recording *rec;

	CHECK(load_err("GIF89a not a recording", 22, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "': not a heapscope recording") != NULL);
	CHECK(load_err(v2, sizeof(v2), err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unsupported recording version 2") != NULL);
	CHECK(load_err("HSRE", 4, err, sizeof(err)) == -ENODATA);
	CHECK(strstr(err, "': truncated at byte 4") != NULL);
	CHECK(load_err("", 0, err, sizeof(err)) == -ENODATA);
	CHECK(hsr_recording_load("/nonexistent/x.hsr", &rec, err, sizeof(err)) == -ENOENT);
	CHECK(!rec && strcmp(err, "cannot open '/nonexistent/x.hsr': No such file or directory") == 0);
}

/* A record claiming more than it holds: refused before anything is allocated for it. */
static void test_huge_counts(void)
{
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];
	size_t r, good;

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_stack(&b, 1, HSR_KIND_MALLOC, frames1, 3);
	good = b.len;
	r = hsr_record_begin(&b, HSR_STACK);
	hsr_put_uv(&b, 2);
	hsr_put_uv(&b, 1);
	hsr_put_uv(&b, 1ull << 60);	/* nframes */
	hsr_put_uv(&b, 0x1234);
	hsr_record_end(&b, r);
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 1 && rec->truncated);
	CHECK(rec && strstr(rec->problem, "corrupt STACK record at byte") != NULL);
	hsr_recording_free(rec);
	/* a length beyond the format's limit, in a file that does not hold it */
	memcpy(mem + good, "\x05\xff\xff\xff\x7f", 5);
	write_file(mem, good + 5);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->truncated && strstr(rec->problem, "corrupt record length"));
	hsr_recording_free(rec);
}

/* FRAMES nodes (id - parent, pc - parent's pc) as docs/FORMAT.md has them. */
static void put_nodes(struct hsr_buf *b, const uint64_t (*nodes)[2], size_t n, unsigned first)
{
	size_t r = hsr_record_begin(b, HSR_FRAMES);

	hsr_put_uv(b, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t parent = nodes[i][0], base = parent ? nodes[parent - first][1] : 0;

		hsr_put_uv(b, first + i - parent);
		hsr_put_sv(b, (int64_t)(nodes[i][1] - base));
	}
	hsr_record_end(b, r);
}

/* One STACK_LEAF entry per record: stack id (after `prev`), kind, leaf delta. */
static void put_leaf(struct hsr_buf *b, unsigned delta, unsigned kind, int64_t leaf_delta)
{
	size_t r = hsr_record_begin(b, HSR_STACK_LEAF);

	hsr_put_uv(b, 1);
	hsr_put_uv(b, delta);
	hsr_put_uv(b, kind);
	hsr_put_sv(b, leaf_delta);
	hsr_record_end(b, r);
}

/*
 * Stacks as leaves of the call tree: STACK_NODE (older agents: depth given) and STACK_LEAF
 * (the leaf from the last STACK_LEAF entry, across records; the depth is the chain's).
 */
static void test_call_tree(void)
{
	/* parent, pc; ids 1..4 */
	static const uint64_t nodes[][2] = {
		{ 0, 0x1000 }, { 1, 0x2000 }, { 2, 0x3000 }, { 1, 0x2500 },
	};
	static const uint64_t want1[] = { 0x3000, 0x2000, 0x1000 }, want2[] = { 0x2500, 0x1000 },
		want3[] = { 0x2000, 0x1000 };
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];
	size_t r, good;

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_nodes(&b, nodes, 4, 1);
	r = hsr_record_begin(&b, HSR_STACK_NODE);
	hsr_put_uv(&b, 1);
	hsr_put_uv(&b, 1);
	hsr_put_uv(&b, HSR_KIND_MALLOC);
	hsr_put_uv(&b, 3);	/* depth */
	hsr_put_uv(&b, 3);	/* leaf */
	hsr_record_end(&b, r);
	put_leaf(&b, 2, HSR_KIND_NEW, 4);	/* stack 2: node 4 */
	put_leaf(&b, 3, HSR_KIND_CALLOC, -2);	/* stack 3: node 2, from the last leaf */
	good = b.len;
	put_leaf(&b, 4, HSR_KIND_MALLOC, 3);	/* node 5: not defined */
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 3);
	if (rec && rec->nstacks == 3) {
		const struct hsr_stack *s = rec->stacks;

		CHECK(s[1].kind == HSR_KIND_MALLOC && s[1].nframes == 3 &&
		      memcmp(s[1].frames, want1, sizeof(want1)) == 0);
		CHECK(s[2].kind == HSR_KIND_NEW && s[2].nframes == 2 &&
		      memcmp(s[2].frames, want2, sizeof(want2)) == 0);
		CHECK(s[3].kind == HSR_KIND_CALLOC && s[3].nframes == 2 &&
		      memcmp(s[3].frames, want3, sizeof(want3)) == 0);
		CHECK(rec->truncated && strstr(rec->problem, "corrupt STACK_LEAF record at byte"));
	}
	hsr_recording_free(rec);
	/* a leaf of 0 is corrupt too; the stacks before it stay */
	b.len = good;
	put_leaf(&b, 4, HSR_KIND_MALLOC, -2);
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 3 && rec->truncated);
	hsr_recording_free(rec);
}

/* One FRAME_PCS record: new addresses (given ascending), then nodes (up, index). */
static void put_frame_pcs(struct hsr_buf *b, const uint64_t *pcs, size_t np,
			  const uint64_t (*nodes)[2], size_t n)
{
	size_t r = hsr_record_begin(b, HSR_FRAME_PCS);
	uint64_t last = 0;

	hsr_put_uv(b, np);
	for (size_t i = 0; i < np; i++) {
		hsr_put_uv(b, pcs[i] - last);
		last = pcs[i];
	}
	hsr_put_uv(b, n);
	for (size_t i = 0; i < n; i++) {
		hsr_put_uv(b, nodes[i][0]);
		hsr_put_uv(b, nodes[i][1]);
	}
	hsr_record_end(b, r);
}

/*
 * The address table: nodes name their addresses by index into the table of the records so
 * far, beside FRAMES records' nodes; an index past the table is corruption.
 */
static void test_frame_pcs(void)
{
	static const uint64_t pcs1[] = { 0x1000, 0x2000 }, pcs2[] = { 0x1800 };
	/* up, index: node 1 = 0x1000 (root), 2 = 0x2000 under 1, 3 = 0x1000 under 2 */
	static const uint64_t nodes1[][2] = { { 1, 0 }, { 1, 1 }, { 1, 0 } };
	/* node 5 = 0x1800 under 4 (0x3000 under 1, from a FRAMES record), 6 = 0x2000 under 5 */
	static const uint64_t nodes2[][2] = { { 1, 2 }, { 1, 1 } };
	static const uint64_t want1[] = { 0x1000, 0x2000, 0x1000 },
		want2[] = { 0x2000, 0x1800, 0x3000, 0x1000 };
	static const uint64_t bad[][2] = { { 1, 3 } };
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];
	size_t r;

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_frame_pcs(&b, pcs1, 2, nodes1, 3);
	r = hsr_record_begin(&b, HSR_FRAMES);	/* node 4 = 0x3000 under node 1 (0x1000) */
	hsr_put_uv(&b, 1);
	hsr_put_uv(&b, 3);
	hsr_put_sv(&b, 0x3000 - 0x1000);
	hsr_record_end(&b, r);
	put_frame_pcs(&b, pcs2, 1, nodes2, 2);
	put_leaf(&b, 1, HSR_KIND_MALLOC, 3);	/* stack 1: node 3 */
	put_leaf(&b, 2, HSR_KIND_MALLOC, 3);	/* stack 2: node 6 */
	put_frame_pcs(&b, NULL, 0, bad, 1);	/* index 3: the table holds 3 */
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 2);
	if (rec && rec->nstacks == 2) {
		const struct hsr_stack *s = rec->stacks;

		CHECK(s[1].nframes == 3 && memcmp(s[1].frames, want1, sizeof(want1)) == 0);
		CHECK(s[2].nframes == 4 && memcmp(s[2].frames, want2, sizeof(want2)) == 0);
		CHECK(rec->truncated && strstr(rec->problem, "corrupt FRAME_PCS record at byte"));
	}
	hsr_recording_free(rec);
}

/* One SNAPSHOT listing `n` stacks (ids ascending) with the given calls and frees. */
static void put_snapshot_of(struct hsr_buf *b, unsigned seq, const unsigned *ids,
			    const uint64_t (*cf)[2], size_t n)
{
	size_t r = hsr_record_begin(b, HSR_SNAPSHOT);
	unsigned prev = 0;

	hsr_put_uv(b, seq);
	hsr_put_uv(b, HSR_REASON_PERIODIC);
	hsr_put_uv(b, 1000000ull * seq);
	hsr_put_str(b, "");
	put_counters(b, 0, 0, 0, 0, 0);
	hsr_put_uv(b, 0);
	hsr_put_uv(b, 0);
	hsr_put_uv(b, n);
	for (size_t i = 0; i < n; i++) {
		hsr_put_uv(b, ids[i] - prev);
		prev = ids[i];
		put_counters(b, cf[i][0], cf[i][0] * 10, cf[i][1], cf[i][1] * 10, 0);
	}
	hsr_record_end(b, r);
}

/*
 * A stack defined after stacks with higher ids (the agent writes a stack once its first
 * allocation is counted: one interned before a write and counted after it comes later):
 * the hole its id left is filled, by a STACK record and by a STACK_LEAF entry alike, with
 * counters listed for it before its definition kept; a stack defined twice keeps its first
 * definition.
 */
static void test_late_stacks(void)
{
	static const uint64_t nodes[][2] = { { 0, 0x1000 }, { 1, 0x2000 } };	/* 1, 2 */
	static const uint64_t want4[] = { 0x2000, 0x1000 };
	static const unsigned ids1[] = { 3, 5 }, ids2[] = { 2, 4 };
	static const uint64_t cf1[][2] = { { 7, 1 }, { 9, 9 } }, cf2[][2] = { { 4, 0 }, { 6, 2 } };
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];

	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_nodes(&b, nodes, 2, 1);
	put_stack(&b, 1, HSR_KIND_MALLOC, frames1, 3);
	put_stack(&b, 3, HSR_KIND_CALLOC, frames2, 1);
	put_leaf(&b, 5, HSR_KIND_NEW, 1);			/* stack 5: node 1 */
	put_snapshot_of(&b, 1, ids1, cf1, 2);
	put_stack(&b, 2, HSR_KIND_REALLOC, frames3, 2);		/* late: fills 2 */
	put_leaf(&b, 4, HSR_KIND_MALLOC, 1);			/* late: 4 is node 2 */
	put_stack(&b, 3, HSR_KIND_MALLOC, frames3, 2);		/* again: ignored */
	put_snapshot_of(&b, 2, ids2, cf2, 2);
	put_end(&b);
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 5 && !rec->truncated);
	if (rec && rec->nstacks == 5) {
		const struct hsr_stack *s = rec->stacks;

		CHECK(s[2].kind == HSR_KIND_REALLOC && s[2].nframes == 2 &&
		      memcmp(s[2].frames, frames3, sizeof(frames3)) == 0);
		CHECK_U(s[2].last.alloc_calls, 4);
		CHECK(s[4].kind == HSR_KIND_MALLOC && s[4].nframes == 2 &&
		      memcmp(s[4].frames, want4, sizeof(want4)) == 0);
		CHECK_U(s[4].last.free_calls, 2);
		CHECK(s[3].kind == HSR_KIND_CALLOC && s[3].nframes == 1 &&
		      s[3].frames[0] == frames2[0]);
		CHECK_U(s[3].last.alloc_calls, 7);
		CHECK(s[5].kind == HSR_KIND_NEW && s[5].nframes == 1);
		CHECK_U(s[5].last.free_calls, 9);
	}
	hsr_recording_free(rec);
}

/* A chain deeper than any agent writes: its stack is corruption, one a frame less is not. */
static void test_tree_depth(void)
{
	static uint64_t chain[HSR_MAX_TREE_DEPTH + 1][2];
	struct hsr_recording *rec = NULL;
	struct hsr_buf b;
	char err[256];

	for (unsigned i = 0; i <= HSR_MAX_TREE_DEPTH; i++) {
		chain[i][0] = i;	/* node i + 1's parent is node i */
		chain[i][1] = 0x400000 + 16u * i;
	}
	hsr_buf_init(&b, mem, sizeof(mem));
	hsr_put_header(&b);
	put_nodes(&b, chain, HSR_MAX_TREE_DEPTH + 1, 1);
	put_leaf(&b, 1, HSR_KIND_MALLOC, HSR_MAX_TREE_DEPTH);		/* depth 1,024 */
	put_leaf(&b, 2, HSR_KIND_MALLOC, 1);				/* depth 1,025 */
	write_file(mem, b.len);
	CHECK(hsr_recording_load(tmp_path, &rec, err, sizeof(err)) == 0);
	CHECK(rec && rec->nstacks == 1 && rec->truncated);
	if (rec && rec->nstacks == 1)
		CHECK(rec->stacks[1].nframes == HSR_MAX_TREE_DEPTH &&
		      rec->stacks[1].frames[0] == 0x400000 + 16u * (HSR_MAX_TREE_DEPTH - 1) &&
		      strstr(rec->problem, "corrupt STACK_LEAF record at byte"));
	hsr_recording_free(rec);
}

static void test_varints(void)
{
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t over[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0 };
	static const uint8_t neg[] = { 0x03 };	/* zigzag -2 */
	struct hsr_cursor c;

	hsr_cursor_init(&c, max, sizeof(max));
	CHECK(hsr_get_uv(&c) == UINT64_MAX && !c.bad && hsr_cursor_left(&c) == 0);
	hsr_cursor_init(&c, over, sizeof(over));
	CHECK(hsr_get_uv(&c) == 0 && c.bad);
	hsr_cursor_init(&c, eleven, sizeof(eleven));
	CHECK(hsr_get_uv(&c) == 0 && c.bad);
	hsr_cursor_init(&c, max, 3);
	CHECK(hsr_get_uv(&c) == 0 && c.bad);
	hsr_cursor_init(&c, neg, 1);
	CHECK(hsr_get_sv(&c) == -2 && !c.bad);
}

int main(void)
{
	int fd = mkstemp(tmp_path);
	size_t len;

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_varints();
	len = build_recording();
	test_full(len);
	test_truncations(len);
	test_corruptions(len, 5000);
	test_bad_files();
	test_huge_counts();
	test_call_tree();
	test_tree_depth();
	test_frame_pcs();
	test_late_stacks();
	test_stale_leaks();
	unlink(tmp_path);
	if (failures) {
		fprintf(stderr, "unit_reader: %d checks failed\n", failures);
		return 1;
	}
	printf("unit_reader: all checks passed (%zu-byte recording)\n", len);
	return 0;
}
