// SPDX-License-Identifier: MIT
/*
 * Interned strings and 64-bit-keyed id maps (intern.h), for the exporters. Linear probing
 * in power-of-two tables kept at most half full; keys are mixed so that addresses and
 * packed pairs spread well. Pure data structures: no output, no recording.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static size_t slot_of(const struct hs_idmap *m, uint64_t key)
{
	size_t i = (size_t)mix64(key) & (m->nslots - 1);

	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->nslots - 1);
	return i;
}

int hs_idmap_get(const struct hs_idmap *m, uint64_t key, uint32_t *val)
{
	size_t i;

	if (!m->nslots)
		return -ENOENT;
	i = slot_of(m, key);
	if (!m->vals[i])
		return -ENOENT;
	*val = m->vals[i] - 1;
	return 0;
}

static int grow(struct hs_idmap *m)
{
	struct hs_idmap bigger = { .nslots = m->nslots ? 2 * m->nslots : 64, .n = m->n };

	bigger.keys = calloc(bigger.nslots, sizeof(*bigger.keys));
	bigger.vals = calloc(bigger.nslots, sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nslots; i++) {
		size_t j;

		if (!m->vals[i])
			continue;
		j = slot_of(&bigger, m->keys[i]);
		bigger.keys[j] = m->keys[i];
		bigger.vals[j] = m->vals[i];
	}
	hs_idmap_release(m);
	*m = bigger;
	return 0;
}

int hs_idmap_put(struct hs_idmap *m, uint64_t key, uint32_t val)
{
	size_t i;

	if (2 * (m->n + 1) > m->nslots && grow(m))
		return -ENOMEM;
	i = slot_of(m, key);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val + 1;
	return 0;
}

void hs_idmap_release(struct hs_idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int hs_strids_init(struct hs_strids *t)
{
	uint32_t id;

	memset(t, 0, sizeof(*t));
	return hs_strids_intern(t, "", &id);
}

static int append(struct hs_strids *t, const char *s, uint32_t next)
{
	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? 2 * t->cap : 256;
		char **str = reallocarray(t->str, ncap, sizeof(*str));
		uint32_t *nx = str ? reallocarray(t->next, ncap, sizeof(*nx)) : NULL;

		if (str)
			t->str = str;
		if (!nx)
			return -ENOMEM;
		t->next = nx;
		t->cap = ncap;
	}
	t->str[t->n] = strdup(s);
	if (!t->str[t->n])
		return -ENOMEM;
	t->next[t->n++] = next;
	return 0;
}

int hs_strids_intern(struct hs_strids *t, const char *s, uint32_t *id)
{
	uint64_t h = hash_str(s);
	uint32_t first = UINT32_MAX, i;

	hs_idmap_get(&t->by_hash, h, &first);
	for (i = first; i != UINT32_MAX; i = t->next[i]) {
		if (strcmp(t->str[i], s) == 0) {
			*id = i;
			return 0;
		}
	}
	if (append(t, s, first))
		return -ENOMEM;
	*id = t->n - 1;
	if (hs_idmap_put(&t->by_hash, h, *id)) {
		free(t->str[--t->n]);
		return -ENOMEM;
	}
	return 0;
}

void hs_strids_release(struct hs_strids *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->str[i]);
	free(t->str);
	free(t->next);
	hs_idmap_release(&t->by_hash);
	memset(t, 0, sizeof(*t));
}
