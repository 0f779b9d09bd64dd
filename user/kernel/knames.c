// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Name rules in the kernel (see knames.h). The name trie holds both slots
 * (an LPM trie has no batch operations and a name policy is small next to
 * an address one), so apply fills the new slot's entries next to the old
 * ones and deletes the old ones after the flip, as it does with addresses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "kernel/kmap.h"
#include "kernel/knames.h"
#include "policy/name.h"

void knames_key(uint32_t slot, const struct egr_dest *d, struct egr_lpm_name *key)
{
	name_key(slot, dest_name(d), key);
}

int knames_read(const struct egr_kstate *ks, uint32_t slot, struct kname_ent **out, size_t *n)
{
	struct egr_lpm_name key, next;
	struct kname_ent *e = NULL, *t;
	size_t cap = 0;
	char text[EGR_NAME_BUF];
	uint32_t ks_slot;
	const char *in;
	int err = 0;

	*out = NULL;
	*n = 0;
	/* a key no entry can have starts at the first entry (not NULL: valgrind
	 * reads the key of BPF_MAP_GET_NEXT_KEY)
	 */
	memset(&key, 0, sizeof(key));
	key.prefixlen = ~0u;
	while (!bpf_map_get_next_key(ks->names_fd, &key, &next)) {
		key = next;
		if (next.data[0] != slot)
			continue;
		if (name_of_key(&next, &ks_slot, text))
			return -EPROTO; /* not a key egressctl writes */
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			t = realloc(e, cap * sizeof(*e));
			if (!t) {
				err = -ENOMEM;
				goto fail;
			}
			e = t;
		}
		in = name_intern(text);
		if (!in) {
			err = -ENOMEM;
			goto fail;
		}
		dest_set_name(&e[*n].dest, in);
		if (bpf_map_lookup_elem(ks->names_fd, &next, &e[*n].pv)) {
			if (errno == ENOENT)
				continue; /* deleted meanwhile */
			err = -errno;
			goto fail;
		}
		(*n)++;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	free(e);
	*n = 0;
	return err;
}

int knames_lookup(const struct egr_kstate *ks, uint32_t slot, const struct egr_dest *d,
		  struct egr_prefix *pv)
{
	struct egr_lpm_name key;

	knames_key(slot, d, &key);
	if (bpf_map_lookup_elem(ks->names_fd, &key, pv))
		return errno == ENOENT ? 0 : -errno;
	/* a shorter entry (a wildcard of a suffix) answered */
	return pv->plen * 8 == key.prefixlen;
}

int knames_fill(const struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
		uint32_t base)
{
	size_t i;

	for (i = 0; i < c->npfx[EGR_K_NAME]; i++) {
		const struct egr_cprefix *cp = &c->pfx[EGR_K_NAME][i];
		struct egr_lpm_name key;
		struct egr_prefix pv = { 0 };

		knames_key(slot, &cp->dest, &key);
		pv.first = base + cp->first;
		pv.count = cp->count;
		pv.plen = key.prefixlen / 8;
		if (bpf_map_update_elem(ks->names_fd, &key, &pv, BPF_ANY))
			return -errno;
	}
	return 0;
}

int knames_delete(const struct egr_kstate *ks, uint32_t slot, const struct egr_crule *d, size_t n)
{
	struct egr_lpm_name key;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!dest_is_name(&d[i].dest) ||
		    (i && !memcmp(&d[i].dest, &d[i - 1].dest, sizeof(d[i].dest))))
			continue; /* rules of one name are adjacent */
		knames_key(slot, &d[i].dest, &key);
		if (bpf_map_delete_elem(ks->names_fd, &key) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

int knames_clear_slot(const struct egr_kstate *ks, uint32_t slot)
{
	struct egr_lpm_name key;
	struct kname_ent *e;
	size_t n, i;
	int err = knames_read(ks, slot, &e, &n);

	for (i = 0; !err && i < n; i++) {
		knames_key(slot, &e[i].dest, &key);
		if (bpf_map_delete_elem(ks->names_fd, &key) && errno != ENOENT)
			err = -errno;
	}
	free(e);
	return err;
}

int knlive_get(const struct egr_kstate *ks, uint32_t slot, uint32_t id, uint32_t *inc)
{
	uint32_t k = slot * ks->meta.max_rules + id;

	*inc = 0;
	return bpf_map_lookup_elem(ks->nlive_fd, &k, inc) ? -errno : 0;
}

int knlive_set(const struct egr_kstate *ks, uint32_t slot, uint32_t id, uint32_t inc)
{
	uint32_t k = slot * ks->meta.max_rules + id;

	return bpf_map_update_elem(ks->nlive_fd, &k, &inc, BPF_ANY) ? -errno : 0;
}

int knlive_set_many(const struct egr_kstate *ks, uint32_t slot, const uint32_t *ids,
		    const uint32_t *incs, uint32_t n)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys)), i;
	int err;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = slot * ks->meta.max_rules + ids[i];
	err = kmap_update_many(ks->nlive_fd, keys, incs, n, sizeof(uint32_t), sizeof(uint32_t));
	free(keys);
	return err;
}

int knlive_clear(const struct egr_kstate *ks, uint32_t slot)
{
	uint32_t cap = ks->meta.max_rules, *ids = malloc(cap * sizeof(*ids)), *zero, i;
	int err = -ENOMEM;

	zero = calloc(cap, sizeof(*zero));
	if (ids && zero) {
		for (i = 0; i < cap; i++)
			ids[i] = i;
		err = knlive_set_many(ks, slot, ids, zero, cap);
	}
	free(ids);
	free(zero);
	return err;
}

int klearn_read(const struct egr_kstate *ks, struct klearned **out, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t cap = ks->meta.max_learned + 64, i;
	struct egr_learn_key *keys = calloc(cap, sizeof(*keys));
	struct egr_learned *vals = calloc(cap, sizeof(*vals));
	struct klearned *e = calloc(cap, sizeof(*e));
	struct egr_learn_key in, next;
	uint32_t cnt;
	bool first = true;
	int err = -ENOMEM;

	*out = NULL;
	*n = 0;
	if (!keys || !vals || !e)
		goto out;
	/* a batch walk: deletions meanwhile (evictions) do not restart it */
	for (;;) {
		cnt = cap - *n;
		if (!cnt)
			break;
		err = bpf_map_lookup_batch(ks->learn_fd, first ? NULL : &in, &next, keys + *n,
					   vals + *n, &cnt, &o);
		*n += cnt;
		if (err && errno == ENOENT)
			break;
		if (err) {
			err = -errno;
			goto out;
		}
		in = next;
		first = false;
	}
	for (i = 0; i < *n; i++) {
		e[i].key = keys[i];
		memcpy(e[i].ref, vals[i].ref, sizeof(vals[i].ref));
	}
	*out = e;
	e = NULL;
	err = 0;
out:
	if (err)
		*n = 0;
	free(keys);
	free(vals);
	free(e);
	return err;
}

uint64_t klearn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
