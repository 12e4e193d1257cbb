// SPDX-License-Identifier: MIT
/*
 * The view as a pprof profile: profile.proto (github.com/google/pprof/proto/profile.proto),
 * encoded by hand (the few message types it has need no protobuf library) and gzipped, as
 * Go's pprof, pprof decoders, speedscope, Pyroscope and Parca read it.
 *
 * Each row of the view is a sample with four values: alloc_objects and alloc_space (calls
 * and bytes allocated), inuse_objects and inuse_space (live at the end, or at the peak for
 * the peak view); its allocator is the label "allocator". Locations are one per recorded
 * address, with a Line per function of its inline chain (innermost first, as pprof wants);
 * functions are one per (name, file); mappings are the recording's modules, with their
 * build-ids. Formats only: the caller computes the view with every row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export.h"
#include "hsr_format.h"
#include "intern.h"

#define PF_X_FLAG 1

/* A growing protobuf message. */
struct pb {
	uint8_t *data;
	size_t len, cap;
	int oom;
};

struct pprof {
	struct pb samples, mappings, locations, functions, msg, line;
	struct hs_strids strings;
	struct hs_idmap location_of;	/* address -> location id */
	struct hs_idmap function_of;	/* name << 32 | file -> function id */
	uint32_t nlocations, nfunctions;
	uint64_t *ids;			/* one sample's location ids */
	size_t nids, capids;
	const struct hs_report *r;
};

static void pb_raw(struct pb *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (ncap < b->len + n)
			ncap *= 2;
		d = realloc(b->data, ncap);
		if (!d) {
			b->oom = 1;
			return;
		}
		b->data = d;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void pb_varint(struct pb *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;

	do {
		buf[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(b, buf, n);
}

/* A varint field; zero is the default and is left out. */
static void pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void pb_bytes(struct pb *b, unsigned field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	pb_raw(b, p, n);
}

/* Append m as field `field` of b and empty m for the next message. */
static void pb_msg(struct pb *b, unsigned field, struct pb *m)
{
	pb_bytes(b, field, m->data, m->len);
	b->oom |= m->oom;
	m->len = 0;
}

static void pb_packed(struct pb *b, unsigned field, const uint64_t *v, size_t n)
{
	struct pb tmp = { 0 };

	for (size_t i = 0; i < n; i++)
		pb_varint(&tmp, v[i]);
	pb_msg(b, field, &tmp);
	free(tmp.data);
}

static uint64_t str_id(struct pprof *p, const char *s)
{
	uint32_t id = 0;

	if (s && hs_strids_intern(&p->strings, s, &id))
		p->msg.oom = 1;
	return id;
}

/* The Function for (name, file), added on first use. */
static uint64_t function_id(struct pprof *p, const char *name, const char *file)
{
	uint64_t nid = str_id(p, name), fid = str_id(p, file);
	uint64_t key = nid << 32 | fid;
	struct pb fn = { 0 };
	uint32_t id;

	if (!hs_idmap_get(&p->function_of, key, &id))
		return id;
	id = ++p->nfunctions;
	if (hs_idmap_put(&p->function_of, key, id))
		p->functions.oom = 1;
	pb_uint(&fn, 1, id);
	pb_uint(&fn, 2, nid);
	pb_uint(&fn, 3, nid);
	pb_uint(&fn, 4, fid);
	pb_msg(&p->functions, 5, &fn);
	free(fn.data);
	return id;
}

/* Mapping id of the module a frame lies in (module index + 1), 0 when none. */
static uint64_t mapping_id(const struct pprof *p, const struct hs_frame *f)
{
	const struct hsr_recording *rec = p->r->rec;

	for (size_t i = 0; f->module && i < rec->nmodules; i++) {
		if (rec->modules[i].path == f->module)
			return i + 1;
	}
	return 0;
}

/* The Location of address g[0].address, whose inline chain is g[0 .. n-1]. */
static uint64_t location_id(struct pprof *p, const struct hs_frame *g, size_t n)
{
	struct pb loc = { 0 };
	uint32_t id;

	if (!hs_idmap_get(&p->location_of, g->address, &id))
		return id;
	id = ++p->nlocations;
	if (hs_idmap_put(&p->location_of, g->address, id))
		p->locations.oom = 1;
	pb_uint(&loc, 1, id);
	pb_uint(&loc, 2, mapping_id(p, g));
	pb_uint(&loc, 3, g->address);
	for (size_t i = 0; i < n; i++) {
		if (!g[i].function)
			continue;
		pb_uint(&p->line, 1, function_id(p, g[i].function, g[i].file));
		pb_uint(&p->line, 2, g[i].line);
		pb_msg(&loc, 4, &p->line);
	}
	pb_msg(&p->locations, 4, &loc);
	free(loc.data);
	return id;
}

static int push_id(struct pprof *p, uint64_t id)
{
	if (p->nids == p->capids) {
		size_t ncap = p->capids ? 2 * p->capids : 64;
		uint64_t *q = reallocarray(p->ids, ncap, sizeof(*q));

		if (!q)
			return -ENOMEM;
		p->ids = q;
		p->capids = ncap;
	}
	p->ids[p->nids++] = id;
	return 0;
}

/* The location ids of a stack, leaf first: one per recorded address. */
static int stack_locations(struct pprof *p, uint32_t stack_id)
{
	static const struct hs_frame none = { .function = "[no stack]" };
	const struct hs_frame *frames;
	size_t n, start = 0;

	p->nids = 0;
	if (hs_resolver_stack(p->r->res, stack_id, &frames, &n))
		return -ENOMEM;
	if (n == 0)
		return push_id(p, location_id(p, &none, 1));
	for (size_t i = 0; i < n; i++) {
		if (frames[i].inlined && i + 1 < n)
			continue;
		if (push_id(p, location_id(p, &frames[start], i + 1 - start)))
			return -ENOMEM;
		start = i + 1;
	}
	return 0;
}

static void put_label(struct pprof *p, struct pb *sample, const char *key, const char *str,
		      uint64_t num, const char *unit)
{
	struct pb lab = { 0 };

	pb_uint(&lab, 1, str_id(p, key));
	pb_uint(&lab, 2, str_id(p, str));
	pb_uint(&lab, 3, num);
	pb_uint(&lab, 4, str_id(p, unit));
	pb_msg(sample, 3, &lab);
	free(lab.data);
}

static int put_sample(struct pprof *p, const struct hs_row *row)
{
	const struct hs_figures *f = &row->f;
	int at_peak = p->r->view->view == HS_VIEW_PEAK;
	uint64_t values[4] = { f->alloc_calls, f->alloc_bytes,
			       at_peak ? f->peak_blocks : f->live_blocks,
			       at_peak ? f->peak_bytes : f->live_bytes };
	struct pb s = { 0 };

	if (stack_locations(p, row->stack_id))
		return -ENOMEM;
	pb_packed(&s, 1, p->ids, p->nids);
	pb_packed(&s, 2, values, 4);
	put_label(p, &s, "allocator", hsr_kind_name(p->r->rec->stacks[row->stack_id].kind), 0,
		  NULL);
	if (f->temporary)
		put_label(p, &s, "temporary", NULL, f->temporary, "count");
	pb_msg(&p->samples, 2, &s);
	free(s.data);
	return 0;
}

static void put_mapping(struct pprof *p, size_t i)
{
	const struct hsr_module *m = &p->r->rec->modules[i];
	const struct hsr_segment *seg = m->nsegs ? &m->segs[0] : NULL;
	struct hs_symmodule_info info = { 0 };
	char hex[2 * 64 + 1] = "";
	struct pb map = { 0 };

	for (size_t k = 0; k < m->nsegs; k++) {
		if (m->segs[k].flags & PF_X_FLAG) {
			seg = &m->segs[k];
			break;
		}
	}
	for (size_t k = 0; k < m->build_id_len && k < 64; k++)
		snprintf(hex + 2 * k, 3, "%02x", m->build_id[k]);
	hs_resolver_module_info(p->r->res, i, &info);
	pb_uint(&map, 1, i + 1);
	pb_uint(&map, 2, seg ? seg->vaddr : 0);
	pb_uint(&map, 3, seg ? seg->vaddr + seg->memsz : 0);
	pb_uint(&map, 4, seg ? seg->offset : 0);
	pb_uint(&map, 5, str_id(p, m->path));
	pb_uint(&map, 6, str_id(p, hex));
	pb_uint(&map, 7, info.has_symbols);
	pb_uint(&map, 8, info.has_debuginfo);
	pb_uint(&map, 9, info.has_debuginfo);
	pb_uint(&map, 10, info.has_debuginfo);
	pb_msg(&p->mappings, 3, &map);
	free(map.data);
}

/* Every module, the main program's first (pprof takes the first mapping for the binary). */
static void put_mappings(struct pprof *p)
{
	const struct hsr_recording *rec = p->r->rec;
	const char *exe = rec->process.exe ? rec->process.exe : "";
	size_t main_i = rec->nmodules;

	for (size_t i = 0; i < rec->nmodules && main_i == rec->nmodules; i++) {
		if (strcmp(rec->modules[i].path, exe) == 0)
			main_i = i;
	}
	if (main_i < rec->nmodules)
		put_mapping(p, main_i);
	for (size_t i = 0; i < rec->nmodules; i++) {
		if (i != main_i)
			put_mapping(p, i);
	}
}

static void put_value_type(struct pprof *p, struct pb *b, unsigned field, const char *type,
			   const char *unit)
{
	struct pb vt = { 0 };

	pb_uint(&vt, 1, str_id(p, type));
	pb_uint(&vt, 2, str_id(p, unit));
	pb_msg(b, field, &vt);
	free(vt.data);
}

/* The sample type a view shows first: in use for leaks and peak, else allocated. */
static const char *default_type(const struct hs_view_result *v)
{
	int inuse = v->view == HS_VIEW_LEAKS || v->view == HS_VIEW_PEAK;

	if (v->sort == HS_SORT_CALLS || v->sort == HS_SORT_TEMPORARY)
		return "alloc_objects";
	if (v->sort == HS_SORT_BLOCKS)
		return inuse ? "inuse_objects" : "alloc_objects";
	return inuse ? "inuse_space" : "alloc_space";
}

static void put_comment(struct pprof *p, struct pb *b, const char *what, const char *value)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s%s", what, value ? value : "");
	pb_varint(b, 13 << 3);
	pb_varint(b, str_id(p, line));
}

/* Sample types (head) and the fields after the string table (tail). */
static void put_header(struct pprof *p, struct pb *head, struct pb *tail)
{
	const struct hs_report *r = p->r;
	const char *inuse = r->view->view == HS_VIEW_PEAK ? "at the peak" : "at the end";

	put_value_type(p, head, 1, "alloc_objects", "count");
	put_value_type(p, head, 1, "alloc_space", "bytes");
	put_value_type(p, head, 1, "inuse_objects", "count");
	put_value_type(p, head, 1, "inuse_space", "bytes");
	pb_uint(tail, 9, r->rec->process.start_realtime_ns);
	pb_uint(tail, 10, r->summary.duration_ns);
	put_value_type(p, tail, 11, "space", "bytes");
	pb_uint(tail, 12, r->rec->process.sample_interval);
	put_comment(p, tail, "heapscope ", r->version);
	put_comment(p, tail, "recording: ", r->rec->path);
	put_comment(p, tail, "view: ", hs_view_name(r->view->view));
	put_comment(p, tail, "inuse: live ", inuse);
	pb_uint(tail, 14, str_id(p, default_type(r->view)));
}

/* The whole Profile message into prof, fields in profile.proto's order. */
static int assemble(struct pprof *p, struct pb *prof)
{
	struct pb head = { 0 }, tail = { 0 };
	struct pb *parts[] = { &head, &p->samples, &p->mappings, &p->locations, &p->functions };
	int oom;

	put_header(p, &head, &tail);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		pb_raw(prof, parts[i]->data, parts[i]->len);
	for (uint32_t i = 0; i < p->strings.n; i++)
		pb_bytes(prof, 6, p->strings.str[i], strlen(p->strings.str[i]));
	pb_raw(prof, tail.data, tail.len);
	oom = prof->oom || head.oom || tail.oom || p->msg.oom || p->line.oom;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		oom |= parts[i]->oom;
	free(head.data);
	free(tail.data);
	return oom ? -ENOMEM : 0;
}

/* data as one gzip member (deflate with a gzip wrapper: windowBits 15 + 16). */
static int gzip_to(FILE *out, const uint8_t *data, size_t len)
{
	z_stream z = { 0 };
	uint8_t buf[65536];
	int ret;

	if (len > 0xffffffffu)
		return -EFBIG;
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		ret = deflate(&z, Z_FINISH);
		fwrite(buf, 1, sizeof(buf) - z.avail_out, out);
	} while (ret == Z_OK);
	deflateEnd(&z);
	if (ret != Z_STREAM_END)
		return -ENOMEM;
	return ferror(out) ? -EIO : 0;
}

static void pprof_release(struct pprof *p)
{
	struct pb *bufs[] = { &p->samples, &p->mappings, &p->locations, &p->functions, &p->msg,
			      &p->line };

	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		free(bufs[i]->data);
	hs_strids_release(&p->strings);
	hs_idmap_release(&p->location_of);
	hs_idmap_release(&p->function_of);
	free(p->ids);
}

int hs_export_pprof(FILE *out, const struct hs_report *r)
{
	struct pprof p = { .r = r };
	struct pb prof = { 0 };
	int err = hs_strids_init(&p.strings);

	for (size_t i = 0; i < r->view->nrows && !err; i++)
		err = put_sample(&p, &r->view->rows[i]);
	if (!err) {
		put_mappings(&p);
		err = assemble(&p, &prof);
	}
	if (!err)
		err = gzip_to(out, prof.data, prof.len);
	free(prof.data);
	pprof_release(&p);
	return err;
}
