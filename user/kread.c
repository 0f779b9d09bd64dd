// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the policy in force back from the kernel: the live slot's tries,
 * its rule slices and the hit counters, each with batched lookups (a
 * million rules read in about a second).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "addr.h"
#include "kstate.h"

#define CHUNK 65536

static void krule_to_urule(const struct egr_rule *r, const struct egr_dest *d,
			   struct egr_urule *u)
{
	memset(u, 0, sizeof(*u));
	u->action = r->action;
	u->dest = *d;
	switch (r->proto) {
	case IPPROTO_TCP:
		u->ps.proto = EGR_UP_TCP;
		break;
	case IPPROTO_UDP:
		u->ps.proto = EGR_UP_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		u->ps.proto = EGR_UP_ICMP;
		break;
	default:
		u->ps.proto = EGR_UP_ANY;
	}
	if (r->flags & EGR_RF_PORTS) {
		u->ps.has_ports = true;
		u->ps.lo = r->port_lo;
		u->ps.hi = r->port_hi;
	}
}

static void key_to_dest(int family, const void *key, struct egr_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->family = family;
	if (family == 4) {
		const struct egr_lpm_v4 *k = key;

		d->plen = k->prefixlen;
		memcpy(d->addr, k->addr, 4);
	} else {
		const struct egr_lpm_v6 *k = key;

		d->plen = k->prefixlen;
		memcpy(d->addr, k->addr, 16);
	}
}

static int cmp_live(const void *pa, const void *pb)
{
	const struct egr_live_rule *a = pa, *b = pb;
	const struct egr_dest *x = &a->rule.dest, *y = &b->rule.dest;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	if (a->rule.action != b->rule.action)
		return a->rule.action == EGR_DENY ? -1 : 1;
	if (a->rule.ps.proto != b->rule.ps.proto)
		return a->rule.ps.proto < b->rule.ps.proto ? -1 : 1;
	if (a->rule.ps.has_ports != b->rule.ps.has_ports)
		return a->rule.ps.has_ports < b->rule.ps.has_ports ? -1 : 1;
	if (a->rule.ps.lo != b->rule.ps.lo)
		return a->rule.ps.lo < b->rule.ps.lo ? -1 : 1;
	return a->rule.ps.hi < b->rule.ps.hi ? -1 : a->rule.ps.hi > b->rule.ps.hi;
}

struct dump {
	uint8_t *keys;
	void *vals;
	size_t n, cap;
};

static int grow(struct dump *d, size_t ksz, size_t vsz)
{
	void *k, *v;

	if (d->n + CHUNK <= d->cap)
		return 0;
	d->cap = d->cap ? 2 * d->cap : CHUNK;
	k = realloc(d->keys, d->cap * ksz);
	if (k)
		d->keys = k;
	v = realloc(d->vals, d->cap * vsz);
	if (v)
		d->vals = v;
	return k && v ? 0 : -ENOMEM;
}

/* Every element of a map, in batches from the key after *start (NULL: from
 * the first); stops after max elements. Falls back to one lookup per key
 * where the map has no batch support.
 */
static int dump_map(int fd, size_t ksz, size_t vsz, const void *start, size_t max,
		    struct dump *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint8_t in[64], out[64];
	const void *pin = start;
	int err;

	memset(d, 0, sizeof(*d));
	if (start)
		memcpy(in, start, ksz);
	while (d->n < max) {
		uint32_t cnt = CHUNK;

		err = grow(d, ksz, vsz);
		if (err)
			return err;
		if (cnt > max - d->n)
			cnt = max - d->n;
		err = bpf_map_lookup_batch(fd, pin ? in : NULL, out, d->keys + d->n * ksz,
					   (uint8_t *)d->vals + d->n * vsz, &cnt, &o);
		d->n += cnt;
		if (err && errno == ENOENT)
			return 0;
		if (err && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP) && !d->n)
			break;
		if (err)
			return -errno;
		memcpy(in, out, ksz);
		pin = in;
	}
	/* no batch support: walk the keys */
	while (d->n < max) {
		uint8_t *k = d->keys + d->n * ksz;

		err = grow(d, ksz, vsz);
		if (err)
			return err;
		k = d->keys + d->n * ksz;
		if (bpf_map_get_next_key(fd, pin ? in : NULL, k))
			return errno == ENOENT ? 0 : -errno;
		if (bpf_map_lookup_elem(fd, k, (uint8_t *)d->vals + d->n * vsz))
			return -errno;
		memcpy(in, k, ksz);
		pin = in;
		d->n++;
	}
	return 0;
}

static void dump_free(struct dump *d)
{
	free(d->keys);
	free(d->vals);
	memset(d, 0, sizeof(*d));
}

/* The live rules of one family, appended to lr. */
static int read_family(const struct egr_kstate *ks, uint32_t slot, int f,
		       struct egr_live_rule **lr, size_t *n, size_t *cap, uint32_t *maxid)
{
	size_t ksz = f ? sizeof(struct egr_lpm_v6) : sizeof(struct egr_lpm_v4);
	struct dump t = { 0 }, r = { 0 };
	uint32_t lo = UINT32_MAX, hi = 0, start, i, j;
	int tfd, err;

	tfd = kstate_trie_fd(f ? ks->v6_fd : ks->v4_fd, slot);
	if (tfd < 0)
		return tfd;
	err = dump_map(tfd, ksz, sizeof(struct egr_prefix), NULL, SIZE_MAX, &t);
	close(tfd);
	if (err || !t.n)
		goto out;
	for (i = 0; i < t.n; i++) {
		struct egr_prefix *pv = (struct egr_prefix *)t.vals + i;

		if (pv->count > EGR_MAX_PREFIX_RULES) {
			err = -EPROTO;
			goto out;
		}
		if (pv->first < lo)
			lo = pv->first;
		if (pv->first + pv->count > hi)
			hi = pv->first + pv->count;
	}
	start = lo - 1;
	err = dump_map(ks->rules_fd, sizeof(uint32_t), sizeof(struct egr_rule),
		       lo ? &start : NULL, hi - lo, &r);
	if (err)
		goto out;
	if (r.n != hi - lo) {
		err = -EPROTO;
		goto out;
	}
	for (i = 0; i < t.n; i++) {
		struct egr_prefix *pv = (struct egr_prefix *)t.vals + i;
		struct egr_dest d;

		key_to_dest(f ? 6 : 4, t.keys + i * ksz, &d);
		for (j = 0; j < pv->count; j++) {
			const struct egr_rule *kr = (struct egr_rule *)r.vals + pv->first - lo + j;

			if (*n == *cap) {
				void *p = realloc(*lr, (*cap = *cap ? 2 * *cap : 64) * sizeof(**lr));

				if (!p) {
					err = -ENOMEM;
					goto out;
				}
				*lr = p;
			}
			krule_to_urule(kr, &d, &(*lr)[*n].rule);
			(*lr)[*n].krule = *kr;
			(*lr)[*n].id = kr->id;
			(*lr)[*n].hits = 0;
			if (kr->id + 1 > *maxid)
				*maxid = kr->id + 1;
			(*n)++;
		}
	}
out:
	dump_free(&t);
	dump_free(&r);
	return err;
}

/* Per-CPU hit counters of ids below maxid, summed. */
static int read_hits(const struct egr_kstate *ks, uint32_t maxid, uint64_t **hits)
{
	size_t vsz = ks->ncpus * sizeof(uint64_t), i;
	struct dump h;
	int c, err;

	*hits = calloc(maxid ? maxid : 1, sizeof(uint64_t));
	if (!*hits)
		return -ENOMEM;
	err = dump_map(ks->hits_fd, sizeof(uint32_t), vsz, NULL, maxid, &h);
	if (err)
		return err;
	for (i = 0; i < h.n; i++) {
		uint32_t id = ((uint32_t *)h.keys)[i];
		const uint64_t *v = (const uint64_t *)((uint8_t *)h.vals + i * vsz);

		if (id < maxid)
			for (c = 0; c < ks->ncpus; c++)
				(*hits)[id] += v[c];
	}
	dump_free(&h);
	return 0;
}

int kpolicy_read(const struct egr_kstate *ks, struct egr_policy *pol, struct egr_live_rule **out,
		 size_t *nout)
{
	return kpolicy_read_ex(ks, pol, out, nout, true);
}

int kpolicy_read_ex(const struct egr_kstate *ks, struct egr_policy *pol,
		    struct egr_live_rule **out, size_t *nout, bool with_hits)
{
	struct egr_live_rule *lr = NULL;
	uint64_t *hits = NULL;
	size_t n = 0, cap = 0, i;
	uint32_t maxid = 0;
	struct egr_ctl cfg;
	int f, err;

	*out = NULL;
	*nout = 0;
	if (pol)
		memset(pol, 0, sizeof(*pol));
	err = kstate_slot_cfg(ks, &cfg);
	for (f = 0; !err && f < 2; f++)
		err = read_family(ks, cfg.slot, f, &lr, &n, &cap, &maxid);
	if (!err && with_hits)
		err = read_hits(ks, maxid, &hits);
	if (err)
		goto fail;
	for (i = 0; hits && i < n; i++)
		lr[i].hits = hits[lr[i].id];
	qsort(lr, n, sizeof(*lr), cmp_live);
	if (pol) {
		pol->dflt = cfg.dflt;
		pol->audit = cfg.flags & EGR_SF_AUDIT;
		for (i = 0; i < n; i++) {
			err = policy_add(pol, &lr[i].rule);
			if (err)
				goto fail;
		}
	}
	free(hits);
	*out = lr;
	*nout = n;
	return 0;
fail:
	free(hits);
	free(lr);
	if (pol)
		policy_free(pol);
	return err;
}

int kpolicy_recover(struct egr_kstate *ks)
{
	uint32_t cap = ks->meta.max_rules, base, end = 0, nrules = 0, hi = 0, k = 0, i, j, f;
	uint32_t *stack = NULL, *keys = NULL;
	uint8_t *used = calloc(cap, 1);
	struct dump t[2] = { 0 }, r = { 0 };
	struct egr_ctl cfg;
	int err;

	if (!used)
		return -ENOMEM;
	err = kstate_slot_cfg(ks, &cfg);
	if (err)
		goto out;
	base = cfg.slot * cap;
	for (f = 0; f < 2; f++) {
		size_t ksz = f ? sizeof(struct egr_lpm_v6) : sizeof(struct egr_lpm_v4);
		int tfd = kstate_trie_fd(f ? ks->v6_fd : ks->v4_fd, cfg.slot);

		if (tfd < 0) {
			err = tfd;
			goto out;
		}
		err = dump_map(tfd, ksz, sizeof(struct egr_prefix), NULL, SIZE_MAX, &t[f]);
		close(tfd);
		if (err)
			goto out;
		for (i = 0; i < t[f].n; i++) {
			struct egr_prefix *pv = (struct egr_prefix *)t[f].vals + i;

			if (pv->first < base || pv->first + pv->count > base + cap) {
				err = -EPROTO;
				goto out;
			}
			if (pv->first + pv->count - base > end)
				end = pv->first + pv->count - base;
		}
	}
	if (end) {
		uint32_t start = base - 1;

		err = dump_map(ks->rules_fd, sizeof(uint32_t), sizeof(struct egr_rule),
			       base ? &start : NULL, end, &r);
		if (err)
			goto out;
	}
	for (f = 0; f < 2; f++) {
		for (i = 0; i < t[f].n; i++) {
			struct egr_prefix *pv = (struct egr_prefix *)t[f].vals + i;

			for (j = 0; j < pv->count; j++) {
				uint32_t idx = pv->first - base + j, id;

				if (idx >= r.n) {
					err = -EPROTO;
					goto out;
				}
				id = ((struct egr_rule *)r.vals)[idx].id;
				if (id < cap && !used[id]) {
					used[id] = 1;
					if (id + 1 > hi)
						hi = id + 1;
				}
				nrules++;
			}
		}
	}
	stack = calloc(cap, sizeof(*stack));
	keys = calloc(cap, sizeof(*keys));
	if (!stack || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (i = hi; i-- > 0;)
		if (!used[i])
			stack[k++] = i;
	for (i = 0; i < k; i++)
		keys[i] = i;
	err = kstate_update_many(ks->free_fd, keys, stack, k, sizeof(uint32_t), sizeof(uint32_t));
	if (err)
		goto out;
	ks->meta.next_id = hi;
	ks->meta.nfree = k;
	ks->meta.nrules = nrules;
	ks->meta.nprefix[0] = t[0].n;
	ks->meta.nprefix[1] = t[1].n;
	ks->meta.used[cfg.slot] = end;
	ks->meta.used[!cfg.slot] = 0;
	ks->meta.dirty = 0;
	k = 0;
	if (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY))
		err = -errno;
out:
	dump_free(&t[0]);
	dump_free(&t[1]);
	dump_free(&r);
	free(used);
	free(stack);
	free(keys);
	return err;
}
