// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply: replace a cgroup's whole policy atomically.
 *
 * The new policy is built in the inactive slot (its tries, which the last
 * apply left empty; the other half of egr_rules; its own default), then the
 * generation is bumped by one, which flips the live slot (kgen.c). The
 * program judges a packet under one generation and judges it again if the
 * generation moved meanwhile, so the old slot can be emptied right after the
 * flip: no wait for running programs on the way. Small old slots are
 * emptied entry by entry; big ones get fresh tries (that replacement makes
 * the kernel wait for running programs, ~10 ms, small next to the fill).
 *
 * Rules that stay keep their ids, so their hit counters carry on.
 *
 * kpolicy_apply_prefetched() is plan() -> build() -> flip() -> release();
 * filling and emptying a slot is kslot.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kernel/idcache.h"
#include "kernel/kapply.h"
#include "kernel/kgen.h"
#include "kernel/kmap.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/kslot.h"
#include "kernel/ktries.h"
#include "policy/compile.h"
#include "policy/name.h"
#include "util/err.h"
#include "util/thread.h"

/* The live rules with their ids, in compiled order. */
static int live_rules(const struct egr_kstate *ks, struct egr_crule **out, size_t *n)
{
	struct egr_live_rule *lr;
	struct egr_crule *x;
	size_t nl, i;
	int err;

	if (!idcache_load(ks, out, n))
		return 0; /* what the last apply left, unchanged since */
	err = kpolicy_read_ex(ks, NULL, &lr, &nl, false);
	if (err)
		return err;
	x = calloc(nl ? nl : 1, sizeof(*x));
	if (!x) {
		free(lr);
		return -ENOMEM;
	}
	for (i = 0; i < nl; i++) {
		x[i].dest = lr[i].rule.dest;
		x[i].r = lr[i].krule;
	}
	free(lr);
	err = compile_sort_crules(x, nl);
	if (err) {
		free(x);
		return err;
	}
	*out = x;
	*n = nl;
	return 0;
}

struct egr_prefetch {
	const struct egr_kstate *ks;
	struct helper_job job;
	struct egr_crule *live;
	size_t n;
	int err;
};

static void *prefetch_main(void *arg)
{
	struct egr_prefetch *pf = arg;

	pf->err = live_rules(pf->ks, &pf->live, &pf->n);
	return NULL;
}

int kpolicy_prefetch(const struct egr_kstate *ks, struct egr_prefetch **out)
{
	struct egr_prefetch *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return -ENOMEM;
	pf->ks = ks;
	helper_run(&pf->job, prefetch_main, pf);
	*out = pf;
	return 0;
}

struct egr_prefetch *kpolicy_prefetch_of(struct egr_crule *live, size_t n)
{
	struct egr_prefetch *pf = calloc(1, sizeof(*pf));
	int err = pf ? compile_sort_crules(live, n) : -ENOMEM;

	if (err) {
		free(pf);
		free(live);
		return NULL;
	}
	pf->live = live; /* the job was never queued: helper_wait() returns */
	pf->n = n;
	return pf;
}

void kpolicy_prefetch_cancel(struct egr_prefetch *pf)
{
	if (!pf)
		return;
	helper_wait(&pf->job);
	free(pf->live);
	free(pf);
}

/* Rule ids: the ids of the rules in force and the free stack, as the new
 * policy will have them.
 */
struct ids {
	uint32_t cap, bound; /* ids go below bound (see bound_of()) */
	uint8_t *used, *was; /* [bound]: taken in the new policy; in the old one */
	uint32_t hi; /* one above the highest id taken */
	uint32_t *fresh, nfresh; /* ids of rules not in force before */
	uint32_t *stack, nstack; /* the free stack, the lowest id on top */
};

/* Ids go below the live ones' top or nl + nrules: at most that many are
 * taken when the next is chosen. The capacity can be 1000 times more, and
 * all of it would be touched.
 */
static uint32_t bound_of(const struct egr_crule *live, size_t nl, size_t nrules, uint32_t cap)
{
	size_t j, bound = nl + nrules + 1;

	for (j = 0; j < nl; j++)
		if (live[j].r.id < cap && live[j].r.id >= bound)
			bound = live[j].r.id + 1;
	return bound > cap ? cap : bound;
}

static void take(struct ids *d, uint32_t id)
{
	d->used[id] = 1;
	if (id >= d->hi)
		d->hi = id + 1;
}

/* Rules in force keep their ids. Both lists are in compiled order: merge.
 * The others get UINT32_MAX.
 */
static void keep_ids(struct ids *d, struct egr_compiled *c, const struct egr_crule *live,
		     size_t nl)
{
	size_t j = 0;
	uint32_t f, i, r;

	for (f = 0; f < EGR_NKINDS; f++) {
		for (i = 0; i < c->npfx[f]; i++) {
			const struct egr_cprefix *cp = &c->pfx[f][i];

			for (r = cp->first; r < cp->first + cp->count; r++) {
				struct egr_rule *x = &c->rules[r];
				int cmp = 1;

				while (j < nl && (cmp = compile_rule_cmp(&live[j].dest, &live[j].r,
									 &cp->dest, x)) < 0)
					j++;
				if (j < nl && !cmp && live[j].r.id < d->cap && !d->used[live[j].r.id]) {
					x->id = live[j].r.id;
					take(d, x->id);
				} else {
					x->id = UINT32_MAX;
				}
			}
		}
	}
}

/* New rules get ids the old policy does not count on, while there are any,
 * so the old policy's last packets never land on them.
 */
static void fresh_ids(struct ids *d, struct egr_compiled *c)
{
	uint32_t next = 0, i;

	for (i = 0; i < c->nrules; i++) {
		if (c->rules[i].id != UINT32_MAX)
			continue;
		while (next < d->bound && (d->used[next] || d->was[next]))
			next++;
		if (next == d->bound) {
			next = 0;
			memset(d->was, 0, d->bound);
			while (d->used[next])
				next++;
		}
		c->rules[i].id = next;
		take(d, next);
		d->fresh[d->nfresh++] = next;
	}
}

/* Give every compiled rule an id: kept from the live policy when the same
 * rule is in force, else the lowest unused. Fills the free stack. Takes
 * ownership of live.
 */
static int assign_ids(struct ids *d, struct egr_compiled *c, struct egr_crule *live, size_t nl)
{
	size_t j;
	uint32_t i;
	int err = -ENOMEM;

	d->bound = bound_of(live, nl, c->nrules, d->cap);
	d->used = calloc(d->bound, 1);
	d->was = calloc(d->bound, 1);
	d->fresh = calloc(c->nrules ? c->nrules : 1, sizeof(uint32_t));
	d->stack = calloc(d->bound, sizeof(uint32_t));
	if (d->used && d->was && d->fresh && d->stack) {
		for (j = 0; j < nl; j++)
			if (live[j].r.id < d->cap)
				d->was[live[j].r.id] = 1;
		keep_ids(d, c, live, nl);
		fresh_ids(d, c);
		/* Push so that the lowest free id is on top. */
		for (i = d->hi; i-- > 0;)
			if (!d->used[i])
				d->stack[d->nstack++] = i;
		err = 0;
	}
	free(live);
	return err;
}

static void ids_free(struct ids *d)
{
	free(d->used);
	free(d->was);
	free(d->fresh);
	free(d->stack);
}

/* FNV-1a over the stack; never 0 (0 means unknown). */
static uint64_t free_hash(const uint32_t *stack, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t i;

	for (i = 0; i < n; i++)
		h = (h ^ stack[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

struct save_job {
	const struct egr_kstate *ks;
	const struct egr_compiled *c;
	struct helper_job job;
};

/* The rule-id cache for the next apply; without it, that one reads the
 * kernel.
 */
static void *save_ids(void *arg)
{
	struct save_job *j = arg;

	if (idcache_save(j->ks, j->c))
		idcache_drop(j->ks->cgid);
	return NULL;
}

/* One apply, from plan to release. */
struct apply {
	struct egr_kstate *ks;
	struct egr_compiled c;
	struct egr_ctl cfg; /* the live slot's, read at the start */
	uint32_t old, slot; /* the live slot, and the one built */
	uint32_t old_pfx[2]; /* the old slot's prefixes, per family */
	struct kslot_keys okeys; /* and their keys, when few enough */
	struct ids ids;
	uint64_t old_fhash; /* the free stack in the kernel */
	uint32_t old_nfree;
	struct egr_tries tries; /* the new slot's */
	const char *what; /* the step, for the error line */
	/* name rules: the old slot's (deleted after the flip), and the new
	 * slot's ids with their incarnations
	 */
	struct egr_crule *old_names;
	size_t n_old_names;
	uint32_t *name_ids, *name_incs, n_names;
	kpolicy_grow_fn *grow; /* NULL: a policy too large is refused */
	void *grow_ctx;
};

/* The live rules with their ids: read meanwhile (pf), or now. */
static int live_of(struct apply *a, struct egr_prefetch *pf, struct egr_crule **live, size_t *n)
{
	int ret;

	if (!pf)
		return live_rules(a->ks, live, n);
	helper_wait(&pf->job);
	ret = pf->err;
	*live = pf->live;
	*n = pf->n;
	free(pf);
	return ret;
}

/* The old slot's name rules (they are last in compiled order). */
static int old_names(struct apply *a, const struct egr_crule *live, size_t nl)
{
	size_t i = nl;

	while (i && dest_is_name(&live[i - 1].dest))
		i--;
	a->n_old_names = nl - i;
	if (!a->n_old_names)
		return 0;
	a->old_names = malloc(a->n_old_names * sizeof(*a->old_names));
	if (!a->old_names)
		return -ENOMEM;
	memcpy(a->old_names, live + i, a->n_old_names * sizeof(*a->old_names));
	return 0;
}

/* Incarnations of the new policy's name rules: a rule in force (same id,
 * kept by assign_ids()) keeps its own, so what it learned stays; a new one
 * gets a fresh one, never used before in this instance.
 */
static int name_incs(struct apply *a)
{
	const struct egr_compiled *c = &a->c;
	uint32_t n = 0, i, r, j;
	uint8_t *fresh;
	int err = 0;

	for (i = 0; i < c->npfx[EGR_K_NAME]; i++)
		n += c->pfx[EGR_K_NAME][i].count;
	if (!n)
		return 0;
	fresh = calloc(a->ids.cap, 1);
	a->name_ids = malloc(n * sizeof(uint32_t));
	a->name_incs = malloc(n * sizeof(uint32_t));
	if (!fresh || !a->name_ids || !a->name_incs) {
		free(fresh);
		return -ENOMEM;
	}
	for (j = 0; j < a->ids.nfresh; j++)
		fresh[a->ids.fresh[j]] = 1;
	for (i = 0; i < c->npfx[EGR_K_NAME] && !err; i++) {
		const struct egr_cprefix *cp = &c->pfx[EGR_K_NAME][i];

		for (r = cp->first; r < cp->first + cp->count; r++) {
			uint32_t id = c->rules[r].id, inc = 0;

			if (!fresh[id])
				err = knlive_get(a->ks, a->old, id, &inc);
			if (err)
				break;
			if (!inc)
				inc = a->ks->meta.next_inc++;
			a->name_ids[a->n_names] = id;
			a->name_incs[a->n_names++] = inc;
		}
	}
	free(fresh);
	return err;
}

/* What changes: the new policy compiled and checked against the capacity,
 * the bookkeeping repaired if an earlier change was interrupted, the slots,
 * every rule's id. Nothing is written but a repair.
 */
static int plan(struct apply *a, const struct egr_policy *p, struct egr_prefetch *pf, char *err,
		size_t errlen)
{
	struct egr_kstate *ks = a->ks;
	uint32_t cap = ks->meta.max_rules;
	struct egr_crule *live = NULL;
	size_t nlive = 0;
	int ret = live_of(a, pf, &live, &nlive);

	if (ret) {
		free(live);
		seterr(err, errlen, "reading the policy: %s", strerror(-ret));
		return ret;
	}
	ret = compile_policy(p, &a->c, err, errlen);
	if (ret) {
		free(live);
		return ret;
	}
	if (a->c.nrules > cap || a->c.npfx[0] > cap || a->c.npfx[1] > cap ||
	    a->c.npfx[EGR_K_NAME] > cap) {
		size_t need = a->c.nrules;

		if (a->c.npfx[0] > need)
			need = a->c.npfx[0];
		if (a->c.npfx[1] > need)
			need = a->c.npfx[1];
		if (a->c.npfx[EGR_K_NAME] > need)
			need = a->c.npfx[EGR_K_NAME];
		if (!a->grow) {
			free(live);
			seterr(err, errlen, "policy too large: %zu rules, capacity %u", a->c.nrules,
			       cap);
			return -ENOSPC;
		}
		/* A bigger instance with the same rules and ids takes over: the
		 * live rules read meanwhile stay valid.
		 */
		ret = a->grow(ks, need, a->grow_ctx, err, errlen);
		if (ret) {
			free(live);
			return ret;
		}
		cap = ks->meta.max_rules;
	}
	a->what = "reading the policy";
	ret = ks->meta.dirty ? kpolicy_recover(ks) : 0;
	if (!ret)
		ret = kgen_slot_cfg(ks, &a->cfg);
	if (ret) {
		free(live);
		return ret;
	}
	a->old = a->cfg.slot;
	a->slot = !a->old;
	a->old_pfx[0] = ks->meta.nprefix[0];
	a->old_pfx[1] = ks->meta.nprefix[1];
	a->what = "building the new policy";
	if (a->old_pfx[0] + a->old_pfx[1] <= KSLOT_CLEAR_INPLACE_MAX) {
		ret = kslot_keys_of(live, nlive, &a->okeys);
		if (ret) {
			free(live);
			return ret;
		}
	}
	a->old_fhash = ks->meta.free_hash;
	a->old_nfree = ks->meta.nfree;
	a->ids.cap = cap;
	ret = old_names(a, live, nlive);
	if (ret) {
		free(live);
		return ret;
	}
	ret = assign_ids(&a->ids, &a->c, live, nlive);
	return ret ? ret : name_incs(a);
}

/* The free-id stack: rewritten only if it is not what is there. */
static int write_free_stack(struct apply *a)
{
	struct egr_kstate *ks = a->ks;
	uint64_t fhash = free_hash(a->ids.stack, a->ids.nstack);
	uint32_t *keys, k;
	int ret;

	ks->meta.free_hash = fhash;
	if (fhash == a->old_fhash && a->ids.nstack == a->old_nfree)
		return 0;
	keys = calloc(a->ids.nstack ? a->ids.nstack : 1, sizeof(uint32_t));
	if (!keys)
		return -ENOMEM;
	for (k = 0; k < a->ids.nstack; k++)
		keys[k] = k;
	ret = kmap_update_many(ks->free_fd, keys, a->ids.stack, a->ids.nstack, sizeof(uint32_t),
			       sizeof(uint32_t));
	free(keys);
	return ret;
}

/* Build the new policy in the inactive slot: nothing of it is visible to
 * packets until the flip. The bookkeeping is in flux (egr_meta.dirty)
 * from here until the old slot is released.
 */
static int build(struct apply *a)
{
	struct egr_kstate *ks = a->ks;
	struct egr_ctl cfg = a->cfg;
	uint32_t k = 1 + a->slot;
	int ret;

	ks->meta.next_id = a->ids.hi;
	ks->meta.nfree = a->ids.nstack;
	ks->meta.dirty = 1; /* (next_inc, advanced by plan(), goes in too) */
	ret = kstate_write_meta(ks);
	if (!ret)
		ret = kslot_inactive(ks, a->slot, &a->tries);
	if (!ret)
		ret = kslot_fill(ks, &a->c, a->slot, &a->tries, a->ids.fresh, a->ids.nfresh);
	if (!ret && a->n_names)
		ret = knlive_set_many(ks, a->slot, a->name_ids, a->name_incs, a->n_names);
	if (!ret)
		ret = knames_fill(ks, &a->c, a->slot, a->slot * ks->meta.max_rules);
	if (ret)
		return ret;
	cfg.slot = 0;
	cfg.dflt = a->c.dflt;
	cfg.flags = a->c.audit ? cfg.flags | EGR_SF_AUDIT : cfg.flags & ~EGR_SF_AUDIT;
	cfg.flags = a->c.npfx[EGR_K_NAME] ? cfg.flags | EGR_SF_NAMES : cfg.flags & ~EGR_SF_NAMES;
	cfg.min_ttl = a->c.min_ttl;
	cfg.max_per_name = a->c.max_per_name;
	cfg.generation = 0;
	cfg.learn = 0;
	cfg.lhead = 0;
	if (bpf_map_update_elem(ks->ctl_fd, &k, &cfg, BPF_ANY))
		return -errno;
	ret = write_free_stack(a);
	if (ret)
		return ret;
	ks->meta.used[a->slot] = a->c.nrules;
	ks->meta.nrules = a->c.nrules;
	ks->meta.nprefix[0] = a->c.npfx[0];
	ks->meta.nprefix[1] = a->c.npfx[1];
	ks->meta.nnames = a->c.npfx[EGR_K_NAME];
	return kstate_write_meta(ks);
}

/* The flip: from the next packet on, the new policy. */
static int flip(struct apply *a)
{
	a->what = "switching to the new policy";
	return kgen_bump(a->ks, true);
}

/* The old slot's name entries and incarnations. */
static int release_names(struct apply *a)
{
	uint32_t *ids, *zero;
	size_t i;
	int err;

	if (!a->n_old_names)
		return 0;
	err = knames_delete(a->ks, a->old, a->old_names, a->n_old_names);
	ids = malloc(a->n_old_names * sizeof(*ids));
	zero = calloc(a->n_old_names, sizeof(*zero));
	if (!err && (!ids || !zero))
		err = -ENOMEM;
	for (i = 0; !err && i < a->n_old_names; i++)
		ids[i] = a->old_names[i].r.id;
	if (!err)
		err = knlive_set_many(a->ks, a->old, ids, zero, a->n_old_names);
	free(ids);
	free(zero);
	return err;
}

/* A packet still judged on the old slot sees the generation move and is
 * judged again on the new one: the old slot may be emptied. The id cache
 * for the next apply is written meanwhile (a stale one is never used: it
 * names the generation now in force).
 */
static int release(struct apply *a)
{
	struct egr_kstate *ks = a->ks;
	struct save_job sj = { .ks = ks, .c = &a->c };
	int ret;

	a->what = "releasing the old policy";
	helper_run(&sj.job, save_ids, &sj);
	ret = kslot_empty(ks, a->old, a->old_pfx, &a->okeys);
	if (!ret)
		ret = release_names(a);
	helper_wait(&sj.job);
	if (ret)
		return ret;
	ks->meta.used[a->old] = 0;
	ks->meta.dirty = 0;
	return kstate_write_meta(ks);
}

int kpolicy_apply(struct egr_kstate *ks, const struct egr_policy *p, char *err, size_t errlen)
{
	return kpolicy_apply_prefetched(ks, p, NULL, err, errlen);
}

int kpolicy_apply_prefetched(struct egr_kstate *ks, const struct egr_policy *p,
			     struct egr_prefetch *pf, char *err, size_t errlen)
{
	return kpolicy_apply_ex(ks, p, pf, NULL, NULL, err, errlen);
}

int kpolicy_apply_ex(struct egr_kstate *ks, const struct egr_policy *p, struct egr_prefetch *pf,
		     kpolicy_grow_fn *grow, void *grow_ctx, char *err, size_t errlen)
{
	struct apply a = { .ks = ks, .grow = grow, .grow_ctx = grow_ctx };
	int ret;

	ktries_init(&a.tries);
	ret = plan(&a, p, pf, err, errlen);
	if (!ret)
		ret = build(&a);
	if (!ret)
		ret = flip(&a);
	if (!ret)
		ret = release(&a);
	if (ret && a.what)
		seterr(err, errlen, "%s: %s", a.what, strerror(-ret));
	ktries_close(&a.tries);
	kslot_keys_free(&a.okeys);
	ids_free(&a.ids);
	compiled_free(&a.c);
	free(a.old_names);
	free(a.name_ids);
	free(a.name_incs);
	return ret;
}
