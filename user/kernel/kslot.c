// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The slots of a policy, for apply (user/kernel/kapply.c): the inactive
 * slot filled with a compiled policy before the flip, in parallel where it
 * pays, and the old slot emptied after it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kernel/kmap.h"
#include "kernel/kslot.h"
#include "kernel/ktries.h"
#include "util/thread.h"

static int zero_hits(const struct egr_kstate *ks, const uint32_t *ids, uint32_t n)
{
	uint64_t *z = calloc((size_t)(n ? n : 1) * ks->ncpus, sizeof(uint64_t));
	int err;

	if (!z)
		return -ENOMEM;
	err = kmap_update_many(ks->hits_fd, ids, z, n, sizeof(uint32_t),
			       ks->ncpus * sizeof(uint64_t));
	free(z);
	return err;
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
		err = kmap_update_many(j->fd, k, v, m, ksz, sizeof(*v));
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
	err = kmap_update_many(j->ks->rules_fd, keys, j->c->rules, j->c->nrules, sizeof(uint32_t),
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

/* The jobs (kslot.h) in threads, or shared by this thread and a helper, or
 * here: the tries take one lock per update each, so they fill in parallel
 * where one could not.
 */
int kslot_fill(struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
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

int kslot_inactive(struct egr_kstate *ks, uint32_t slot, struct egr_tries *t)
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

int kslot_keys_of(const struct egr_crule *live, size_t nl, struct kslot_keys *o)
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
		if (d->family != 4 && d->family != 6)
			continue; /* names: kapply.c */
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

void kslot_keys_free(struct kslot_keys *o)
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
int kslot_empty(struct egr_kstate *ks, uint32_t slot, const uint32_t npfx[2],
		const struct kslot_keys *old)
{
	struct egr_tries t;
	int f, sh, err;

	/* (the next apply checks it is empty, as always) */
	if (!npfx[0] && !npfx[1])
		return 0;
	if (npfx[0] + npfx[1] > KSLOT_CLEAR_INPLACE_MAX) {
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
