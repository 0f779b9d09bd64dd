// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Growing an attached cgroup's capacity by swapping in a bigger instance
 * (see kgrow.h). In order:
 *
 *   1. load the new instance (kstate_load_ex(): the old one's load flags;
 *      egr_sk, egr_stats, egr_events, egr_evcfg, egr_comm, egr_audit
 *      shared), its generation above the old one (the sockets' verdict
 *      caches in the shared egr_sk are tagged with generations: a tag of
 *      the old instance must never match one of the new);
 *   2. apply the policy in force with its rule ids (kpolicy_prefetch_of()):
 *      the same rules and ids;
 *   3. pin it in EGR_PIN_ROOT/tmp-<cgid>-<pid> with the cgroup's links,
 *      marked EGR_MF_SWAP, copy the hit counters, and exchange that
 *      directory with the cgroup's (renameat2(RENAME_EXCHANGE): one step;
 *      commands from here on see and edit the new instance);
 *   4. point every link at the new programs (kstate_finish_swap(): one
 *      bpf_link_update() per link), wait for the old programs to finish;
 *   5. add the hits counted by the old instance since the copy (a
 *      read-modify-write of the new counter: a packet the new instance
 *      counts on the same rule in those microseconds can be missed), clear
 *      the mark, remove the old instance's pins.
 *
 * Killed before 3, the old instance stays, whole, and the temporary
 * directory is removed by the next attach or growth (kstate_clean_stale()). Killed between 3 and 4, the
 * links still run the old instance (the same policy): the next command
 * that opens the pins finishes 4 (kstate_open()), the next change clears
 * the mark (kpolicy_recover()). Killed after 4, only pins are left over.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "kernel/idcache.h"
#include "kernel/kgen.h"
#include "kernel/kgrow.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/pindir.h"
#include "policy/addr.h"
#include "policy/compile.h"
#include "policy/name.h"
#include "util/err.h"

/* Test hook: EGRESSCTL_TEST_GROW_STOP=exchanged (or =linked) kills this
 * process right after that step (tests/e2e/18_grow.sh).
 */
static void test_stop(const char *step)
{
	pindir_test_stop("EGRESSCTL_TEST_GROW_STOP", step);
}

uint32_t kgrow_capacity(uint32_t cap, size_t need)
{
	uint64_t c = 2ull * cap, p = EGR_MIN_MAX_RULES;

	if (need > EGR_MAX_MAX_RULES)
		return 0;
	while (p < need)
		p *= 2;
	if (p > c)
		c = p;
	return c > EGR_MAX_MAX_RULES ? EGR_MAX_MAX_RULES : (uint32_t)c;
}

/* The per-CPU hit counters of ids [0, n) of a hits map, into v (n * ncpus). */
static int read_hits(int fd, uint32_t n, int ncpus, uint64_t *v)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t *keys = calloc(n ? n : 1, sizeof(*keys)), done = 0, out = 0, i;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (done < n && !err) {
		uint32_t cnt = n - done;

		if (bpf_map_lookup_batch(fd, done ? &out : NULL, &out, keys + done,
					 v + (size_t)done * ncpus, &cnt, &o) &&
		    errno != ENOENT)
			err = -errno;
		if (!cnt)
			break;
		done += cnt;
	}
	/* an array's batch gives ids 0, 1, ... in order; fall back if not */
	for (i = 0; !err && i < n; i++)
		if (i >= done || keys[i] != i)
			err = bpf_map_lookup_elem(fd, &i, v + (size_t)i * ncpus) ? -errno : 0;
	free(keys);
	return err;
}

static int write_hits(int fd, uint32_t n, int ncpus, const uint64_t *v)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &i, v + (size_t)i * ncpus, BPF_ANY))
			return -errno;
	return 0;
}

/* The live rules of ks with their ids, for the new instance's apply. */
static int live_crules(const struct egr_kstate *ks, struct egr_policy *pol,
		       struct egr_crule **out, size_t *n)
{
	struct egr_live_rule *lr;
	struct egr_crule *x;
	size_t i;
	int err = kpolicy_read_ex(ks, pol, &lr, n, false);

	if (err)
		return err;
	x = calloc(*n ? *n : 1, sizeof(*x));
	if (!x) {
		free(lr);
		policy_free(pol);
		return -ENOMEM;
	}
	for (i = 0; i < *n; i++) {
		x[i].dest = lr[i].rule.dest;
		x[i].r = lr[i].krule;
	}
	free(lr);
	*out = x;
	return 0;
}

struct grow {
	struct egr_kstate *ks; /* the old instance, pins open */
	struct egressctl_bpf *skel;
	struct egr_kstate nks; /* the new one */
	uint32_t nhits;	       /* ids in use in the old one: [0, nhits) */
	uint64_t *hits;	       /* their hits at the copy */
	char tmp[160];
	const char *what;
};

/* The ids of the name rules among live (the rules in force). */
static uint32_t *name_ids(const struct egr_crule *live, size_t n, size_t *nn)
{
	uint32_t *ids = calloc(n ? n : 1, sizeof(*ids));
	size_t i;

	*nn = 0;
	for (i = 0; ids && i < n; i++)
		if (dest_is_name(&live[i].dest))
			ids[(*nn)++] = live[i].r.id;
	return ids;
}

/* What DNS answers taught the old instance stays in force in the new one:
 * egr_learn, egr_lring and egr_dnsq are shared (kstate_load_ex()), and
 * their entries and the sockets' grants name rules by (id, incarnation).
 * The ids are the same; the incarnations are carried over here, with the
 * counter that hands them out and the ring's head (moved on by a margin:
 * the old instance may still take a few ring slots until the swap).
 */
static int carry_names(struct grow *g, const uint32_t *ids, size_t n)
{
	struct egr_ctl oc, nc, o0, n0;
	uint32_t k0 = 0, inc;
	size_t i;
	int ret = kgen_slot_cfg(g->ks, &oc);

	if (!ret)
		ret = kgen_slot_cfg(&g->nks, &nc);
	for (i = 0; !ret && i < n; i++) {
		ret = knlive_get(g->ks, oc.slot, ids[i], &inc);
		if (!ret && inc)
			ret = knlive_set(&g->nks, nc.slot, ids[i], inc);
	}
	if (ret)
		return ret;
	if (bpf_map_lookup_elem(g->ks->ctl_fd, &k0, &o0) ||
	    bpf_map_lookup_elem(g->nks.ctl_fd, &k0, &n0))
		return -errno;
	n0.lhead = o0.lhead + EGR_DNSQ_MAX;
	n0.learn = o0.learn + 1;
	if (bpf_map_update_elem(g->nks.ctl_fd, &k0, &n0, BPF_ANY))
		return -errno;
	if (g->nks.meta.next_inc < g->ks->meta.next_inc)
		g->nks.meta.next_inc = g->ks->meta.next_inc;
	return kstate_write_meta(&g->nks);
}

/* The old instance has stopped: the new one's ring head is moved past the
 * last slot the old one took, if the margin carry_names() left was not
 * enough (best effort: a miss only evicts a learned address early).
 */
static void lhead_after(struct grow *g, const struct egr_kstate *old)
{
	struct egr_ctl o0;
	uint32_t k0 = 0;

	if (!bpf_map_lookup_elem(old->ctl_fd, &k0, &o0))
		kgen_lhead_at_least(&g->nks, o0.lhead + 1);
}

/* 1 and 2: the new instance, loaded and filled. */
static int build(struct grow *g, uint32_t cap, char *err, size_t errlen)
{
	struct egr_kstate *ks = g->ks;
	struct egr_attach_opts o = { .max_rules = cap };
	struct egr_policy pol;
	struct egr_prefetch *pf;
	struct egr_crule *live;
	uint32_t *nids = NULL;
	uint64_t gen;
	size_t n, nn = 0;
	int ret;

	g->what = "reading the policy";
	ret = ks->meta.dirty ? kpolicy_recover(ks) : 0;
	if (!ret)
		ret = kgen_read(ks, &gen);
	if (!ret)
		ret = live_crules(ks, &pol, &live, &n);
	if (ret)
		return ret;
	o.dflt = pol.dflt;
	o.audit = pol.audit;
	ret = kstate_load_ex(&o, ks->meta.path, ks->cgid, ks, &g->skel, &g->nks, err, errlen);
	if (ret) {
		g->what = NULL; /* said */
		goto out;
	}
	g->nks.meta.created = ks->meta.created;
	g->what = "filling the new instance";
	ret = kgen_publish(&g->nks, (gen | 1) + 1); /* slot 0, above every old tag */
	pf = NULL;
	if (!ret) {
		nids = name_ids(live, n, &nn);
		ret = nids ? 0 : -ENOMEM;
	}
	if (!ret) {
		pf = kpolicy_prefetch_of(live, n); /* takes live */
		live = NULL;
	}
	if (!ret && !pf)
		ret = -ENOMEM;
	if (!ret) {
		ret = kpolicy_apply_ex(&g->nks, &pol, pf, NULL, NULL, err, errlen);
		if (ret)
			g->what = NULL;
	}
	if (!ret) {
		/* also without name rules now: the learned addresses and
		 * grants of removed ones still name incarnations that a new
		 * rule must never get again
		 */
		g->what = "carrying over the learned names";
		ret = carry_names(g, nids, nn);
	}
out:
	free(nids);
	free(live);
	policy_free(&pol);
	return ret;
}

/* 3: its pins under the cgroup's name, the links with them. */
static int take_name(struct grow *g)
{
	char tag[32], path[256];
	size_t i;
	int ret;

	g->what = "pinning the new instance";
	g->nks.meta.flags |= EGR_MF_SWAP;
	g->nks.meta.dirty = 1; /* the next change checks the bookkeeping */
	ret = kstate_write_meta(&g->nks);
	snprintf(tag, sizeof(tag), "%" PRIu64, g->ks->cgid);
	if (!ret)
		ret = pindir_make_tmp(tag, g->tmp, sizeof(g->tmp));
	if (ret)
		return ret;
	ret = kstate_pin(g->skel, g->tmp);
	for (i = 0; !ret && i < KSTATE_NHOOKS; i++) {
		int lfd = pindir_open(g->ks->dir, kstate_hooks[i].link_pin);

		if (lfd == -ENOENT)
			continue; /* an interrupted attach: the next attach makes it */
		if (lfd < 0)
			return lfd;
		pindir_path(g->tmp, kstate_hooks[i].link_pin, path, sizeof(path));
		ret = bpf_obj_pin(lfd, path) ? -errno : 0;
		close(lfd);
	}
	if (ret)
		return ret;
	/* The hits as late as possible: what the old instance counts from
	 * here to the link updates is added after them (carry_hits()).
	 */
	g->what = "copying the hit counters";
	g->nhits = g->ks->meta.next_id;
	g->hits = calloc((size_t)(g->nhits ? g->nhits : 1) * g->ks->ncpus, sizeof(uint64_t));
	ret = g->hits ? read_hits(g->ks->hits_fd, g->nhits, g->ks->ncpus, g->hits) : -ENOMEM;
	if (!ret)
		ret = write_hits(g->nks.hits_fd, g->nhits, g->ks->ncpus, g->hits);
	if (ret)
		return ret;
	g->what = "swapping the pin directories";
	if (renameat2(AT_FDCWD, g->tmp, AT_FDCWD, g->ks->dir, RENAME_EXCHANGE))
		return -errno;
	return 0; /* g->tmp holds the old instance now */
}

/* Wait until no program of the old instance can still be running: an
 * update of a map-in-map returns after an RCU grace period (the kernel's
 * maybe_wait_bpf_programs()), and the programs run under RCU. The old
 * instance's first IPv4 trie is put back in its own place.
 */
static void wait_programs(const struct egr_kstate *old)
{
	uint32_t k = 0, id;
	int fd;

	if (bpf_map_lookup_elem(old->v4_fd, &k, &id))
		return;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return;
	bpf_map_update_elem(old->v4_fd, &k, &fd, BPF_ANY);
	close(fd);
}

/* 5: the hits the old instance counted since the copy, added. */
static int carry_hits(struct grow *g, int old_hits_fd)
{
	int nc = g->ks->ncpus, ret;
	size_t i, n = (size_t)g->nhits * nc;
	uint64_t *now = calloc(n ? n : 1, sizeof(*now)), *cur = calloc(nc, sizeof(*cur));
	uint32_t id;
	int c;

	ret = now && cur ? read_hits(old_hits_fd, g->nhits, nc, now) : -ENOMEM;
	for (id = 0; !ret && id < g->nhits; id++) {
		bool moved = false;

		for (c = 0; c < nc; c++) {
			i = (size_t)id * nc + c;
			moved |= now[i] != g->hits[i];
		}
		if (!moved)
			continue;
		if (bpf_map_lookup_elem(g->nks.hits_fd, &id, cur)) {
			ret = -errno;
			break;
		}
		for (c = 0; c < nc; c++) {
			i = (size_t)id * nc + c;
			cur[c] += now[i] - g->hits[i];
		}
		if (bpf_map_update_elem(g->nks.hits_fd, &id, cur, BPF_ANY))
			ret = -errno;
	}
	free(now);
	free(cur);
	return ret;
}

int kgrow(struct egr_kstate *ks, size_t need, char *err, size_t errlen)
{
	uint32_t cap = kgrow_capacity(ks->meta.max_rules, need);
	struct grow g = { .ks = ks };
	int ret, n, old_hits = -1;
	uint64_t cgid = ks->cgid;

	if (!cap) {
		seterr(err, errlen, "policy too large: %zu rules or prefixes; a target holds at most %u",
		       need, EGR_MAX_MAX_RULES);
		return -ENOSPC;
	}
	if (!ks->dir[0]) {
		seterr(err, errlen, "policy too large: %zu rules, capacity %u (not attached: cannot grow)",
		       need, ks->meta.max_rules);
		return -ENOSPC;
	}
	seterr(err, errlen, "%s", "");
	kstate_clean_stale(); /* what a growth killed before left */
	ret = build(&g, cap, err, errlen);
	if (!ret)
		ret = take_name(&g);
	if (ret) {
		if (g.tmp[0])
			pindir_remove(g.tmp, kstate_pinset());
		goto out;
	}
	/* From here the new instance has the name: it is the one in force
	 * for every command, and kstate_open() completes the swap.
	 */
	test_stop("exchanged");
	old_hits = dup(ks->hits_fd);
	g.what = "pointing the links at the new instance";
	ret = kstate_finish_swap(ks->dir, &n);
	if (!ret) {
		test_stop("linked");
		wait_programs(ks);
		/* ring slots the old instance took since carry_names() */
		lhead_after(&g, ks);
	}
	if (!ret && old_hits >= 0) {
		g.what = "carrying over the hit counters";
		ret = carry_hits(&g, old_hits);
	}
	if (!ret) {
		g.nks.meta.flags &= ~EGR_MF_SWAP;
		g.nks.meta.dirty = 0;
		ret = kstate_write_meta(&g.nks);
	}
	pindir_remove(g.tmp, kstate_pinset()); /* the old instance's pins */
	idcache_drop(cgid);
	kstate_close(ks);
	if (!ret)
		ret = kstate_open(cgid, ks);
	else
		kstate_open(cgid, ks);
out:
	if (old_hits >= 0)
		close(old_hits);
	if (ret && g.what && !err[0])
		seterr(err, errlen, "growing the capacity to %u: %s: %s", cap, g.what,
		       strerror(-ret));
	free(g.hits);
	kgen_unmap(&g.nks); /* a mapping would keep the new egr_ctl alive */
	egressctl_bpf__destroy(g.skel);
	return ret;
}

static int grow_cb(struct egr_kstate *ks, size_t need, void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	return kgrow(ks, need, err, errlen);
}

int kpolicy_apply_grow(struct egr_kstate *ks, const struct egr_policy *p,
		       struct egr_prefetch *pf, char *err, size_t errlen)
{
	return kpolicy_apply_ex(ks, p, pf, grow_cb, NULL, err, errlen);
}
