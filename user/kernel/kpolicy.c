// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading and changing the policy of an attached cgroup in the kernel.
 *
 * Live edits (add/remove) touch one trie entry per prefix: the prefix's new
 * rule slice is written into unused space of the live half of egr_rules,
 * then the trie entry is replaced (one atomic update). When the live half
 * has no room left, the edit becomes a rebuild (kpolicy_apply_grow()) of
 * the whole policy into the other half, which also reclaims the garbage;
 * when the policy itself is full, into a bigger instance (kgrow.h).
 *
 * Callers hold kstate_lock(). Every check happens before the first write,
 * so a refused change leaves the kernel state as it was.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kapply.h"
#include "kernel/kgrow.h"
#include "kernel/kgen.h"
#include "kernel/kmap.h"
#include "kernel/knames.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/ktries.h"
#include "policy/addr.h"
#include "policy/compile.h"
#include "policy/name.h"

#define ID_NONE 0xffffffffu

static int read_active(const struct egr_kstate *ks, uint32_t *slot)
{
	uint64_t gen = 0;
	int err = kgen_read(ks, &gen);

	if (!err)
		*slot = gen & 1;
	return err;
}

/* One rule compiled on its own: its kernel form. */
static int urule_to_krule(const struct egr_urule *u, struct egr_rule *r)
{
	struct egr_urule x = *u;
	struct egr_policy p = { .rules = &x, .n = 1 };
	struct egr_compiled c;
	char err[128];
	int ret;

	if (dest_is_name(&x.dest))
		x.action = EGR_ALLOW; /* (remove: any action; deny is refused before) */
	ret = compile_policy(&p, &c, err, sizeof(err));
	if (ret)
		return ret;
	*r = c.rules[0];
	compiled_free(&c);
	return 0;
}

/* Same protocol and ports (and, when with_action, the same action). */
static bool krule_same(const struct egr_rule *a, const struct egr_rule *b, bool with_action)
{
	return (!with_action || a->action == b->action) && a->proto == b->proto &&
	       a->flags == b->flags && a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

/* Rules within one prefix, in the order compile_policy() uses. */
static int cmp_krule(const void *a, const void *b)
{
	static const struct egr_dest same;

	return compile_rule_cmp(&same, a, &same, b);
}

/* The rules of exactly prefix d in trie fd (a name: in slot's names): 1
 * found, 0 not, -errno.
 */
static int read_prefix(const struct egr_kstate *ks, int trie_fd, uint32_t slot,
		       const struct egr_dest *d, struct egr_prefix *pv, struct egr_rule *rules)
{
	uint8_t key[sizeof(struct egr_lpm_v6)];
	uint32_t j, idx;
	int ret;

	if (dest_is_name(d)) {
		ret = knames_lookup(ks, slot, d, pv);
		if (ret <= 0)
			return ret;
	} else {
		egr_make_key(d, key);
		if (bpf_map_lookup_elem(trie_fd, key, pv))
			return errno == ENOENT ? 0 : -errno;
		if (pv->plen != d->plen) /* a shorter prefix answered */
			return 0;
	}
	if (pv->count > EGR_MAX_PREFIX_RULES)
		return -EPROTO;
	for (j = 0; j < pv->count; j++) {
		idx = pv->first + j;
		if (bpf_map_lookup_elem(ks->rules_fd, &idx, &rules[j]))
			return -errno;
	}
	return 1;
}

/* --- live edits --- */

struct pedit {
	struct egr_dest dest;
	bool existed;
	struct egr_prefix old;
	struct egr_rule rules[EGR_MAX_PREFIX_RULES];
	uint32_t count;
	uint32_t nnew; /* rules without an id yet */
	uint32_t removed[EGR_MAX_PREFIX_RULES];
	uint32_t nremoved;
	uint8_t fresh[EGR_MAX_PREFIX_RULES]; /* rules[j] got its id in this edit */
	uint32_t inc[EGR_MAX_PREFIX_RULES];  /* and, a name rule, this incarnation */
};

static struct pedit *find_edit(struct pedit *e, size_t n, const struct egr_dest *d)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!compile_dest_cmp(&e[i].dest, d))
			return &e[i];
	return NULL;
}

static void describe(const struct egr_urule *u, char *buf, size_t len)
{
	char d[EGR_DEST_STRLEN], ps[32];

	snprintf(buf, len, "%s %s", format_dest(&u->dest, d, sizeof(d)),
		 format_portspec(&u->ps, ps, sizeof(ps)));
}

/* Plan the edit: per prefix, its current slice and the new one. */
static int plan_edits(struct egr_kstate *ks, uint32_t slot, const struct egr_urule *in, size_t n,
		      bool add, struct egr_tries *t, struct pedit **out, size_t *nout, char *err,
		      size_t errlen)
{
	struct pedit *e = calloc(n ? n : 1, sizeof(*e));
	size_t ne = 0, i, j;
	int ret = 0;

	if (!e)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct pedit *p = find_edit(e, ne, &in[i].dest);
		struct egr_rule kr;
		char what[128];

		if (!p) {
			p = &e[ne++];
			p->dest = in[i].dest;
			ret = dest_is_name(&p->dest) ?
				      0 :
				      ktries_fd(ks, slot, in[i].dest.family == 6,
						egr_shard(in[i].dest.addr), t);
			if (ret >= 0)
				ret = read_prefix(ks, ret, slot, &p->dest, &p->old, p->rules);
			if (ret < 0) {
				snprintf(err, errlen, "reading the policy: %s", strerror(-ret));
				goto out;
			}
			p->existed = ret;
			p->count = ret ? p->old.count : 0;
			ret = 0;
		}
		if (add && dest_is_name(&in[i].dest) && in[i].action != EGR_ALLOW) {
			name_deny_error(dest_name(&in[i].dest), err, errlen);
			ret = -EINVAL;
			goto out;
		}
		urule_to_krule(&in[i], &kr);
		for (j = 0; j < p->count; j++)
			if (krule_same(&p->rules[j], &kr, add))
				break;
		if (add) {
			if (j < p->count)
				continue; /* already in force: nothing to do */
			if (p->count == EGR_MAX_PREFIX_RULES) {
				char d[EGR_DEST_STRLEN];

				snprintf(err, errlen, "too many rules for %s: at most %d per %s",
					 format_dest(&p->dest, d, sizeof(d)), EGR_MAX_PREFIX_RULES,
					 dest_is_name(&p->dest) ? "name" : "prefix");
				ret = -E2BIG;
				goto out;
			}
			kr.id = ID_NONE;
			p->rules[p->count++] = kr;
			p->nnew++;
		} else {
			if (j == p->count) {
				describe(&in[i], what, sizeof(what));
				snprintf(err, errlen, "no such rule: %s", what);
				ret = -ENOENT;
				goto out;
			}
			/* remove takes no action: drop allow and deny alike */
			for (; j < p->count;) {
				if (!krule_same(&p->rules[j], &kr, false)) {
					j++;
					continue;
				}
				p->removed[p->nremoved++] = p->rules[j].id;
				memmove(&p->rules[j], &p->rules[j + 1],
					(p->count - j - 1) * sizeof(p->rules[0]));
				p->count--;
			}
		}
	}
	for (i = 0, j = 0; i < ne; i++) {
		if (!e[i].nnew && !e[i].nremoved)
			continue; /* nothing changes for this prefix */
		qsort(e[i].rules, e[i].count, sizeof(e[i].rules[0]), cmp_krule);
		e[j++] = e[i];
	}
	ne = j;
	*out = e;
	*nout = ne;
	e = NULL;
out:
	free(e);
	return ret;
}

static int zero_hits(struct egr_kstate *ks, uint32_t id)
{
	return kmap_zero_percpu(ks->hits_fd, &id, sizeof(uint64_t), ks->ncpus, BPF_ANY);
}

static int alloc_id(struct egr_kstate *ks, uint32_t *id)
{
	if (ks->meta.nfree) {
		uint32_t k = ks->meta.nfree - 1;

		if (bpf_map_lookup_elem(ks->free_fd, &k, id))
			return -errno;
		ks->meta.nfree--;
		ks->meta.free_hash = 0;
	} else if (ks->meta.next_id < ks->meta.max_rules) {
		*id = ks->meta.next_id++;
	} else {
		return -ENOSPC;
	}
	return zero_hits(ks, *id);
}

static int free_id(struct egr_kstate *ks, uint32_t id)
{
	uint32_t k = ks->meta.nfree;

	if (k >= ks->meta.max_rules)
		return -ENOSPC;
	if (bpf_map_update_elem(ks->free_fd, &k, &id, BPF_ANY))
		return -errno;
	ks->meta.nfree++;
	ks->meta.free_hash = 0;
	return 0;
}

/* Live policy with the edit merged, for the rebuild path. */
static int merged_policy(struct egr_kstate *ks, const struct egr_urule *in, size_t n, bool add,
			 struct egr_policy *pol)
{
	struct egr_live_rule *lr;
	size_t nl, i, j;
	int err = kpolicy_read(ks, pol, &lr, &nl);

	if (err)
		return err;
	free(lr);
	for (i = 0; i < n; i++) {
		if (add) {
			err = policy_add(pol, &in[i]);
			if (err)
				return err;
			continue;
		}
		for (j = 0; j < pol->n;) {
			struct egr_urule x = in[i];

			x.action = pol->rules[j].action;
			if (urule_equal(&pol->rules[j], &x))
				pol->rules[j] = pol->rules[--pol->n];
			else
				j++;
		}
	}
	return 0;
}

/* An edit planned: per prefix (e[0..ne)), and what it needs in all. */
struct edit_plan {
	struct pedit *e;
	size_t ne;
	uint32_t slot; /* the live slot, edited in place */
	uint32_t need_rules, need_ids, new_pfx[EGR_NKINDS], gone_pfx[EGR_NKINDS];
	struct egr_tries t; /* the slot's tries, opened as needed */
};

/* Plan the edit of in[0..n) against the live slot and add up its needs. */
static int plan(struct egr_kstate *ks, const struct egr_urule *in, size_t n, bool add,
		struct edit_plan *pl, char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (ks->meta.dirty) {
		/* an earlier change was interrupted */
		ret = kpolicy_recover(ks);
		if (ret) {
			snprintf(err, errlen, "repairing the bookkeeping: %s", strerror(-ret));
			return ret;
		}
	}
	ret = read_active(ks, &pl->slot);
	if (ret) {
		snprintf(err, errlen, "reading the policy: %s", strerror(-ret));
		return ret;
	}
	ret = plan_edits(ks, pl->slot, in, n, add, &pl->t, &pl->e, &pl->ne, err, errlen);
	for (i = 0; !ret && i < pl->ne; i++) {
		const struct pedit *e = &pl->e[i];
		int f = egr_kind(&e->dest);

		pl->need_rules += e->count;
		pl->need_ids += e->nnew;
		if (!e->existed && e->count)
			pl->new_pfx[f]++;
		if (e->existed && !e->count)
			pl->gone_pfx[f]++;
	}
	return ret;
}

/* No room in the live half: the live policy with the edit merged is
 * rebuilt into the other half (kpolicy_apply_grow(): in a bigger instance
 * when it does not fit this one).
 */
static int rebuild(struct egr_kstate *ks, const struct egr_urule *in, size_t n, bool add,
		   char *err, size_t errlen)
{
	struct egr_policy pol;
	int ret = merged_policy(ks, in, n, add, &pol);

	if (!ret)
		ret = kpolicy_apply_grow(ks, &pol, NULL, err, errlen);
	else
		snprintf(err, errlen, "reading the policy: %s", strerror(-ret));
	policy_free(&pol);
	return ret;
}

/* Ids and the new slices in unused space of the live half (unreachable
 * until the trie entries point at them), then the counts, marked dirty.
 */
static int write_slices(struct egr_kstate *ks, struct edit_plan *pl)
{
	uint32_t base = pl->slot * ks->meta.max_rules, j;
	size_t i;
	int ret;

	for (i = 0; i < pl->ne; i++) {
		struct pedit *e = &pl->e[i];

		for (j = 0; j < e->count; j++) {
			if (e->rules[j].id != ID_NONE)
				continue;
			ret = alloc_id(ks, &e->rules[j].id);
			if (ret)
				return ret;
			e->fresh[j] = 1;
			if (dest_is_name(&e->dest))
				e->inc[j] = ks->meta.next_inc++;
		}
		for (j = 0; j < e->count; j++) {
			uint32_t idx = base + ks->meta.used[pl->slot] + j;

			if (bpf_map_update_elem(ks->rules_fd, &idx, &e->rules[j], BPF_ANY))
				return -errno;
		}
		e->old.first = base + ks->meta.used[pl->slot];
		e->old.count = e->count;
		e->old.plen = e->dest.plen;
		ks->meta.used[pl->slot] += e->count;
	}
	ks->meta.nrules = ks->meta.nrules + pl->need_ids;
	for (i = 0; i < pl->ne; i++)
		ks->meta.nrules -= pl->e[i].nremoved;
	ks->meta.nprefix[0] += pl->new_pfx[0] - pl->gone_pfx[0];
	ks->meta.nprefix[1] += pl->new_pfx[1] - pl->gone_pfx[1];
	ks->meta.nnames += pl->new_pfx[EGR_K_NAME] - pl->gone_pfx[EGR_K_NAME];
	ks->meta.dirty = 1; /* until the edit is in force */
	ret = kstate_write_meta(ks);
	if (ret)
		return ret;
	/* new name rules: their incarnations (next_inc, written above) */
	for (i = 0; i < pl->ne; i++) {
		struct pedit *e = &pl->e[i];

		if (!dest_is_name(&e->dest))
			continue;
		for (j = 0; j < e->count; j++) {
			if (!e->fresh[j])
				continue;
			ret = knlive_set(ks, pl->slot, e->rules[j].id, e->inc[j]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* A name's entry: its removed rules out of force (what they learned and
 * granted with them), then the entry pointed at the new slice.
 */
static int switch_name(const struct egr_kstate *ks, const struct edit_plan *pl,
		       const struct pedit *e)
{
	struct egr_lpm_name key;
	uint32_t j;
	int ret;

	for (j = 0; j < e->nremoved; j++) {
		ret = knlive_set(ks, pl->slot, e->removed[j], 0);
		if (ret)
			return ret;
	}
	knames_key(pl->slot, &e->dest, &key);
	if (e->count) {
		struct egr_prefix pv = e->old;

		pv.plen = key.prefixlen / 8;
		if (bpf_map_update_elem(ks->names_fd, &key, &pv, BPF_ANY))
			return -errno;
	} else if (e->existed && bpf_map_delete_elem(ks->names_fd, &key)) {
		return -errno;
	}
	return 0;
}

/* The live slot has name rules (EGR_SF_NAMES) or not. */
static int set_names_flag(const struct egr_kstate *ks, bool on)
{
	struct egr_ctl cfg;
	uint32_t k;
	int err = kgen_slot_cfg(ks, &cfg);

	if (err)
		return err;
	if (!!(cfg.flags & EGR_SF_NAMES) == on)
		return 0;
	k = 1 + cfg.slot;
	cfg.flags = on ? cfg.flags | EGR_SF_NAMES : cfg.flags & ~EGR_SF_NAMES;
	cfg.slot = 0;
	cfg.generation = 0;
	return bpf_map_update_elem(ks->ctl_fd, &k, &cfg, BPF_ANY) ? -errno : 0;
}

/* Point each prefix's trie entry at its new slice (or delete it). */
static int switch_entries(const struct egr_kstate *ks, struct edit_plan *pl)
{
	size_t i;
	int ret;

	if (ks->meta.nnames) {
		ret = set_names_flag(ks, true);
		if (ret)
			return ret;
	}
	for (i = 0; i < pl->ne; i++) {
		const struct pedit *e = &pl->e[i];
		uint8_t key[sizeof(struct egr_lpm_v6)];
		int f = e->dest.family == 6, fd;
		uint32_t s;

		if (dest_is_name(&e->dest)) {
			ret = switch_name(ks, pl, e);
			if (ret)
				return ret;
			continue;
		}

		egr_make_key(&e->dest, key);
		/* a prefix of length 0 is in every shard (kpolicy_recover()
		 * makes them agree again if this is interrupted)
		 */
		for (s = 0; s < EGR_SHARDS; s++) {
			if (!egr_in_shard(&e->dest, s))
				continue;
			fd = ktries_fd(ks, pl->slot, f, s, &pl->t);
			if (fd < 0)
				return fd;
			if (e->count ? bpf_map_update_elem(fd, key, &e->old, BPF_ANY) :
			    e->existed ? bpf_map_delete_elem(fd, key) : 0)
				return -errno;
		}
	}
	return ks->meta.nnames ? 0 : set_names_flag(ks, false);
}

/* In force: sockets' cached verdicts are now stale; removed rules' ids go
 * back on the free stack once unreachable.
 */
static int finish(struct egr_kstate *ks, const struct edit_plan *pl)
{
	size_t i;
	uint32_t j;
	int ret = kgen_bump(ks, false);

	if (ret)
		return ret;
	for (i = 0; i < pl->ne; i++)
		for (j = 0; j < pl->e[i].nremoved; j++)
			free_id(ks, pl->e[i].removed[j]);
	ks->meta.dirty = 0;
	return kstate_write_meta(ks);
}

static int kpolicy_edit(struct egr_kstate *ks, const struct egr_urule *in, size_t n, bool add,
			char *err, size_t errlen)
{
	struct edit_plan pl = { 0 };
	uint32_t cap = ks->meta.max_rules;
	int ret;

	ktries_init(&pl.t);
	ret = plan(ks, in, n, add, &pl, err, errlen);
	if (ret)
		goto out;
	/* No room (the policy is full: it grows; or the live half holds too
	 * much garbage): the merged policy is rebuilt, in a bigger instance
	 * if need be (kgrow.h).
	 */
	if (ks->meta.nrules + pl.need_ids > cap || ks->meta.nprefix[0] + pl.new_pfx[0] > cap ||
	    ks->meta.nprefix[1] + pl.new_pfx[1] > cap ||
	    ks->meta.nnames + pl.new_pfx[EGR_K_NAME] > cap || ks->meta.used[pl.slot] + pl.need_rules > cap ||
	    ks->meta.next_id + pl.need_ids > cap + ks->meta.nfree) {
		ret = rebuild(ks, in, n, add, err, errlen);
		goto out;
	}
	/* Writes start here: the slices first, the trie entries last. */
	ret = write_slices(ks, &pl);
	if (!ret)
		ret = switch_entries(ks, &pl);
	if (!ret)
		ret = finish(ks, &pl);
	if (ret)
		snprintf(err, errlen, "updating the policy maps: %s", strerror(-ret));
out:
	ktries_close(&pl.t);
	free(pl.e);
	return ret;
}

int kpolicy_add(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		size_t errlen)
{
	return kpolicy_edit(ks, r, n, true, err, errlen);
}

int kpolicy_remove(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		   size_t errlen)
{
	return kpolicy_edit(ks, r, n, false, err, errlen);
}

int kpolicy_set_cfg(struct egr_kstate *ks, int dflt, int audit)
{
	struct egr_ctl cfg;
	uint32_t k;
	int err = kgen_slot_cfg(ks, &cfg);

	if (err)
		return err;
	k = 1 + cfg.slot;
	if (dflt >= 0)
		cfg.dflt = dflt;
	if (audit >= 0)
		cfg.flags = audit ? cfg.flags | EGR_SF_AUDIT : cfg.flags & ~EGR_SF_AUDIT;
	cfg.slot = 0;
	cfg.generation = 0;
	if (bpf_map_update_elem(ks->ctl_fd, &k, &cfg, BPF_ANY))
		return -errno;
	return kgen_bump(ks, false);
}
