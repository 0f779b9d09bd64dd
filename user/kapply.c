// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply: replace a cgroup's whole policy atomically.
 *
 * The new policy is built in the inactive slot (fresh tries, the other half
 * of egr_rules, its own default), then egr_ctl[0] flips to it. Each packet
 * reads the slot once, so it is judged by the old policy or the new one.
 * Installing a trie into an outer map makes the kernel wait for running
 * programs (synchronize_rcu in the bpf() syscall), which is the barrier
 * after which the old slot may be reused.
 *
 * Rules that stay keep their ids, so their hit counters carry on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "compile.h"
#include "kstate.h"

struct idrule {
	struct egr_dest dest;
	struct egr_rule r;
};

static int cmp_idrule(const void *pa, const void *pb)
{
	const struct idrule *a = pa, *b = pb;

	return compile_rule_cmp(&a->dest, &a->r, &b->dest, &b->r);
}

/* Update n elements, in batches where the map supports it. */
int kstate_update_many(int fd, const void *keys, const void *vals, uint32_t n, size_t ksz,
		       size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys, *v = vals;
	uint32_t done = 0, i;

	while (done < n) {
		uint32_t cnt = n - done > 65536 ? 65536 : n - done;

		if (bpf_map_update_batch(fd, k + done * ksz, v + done * vsz, &cnt, &opts)) {
			if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
				return -errno;
			break; /* no batch support: one by one below */
		}
		done += cnt;
	}
	for (i = done; i < n; i++)
		if (bpf_map_update_elem(fd, k + i * ksz, v + i * vsz, BPF_ANY))
			return -errno;
	return 0;
}

/* The live rules with their ids, in compiled order. */
static int live_rules(const struct egr_kstate *ks, struct idrule **out, size_t *n)
{
	struct egr_live_rule *lr;
	struct idrule *x;
	size_t nl, i;
	int err = kpolicy_read_ex(ks, NULL, &lr, &nl, false);

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
	qsort(x, nl, sizeof(*x), cmp_idrule);
	*out = x;
	*n = nl;
	return 0;
}

struct egr_prefetch {
	const struct egr_kstate *ks;
	pthread_t thread;
	struct idrule *live;
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
	int err;

	if (!pf)
		return -ENOMEM;
	pf->ks = ks;
	err = pthread_create(&pf->thread, NULL, prefetch_main, pf);
	if (err) {
		free(pf);
		return -err;
	}
	*out = pf;
	return 0;
}

void kpolicy_prefetch_cancel(struct egr_prefetch *pf)
{
	if (!pf)
		return;
	pthread_join(pf->thread, NULL);
	free(pf->live);
	free(pf);
}

/* Give every compiled rule an id: kept from the live policy when the same
 * rule is in force, else the lowest unused. Fills the free stack. Takes
 * ownership of live.
 */
static int assign_ids(struct egr_kstate *ks, struct egr_compiled *c, struct idrule *live,
		      size_t nl, uint32_t **fresh, uint32_t *nfresh, uint32_t **freestack)
{
	uint32_t cap = ks->meta.max_rules, next = 0, hi = 0, i, f, k = 0, nf = 0;
	uint8_t *used = calloc(cap, 1), *was = calloc(cap, 1);
	size_t j = 0;
	int err = -ENOMEM;

	*fresh = calloc(c->nrules ? c->nrules : 1, sizeof(uint32_t));
	*freestack = calloc(cap, sizeof(uint32_t));
	if (!used || !was || !*fresh || !*freestack)
		goto out;
	for (j = 0; j < nl; j++)
		if (live[j].r.id < cap)
			was[live[j].r.id] = 1;
	j = 0;

	/* Both lists are in compiled order: merge. */
	for (f = 0; f < 2; f++) {
		for (i = 0; i < c->npfx[f]; i++) {
			const struct egr_cprefix *cp = &c->pfx[f][i];
			uint32_t r;

			for (r = cp->first; r < cp->first + cp->count; r++) {
				struct egr_rule *x = &c->rules[r];
				int cmp = 1;

				while (j < nl &&
				       (cmp = compile_rule_cmp(&live[j].dest, &live[j].r, &cp->dest,
							       x)) < 0)
					j++;
				if (j < nl && !cmp && live[j].r.id < cap && !used[live[j].r.id]) {
					x->id = live[j].r.id;
					used[x->id] = 1;
				} else {
					x->id = UINT32_MAX;
				}
			}
		}
	}
	/* New rules get ids the old policy does not count on, while there
	 * are any, so the old policy's last packets never land on them.
	 */
	for (i = 0; i < c->nrules; i++) {
		if (c->rules[i].id != UINT32_MAX)
			continue;
		while (next < cap && (used[next] || was[next]))
			next++;
		if (next == cap) {
			next = 0;
			memset(was, 0, cap);
			while (used[next])
				next++;
		}
		c->rules[i].id = next;
		used[next] = 1;
		(*fresh)[nf++] = next;
	}
	for (i = 0; i < cap; i++)
		if (used[i])
			hi = i + 1;
	/* Push so that the lowest free id is on top. */
	for (i = hi; i-- > 0;)
		if (!used[i])
			(*freestack)[k++] = i;
	ks->meta.next_id = hi;
	ks->meta.nfree = k;
	*nfresh = nf;
	err = 0;
out:
	free(live);
	free(used);
	free(was);
	return err;
}

static int zero_hits(const struct egr_kstate *ks, const uint32_t *ids, uint32_t n)
{
	uint64_t *z = calloc((size_t)(n ? n : 1) * ks->ncpus, sizeof(uint64_t));
	int err;

	if (!z)
		return -ENOMEM;
	err = kstate_update_many(ks->hits_fd, ids, z, n, sizeof(uint32_t), ks->ncpus * sizeof(uint64_t));
	free(z);
	return err;
}

static int fill_slot(struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
		     int tries[2])
{
	uint32_t base = slot * ks->meta.max_rules, i, f;
	uint32_t *keys = calloc(c->nrules ? c->nrules : 1, sizeof(uint32_t));
	int err = -ENOMEM;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < c->nrules; i++)
		keys[i] = base + i;
	err = kstate_update_many(ks->rules_fd, keys, c->rules, c->nrules, sizeof(uint32_t),
			  sizeof(struct egr_rule));
	free(keys);
	if (err)
		return err;
	for (f = 0; f < 2; f++) {
		size_t ksz = f ? sizeof(struct egr_lpm_v6) : sizeof(struct egr_lpm_v4);
		size_t n = c->npfx[f];
		uint8_t *k = calloc(n ? n : 1, ksz);
		struct egr_prefix *v = calloc(n ? n : 1, sizeof(*v));

		if (!k || !v) {
			free(k);
			free(v);
			return -ENOMEM;
		}
		for (i = 0; i < n; i++) {
			const struct egr_cprefix *cp = &c->pfx[f][i];
			uint32_t plen = cp->dest.plen;

			memcpy(k + i * ksz, &plen, 4);
			memcpy(k + i * ksz + 4, cp->dest.addr, f ? 16 : 4);
			v[i].first = base + cp->first;
			v[i].count = cp->count;
			v[i].plen = cp->dest.plen;
		}
		err = kstate_update_many(tries[f], k, v, n, ksz, sizeof(*v));
		free(k);
		free(v);
		if (err)
			return err;
	}
	return 0;
}

int kpolicy_apply(struct egr_kstate *ks, const struct egr_policy *p, char *err, size_t errlen)
{
	return kpolicy_apply_prefetched(ks, p, NULL, err, errlen);
}

int kpolicy_apply_prefetched(struct egr_kstate *ks, const struct egr_policy *p,
			     struct egr_prefetch *pf, char *err, size_t errlen)
{
	uint32_t cap = ks->meta.max_rules, old, slot, k, nfresh = 0;
	struct idrule *live = NULL;
	size_t nlive = 0;
	uint32_t *fresh = NULL, *freestack = NULL, *fkeys = NULL;
	struct egr_compiled c;
	struct egr_ctl cfg, act = { 0 };
	int tries[2] = { -1, -1 }, empty[2] = { -1, -1 }, ret;
	const char *what = "reading the policy";

	if (pf) {
		pthread_join(pf->thread, NULL);
		ret = pf->err;
		live = pf->live;
		nlive = pf->n;
		free(pf);
	} else {
		ret = live_rules(ks, &live, &nlive);
	}
	if (ret) {
		free(live);
		snprintf(err, errlen, "reading the policy: %s", strerror(-ret));
		return ret;
	}
	ret = compile_policy(p, &c, err, errlen);
	if (ret) {
		free(live);
		return ret;
	}
	if (c.nrules > cap || c.npfx[0] > cap || c.npfx[1] > cap) {
		snprintf(err, errlen,
			 "policy too large: %zu rules, capacity %u (set --max-rules at attach)",
			 c.nrules, cap);
		ret = -ENOSPC;
		goto out;
	}
	if (ks->meta.dirty) {
		ret = kpolicy_recover(ks);
		if (ret)
			goto fail;
	}
	ret = kstate_slot_cfg(ks, &cfg);
	if (ret)
		goto fail;
	old = cfg.slot;
	slot = !old;

	/* Nothing below is visible to packets until the flip. */
	what = "building the new policy";
	ret = assign_ids(ks, &c, live, nlive, &fresh, &nfresh, &freestack);
	live = NULL;
	if (ret)
		goto fail;
	/* From here until the end the bookkeeping is in flux. */
	ks->meta.dirty = 1;
	k = 0;
	if (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	ret = zero_hits(ks, fresh, nfresh);
	if (ret)
		goto fail;
	ret = kstate_create_tries(cap, tries);
	if (ret)
		goto fail;
	ret = fill_slot(ks, &c, slot, tries);
	if (ret)
		goto fail;
	cfg.slot = 0;
	cfg.dflt = c.dflt;
	cfg.flags = c.audit ? cfg.flags | EGR_SF_AUDIT : cfg.flags & ~EGR_SF_AUDIT;
	cfg.generation++;
	k = 1 + slot;
	if (bpf_map_update_elem(ks->ctl_fd, &k, &cfg, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	ret = kstate_install_tries(ks->v4_fd, ks->v6_fd, slot, tries);
	if (ret)
		goto fail;
	fkeys = calloc(ks->meta.nfree ? ks->meta.nfree : 1, sizeof(uint32_t));
	if (!fkeys) {
		ret = -ENOMEM;
		goto fail;
	}
	for (k = 0; k < ks->meta.nfree; k++)
		fkeys[k] = k;
	ret = kstate_update_many(ks->free_fd, fkeys, freestack, ks->meta.nfree, sizeof(uint32_t),
			  sizeof(uint32_t));
	if (ret)
		goto fail;
	ks->meta.used[slot] = c.nrules;
	ks->meta.nrules = c.nrules;
	ks->meta.nprefix[0] = c.npfx[0];
	ks->meta.nprefix[1] = c.npfx[1];
	k = 0;
	if (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}

	/* The flip: from the next packet on, the new policy. */
	what = "switching to the new policy";
	act.slot = slot;
	act.generation = cfg.generation;
	k = EGR_CTL_ACTIVE;
	if (bpf_map_update_elem(ks->ctl_fd, &k, &act, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}

	/* Barrier: wait until no program still runs on the old slot, then
	 * give the old slot empty tries so its memory is freed.
	 */
	what = "releasing the old policy";
	ret = kstate_install_tries(ks->v4_fd, ks->v6_fd, slot, tries);
	if (!ret)
		ret = kstate_create_tries(cap, empty);
	if (!ret)
		ret = kstate_install_tries(ks->v4_fd, ks->v6_fd, old, empty);
	if (ret)
		goto fail;
	ks->meta.used[old] = 0;
	ks->meta.dirty = 0;
	k = 0;
	if (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY))
		ret = -errno;
	if (ret)
		goto fail;
	goto out;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(-ret));
out:
	for (k = 0; k < 2; k++) {
		if (tries[k] >= 0)
			close(tries[k]);
		if (empty[k] >= 0)
			close(empty[k]);
	}
	free(live);
	free(fresh);
	free(freestack);
	free(fkeys);
	compiled_free(&c);
	return ret;
}
