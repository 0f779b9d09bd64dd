// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the policy in force back from the kernel: the live slot's tries,
 * its rule slices and the hit counters, each with batched lookups (a
 * million rules in about 0.6 s, most of it the kernel walking the tries).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kgen.h"
#include "kernel/kmap.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/ktries.h"
#include "policy/addr.h"
#include "policy/compile.h"

#define CHUNK 65536

void krule_to_urule(const struct egr_rule *r, const struct egr_dest *d, struct egr_urule *u)
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
	int c = compile_dest_cmp(&a->rule.dest, &b->rule.dest);

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
	uint8_t in[sizeof(struct egr_lpm_name)], out[sizeof(struct egr_lpm_name)];
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

/* Trie keys of one family, by prefix length then address. */
struct trie_keys {
	const uint8_t *keys;
	size_t ksz;
};

static int cmp_trie_key(const void *ctx, uint32_t a, uint32_t b)
{
	const struct trie_keys *t = ctx;
	const uint8_t *x = t->keys + a * t->ksz, *y = t->keys + b * t->ksz;
	uint32_t px, py;

	memcpy(&px, x, 4);
	memcpy(&py, y, 4);
	if (px != py)
		return px < py ? -1 : 1;
	return memcmp(x + 4, y + 4, t->ksz - 4);
}

/* The entries of a slot's tries t of family f, all shards; a prefix of
 * length 0 once (it is in every shard: shard 0's copy).
 */
static int dump_tries(const struct egr_tries *t, int f, struct dump *d)
{
	size_t ksz = egr_key_size(f), i;
	size_t vsz = sizeof(struct egr_prefix);
	struct dump x;
	int err, s;

	memset(d, 0, sizeof(*d));
	err = dump_map(t->fd[f][0], ksz, vsz, NULL, SIZE_MAX, d);
	for (s = 1; s < EGR_SHARDS && !err; s++) {
		err = dump_map(t->fd[f][s], ksz, vsz, NULL, SIZE_MAX, &x);
		for (i = 0; i < x.n && !err; i++) {
			uint32_t plen;

			memcpy(&plen, x.keys + i * ksz, sizeof(plen));
			if (!plen)
				continue;
			err = grow(d, ksz, vsz);
			if (err)
				break;
			memcpy(d->keys + d->n * ksz, x.keys + i * ksz, ksz);
			memcpy((uint8_t *)d->vals + d->n * vsz, (uint8_t *)x.vals + i * vsz, vsz);
			d->n++;
		}
		dump_free(&x);
	}
	return err;
}

/* The rule slices the prefixes of t point at: r holds egr_rules[*lo ..
 * *lo + r->n), *total the rules of all slices.
 */
static int read_slices(const struct egr_kstate *ks, const struct dump *t, struct dump *r,
		       uint32_t *lo, size_t *total)
{
	uint32_t hi = 0, start, i;
	int err;

	*lo = UINT32_MAX;
	*total = 0;
	for (i = 0; i < t->n; i++) {
		struct egr_prefix *pv = (struct egr_prefix *)t->vals + i;

		if (pv->count > EGR_MAX_PREFIX_RULES)
			return -EPROTO;
		if (pv->first < *lo)
			*lo = pv->first;
		if (pv->first + pv->count > hi)
			hi = pv->first + pv->count;
		*total += pv->count;
	}
	start = *lo - 1;
	err = dump_map(ks->rules_fd, sizeof(uint32_t), sizeof(struct egr_rule), *lo ? &start : NULL,
		       hi - *lo, r);
	if (err)
		return err;
	return r->n == hi - *lo ? 0 : -EPROTO;
}

/* The entries of t (trie keys of family f) in prefix order: *order is
 * malloc'd.
 */
static int sort_prefixes(const struct dump *t, int f, struct egr_sortkey **order)
{
	size_t ksz = egr_key_size(f);
	struct trie_keys tk = { .keys = t->keys, .ksz = ksz };
	uint32_t i;

	*order = malloc((t->n ? t->n : 1) * sizeof(**order));
	if (!*order)
		return -ENOMEM;
	for (i = 0; i < t->n; i++) {
		struct egr_dest d;

		key_to_dest(f ? 6 : 4, t->keys + i * ksz, &d);
		(*order)[i].key = compile_prefix_key(&d);
		(*order)[i].idx = i;
	}
	return compile_sort(*order, t->n, cmp_trie_key, &tk);
}

/* The rules of one prefix's slice (pv, its rules at kr) as live rules at s,
 * in the order of cmp_live().
 */
static void slice_rules(const struct egr_prefix *pv, const struct egr_rule *kr,
			const struct egr_dest *d, struct egr_live_rule *s, uint32_t *maxid)
{
	struct egr_live_rule x;
	uint32_t j, m;

	for (j = 0; j < pv->count; j++) {
		krule_to_urule(&kr[j], d, &s[j].rule);
		s[j].krule = kr[j];
		s[j].id = kr[j].id;
		s[j].hits = 0;
		if (kr[j].id + 1 > *maxid)
			*maxid = kr[j].id + 1;
		/* insertion sort: stable, and a slice is short */
		x = s[j];
		for (m = j; m > 0 && cmp_live(&s[m - 1], &x) > 0; m--)
			s[m] = s[m - 1];
		s[m] = x;
	}
}

/* Room for n live rules in *lr. */
static int grow_live(struct egr_live_rule **lr, size_t n)
{
	void *p = realloc(*lr, (n ? n : 1) * sizeof(**lr));

	if (!p)
		return -ENOMEM;
	*lr = p;
	return 0;
}

/*
 * The live rules of one family, appended to lr in the order of cmp_live():
 * the trie's prefixes sorted (compile_sort(): about linear), each slice's
 * few rules sorted in place.
 */
static int read_family(const struct egr_kstate *ks, const struct egr_tries *tr, int f,
		       struct egr_live_rule **lr, size_t *n, uint32_t *maxid)
{
	size_t ksz = egr_key_size(f), total;
	struct dump t = { 0 }, r = { 0 };
	struct egr_sortkey *order = NULL;
	uint32_t lo, i;
	int err;

	err = dump_tries(tr, f, &t);
	if (err || !t.n)
		goto out;
	err = read_slices(ks, &t, &r, &lo, &total);
	if (!err)
		err = sort_prefixes(&t, f, &order);
	if (err)
		goto out;
	err = grow_live(lr, *n + total);
	if (err)
		goto out;
	for (i = 0; i < t.n; i++) {
		struct egr_prefix *pv = (struct egr_prefix *)t.vals + order[i].idx;
		struct egr_dest d;

		key_to_dest(f ? 6 : 4, t.keys + order[i].idx * ksz, &d);
		slice_rules(pv, (struct egr_rule *)r.vals + pv->first - lo, &d, *lr + *n, maxid);
		*n += pv->count;
	}
out:
	free(order);
	dump_free(&t);
	dump_free(&r);
	return err;
}

static int cmp_kname(const void *a, const void *b)
{
	return compile_dest_cmp(&((const struct kname_ent *)a)->dest,
				&((const struct kname_ent *)b)->dest);
}

/* The live name rules of slot, appended to lr in the order of cmp_live(). */
static int read_names(const struct egr_kstate *ks, uint32_t slot, struct egr_live_rule **lr,
		      size_t *n, uint32_t *maxid)
{
	struct dump t = { 0 }, r = { 0 };
	struct kname_ent *e = NULL;
	size_t ne = 0, total, i;
	uint32_t lo;
	int err;

	err = knames_read(ks, slot, &e, &ne);
	if (err || !ne)
		goto out;
	qsort(e, ne, sizeof(*e), cmp_kname);
	t.vals = malloc(ne * sizeof(struct egr_prefix));
	if (!t.vals) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ne; i++)
		((struct egr_prefix *)t.vals)[i] = e[i].pv;
	t.n = ne;
	err = read_slices(ks, &t, &r, &lo, &total);
	if (err)
		goto out;
	err = grow_live(lr, *n + total);
	if (err)
		goto out;
	for (i = 0; i < ne; i++) {
		slice_rules(&e[i].pv, (struct egr_rule *)r.vals + e[i].pv.first - lo, &e[i].dest,
			    *lr + *n, maxid);
		*n += e[i].pv.count;
	}
out:
	free(e);
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
	size_t n = 0, i;
	uint32_t maxid = 0;
	struct egr_tries tr;
	struct egr_ctl cfg;
	int f, err;

	*out = NULL;
	*nout = 0;
	if (pol)
		memset(pol, 0, sizeof(*pol));
	ktries_init(&tr);
	err = kgen_slot_cfg(ks, &cfg);
	if (!err)
		err = ktries_open(ks, cfg.slot, &tr);
	for (f = 0; !err && f < 2; f++)
		err = read_family(ks, &tr, f, &lr, &n, &maxid);
	if (!err)
		err = read_names(ks, cfg.slot, &lr, &n, &maxid);
	ktries_close(&tr);
	if (!err && with_hits)
		err = read_hits(ks, maxid, &hits);
	if (err)
		goto fail;
	for (i = 0; hits && i < n; i++)
		lr[i].hits = hits[lr[i].id];
	if (pol) {
		pol->dflt = cfg.dflt;
		pol->audit = cfg.flags & EGR_SF_AUDIT;
		pol->min_ttl = cfg.min_ttl;
		pol->max_per_name = cfg.max_per_name;
		if (n && !(pol->rules = malloc(n * sizeof(*pol->rules)))) {
			err = -ENOMEM;
			goto fail;
		}
		pol->cap = n;
		for (i = 0; i < n; i++)
			pol->rules[pol->n++] = lr[i].rule;
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

/* The live slot's prefixes (t[family], t[2]: names) and rules (r),
 * checked to lie in the slot's half [base, base + cap) of egr_rules;
 * *end: the slot's use.
 */
static int dump_slot(const struct egr_kstate *ks, const struct egr_tries *tr, uint32_t slot,
		     uint32_t base, struct dump t[3], struct dump *r, uint32_t *end)
{
	uint32_t cap = ks->meta.max_rules, start = base - 1, i;
	struct kname_ent *e;
	size_t ne;
	int err, f;

	*end = 0;
	err = knames_read(ks, slot, &e, &ne);
	if (err)
		return err;
	t[2].vals = malloc((ne ? ne : 1) * sizeof(struct egr_prefix));
	for (i = 0; t[2].vals && i < ne; i++)
		((struct egr_prefix *)t[2].vals)[i] = e[i].pv;
	t[2].n = ne;
	free(e);
	if (!t[2].vals)
		return -ENOMEM;
	for (f = 0; f < 3; f++) {
		err = f < 2 ? dump_tries(tr, f, &t[f]) : 0;
		if (err)
			return err;
		for (i = 0; i < t[f].n; i++) {
			struct egr_prefix *pv = (struct egr_prefix *)t[f].vals + i;

			if (pv->first < base || pv->first + pv->count > base + cap)
				return -EPROTO;
			if (pv->first + pv->count - base > *end)
				*end = pv->first + pv->count - base;
		}
	}
	if (!*end)
		return 0;
	return dump_map(ks->rules_fd, sizeof(uint32_t), sizeof(struct egr_rule),
			base ? &start : NULL, *end, r);
}

/* Mark the ids the slot's rules use; *hi: one above the highest,
 * *nrules: the rules.
 */
static int mark_ids(const struct dump t[3], const struct dump *r, uint32_t base, uint32_t cap,
		    uint8_t *used, uint32_t *hi, uint32_t *nrules)
{
	uint32_t i, j, f;

	for (f = 0; f < 3; f++) {
		for (i = 0; i < t[f].n; i++) {
			struct egr_prefix *pv = (struct egr_prefix *)t[f].vals + i;

			for (j = 0; j < pv->count; j++) {
				uint32_t idx = pv->first - base + j, id;

				if (idx >= r->n)
					return -EPROTO;
				id = ((struct egr_rule *)r->vals)[idx].id;
				if (id < cap && !used[id]) {
					used[id] = 1;
					if (id + 1 > *hi)
						*hi = id + 1;
				}
				(*nrules)++;
			}
		}
	}
	return 0;
}

/* The free-id stack: the unused ids below hi, the lowest on top; *n of them. */
static int write_free_stack(const struct egr_kstate *ks, const uint8_t *used, uint32_t hi,
			    uint32_t *n)
{
	uint32_t cap = ks->meta.max_rules, k = 0, i;
	uint32_t *stack = calloc(cap, sizeof(*stack)), *keys = calloc(cap, sizeof(*keys));
	int err = -ENOMEM;

	if (stack && keys) {
		for (i = hi; i-- > 0;)
			if (!used[i])
				stack[k++] = i;
		for (i = 0; i < k; i++)
			keys[i] = i;
		err = kmap_update_many(ks->free_fd, keys, stack, k, sizeof(uint32_t),
				       sizeof(uint32_t));
	}
	free(stack);
	free(keys);
	*n = k;
	return err;
}

int kpolicy_recover(struct egr_kstate *ks)
{
	uint32_t cap = ks->meta.max_rules, end = 0, nrules = 0, hi = 0, nfree = 0;
	uint8_t *used = calloc(cap, 1);
	struct dump t[3] = { 0 }, r = { 0 };
	struct egr_tries tr;
	struct egr_ctl cfg;
	int err;

	ktries_init(&tr);
	if (!used)
		return -ENOMEM;
	err = kgen_slot_cfg(ks, &cfg);
	if (!err)
		err = ktries_open(ks, cfg.slot, &tr);
	if (!err)
		err = ktries_sync_zero(&tr);
	if (!err)
		err = dump_slot(ks, &tr, cfg.slot, cfg.slot * cap, t, &r, &end);
	/* what an interrupted apply left in the other slot's names */
	if (!err)
		err = knames_clear_slot(ks, !cfg.slot);
	if (!err)
		err = knlive_clear(ks, !cfg.slot);
	if (!err)
		err = mark_ids(t, &r, cfg.slot * cap, cap, used, &hi, &nrules);
	if (!err)
		err = write_free_stack(ks, used, hi, &nfree);
	if (err)
		goto out;
	ks->meta.next_id = hi;
	ks->meta.nfree = nfree;
	ks->meta.free_hash = 0;
	ks->meta.nrules = nrules;
	ks->meta.nprefix[0] = t[0].n;
	ks->meta.nprefix[1] = t[1].n;
	ks->meta.nnames = t[2].n;
	ks->meta.used[cfg.slot] = end;
	ks->meta.used[!cfg.slot] = 0;
	ks->meta.dirty = 0;
	if (ks->meta.flags & EGR_MF_SWAP) {
		int n;

		/* an interrupted growth: its links first (kstate_open() did) */
		err = ks->dir[0] ? kstate_finish_swap(ks->dir, &n) : 0;
		if (err)
			goto out;
		ks->meta.flags &= ~EGR_MF_SWAP;
	}
	/* The interrupted change may have edited the live slot without its
	 * closing generation bump: invalidate the sockets' verdict caches.
	 */
	err = kgen_bump(ks, false);
	if (!err)
		err = kstate_write_meta(ks);
out:
	ktries_close(&tr);
	dump_free(&t[0]);
	dump_free(&t[1]);
	dump_free(&t[2]);
	dump_free(&r);
	free(used);
	return err;
}

static int cmp_comm(const void *pa, const void *pb)
{
	const struct egr_comm_stat *a = pa, *b = pb;

	if (a->other != b->other)
		return a->other - b->other; /* the overflow row last */
	return strcmp(a->comm, b->comm);
}

int kread_comm(const struct egr_kstate *ks, struct egr_comm_stat **out, size_t *n)
{
	struct egr_comm_stat *v = calloc(EGR_COMM_MAX + 1, sizeof(*v));
	struct egr_comm_key k, next;
	int fd = kstate_open_pin(ks, "egr_comm"), err = 0;
	size_t i = 0;
	void *prev = NULL;

	*out = NULL;
	*n = 0;
	if (!v || fd < 0) {
		free(v);
		if (fd >= 0)
			close(fd);
		return v ? fd : -ENOMEM;
	}
	while (i <= EGR_COMM_MAX && !bpf_map_get_next_key(fd, prev, &next)) {
		struct egr_comm_count c;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &c))
			continue; /* deleted meanwhile (nothing deletes: cannot be) */
		v[i].other = !k.comm[0] && k.comm[15] == 1;
		memcpy(v[i].comm, k.comm, sizeof(k.comm));
		v[i].comm[sizeof(k.comm)] = '\0';
		v[i].denied = c.denied;
		v[i].audit = c.audit;
		i++;
	}
	if (errno != ENOENT && i <= EGR_COMM_MAX)
		err = -errno;
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	qsort(v, i, sizeof(*v), cmp_comm);
	*out = v;
	*n = i;
	return 0;
}
