/* SPDX-License-Identifier: MIT */
/*
 * Small tables the exporters share: interned strings (each distinct string gets a dense id,
 * as pprof's string table and the flame graph's frame names want) and a map from 64-bit
 * keys to 32-bit ids (an address to its pprof location, a (parent, name) pair to a node).
 * Open addressing, growing by doubling; nothing here writes output.
 */
#ifndef HS_INTERN_H
#define HS_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct hs_idmap {
	uint64_t *keys;
	uint32_t *vals;		/* value + 1; 0 marks an empty slot */
	size_t nslots;		/* a power of two, or 0 before the first put */
	size_t n;
};

struct hs_strids {
	char **str;		/* str[id], NUL-terminated copies owned by the table */
	uint32_t n, cap;
	struct hs_idmap by_hash; /* hash -> first id with that hash (chained in next[]) */
	uint32_t *next;		/* next id with the same hash, UINT32_MAX: none */
};

/* Look key up: 0 and *val, or -ENOENT. */
int hs_idmap_get(const struct hs_idmap *m, uint64_t key, uint32_t *val);

/* Set key to val (val < UINT32_MAX), replacing any value. 0 or -ENOMEM. */
int hs_idmap_put(struct hs_idmap *m, uint64_t key, uint32_t val);

/* Free the map's memory; it is empty and usable again afterwards. */
void hs_idmap_release(struct hs_idmap *m);

/* An empty table holding "" as id 0. 0 or -ENOMEM. */
int hs_strids_init(struct hs_strids *t);

/* The id of s, adding a copy when it is new. 0 or -ENOMEM. */
int hs_strids_intern(struct hs_strids *t, const char *s, uint32_t *id);

/* Free every string and the table. */
void hs_strids_release(struct hs_strids *t);

#endif
