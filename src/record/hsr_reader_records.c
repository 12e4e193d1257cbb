// SPDX-License-Identifier: MIT
/*
 * Parsers for each record type of docs/FORMAT.md, called by hsr_reader.c with one
 * complete payload. A parser decodes everything into temporaries first and only then
 * commits to the recording, so a malformed record leaves the recording as it was. Counts
 * are checked against the bytes left (each element needs at least one byte per field)
 * before anything is allocated for them; bytes after the known fields are ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hsr_decode.h"
#include "hsr_format.h"

/* Grow *arr (of elements of size el) so that it holds at least need. 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t need, size_t el)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = reallocarray(*arr, ncap, el);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* A NUL-terminated copy of a str field; NULL only when out of memory. */
static char *dup_field(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int get_str(struct hsr_cursor *c, char **out)
{
	size_t n;
	const uint8_t *p = hsr_get_bytes(c, &n);

	*out = NULL;
	if (c->bad)
		return -EBADMSG;
	*out = dup_field(p, n);
	return *out ? 0 : -ENOMEM;
}

/* Split the cmdline field (each argument followed by NUL) into a NULL-terminated argv. */
static int split_cmdline(struct hsr_process *pr, const uint8_t *p, size_t n)
{
	size_t argc = 0, i, start = 0;

	for (i = 0; i < n; i++)
		argc += p[i] == '\0' || i + 1 == n;
	pr->argv = calloc(argc + 1, sizeof(*pr->argv));
	if (!pr->argv)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (p[i] != '\0' && i + 1 != n)
			continue;
		pr->argv[pr->argc] = dup_field(p + start, i - start + (p[i] != '\0'));
		if (!pr->argv[pr->argc])
			return -ENOMEM;
		pr->argc++;
		start = i + 1;
	}
	return 0;
}

static void process_release(struct hsr_process *pr)
{
	free(pr->exe);
	free(pr->arch);
	free(pr->hostname);
	for (size_t i = 0; i < pr->argc; i++)
		free(pr->argv[i]);
	free(pr->argv);
	memset(pr, 0, sizeof(*pr));
}

static int parse_process(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_process pr = { .present = 1 };
	const uint8_t *cmd;
	size_t ncmd;
	int err;

	if (rec->process.present)
		return 0;	/* "first, once": a second one is ignored */
	pr.pid = hsr_get_uv(c);
	pr.ppid = hsr_get_uv(c);
	pr.start_realtime_ns = hsr_get_uv(c);
	err = get_str(c, &pr.exe);
	if (err)
		goto out_release;
	cmd = hsr_get_bytes(c, &ncmd);
	err = c->bad ? -EBADMSG : split_cmdline(&pr, cmd, ncmd);
	if (!err)
		err = get_str(c, &pr.arch);
	if (err)
		goto out_release;
	pr.pointer_size = hsr_get_uv(c);
	pr.page_size = hsr_get_uv(c);
	pr.sample_interval = hsr_get_uv(c);
	pr.max_depth = hsr_get_uv(c);
	pr.flags = hsr_get_uv(c);
	err = get_str(c, &pr.hostname);
	if (err)
		goto out_release;
	rec->process = pr;
	return 0;

out_release:
	process_release(&pr);
	return err;
}

static void module_release(struct hsr_module *m)
{
	free(m->path);
	free(m->build_id);
	free(m->segs);
}

static int parse_segments(struct hsr_module *m, struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c);

	if (c->bad || n > hsr_cursor_left(c) / 4)
		return -EBADMSG;
	if (!n)
		return 0;
	m->segs = calloc(n, sizeof(*m->segs));
	if (!m->segs)
		return -ENOMEM;
	m->nsegs = n;
	for (size_t i = 0; i < n; i++) {
		m->segs[i].vaddr = hsr_get_uv(c);
		m->segs[i].memsz = hsr_get_uv(c);
		m->segs[i].offset = hsr_get_uv(c);
		m->segs[i].flags = hsr_get_u32(c);
	}
	return c->bad ? -EBADMSG : 0;
}

static int parse_module(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_module m = { 0 };
	const uint8_t *bid;
	int err;

	m.id = hsr_get_u32(c);
	m.bias = hsr_get_uv(c);
	err = get_str(c, &m.path);
	if (err)
		goto out_release;
	bid = hsr_get_bytes(c, &m.build_id_len);
	err = -EBADMSG;
	if (c->bad)
		goto out_release;
	err = -ENOMEM;
	if (m.build_id_len && !(m.build_id = (uint8_t *)dup_field(bid, m.build_id_len)))
		goto out_release;
	err = parse_segments(&m, c);
	if (err)
		goto out_release;
	if (hsr_cursor_left(c))	/* added later: the module epoch it was loaded in */
		m.load_epoch = hsr_get_u32(c);
	if (hsr_recording_module(rec, m.id)) {
		module_release(&m);	/* ids are unique: keep the first description */
		return 0;
	}
	err = grow((void **)&rec->modules, &hsr_loading_of(rec)->cap.modules, rec->nmodules + 1,
		   sizeof(m));
	if (err)
		goto out_release;
	rec->modules[rec->nmodules++] = m;
	return 0;

out_release:
	module_release(&m);
	return err;
}

static int parse_module_unload(struct hsr_recording *rec, struct hsr_cursor *c)
{
	unsigned id = hsr_get_u32(c);
	uint64_t t = hsr_get_uv(c);
	uint32_t epoch = hsr_cursor_left(c) ? hsr_get_u32(c) : UINT32_MAX;
	struct hsr_module *m = (struct hsr_module *)hsr_recording_module(rec, id);

	if (c->bad)
		return -EBADMSG;
	if (m) {
		rec->nunloaded += !m->unloaded;
		m->unloaded = 1;
		m->unload_t = t;
		m->unload_epoch = epoch;
	}
	return 0;
}

static int parse_frames(struct hsr_stack *st, struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c), addr;

	if (c->bad || n > hsr_cursor_left(c) || n > UINT32_MAX)
		return -EBADMSG;
	if (!n)
		return 0;
	st->frames = malloc(n * sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	st->nframes = (uint32_t)n;
	addr = hsr_get_uv(c);
	st->frames[0] = addr;
	for (size_t i = 1; i < n; i++) {
		addr += (uint64_t)hsr_get_sv(c);
		st->frames[i] = addr;
	}
	return c->bad ? -EBADMSG : 0;
}

/*
 * Ids increase; gaps (ids the agent gave up in a race, the overflow stack's id) are empty
 * stacks; a repeated id (a stack written again after fork or a window) is ignored. Gaps
 * adding up to more than HSR_MAX_ID_GAP empty ids are taken for corruption: each costs a
 * struct hsr_stack, and a few bytes of file must not make the reader allocate gigabytes.
 */
#define HSR_MAX_ID_GAP (1u << 22)

/* Whether stack id `id` may come next: above the last, within the gaps' budget. */
static int id_acceptable(struct hsr_recording *rec, uint64_t id)
{
	struct hsr_loading *ld = hsr_loading_of(rec);

	if (id == 0 || id >= UINT32_MAX)
		return 0;
	if (id <= rec->nstacks + 1)
		return 1;
	if (id - rec->nstacks - 1 > HSR_MAX_ID_GAP - ld->gap_ids)
		return 0;
	ld->gap_ids += id - rec->nstacks - 1;
	return 1;
}

/*
 * Put *st as stack `id` (> nstacks, accepted by id_acceptable): the ids skipped meanwhile
 * become holes. Takes st's frames, freeing them on failure.
 */
static int store_stack(struct hsr_recording *rec, uint64_t id, struct hsr_stack *st)
{
	int err = grow((void **)&rec->stacks, &hsr_loading_of(rec)->cap.stacks, id + 1,
		       sizeof(*st));

	if (err) {
		free(st->frames);
		return err;
	}
	memset(&rec->stacks[rec->nstacks + 1], 0, (id - rec->nstacks - 1) * sizeof(*st));
	rec->stacks[id] = *st;
	rec->nstacks = id;
	return 0;
}

/*
 * Whether stack `id` (at most nstacks) is a hole: skipped by a later id and not defined
 * since. The agent writes a stack once its first allocation is counted, so a stack interned
 * before a write and counted after it comes in a later write than stacks after it (docs/
 * FORMAT.md, STACK); its counters may already be there, if a snapshot listed it.
 */
static int stack_hole(const struct hsr_recording *rec, uint64_t id)
{
	const struct hsr_stack *s = &rec->stacks[id];

	return s->kind == HSR_KIND_NONE && !s->nframes && !s->frames;
}

/* Stack `id` (acceptable: new, or a hole) defined as *st, whose frames it takes. */
static int define_stack(struct hsr_recording *rec, uint64_t id, struct hsr_stack *st)
{
	if (id > rec->nstacks)
		return store_stack(rec, id, st);
	rec->stacks[id].kind = st->kind;	/* a hole: its counters stay */
	rec->stacks[id].nframes = st->nframes;
	rec->stacks[id].frames = st->frames;
	return 0;
}

static int parse_stack(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_stack st = { 0 };
	uint64_t id = hsr_get_uv(c);
	int err;

	st.kind = hsr_get_u32(c);
	if (c->bad || !id_acceptable(rec, id))
		return -EBADMSG;
	if (id <= rec->nstacks && !stack_hole(rec, id))
		return 0;	/* written again */
	err = parse_frames(&st, c);
	if (err) {
		free(st.frames);
		return err;
	}
	return define_stack(rec, id, &st);
}

/* Next stack id of a sparse list: strictly increasing, the first may be 0, all known. */
static uint32_t next_id(struct hsr_cursor *c, size_t i, uint64_t prev, size_t nstacks)
{
	uint64_t delta = hsr_get_uv(c);

	if (i > 0 && delta == 0)
		c->bad = 1;
	if (delta > nstacks || prev + delta > nstacks)
		c->bad = 1;
	return c->bad ? 0 : (uint32_t)(prev + delta);
}

static void get_counters(struct hsr_cursor *c, struct hsr_counters *k)
{
	k->alloc_calls = hsr_get_uv(c);
	k->alloc_bytes = hsr_get_uv(c);
	k->free_calls = hsr_get_uv(c);
	k->freed_bytes = hsr_get_uv(c);
	k->temporary = hsr_get_uv(c);
}

static int parse_entries(struct hsr_recording *rec, struct hsr_snapshot *s,
			 struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c);
	uint32_t id = 0;

	if (c->bad || n > hsr_cursor_left(c) / 6)
		return -EBADMSG;
	if (!n)
		return 0;
	s->entries = calloc(n, sizeof(*s->entries));
	if (!s->entries)
		return -ENOMEM;
	s->nentries = n;
	for (size_t i = 0; i < n && !c->bad; i++) {
		id = next_id(c, i, id, rec->nstacks);
		s->entries[i].id = id;
		get_counters(c, &s->entries[i].c);
	}
	return c->bad ? -EBADMSG : 0;
}

static int parse_snapshot(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_snapshot s = { 0 };
	int err;

	s.seq = hsr_get_uv(c);
	s.reason = hsr_get_u32(c);
	s.t = hsr_get_uv(c);
	err = get_str(c, &s.name);
	if (err)
		goto out_free;
	get_counters(c, &s.total);
	s.peak_bytes = hsr_get_uv(c);
	s.peak_t = hsr_get_uv(c);
	err = parse_entries(rec, &s, c);
	if (!err)
		err = grow((void **)&rec->snapshots, &hsr_loading_of(rec)->cap.snapshots,
			   rec->nsnapshots + 1, sizeof(s));
	if (err)
		goto out_free;
	for (size_t i = 0; i < s.nentries; i++)
		rec->stacks[s.entries[i].id].last = s.entries[i].c;
	s.reset = rec->reset_pending;
	rec->reset_pending = 0;
	rec->snapshots[rec->nsnapshots++] = s;
	return 0;

out_free:
	free(s.name);
	free(s.entries);
	return err;
}

static int parse_peak(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_peak pk = { .present = 1 };
	uint32_t id = 0;
	uint64_t n;

	pk.t = hsr_get_uv(c);
	pk.peak_bytes = hsr_get_uv(c);
	n = hsr_get_uv(c);
	if (c->bad || n > hsr_cursor_left(c) / 3)
		return -EBADMSG;
	pk.entries = n ? calloc(n, sizeof(*pk.entries)) : NULL;
	if (n && !pk.entries)
		return -ENOMEM;
	pk.nentries = n;
	for (size_t i = 0; i < n && !c->bad; i++) {
		id = next_id(c, i, id, rec->nstacks);
		pk.entries[i].id = id;
		pk.entries[i].live_bytes = hsr_get_uv(c);
		pk.entries[i].live_blocks = hsr_get_uv(c);
	}
	if (c->bad) {
		free(pk.entries);
		return -EBADMSG;
	}
	free(rec->peak.entries);	/* the last PEAK record wins */
	rec->peak = pk;
	return 0;
}

/* Points carry on from the last point of the previous TIMELINE record (t_delta). */
static int parse_timeline(struct hsr_recording *rec, struct hsr_cursor *c)
{
	size_t base = rec->ntimeline;
	uint64_t n = hsr_get_uv(c), t = base ? rec->timeline[base - 1].t : 0;
	int err;

	if (c->bad || n > hsr_cursor_left(c) / 3)
		return -EBADMSG;
	err = grow((void **)&rec->timeline, &hsr_loading_of(rec)->cap.timeline, base + n,
		   sizeof(*rec->timeline));
	if (err)
		return err;
	for (size_t i = 0; i < n && !c->bad; i++) {
		struct hsr_point *pt = &rec->timeline[base + i];

		t += hsr_get_uv(c);
		pt->t = t;
		pt->live_bytes = hsr_get_uv(c);
		pt->alloc_calls = hsr_get_uv(c);
	}
	if (c->bad)
		return -EBADMSG;	/* ntimeline unchanged: the points are dropped */
	rec->ntimeline = base + n;
	return 0;
}

static int parse_message(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_message m = { 0 };
	int err;

	m.t = hsr_get_uv(c);
	m.level = hsr_get_u32(c);
	err = get_str(c, &m.text);
	if (!err)
		err = grow((void **)&rec->messages, &hsr_loading_of(rec)->cap.messages, rec->nmessages + 1,
			   sizeof(m));
	if (err) {
		free(m.text);
		return err;
	}
	rec->messages[rec->nmessages++] = m;
	return 0;
}

static int parse_end(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_end e = { .present = 1 };

	e.t = hsr_get_uv(c);
	e.reason = hsr_get_u32(c);
	e.agent_bytes = hsr_get_uv(c);
	e.nstacks = hsr_get_uv(c);
	e.dropped = hsr_get_uv(c);
	if (c->bad)
		return -EBADMSG;
	if (hsr_cursor_left(c)) {	/* later agents: their own memory in use */
		e.arena_used = hsr_get_uv(c);
		e.ptrmap_bytes = hsr_get_uv(c);
		e.ptrmap_entries = hsr_get_uv(c);
		e.stacktab_bytes = hsr_get_uv(c);
		e.has_memory = !c->bad;
	}
	if (e.has_memory && hsr_cursor_left(c)) {	/* later still: the walks */
		e.walks = hsr_get_uv(c);
		e.walk_frames = hsr_get_uv(c);
		e.rule_hits = hsr_get_uv(c);
		e.rule_misses = hsr_get_uv(c);
		e.frames_reused = hsr_get_uv(c);
		e.has_unwind = !c->bad;
	}
	rec->end = e;
	return 0;
}

/* Room for n more nodes of the call tree (the reader's loading arrays). */
static int nodes_room(struct hsr_loading *ld, uint64_t n)
{
	if (ld->nnodes + n + 1 > ld->cap_nodes) {
		size_t cap = (ld->nnodes + n + 1) * 2;
		uint64_t *pc = realloc(ld->node_pc, cap * sizeof(*pc));
		uint32_t *parent;

		if (!pc)
			return -ENOMEM;
		ld->node_pc = pc;
		parent = realloc(ld->node_parent, cap * sizeof(*parent));
		if (!parent)
			return -ENOMEM;
		ld->node_parent = parent;
		parent = realloc(ld->node_depth, cap * sizeof(*parent));
		if (!parent)
			return -ENOMEM;
		ld->node_depth = parent;
		ld->cap_nodes = cap;
	}
	return 0;
}

/* Node nnodes + 1, `up` ids after its parent; 0 or -EBADMSG. */
static int add_node(struct hsr_loading *ld, uint64_t up, uint64_t pc)
{
	uint64_t id = ld->nnodes + 1, parent = id - up;

	if (up == 0 || up > id)
		return -EBADMSG;
	ld->node_parent[id] = (uint32_t)parent;
	ld->node_depth[id] = parent ? ld->node_depth[parent] + 1 : 1;
	ld->node_pc[id] = pc;
	ld->nnodes = id;
	return 0;
}

/* Call-tree nodes: parents are defined before their children. */
static int parse_frame_nodes(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_loading *ld = hsr_loading_of(rec);
	uint64_t n = hsr_get_uv(c), i;
	int err;

	if (c->bad || n > hsr_cursor_left(c) / 2 || ld->nnodes + n >= UINT32_MAX)
		return -EBADMSG;
	err = nodes_room(ld, n);
	for (i = 0; i < n && !err && !c->bad; i++) {
		uint64_t id = ld->nnodes + 1, up = hsr_get_uv(c);
		int64_t delta = hsr_get_sv(c);

		/* a parent's pc when there is one; add_node refuses up 0 and up > id */
		err = add_node(ld, up, (up && up < id ? ld->node_pc[id - up] : 0) + (uint64_t)delta);
	}
	return err ? err : c->bad ? -EBADMSG : 0;
}

/* New return addresses for the recording's table, then nodes naming theirs by index. */
static int parse_frame_pcs(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_loading *ld = hsr_loading_of(rec);
	uint64_t np = hsr_get_uv(c), n, i, pc = 0;
	int err;

	if (c->bad || np > hsr_cursor_left(c) || ld->npcs + np >= UINT32_MAX)
		return -EBADMSG;
	if (ld->npcs + np > ld->cap_pcs) {
		size_t cap = (ld->npcs + np) * 2;
		uint64_t *pcs = realloc(ld->pcs, cap * sizeof(*pcs));

		if (!pcs)
			return -ENOMEM;
		ld->pcs = pcs;
		ld->cap_pcs = cap;
	}
	for (i = 0; i < np; i++) {
		pc += hsr_get_uv(c);
		ld->pcs[ld->npcs + i] = pc;
	}
	if (c->bad)
		return -EBADMSG;
	ld->npcs += np;
	n = hsr_get_uv(c);
	if (c->bad || n > hsr_cursor_left(c) / 2 || ld->nnodes + n >= UINT32_MAX)
		return -EBADMSG;
	err = nodes_room(ld, n);
	for (i = 0; i < n && !err && !c->bad; i++) {
		uint64_t up = hsr_get_uv(c), index = hsr_get_uv(c);

		if (index >= ld->npcs)
			return -EBADMSG;
		err = add_node(ld, up, ld->pcs[index]);
	}
	return err ? err : c->bad ? -EBADMSG : 0;
}

/* One stack as a leaf of the call tree: its frames are the path up from the leaf. */
static int add_stack_node(struct hsr_recording *rec, uint64_t id, unsigned kind,
			  uint64_t depth, uint64_t node)
{
	struct hsr_loading *ld = hsr_loading_of(rec);
	struct hsr_stack st = { .kind = kind };

	if (depth > ld->nnodes || depth > HSR_MAX_TREE_DEPTH || node > ld->nnodes ||
	    !id_acceptable(rec, id))
		return -EBADMSG;
	if (id <= rec->nstacks && !stack_hole(rec, id))
		return 0;	/* written again */
	st.frames = depth ? malloc(depth * sizeof(*st.frames)) : NULL;
	if (depth && !st.frames)
		return -ENOMEM;
	for (st.nframes = 0; st.nframes < depth; st.nframes++) {
		if (!node) {
			free(st.frames);
			return -EBADMSG;
		}
		st.frames[st.nframes] = ld->node_pc[node];
		node = ld->node_parent[node];
	}
	return define_stack(rec, id, &st);
}

static int parse_stack_node(struct hsr_recording *rec, struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c), i, id = 0;
	int err = 0;

	if (c->bad || n > hsr_cursor_left(c) / 4)
		return -EBADMSG;
	for (i = 0; i < n && !err; i++) {
		uint64_t delta = hsr_get_uv(c);
		unsigned kind = hsr_get_u32(c);
		uint64_t depth = hsr_get_uv(c), node = hsr_get_uv(c);

		if (c->bad || (i && !delta))
			return -EBADMSG;
		id += delta;
		err = add_stack_node(rec, id, kind, depth, node);
	}
	return err;
}

/* Stacks as leaves, each leaf given from the last (docs/FORMAT.md); the depth is the leaf's. */
static int parse_stack_leaf(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_loading *ld = hsr_loading_of(rec);
	uint64_t n = hsr_get_uv(c), i, id = 0, leaf = ld->last_leaf;
	int err = 0;

	if (c->bad || n > hsr_cursor_left(c) / 3)
		return -EBADMSG;
	for (i = 0; i < n && !err; i++) {
		uint64_t delta = hsr_get_uv(c);
		unsigned kind = hsr_get_u32(c);

		leaf += (uint64_t)hsr_get_sv(c);
		if (c->bad || (i && !delta) || !leaf || leaf > ld->nnodes)
			return -EBADMSG;
		id += delta;
		err = add_stack_node(rec, id, kind, ld->node_depth[leaf], leaf);
		ld->last_leaf = leaf;
	}
	return err;
}

static uint32_t known_stack(struct hsr_recording *rec, struct hsr_cursor *c)
{
	uint64_t id = hsr_get_uv(c);

	if (id > rec->nstacks)
		c->bad = 1;
	return (uint32_t)id;
}

/* Heap errors: the whole list so far, replacing the previous one. */
static int parse_errors(struct hsr_recording *rec, struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c), i;
	struct hsr_error *list;

	if (c->bad || n > hsr_cursor_left(c) / 12)
		return -EBADMSG;
	list = n ? calloc(n, sizeof(*list)) : NULL;
	if (n && !list)
		return -ENOMEM;
	for (i = 0; i < n && !c->bad; i++) {
		struct hsr_error *e = &list[i];

		e->kind = hsr_get_u32(c);
		e->t = hsr_get_uv(c);
		e->address = hsr_get_uv(c);
		e->size = hsr_get_uv(c);
		e->offset = hsr_get_sv(c);
		e->nbytes = hsr_get_uv(c);
		e->alloc_stack = known_stack(rec, c);
		e->free_stack = known_stack(rec, c);
		e->stack = known_stack(rec, c);
		e->alloc_kind = hsr_get_u32(c);
		e->free_kind = hsr_get_u32(c);
		e->count = hsr_get_uv(c);
	}
	if (c->bad) {
		free(list);
		return -EBADMSG;
	}
	free(rec->errors);
	rec->errors = list;
	rec->nerrors = n;
	return 0;
}

/* The module epochs of stacks (0 when not listed). */
static int parse_stack_epochs(struct hsr_recording *rec, struct hsr_cursor *c)
{
	uint64_t n = hsr_get_uv(c), i, id = 0;

	if (c->bad || n > hsr_cursor_left(c) / 2)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		uint64_t delta = hsr_get_uv(c);
		uint32_t epoch = hsr_get_u32(c);

		id += delta;
		if (c->bad || (i && !delta) || id > rec->nstacks)
			return -EBADMSG;
		rec->stacks[id].epoch = epoch;
	}
	return 0;
}

/* Counters were reset: everything carried forward starts from zero again. */
static int parse_reset(struct hsr_recording *rec, struct hsr_cursor *c)
{
	uint64_t t = hsr_get_uv(c), interval = hsr_get_uv(c);

	if (c->bad)
		return -EBADMSG;
	for (size_t i = 0; i <= rec->nstacks; i++) {
		memset(&rec->stacks[i].last, 0, sizeof(rec->stacks[i].last));
		rec->stacks[i].peak_bytes = rec->stacks[i].peak_blocks = 0;
	}
	rec->process.sample_interval = interval;
	rec->reset_pending = 1;
	rec->nresets++;
	rec->last_reset_t = t;
	return 0;
}

static void get_leak_figures(struct hsr_cursor *c, struct hsr_leak_figures *f)
{
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		f->bytes[k] = hsr_get_uv(c);
		f->blocks[k] = hsr_get_uv(c);
	}
}

/* A reachability scan; the last one wins (its figures go to the stacks at the end). */
static int parse_leaks(struct hsr_recording *rec, struct hsr_cursor *c)
{
	struct hsr_leaks lk = { .present = 1 };
	uint32_t id = 0;
	uint64_t n;

	lk.t = hsr_get_uv(c);
	lk.reason = hsr_get_u32(c);
	lk.flags = hsr_get_uv(c);
	lk.threads = hsr_get_uv(c);
	get_leak_figures(c, &lk.total);
	n = hsr_get_uv(c);
	if (c->bad || n > hsr_cursor_left(c) / (1 + 2 * HSR_LEAK_KINDS))
		return -EBADMSG;
	lk.entries = n ? calloc(n, sizeof(*lk.entries)) : NULL;
	if (n && !lk.entries)
		return -ENOMEM;
	lk.nentries = n;
	for (size_t i = 0; i < n && !c->bad; i++) {
		id = next_id(c, i, id, rec->nstacks);
		lk.entries[i].id = id;
		get_leak_figures(c, &lk.entries[i].f);
	}
	if (c->bad) {
		free(lk.entries);
		return -EBADMSG;
	}
	lk.count = rec->leaks.count + 1;
	lk.snapshot = rec->nsnapshots;
	free(rec->leaks.entries);
	rec->leaks = lk;
	return 0;
}

typedef int (*record_parser)(struct hsr_recording *rec, struct hsr_cursor *c);

static const record_parser parsers[] = {
	[HSR_PROCESS] = parse_process,
	[HSR_MODULE] = parse_module,
	[HSR_MODULE_UNLOAD] = parse_module_unload,
	[HSR_STACK] = parse_stack,
	[HSR_SNAPSHOT] = parse_snapshot,
	[HSR_PEAK] = parse_peak,
	[HSR_TIMELINE] = parse_timeline,
	[HSR_MESSAGE] = parse_message,
	[HSR_END] = parse_end,
	[HSR_RESET] = parse_reset,
	[HSR_FRAMES] = parse_frame_nodes,
	[HSR_STACK_NODE] = parse_stack_node,
	[HSR_ERRORS] = parse_errors,
	[HSR_STACK_EPOCHS] = parse_stack_epochs,
	[HSR_LEAKS] = parse_leaks,
	[HSR_HEAPS] = hsr_parse_heaps,
	[HSR_STACK_LEAF] = parse_stack_leaf,
	[HSR_FRAME_PCS] = parse_frame_pcs,
};

int hsr_parse_record(struct hsr_recording *rec, unsigned type, const uint8_t *p, size_t n)
{
	struct hsr_cursor c;

	if (type >= sizeof(parsers) / sizeof(parsers[0]) || !parsers[type])
		return 0;
	hsr_cursor_init(&c, p, n);
	return parsers[type](rec, &c);
}

void hsr_finish_peak(struct hsr_recording *rec)
{
	for (size_t i = 0; i <= rec->nstacks; i++) {
		rec->stacks[i].peak_bytes = 0;
		rec->stacks[i].peak_blocks = 0;
	}
	for (size_t i = 0; i < rec->peak.nentries; i++) {
		const struct hsr_peak_entry *e = &rec->peak.entries[i];

		rec->stacks[e->id].peak_bytes = e->live_bytes;
		rec->stacks[e->id].peak_blocks = e->live_blocks;
	}
}

void hsr_finish_leaks(struct hsr_recording *rec)
{
	struct hsr_leaks *lk = &rec->leaks;
	for (size_t i = 0; i <= rec->nstacks; i++)
		memset(&rec->stacks[i].leak, 0, sizeof(rec->stacks[i].leak));
	if (!lk->present)
		return;
	for (size_t i = 0; i < lk->nentries; i++)
		rec->stacks[lk->entries[i].id].leak = lk->entries[i].f;
	lk->current = rec->nsnapshots <= lk->snapshot + 1;
}
