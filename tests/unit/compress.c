// SPDX-License-Identifier: MIT
/*
 * Unit test of compressed recordings (src/record/hsr_compress.c and the reader's use of
 * it): a synthetic recording of several zstd blocks is compressed in place and must load
 * with the same figures; prefixes of the compressed file load up to the damage and say it
 * was cut short; corrupted copies load or fail with a message, never crash; a stream that
 * expands without end is stopped; and when the compressed copy cannot be written (a file
 * size limit standing in for a full disk) the raw recording stays as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsr_compress.h"
#include "hsr_encode.h"
#include "hsr_format.h"
#include "hsr_reader.h"

#include "hsr_fixture.h"
#include "unit.h"

#define NSTACKS 8000

static uint8_t raw[1 << 20];
static size_t raw_len;
static char dir[] = "/tmp/hs_unit_compress_XXXXXX";
static char path[sizeof(dir) + 16], other[sizeof(dir) + 16];

/* Stacks with frames that do not repeat much, so the recording spans several blocks. */
static void put_stacks(struct hsr_buf *b)
{
	uint64_t x = 88172645463325252ull;

	for (unsigned id = 1; id <= NSTACKS; id++) {
		size_t r = hsr_record_begin(b, HSR_STACK);

		hsr_put_uv(b, id);
		hsr_put_uv(b, HSR_KIND_MALLOC);
		hsr_put_uv(b, 3);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		hsr_put_uv(b, 0x555555554000 + (x & 0xfffff));
		hsr_put_sv(b, (int64_t)(x >> 44) - 0x8000);
		hsr_put_sv(b, 0x10);
		hsr_record_end(b, r);
	}
}

static void put_counters(struct hsr_buf *b, uint64_t calls)
{
	hsr_put_uv(b, calls);
	hsr_put_uv(b, calls * 16);
	hsr_put_uv(b, calls / 2);
	hsr_put_uv(b, calls * 8);
	hsr_put_uv(b, 0);
}

static void put_snapshot_and_end(struct hsr_buf *b)
{
	uint64_t total = (uint64_t)NSTACKS * (NSTACKS + 1) / 2;
	size_t r = hsr_record_begin(b, HSR_SNAPSHOT);

	hsr_put_uv(b, 1);
	hsr_put_uv(b, HSR_REASON_EXIT);
	hsr_put_uv(b, 1000000);
	hsr_put_str(b, "");
	put_counters(b, total);
	hsr_put_uv(b, total * 8);
	hsr_put_uv(b, 900000);
	hsr_put_uv(b, NSTACKS);
	for (unsigned id = 1; id <= NSTACKS; id++) {
		hsr_put_uv(b, 1);
		put_counters(b, id);
	}
	hsr_record_end(b, r);
	r = hsr_record_begin(b, HSR_END);
	hsr_put_uv(b, 2000000);
	hsr_put_uv(b, HSR_REASON_EXIT);
	hsr_put_uv(b, 1 << 20);
	hsr_put_uv(b, NSTACKS);
	hsr_put_uv(b, 0);
	hsr_record_end(b, r);
}

static void write_file(const char *p, const void *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
}

/* The file at p into buf (at most cap bytes); its length. */
static size_t read_file(const char *p, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	size_t n = f ? fread(buf, 1, cap, f) : 0;

	if (f)
		fclose(f);
	return n;
}

/* Files in the test directory: the recordings, and no temporary file left over. */
static int files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static struct hsr_recording *load(const char *p, char *err, size_t errlen)
{
	struct hsr_recording *rec = NULL;

	err[0] = '\0';
	if (hsr_recording_load(p, &rec, err, errlen) != 0)
		return NULL;
	return rec;
}

static void check_same(const struct hsr_recording *a, const struct hsr_recording *b)
{
	CHECK(a->nstacks == NSTACKS && b->nstacks == NSTACKS);
	CHECK(!a->truncated && !b->truncated && b->end.present);
	CHECK(a->size == b->size && b->size == raw_len);
	for (size_t i = 1; i <= NSTACKS && a->nstacks == b->nstacks; i++) {
		CHECK(a->stacks[i].last.alloc_calls == b->stacks[i].last.alloc_calls);
		CHECK(a->stacks[i].last.alloc_bytes == b->stacks[i].last.alloc_bytes);
		CHECK(a->stacks[i].nframes == b->stacks[i].nframes);
		CHECK(a->stacks[i].frames[2] == b->stacks[i].frames[2]);
	}
}

static void test_roundtrip(void)
{
	struct hsr_recording *a, *b;
	struct stat st;
	char err[256];
	uint8_t head[4];

	write_file(path, raw, raw_len);
	CHECK(chmod(path, 0640) == 0);
	CHECK(hsr_compress_file(path, err, sizeof(err)) == 1);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	CHECK(st.st_size > 0 && (size_t)st.st_size < raw_len * 3 / 4);
	CHECK(read_file(path, head, sizeof(head)) == 4 && hsr_is_compressed(head, 4));
	CHECK(files_in_dir() == 1);
	write_file(other, raw, raw_len);
	a = load(other, err, sizeof(err));
	b = load(path, err, sizeof(err));
	CHECK(a && b);
	if (a && b)
		check_same(a, b);
	hsr_recording_free(a);
	hsr_recording_free(b);
	unlink(other);
}

/* Already compressed, not a recording, missing: left alone. */
static void test_left_alone(void)
{
	static uint8_t before[1 << 20], after[1 << 20];
	size_t n = read_file(path, before, sizeof(before));
	char err[256];

	CHECK(hsr_compress_file(path, err, sizeof(err)) == 0);
	CHECK(read_file(path, after, sizeof(after)) == n && !memcmp(before, after, n));
	write_file(other, "GIF89a not a recording", 22);
	CHECK(hsr_compress_file(other, err, sizeof(err)) == 0);
	CHECK(read_file(other, after, sizeof(after)) == 22 && !memcmp(after, "GIF89a", 6));
	unlink(other);
	CHECK(hsr_compress_file(other, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "cannot compress '") && strstr(err, "No such file or directory"));
}

/* Prefixes of the compressed file: cut short, with what was decompressed before the cut. */
static void test_cuts(void)
{
	static uint8_t z[1 << 20];
	size_t n = read_file(path, z, sizeof(z)), loaded = 0;
	char err[256];

	for (size_t cut = 0; cut < n; cut += cut < 64 ? 1 : 211) {
		struct hsr_recording *rec;

		write_file(other, z, cut);
		rec = load(other, err, sizeof(err));
		if (!rec) {
			CHECK(strstr(err, "cannot read '") && (cut < 4 || strstr(err, "compressed")));
			continue;
		}
		loaded++;
		CHECK(rec->truncated && !rec->end.present);
		CHECK(strstr(rec->problem, "compressed data cut short at byte") != NULL);
		hsr_recording_free(rec);
	}
	CHECK(loaded > 0);	/* the cuts after the first block */
	unlink(other);
}

static void test_corruptions(unsigned rounds)
{
	static uint8_t z[1 << 20], copy[1 << 20];
	size_t n = read_file(path, z, sizeof(z));
	char err[256];

	srand(777);
	for (unsigned i = 0; i < rounds && n > 8; i++) {
		struct hsr_recording *rec;

		memcpy(copy, z, n);
		copy[4 + (size_t)rand() % (n - 4)] ^= (uint8_t)(1 + rand() % 255);
		write_file(other, copy, n);
		rec = load(other, err, sizeof(err));
		CHECK(rec || strstr(err, "cannot read '"));
		hsr_recording_free(rec);
	}
	unlink(other);
}

/* A frame of the header and PROCESS (a raw block), then RLE blocks of 128 KiB of zeros
 * from 4 bytes each (records of type 0, skipped): stopped long before it fills the disk. */
static void test_expansion(void)
{
	static uint8_t bomb[1024 + 4 * 4096];
	struct hsr_recording *rec;
	struct hsr_buf b;
	size_t n = 6;
	char err[256];

	memcpy(bomb, HSR_ZSTD_MAGIC, 4);
	bomb[4] = 0x00;			/* no content size, not single-segment, no checksum */
	bomb[5] = 7 << 3;		/* window 2^17 */
	hsr_buf_init(&b, bomb + n + 3, 1000);
	hsr_put_header(&b);
	put_process(&b, "./prog\0", 7, 1);
	bomb[n++] = (uint8_t)(b.len << 3);	/* raw block */
	bomb[n++] = (uint8_t)(b.len >> 5);
	bomb[n++] = 0;
	n += b.len;
	for (int i = 0; i < 4096; i++) {
		uint32_t h = (131072u << 3) | (1u << 1) | (i == 4095);	/* RLE */

		bomb[n++] = h & 0xff;
		bomb[n++] = (h >> 8) & 0xff;
		bomb[n++] = h >> 16;
		bomb[n++] = 0;
	}
	write_file(other, bomb, n);
	rec = load(other, err, sizeof(err));
	CHECK(rec && rec->truncated && strstr(rec->problem, "expanding over 1000 times"));
	CHECK(rec && rec->size <= (64u << 20) + 1000 * n + 131072 && rec->process.pid == 4242);
	hsr_recording_free(rec);
	unlink(other);
}

/* The compressed copy cannot be written: the recording stays raw, nothing is left over. */
static void test_write_fails(void)
{
	static uint8_t after[1 << 20];
	struct rlimit old, small = { 4096, 4096 };
	char err[256];
	int ret;

	write_file(path, raw, raw_len);
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small.rlim_max = old.rlim_max;
	CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
	ret = hsr_compress_file(path, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(ret == -EFBIG && strstr(err, "cannot compress '") && strstr(err, "File too large"));
	CHECK(read_file(path, after, sizeof(after)) == raw_len && !memcmp(after, raw, raw_len));
	CHECK(files_in_dir() == 1);
}

int main(void)
{
	struct hsr_buf b;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rec.hsr", dir);
	snprintf(other, sizeof(other), "%s/other.hsr", dir);
	hsr_buf_init(&b, raw, sizeof(raw));
	hsr_put_header(&b);
	put_process(&b, "./prog\0", 7, 1);
	put_stacks(&b);
	put_snapshot_and_end(&b);
	CHECK(!hsr_buf_overflowed(&b));
	raw_len = b.len;
	test_roundtrip();
	test_left_alone();
	test_cuts();
	test_corruptions(500);
	test_expansion();
	test_write_fails();
	unlink(path);
	rmdir(dir);
	if (failures) {
		fprintf(stderr, "unit_compress: %d checks failed\n", failures);
		return 1;
	}
	printf("unit_compress: all checks passed (%zu-byte recording)\n", raw_len);
	return 0;
}
