// SPDX-License-Identifier: MIT
/*
 * Reading a recording file: the header, the record framing, where and why reading stops,
 * and the queries over a loaded recording (hsr_reader.h). The payload of each record is
 * parsed by hsr_reader_records.c. Reads record by record with stdio, so memory follows
 * what is kept, never a length the file claims: a payload is only allocated once the file
 * is known to hold it. A recording in a zstd frame is first decompressed into a temporary
 * file (hsr_compress.c), then read the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hsr_compress.h"
#include "hsr_decode.h"
#include "hsr_format.h"
#include "hsr_reader.h"

struct reader {
	FILE *f;
	const char *path;
	uint64_t file_size;	/* 0 when unknown (not a regular file) */
	uint64_t off;		/* offset of the next record */
	uint8_t *buf;		/* payload buffer */
	size_t cap;
	char *err;
	size_t errlen;
	int unwrapped;		/* f is the decompressed copy of a compressed recording */
	char zproblem[96];	/* ... cut short or corrupt: how ("" when whole) */
};

static const char *const record_names[] = {
	[HSR_PROCESS] = "PROCESS",   [HSR_MODULE] = "MODULE",     [HSR_MODULE_UNLOAD] = "MODULE_UNLOAD",
	[HSR_STACK] = "STACK",       [HSR_SNAPSHOT] = "SNAPSHOT", [HSR_PEAK] = "PEAK",
	[HSR_TIMELINE] = "TIMELINE", [HSR_MESSAGE] = "MESSAGE",   [HSR_END] = "END", [HSR_RESET] = "RESET",
	[HSR_LEAKS] = "LEAKS", [HSR_FRAMES] = "FRAMES", [HSR_STACK_NODE] = "STACK_NODE",
	[HSR_ERRORS] = "ERRORS", [HSR_STACK_EPOCHS] = "STACK_EPOCHS", [HSR_HEAPS] = "HEAPS",
	[HSR_STACK_LEAF] = "STACK_LEAF", [HSR_FRAME_PCS] = "FRAME_PCS",
};

static int fail(struct reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, r->errlen, "cannot read '%s': ", r->path);

	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The recording ends early at r->off: say why, keep what was read. */
static void stop_at(struct hsr_recording *rec, struct reader *r, const char *what)
{
	if (r->zproblem[0] && !strcmp(what, "truncated"))
		what = r->zproblem;	/* the decompressed copy ends where the damage was */
	rec->truncated = 1;
	rec->stop_offset = r->off;
	snprintf(rec->problem, sizeof(rec->problem), "%s at byte %" PRIu64, what, r->off);
}

static int read_header(struct reader *r);

/* A recording in a zstd frame, whose first n bytes are head: read on from its
 * decompressed copy, as from a raw file. */
static int unwrap(struct reader *r, const uint8_t *head, size_t n)
{
	struct stat st;
	FILE *plain;
	int err;

	err = hsr_decompress_to_tmpfile(head, n, r->f, &plain, r->zproblem, sizeof(r->zproblem));
	if (err)
		return fail(r, err, "cannot decompress: %s", strerror(-err));
	fclose(r->f);
	r->f = plain;
	r->unwrapped = 1;
	r->file_size = fstat(fileno(plain), &st) == 0 ? (uint64_t)st.st_size : 0;
	err = read_header(r);
	if (err == -ENODATA && r->zproblem[0])
		return fail(r, err, "%s before the end of its header", r->zproblem);
	return err;
}

static int read_header(struct reader *r)
{
	uint8_t h[HSR_HEADER_LEN];
	size_t n;
	uint32_t version;
	int e;

	errno = 0;
	n = fread(h, 1, sizeof(h), r->f);
	e = errno;
	if (ferror(r->f))
		return fail(r, e ? -e : -EIO, "%s", strerror(e ? e : EIO));
	if (n == 0)
		return fail(r, -ENODATA, "empty file");
	if (!r->unwrapped && hsr_is_compressed(h, n))
		return unwrap(r, h, n);
	if (memcmp(h, HSR_MAGIC, n < HSR_MAGIC_LEN ? n : HSR_MAGIC_LEN) != 0)
		return fail(r, -EINVAL, "not a heapscope recording");
	if (n < sizeof(h))
		return fail(r, -ENODATA, "truncated at byte %zu", n);
	version = h[8] | h[9] << 8 | h[10] << 16 | (uint32_t)h[11] << 24;
	if (version != HSR_VERSION)
		return fail(r, -EINVAL, "unsupported recording version %" PRIu32
			    " (this heapscope reads version %d)", version, HSR_VERSION);
	r->off = sizeof(h);
	return 0;
}

/*
 * Read the payload of a record of length len into r->buf. 0, 1 when the file ends before
 * it (truncated), -errno on an I/O or memory failure.
 */
static int read_payload(struct reader *r, uint32_t len)
{
	uint64_t end = r->off + HSR_RECORD_HEADER_LEN + (uint64_t)len;

	if (r->file_size && end > r->file_size)
		return 1;
	if (len > r->cap) {
		uint8_t *p = realloc(r->buf, len);

		if (!p)
			return -ENOMEM;
		r->buf = p;
		r->cap = len;
	}
	if (fread(r->buf, 1, len, r->f) == len)
		return 0;
	return ferror(r->f) ? -EIO : 1;
}

/*
 * Read and parse the next record. Returns 1 when there is one more, 0 at the end of the
 * recording (clean or not: rec->truncated says), -errno on failure.
 */
static int read_record(struct hsr_recording *rec, struct reader *r, unsigned *type)
{
	uint8_t h[HSR_RECORD_HEADER_LEN];
	size_t n = fread(h, 1, sizeof(h), r->f);
	uint32_t len;
	int err;

	if (ferror(r->f))
		return -EIO;
	if (n == 0)
		return 0;
	if (n < sizeof(h)) {
		stop_at(rec, r, "truncated");
		return 0;
	}
	len = h[1] | h[2] << 8 | h[3] << 16 | (uint32_t)h[4] << 24;
	if (len > HSR_MAX_PAYLOAD) {
		stop_at(rec, r, "corrupt record length");
		return 0;
	}
	err = read_payload(r, len);
	if (err > 0)
		stop_at(rec, r, "truncated");
	if (err)
		return err < 0 ? err : 0;
	*type = h[0];
	err = hsr_parse_record(rec, *type, r->buf, len);
	if (err == -EBADMSG) {
		char what[48];

		snprintf(what, sizeof(what), "corrupt %s record", record_names[*type]);
		stop_at(rec, r, what);
		return 0;
	}
	r->off += sizeof(h) + len;
	return err ? err : 1;
}

static int read_records(struct hsr_recording *rec, struct reader *r)
{
	unsigned type, last = 0;
	int more;

	while ((more = read_record(rec, r, &type)) > 0) {
		if (type < sizeof(record_names) / sizeof(record_names[0]) && record_names[type])
			last = type;
	}
	if (more < 0)
		return fail(r, more, "%s", strerror(-more));
	rec->size = r->off;
	if (!rec->truncated && r->zproblem[0])
		stop_at(rec, r, r->zproblem);
	if (!rec->truncated && last != HSR_END) {
		rec->truncated = 1;
		snprintf(rec->problem, sizeof(rec->problem), "no END record");
	}
	hsr_finish_peak(rec);
	hsr_finish_leaks(rec);
	return 0;
}

static struct hsr_recording *recording_new(const char *path)
{
	struct hsr_loading *ld = calloc(1, sizeof(*ld));

	if (!ld)
		return NULL;
	ld->rec.path = strdup(path);
	ld->rec.stacks = calloc(16, sizeof(*ld->rec.stacks));	/* [0]: "no stack" */
	ld->cap.stacks = 16;
	ld->rec.heaps.selected = -1;
	if (!ld->rec.path || !ld->rec.stacks) {
		hsr_recording_free(&ld->rec);
		return NULL;
	}
	return &ld->rec;
}

static void reader_open(struct reader *r, const char *path, char *err, size_t errlen)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->err = err;
	r->errlen = errlen;
	r->f = fopen(path, "rb");
	if (r->f && fstat(fileno(r->f), &st) == 0 && S_ISREG(st.st_mode))
		r->file_size = (uint64_t)st.st_size;
}

int hsr_recording_load(const char *path, struct hsr_recording **out, char *err, size_t errlen)
{
	struct hsr_recording *rec;
	struct reader r;
	int ret;

	*out = NULL;
	reader_open(&r, path, err, errlen);
	if (!r.f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return ret;
	}
	rec = recording_new(path);
	ret = rec ? read_header(&r) : fail(&r, -ENOMEM, "%s", strerror(ENOMEM));
	if (!ret)
		ret = read_records(rec, &r);
	free(r.buf);
	fclose(r.f);
	if (ret) {
		hsr_recording_free(rec);
		return ret;
	}
	*out = rec;
	return 0;
}

static void free_arrays(struct hsr_recording *rec)
{
	free(rec->errors);
	free(hsr_loading_of(rec)->node_pc);
	free(hsr_loading_of(rec)->node_parent);
	free(hsr_loading_of(rec)->node_depth);
	free(hsr_loading_of(rec)->pcs);
	for (size_t i = 0; i < rec->nmodules; i++) {
		free(rec->modules[i].path);
		free(rec->modules[i].build_id);
		free(rec->modules[i].segs);
	}
	for (size_t i = 0; i < rec->nstacks + 1 && rec->stacks; i++)
		free(rec->stacks[i].frames);
	for (size_t i = 0; i < rec->nsnapshots; i++) {
		free(rec->snapshots[i].name);
		free(rec->snapshots[i].entries);
	}
	for (size_t i = 0; i < rec->nmessages; i++)
		free(rec->messages[i].text);
}

void hsr_recording_free(struct hsr_recording *rec)
{
	struct hsr_process *pr;

	if (!rec)
		return;
	free_arrays(rec);
	pr = &rec->process;
	for (size_t i = 0; i < pr->argc; i++)
		free(pr->argv[i]);
	free(pr->argv);
	free(pr->exe);
	free(pr->arch);
	free(pr->hostname);
	free(rec->modules);
	free(rec->stacks);
	free(rec->snapshots);
	free(rec->peak.entries);
	free(rec->leaks.entries);
	hsr_heaps_release(&rec->heaps);
	free(rec->timeline);
	free(rec->messages);
	free(rec->path);
	free(hsr_loading_of(rec));
}

int hsr_recording_state_at(const struct hsr_recording *rec, size_t k, struct hsr_counters *out)
{
	if (k >= rec->nsnapshots)
		return -ERANGE;
	memset(out, 0, (rec->nstacks + 1) * sizeof(*out));
	for (size_t s = 0; s <= k; s++) {
		const struct hsr_snapshot *snap = &rec->snapshots[s];

		if (snap->reset)
			memset(out, 0, (rec->nstacks + 1) * sizeof(*out));
		for (size_t i = 0; i < snap->nentries; i++)
			out[snap->entries[i].id] = snap->entries[i].c;
	}
	return 0;
}

const struct hsr_snapshot *hsr_recording_last_snapshot(const struct hsr_recording *rec)
{
	return rec->nsnapshots ? &rec->snapshots[rec->nsnapshots - 1] : NULL;
}

const struct hsr_module *hsr_recording_module(const struct hsr_recording *rec, unsigned id)
{
	for (size_t i = 0; i < rec->nmodules; i++) {
		if (rec->modules[i].id == id)
			return &rec->modules[i];
	}
	return NULL;
}

const char *hsr_reason_name(unsigned reason)
{
	static const char *const names[] = {
		[HSR_REASON_EXIT] = "exit",	      [HSR_REASON_EXEC] = "exec",
		[HSR_REASON_API] = "api",      [HSR_REASON_SIGNAL] = "signal",
		[HSR_REASON_PERIODIC] = "periodic",   [HSR_REASON_THRESHOLD] = "threshold",
		[HSR_REASON_COMMAND] = "command",
	};

	if (reason >= sizeof(names) / sizeof(names[0]) || !names[reason])
		return "unknown";
	return names[reason];
}
