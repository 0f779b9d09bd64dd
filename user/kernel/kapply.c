// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply: replace a cgroup's whole policy atomically.
 *
 * The new policy is built in the inactive slot (its tries, which the last
 * apply left empty; the other half of egr_rules; its own default), then the
 * generation is bumped by one, which flips the live slot (user/kgen.c). The
 * program judges a packet under one generation and judges it again if the
 * generation moved meanwhile, so the old slot can be emptied right after the
 * flip: no wait for running programs on the way. Small old slots are
 * emptied entry by entry; big ones get fresh tries (that replacement makes
 * the kernel wait for running programs, ~10 ms, small next to the fill).
 *
 * Rules that stay keep their ids, so their hit counters carry on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kstate.h"
#include "policy/compile.h"
#include "util/thread.h"

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

void kpolicy_prefetch_cancel(struct egr_prefetch *pf)
{
	if (!pf)
		return;
	helper_wait(&pf->job);
	free(pf->live);
	free(pf);
}

/* Give every compiled rule an id: kept from the live policy when the same
 * rule is in force, else the lowest unused. Fills the free stack. Takes
 * ownership of live.
 */
static int assign_ids(struct egr_kstate *ks, struct egr_compiled *c, struct egr_crule *live,
		      size_t nl, uint32_t **fresh, uint32_t *nfresh, uint32_t **freestack)
{
	uint32_t cap = ks->meta.max_rules, next = 0, hi = 0, i, f, k = 0, nf = 0;
	uint8_t *used = NULL, *was = NULL;
	size_t j = 0, bound = nl + c->nrules + 1;
	int err = -ENOMEM;

	/* Ids go below the live ones' top or nl + nrules: at most that many
	 * are taken when the next is chosen. The capacity can be 1000 times
	 * more, and all of it would be touched.
	 */
	for (j = 0; j < nl; j++)
		if (live[j].r.id < cap && live[j].r.id >= bound)
			bound = live[j].r.id + 1;
	if (bound > cap)
		bound = cap;
	used = calloc(bound, 1);
	was = calloc(bound, 1);
	*fresh = calloc(c->nrules ? c->nrules : 1, sizeof(uint32_t));
	*freestack = calloc(bound, sizeof(uint32_t));
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

				while (j < nl && (cmp = compile_rule_cmp(&live[j].dest, &live[j].r,
									 &cp->dest, x)) < 0)
					j++;
				if (j < nl && !cmp && live[j].r.id < cap && !used[live[j].r.id]) {
					x->id = live[j].r.id;
					used[x->id] = 1;
					if (x->id >= hi)
						hi = x->id + 1;
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
		while (next < bound && (used[next] || was[next]))
			next++;
		if (next == bound) {
			next = 0;
			memset(was, 0, bound);
			while (used[next])
				next++;
		}
		c->rules[i].id = next;
		used[next] = 1;
		if (next >= hi)
			hi = next + 1;
		(*fresh)[nf++] = next;
	}
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
	err = kstate_update_many(ks->hits_fd, ids, z, n, sizeof(uint32_t),
				 ks->ncpus * sizeof(uint64_t));
	free(z);
	return err;
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

struct fill_job {
	struct egr_kstate *ks;
	const struct egr_compiled *c;
	uint32_t base;
	int what; /* FILL_RULES, FILL_HITS, or a trie: FILL_TRIE + family * shards + shard */
	int fd;
	const uint32_t *ids; /* FILL_HITS: the fresh rule ids */
	uint32_t nids;
	int err;
	pthread_t thread;
};

enum {
	FILL_RULES,
	FILL_HITS,
	FILL_TRIE
};

/* Put one family's compiled prefixes of one shard into its trie. */
static int fill_trie(const struct fill_job *j, int family, uint32_t shard)
{
	size_t ksz = egr_key_size(family), n = j->c->npfx[family], i, m = 0;
	uint8_t *k = calloc(n ? n : 1, ksz);
	struct egr_prefix *v = calloc(n ? n : 1, sizeof(*v));
	int err = -ENOMEM;

	if (k && v) {
		for (i = 0; i < n; i++) {
			const struct egr_cprefix *cp = &j->c->pfx[family][i];

			if (!egr_in_shard(&cp->dest, shard))
				continue;
			egr_make_key(&cp->dest, k + m * ksz);
			v[m].first = j->base + cp->first;
			v[m].count = cp->count;
			v[m].plen = cp->dest.plen;
			m++;
		}
		err = kstate_update_many(j->fd, k, v, m, ksz, sizeof(*v));
	}
	free(k);
	free(v);
	return err;
}

/* The rules into the slot's half of egr_rules. */
static int fill_rules(const struct fill_job *j)
{
	uint32_t *keys = calloc(j->c->nrules ? j->c->nrules : 1, sizeof(uint32_t)), i;
	int err;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < j->c->nrules; i++)
		keys[i] = j->base + i;
	err = kstate_update_many(j->ks->rules_fd, keys, j->c->rules, j->c->nrules, sizeof(uint32_t),
				 sizeof(struct egr_rule));
	free(keys);
	return err;
}

static void *fill_one(void *arg)
{
	struct fill_job *j = arg;
	int t = j->what - FILL_TRIE;

	if (j->what == FILL_RULES)
		j->err = fill_rules(j);
	else if (j->what == FILL_HITS)
		j->err = zero_hits(j->ks, j->ids, j->nids);
	else
		j->err = fill_trie(j, t / EGR_SHARDS, t % EGR_SHARDS);
	return NULL;
}

/* From this many rules, one thread per job; below, the jobs are shared
 * between this thread and one more (a thread costs ~50 us, an update ~1 us).
 */
#define FILL_THREAD_MIN 4096
#define FILL_PAIR_MIN 256
#define NJOBS (FILL_TRIE + 2 * EGR_SHARDS)

struct fill_group {
	struct fill_job *j[NJOBS];
	int n;
	uint64_t load;
	struct helper_job job;
};

static void *fill_group(void *arg)
{
	struct fill_group *g = arg;
	int x;

	for (x = 0; x < g->n; x++)
		fill_one(g->j[x]);
	return NULL;
}

/* Roughly what each job costs: a trie insert allocates and takes ~1 us
 * here, an array write ~0.1 us.
 */
static void job_weights(const struct egr_compiled *c, uint32_t nfresh, uint64_t *w)
{
	uint32_t f, i, s;

	memset(w, 0, NJOBS * sizeof(*w));
	w[FILL_RULES] = c->nrules;
	w[FILL_HITS] = nfresh;
	for (f = 0; f < 2; f++)
		for (i = 0; i < c->npfx[f]; i++) {
			const struct egr_cprefix *cp = &c->pfx[f][i];

			for (s = 0; s < EGR_SHARDS; s++)
				if (egr_in_shard(&cp->dest, s))
					w[FILL_TRIE + f * EGR_SHARDS + s] += 10;
		}
}

/* Two groups of about equal weight (heaviest job first to the lighter
 * group); group 1 goes to a helper thread.
 */
static void fill_pair(struct fill_job *j, const uint64_t *w, struct fill_group *g)
{
	bool done[NJOBS] = { false };
	int x, k;

	for (k = 0; k < NJOBS; k++) {
		int best = -1;
		struct fill_group *to;

		for (x = 0; x < NJOBS; x++)
			if (!done[x] && (best < 0 || w[x] > w[best]))
				best = x;
		done[best] = true;
		to = &g[g[1].load < g[0].load];
		to->j[to->n++] = &j[best];
		to->load += w[best];
	}
	helper_run(&g[1].job, fill_group, &g[1]);
}

/* Write everything the new slot needs before the flip: its half of
 * egr_rules, zeroed hit counters for the fresh rule ids, and its tries.
 * The tries take one lock per update each, so they fill in parallel where
 * one could not.
 */
static int fill_slot(struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
		     const struct egr_tries *t, const uint32_t *fresh, uint32_t nfresh)
{
	bool threads = c->nrules >= FILL_THREAD_MIN, started[NJOBS] = { false }, pair = false;
	struct fill_group g[2] = { 0 };
	struct fill_job j[NJOBS];
	uint64_t w[NJOBS];
	int err = 0, x;

	for (x = 0; x < NJOBS; x++) {
		int tr = x - FILL_TRIE;

		j[x] = (struct fill_job){ .ks = ks,
					  .c = c,
					  .base = slot * ks->meta.max_rules,
					  .what = x,
					  .ids = fresh,
					  .nids = nfresh,
					  .fd = -1 };
		if (tr >= 0)
			j[x].fd = t->fd[tr / EGR_SHARDS][tr % EGR_SHARDS];
		if (threads)
			started[x] = !pthread_create(&j[x].thread, NULL, fill_one, &j[x]);
	}
	if (!threads && c->nrules >= FILL_PAIR_MIN && helpers()) {
		job_weights(c, nfresh, w);
		fill_pair(j, w, g);
		fill_group(&g[0]);
		helper_wait(&g[1].job);
		pair = true;
	}
	for (x = 0; x < NJOBS; x++) {
		if (started[x])
			pthread_join(j[x].thread, NULL);
		else if (!pair)
			fill_one(&j[x]);
		if (!err)
			err = j[x].err;
	}
	return err;
}

/* The inactive slot's tries, empty. The last apply left them empty; after
 * an interrupted change they may hold entries, then fresh tries replace
 * them (nothing reads the inactive slot, so this changes no verdict).
 */
static int inactive_tries(struct egr_kstate *ks, uint32_t slot, struct egr_tries *t)
{
	int err = ktries_open(ks, slot, t);

	if (!err)
		err = ktries_empty(t);
	if (err == 1)
		return 0;
	ktries_close(t);
	if (err)
		return err;
	err = ktries_create(ks->meta.max_rules, t);
	return err ? err : ktries_install(ks, slot, t);
}

/* Delete every entry of a trie: collect the keys, then one batch. */
static int clear_trie(int fd, size_t ksz, uint32_t hint)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t cap = hint ? hint : 64, n = 0, i;
	uint8_t *keys = malloc(cap * ksz), *tmp;
	uint32_t cnt;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, n ? keys + (n - 1) * ksz : NULL, keys + n * ksz)) {
		if (++n == cap) {
			tmp = realloc(keys, 2 * cap * ksz);
			if (!tmp) {
				err = -ENOMEM;
				goto out;
			}
			keys = tmp;
			cap *= 2;
		}
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	cnt = n;
	if (n && bpf_map_delete_batch(fd, keys, &cnt, &opts)) {
		if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP) {
			err = -errno;
			goto out;
		}
		for (i = 0; i < n; i++)
			if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT) {
				err = -errno;
				goto out;
			}
	}
out:
	free(keys);
	return err;
}

/* Above this many entries, replacing the old slot's tries (one wait for
 * running programs per family, ~10 ms) is cheaper than deleting entries.
 */
#define CLEAR_INPLACE_MAX 65536

/* The old slot's trie keys, per family and shard, known from the live rules
 * read before the change: emptying the slot then needs no walk of the tries.
 */
struct old_keys {
	uint8_t *k[2][EGR_SHARDS];
	uint32_t n[2][EGR_SHARDS];
};

static int old_keys_of(const struct egr_crule *live, size_t nl, struct old_keys *o)
{
	size_t i;
	int f, sh;

	memset(o, 0, sizeof(*o));
	for (f = 0; f < 2; f++)
		for (sh = 0; sh < EGR_SHARDS; sh++) {
			o->k[f][sh] = malloc((nl ? nl : 1) * egr_key_size(f));
			if (!o->k[f][sh])
				return -ENOMEM;
		}
	for (i = 0; i < nl; i++) {
		const struct egr_dest *d = &live[i].dest;

		if (i && !memcmp(d, &live[i - 1].dest, sizeof(*d)))
			continue; /* rules of one prefix are adjacent */
		f = d->family == 6;
		for (sh = 0; sh < EGR_SHARDS; sh++) {
			if (!egr_in_shard(d, sh))
				continue;
			egr_make_key(d, o->k[f][sh] + o->n[f][sh] * egr_key_size(f));
			o->n[f][sh]++;
		}
	}
	return 0;
}

static void old_keys_free(struct old_keys *o)
{
	int f, sh;

	for (f = 0; f < 2; f++)
		for (sh = 0; sh < EGR_SHARDS; sh++)
			free(o->k[f][sh]);
}

struct swap_job {
	const struct egr_kstate *ks;
	const struct egr_tries *t;
	uint32_t slot;
	int family, err;
	pthread_t thread;
};

static void *swap_family(void *arg)
{
	struct swap_job *j = arg;

	j->err = ktries_install_family(j->ks, j->family, &j->slot, j->t, 1);
	return NULL;
}

/* Delete the known keys in one batch; then the trie must be empty, else
 * (bookkeeping out of step) it is emptied by walking it.
 */
static int delete_keys(int fd, size_t ksz, const uint8_t *keys, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint8_t first[sizeof(struct egr_lpm_v6)];
	uint32_t cnt = n;

	if (n && bpf_map_delete_batch(fd, keys, &cnt, &opts) && errno != ENOENT)
		return clear_trie(fd, ksz, n + 1);
	if (!bpf_map_get_next_key(fd, NULL, first))
		return clear_trie(fd, ksz, n + 1);
	return errno == ENOENT ? 0 : -errno;
}

/* Empty slot's tries after the flip; npfx: their entries, per family;
 * old: their keys, if known.
 */
static int empty_slot(struct egr_kstate *ks, uint32_t slot, const uint32_t npfx[2],
		      const struct old_keys *old)
{
	struct egr_tries t;
	int f, sh, err;

	/* (the next apply checks it is empty, as always) */
	if (!npfx[0] && !npfx[1])
		return 0;
	if (npfx[0] + npfx[1] > CLEAR_INPLACE_MAX) {
		/* Fresh tries; the two families' installs wait for their
		 * grace periods at the same time.
		 */
		struct swap_job j[2];
		bool threaded;

		err = ktries_create(ks->meta.max_rules, &t);
		if (err)
			return err;
		for (f = 0; f < 2; f++)
			j[f] = (struct swap_job){ .ks = ks, .t = &t, .slot = slot, .family = f };
		threaded = !pthread_create(&j[1].thread, NULL, swap_family, &j[1]);
		swap_family(&j[0]);
		if (threaded)
			pthread_join(j[1].thread, NULL);
		else
			swap_family(&j[1]);
		ktries_close(&t);
		return j[0].err ? j[0].err : j[1].err;
	}
	err = ktries_open(ks, slot, &t);
	for (f = 0; f < 2 && !err; f++) {
		size_t ksz = egr_key_size(f);

		for (sh = 0; sh < EGR_SHARDS && !err; sh++) {
			if (old && old->k[f][sh])
				err = delete_keys(t.fd[f][sh], ksz, old->k[f][sh], old->n[f][sh]);
			else
				err = clear_trie(t.fd[f][sh], ksz, npfx[f] + 1);
		}
	}
	ktries_close(&t);
	return err;
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

int kpolicy_apply(struct egr_kstate *ks, const struct egr_policy *p, char *err, size_t errlen)
{
	return kpolicy_apply_prefetched(ks, p, NULL, err, errlen);
}

int kpolicy_apply_prefetched(struct egr_kstate *ks, const struct egr_policy *p,
			     struct egr_prefetch *pf, char *err, size_t errlen)
{
	uint32_t cap = ks->meta.max_rules, old, slot, k, nfresh = 0;
	struct egr_crule *live = NULL;
	size_t nlive = 0;
	uint32_t *fresh = NULL, *freestack = NULL, *fkeys = NULL;
	struct egr_compiled c;
	struct egr_ctl cfg;
	uint32_t old_pfx[2];
	struct old_keys okeys = { 0 };
	uint64_t fhash, old_fhash;
	uint32_t old_nfree;
	struct save_job sj;
	struct egr_tries tries;
	int ret;
	const char *what = "reading the policy";

	ktries_init(&tries);
	if (pf) {
		helper_wait(&pf->job);
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
	old_pfx[0] = ks->meta.nprefix[0];
	old_pfx[1] = ks->meta.nprefix[1];

	/* Nothing below is visible to packets until the flip. */
	what = "building the new policy";
	if (old_pfx[0] + old_pfx[1] <= CLEAR_INPLACE_MAX) {
		ret = old_keys_of(live, nlive, &okeys);
		if (ret)
			goto fail;
	}
	old_fhash = ks->meta.free_hash;
	old_nfree = ks->meta.nfree;
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
	ret = inactive_tries(ks, slot, &tries);
	if (ret)
		goto fail;
	ret = fill_slot(ks, &c, slot, &tries, fresh, nfresh);
	if (ret)
		goto fail;
	cfg.slot = 0;
	cfg.dflt = c.dflt;
	cfg.flags = c.audit ? cfg.flags | EGR_SF_AUDIT : cfg.flags & ~EGR_SF_AUDIT;
	cfg.generation = 0;
	k = 1 + slot;
	if (bpf_map_update_elem(ks->ctl_fd, &k, &cfg, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	/* The free-id stack: rewritten only if it is not what is there. */
	fhash = free_hash(freestack, ks->meta.nfree);
	if (fhash != old_fhash || ks->meta.nfree != old_nfree) {
		fkeys = calloc(ks->meta.nfree ? ks->meta.nfree : 1, sizeof(uint32_t));
		if (!fkeys) {
			ret = -ENOMEM;
			goto fail;
		}
		for (k = 0; k < ks->meta.nfree; k++)
			fkeys[k] = k;
		ret = kstate_update_many(ks->free_fd, fkeys, freestack, ks->meta.nfree,
					 sizeof(uint32_t), sizeof(uint32_t));
		if (ret)
			goto fail;
	}
	ks->meta.free_hash = fhash;
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
	ret = kstate_gen_bump(ks, true);
	if (ret)
		goto fail;

	/* A packet still judged on the old slot sees the generation move
	 * and is judged again on the new one: the old slot may be emptied.
	 */
	what = "releasing the old policy";
	/* The id cache for the next apply is written meanwhile (a stale one
	 * is never used: it names the generation now in force).
	 */
	sj = (struct save_job){ .ks = ks, .c = &c };
	helper_run(&sj.job, save_ids, &sj);
	ret = empty_slot(ks, old, old_pfx, &okeys);
	helper_wait(&sj.job);
	if (ret)
		goto fail;
	ks->meta.used[old] = 0;
	ks->meta.dirty = 0;
	k = 0;
	if (bpf_map_update_elem(ks->meta_fd, &k, &ks->meta, BPF_ANY)) {
		ret = -errno;
		goto fail;
	}
	goto out;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(-ret));
out:
	ktries_close(&tries);
	free(live);
	old_keys_free(&okeys);
	free(fresh);
	free(freestack);
	free(fkeys);
	compiled_free(&c);
	return ret;
}
