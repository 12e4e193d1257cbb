// SPDX-License-Identifier: MIT
/*
 * The scan's categories for reports (leaks.h). Pure arithmetic over a loaded recording
 * and the suppression flags the caller computed; figures saturate rather than wrap.
 */
#include <errno.h>
#include <string.h>

#include "leaks.h"

static const char *const kind_names[HSR_LEAK_KINDS] = {
	[HSR_LEAK_DEFINITE] = "definitely lost",
	[HSR_LEAK_INDIRECT] = "indirectly lost",
	[HSR_LEAK_POSSIBLE] = "possibly lost",
	[HSR_LEAK_REACHABLE] = "still reachable",
};

static const char *const kind_keys[HSR_LEAK_KINDS] = {
	[HSR_LEAK_DEFINITE] = "definitely_lost",
	[HSR_LEAK_INDIRECT] = "indirectly_lost",
	[HSR_LEAK_POSSIBLE] = "possibly_lost",
	[HSR_LEAK_REACHABLE] = "still_reachable",
};

/* valgrind's words for --errors-for-leak-kinds, in enum order. */
static const char *const kind_words[HSR_LEAK_KINDS] = { "definite", "indirect", "possible",
							 "reachable" };

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

int hs_leaks_classified(const struct hsr_recording *rec)
{
	return rec->leaks.present && rec->leaks.current;
}

int hs_leak_figures_any(const struct hsr_leak_figures *f)
{
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		if (f->bytes[k] || f->blocks[k])
			return 1;
	}
	return 0;
}

uint64_t hs_leak_lost_bytes(const struct hsr_leak_figures *f)
{
	return sat_add(sat_add(f->bytes[HSR_LEAK_DEFINITE], f->bytes[HSR_LEAK_INDIRECT]),
		       f->bytes[HSR_LEAK_POSSIBLE]);
}

uint64_t hs_leak_lost_blocks(const struct hsr_leak_figures *f)
{
	return sat_add(sat_add(f->blocks[HSR_LEAK_DEFINITE], f->blocks[HSR_LEAK_INDIRECT]),
		       f->blocks[HSR_LEAK_POSSIBLE]);
}

uint64_t hs_leak_key(const struct hsr_leak_figures *f, int bytes)
{
	if (hs_leak_lost_blocks(f))
		return bytes ? hs_leak_lost_bytes(f) : hs_leak_lost_blocks(f);
	return bytes ? f->bytes[HSR_LEAK_REACHABLE] : f->blocks[HSR_LEAK_REACHABLE];
}

void hs_leak_suppress(struct hs_figures *f, int classified)
{
	if (!classified) {
		f->suppressed_bytes = sat_add(f->suppressed_bytes, f->live_bytes);
		f->suppressed_blocks = sat_add(f->suppressed_blocks, f->live_blocks);
		return;
	}
	f->suppressed_bytes = sat_add(f->suppressed_bytes, hs_leak_lost_bytes(&f->leak));
	f->suppressed_blocks = sat_add(f->suppressed_blocks, hs_leak_lost_blocks(&f->leak));
	for (unsigned k = HSR_LEAK_DEFINITE; k <= HSR_LEAK_POSSIBLE; k++)
		f->leak.bytes[k] = f->leak.blocks[k] = 0;
}

static void add_stack(struct hs_leak_summary *s, const struct hs_figures *f)
{
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		s->total.bytes[k] = sat_add(s->total.bytes[k], f->leak.bytes[k]);
		s->total.blocks[k] = sat_add(s->total.blocks[k], f->leak.blocks[k]);
	}
	s->suppressed_bytes = sat_add(s->suppressed_bytes, f->suppressed_bytes);
	s->suppressed_blocks = sat_add(s->suppressed_blocks, f->suppressed_blocks);
	s->suppressed_stacks += f->suppressed_blocks > 0;
	if (s->classified) {
		s->lost_stacks += hs_leak_lost_blocks(&f->leak) > 0;
		return;
	}
	if (f->suppressed_blocks)
		return;
	s->live_bytes = sat_add(s->live_bytes, f->live_bytes);
	s->live_blocks = sat_add(s->live_blocks, f->live_blocks);
	s->lost_stacks += f->live_blocks > 0;
}

void hs_leak_summary_compute(const struct hsr_recording *rec, const struct hs_view_opts *opts,
			     struct hs_leak_summary *out)
{
	struct hs_figures f;

	memset(out, 0, sizeof(*out));
	out->classified = hs_leaks_classified(rec);
	out->scan = out->classified ? &rec->leaks : NULL;
	for (uint32_t id = 0; id <= rec->nstacks; id++) {
		hs_figures_of_stack_opts(rec, id, opts, &f);
		add_stack(out, &f);
	}
}

uint64_t hs_leak_error_blocks(const struct hs_leak_summary *s, unsigned kinds)
{
	uint64_t n = 0;

	if (!s->classified)
		return kinds & HS_LEAK_BIT(HSR_LEAK_DEFINITE) ? s->live_blocks : 0;
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		if (kinds & HS_LEAK_BIT(k))
			n = sat_add(n, s->total.blocks[k]);
	}
	return n;
}

const char *hs_leak_kind_name(unsigned kind)
{
	return kind < HSR_LEAK_KINDS ? kind_names[kind] : "?";
}

const char *hs_leak_kind_key(unsigned kind)
{
	return kind < HSR_LEAK_KINDS ? kind_keys[kind] : "?";
}

static int kind_word(const char *w, size_t n, unsigned *kinds)
{
	for (unsigned k = 0; k < HSR_LEAK_KINDS; k++) {
		if (strlen(kind_words[k]) == n && strncmp(w, kind_words[k], n) == 0) {
			*kinds |= HS_LEAK_BIT(k);
			return 0;
		}
	}
	return -EINVAL;
}

int hs_leak_kinds_parse(const char *list, unsigned *kinds)
{
	unsigned k = 0;

	if (strcmp(list, "all") == 0) {
		*kinds = HS_LEAK_BIT(HSR_LEAK_KINDS) - 1;
		return 0;
	}
	if (strcmp(list, "none") == 0) {
		*kinds = 0;
		return 0;
	}
	while (*list) {
		size_t n = strcspn(list, ",");

		if (kind_word(list, n, &k))
			return -EINVAL;
		list += n + (list[n] == ',');
	}
	if (!k)
		return -EINVAL;
	*kinds = k;
	return 0;
}
