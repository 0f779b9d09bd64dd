// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain: the program's walk, from userspace, on the maps in force (see
 * kexplain.h). walk() follows judge() and walk_step() of
 * bpf/egressctl.bpf.c step by step; tests/bpf/test_explain.c holds the two
 * against each other on random policies and packets.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kernel/kexplain.h"
#include "kernel/kgen.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/ktries.h"
#include "policy/compile.h"

#define KX_TRIES 8 /* attempts while the generation keeps moving */

/* The trie entry for the longest prefix of length <= plen holding dst: 1
 * found (*pv), 0 none, or -errno.
 */
static int lookup(const struct egr_kstate *ks, struct egr_tries *t, uint32_t slot,
		  const struct kx_pkt *p, uint32_t plen, struct egr_prefix *pv)
{
	uint8_t key[sizeof(struct egr_lpm_v6)];
	int f = p->family == 6, fd = ktries_fd(ks, slot, f, EGR_SHARD_OF(p->dst[0]), t);

	if (fd < 0)
		return fd;
	memcpy(key, &plen, sizeof(plen));
	memcpy(key + sizeof(plen), p->dst, f ? 16 : 4);
	if (!bpf_map_lookup_elem(fd, key, pv))
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* A prefix entry's own destination (its plen bits of dst). */
static void entry_dest(const struct kx_pkt *p, const struct egr_prefix *pv, struct egr_dest *d)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->family = p->family;
	d->plen = pv->plen;
	for (i = 0; i < pv->plen / 8u; i++)
		d->addr[i] = p->dst[i];
	if (pv->plen % 8)
		d->addr[i] = p->dst[i] & (uint8_t)(0xff << (8 - pv->plen % 8));
}

static int rule_at(const struct egr_kstate *ks, uint32_t idx, struct egr_rule *r)
{
	return bpf_map_lookup_elem(ks->rules_fd, &idx, r) ? -errno : 0;
}

/* What DNS answers taught about p's destination (egr_learn): 1 and *v,
 * 0 when nothing, or -errno.
 */
static int learned_of(const struct egr_kstate *ks, const struct kx_pkt *p, struct egr_learned *v)
{
	struct egr_learn_key key = { .family = p->family };

	memcpy(key.addr, p->dst, 16);
	if (bpf_map_lookup_elem_flags(ks->learn_fd, &key, v, BPF_F_LOCK))
		return errno == ENOENT ? 0 : -errno;
	return 1;
}

/* The name rule id of slot in force: its destination (the name) into d. */
static int name_of(const struct egr_kstate *ks, uint32_t slot, uint32_t id, struct egr_dest *d)
{
	struct kname_ent *e;
	struct egr_rule kr;
	size_t n, i;
	uint32_t j;
	int ret = knames_read(ks, slot, &e, &n);

	for (i = 0; !ret && i < n; i++)
		for (j = 0; !ret && j < e[i].pv.count; j++) {
			ret = rule_at(ks, e[i].pv.first + j, &kr);
			if (!ret && kr.id == id) {
				*d = e[i].dest;
				free(e);
				return 0;
			}
		}
	free(e);
	return ret ? ret : -ENOENT;
}

/* After a default deny in a slot with name rules: does an address a DNS
 * answer taught a rule in force allow p (egr_judge_learned() of the
 * program)? Sets r then. 0, 1 when a live edit went by (judge again), or
 * -errno.
 */
static int learned(const struct egr_kstate *ks, const struct kx_pkt *p, uint32_t slot,
		   struct kx_result *r)
{
	struct egr_learned v;
	uint64_t now = klearn_now();
	uint32_t i, inc;
	int ret = learned_of(ks, p, &v);

	if (ret <= 0)
		return ret;
	for (i = 0; i < EGR_LEARN_REFS; i++) {
		const struct egr_lref *l = &v.ref[i];
		struct egr_rule kr = { .action = EGR_ALLOW, .proto = l->proto, .flags = l->flags,
				       .port_lo = l->port_lo, .port_hi = l->port_hi, .id = l->id };
		struct egr_dest d;

		if (!l->inc || l->expires <= now || l->id >= ks->meta.max_rules ||
		    !compile_rule_matches(&kr, p->proto, p->flags, p->dport))
			continue;
		ret = knlive_get(ks, slot, l->id, &inc);
		if (ret == -ENOENT || (!ret && inc != l->inc))
			continue;
		if (!ret)
			ret = name_of(ks, slot, l->id, &d);
		if (ret == -ENOENT)
			return 1; /* a live edit went by: judge again (walk()'s caller) */
		if (ret)
			return ret;
		r->reason = KX_LEARNED;
		r->verdict = EGR_ALLOW;
		r->rule_id = l->id;
		r->left_ms = (l->expires - now) / 1000000;
		krule_to_urule(&kr, &d, &r->rule);
		return 0;
	}
	return 0;
}

/* One judgement under the generation read first (judge() of the program):
 * 0, 1 when the generation moved under it, or -errno.
 */
static int walk(const struct egr_kstate *ks, const struct kx_pkt *p, struct kx_result *r)
{
	struct egr_tries t;
	struct egr_prefix pv;
	struct egr_ctl cfg;
	uint32_t plen = p->family == 4 ? 32 : 128, step, j, k;
	uint64_t gen;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = kgen_read(ks, &gen);
	if (ret)
		return ret;
	r->generation = gen;
	r->reason = KX_DEFAULT;
	ktries_init(&t);
	for (step = 0; step < EGR_MAX_WALK; step++) {
		ret = lookup(ks, &t, gen & 1, p, plen, &pv);
		if (ret <= 0)
			break;
		ret = 0;
		for (j = 0; j < pv.count && j < EGR_MAX_PREFIX_RULES; j++) {
			struct egr_rule kr;
			struct egr_dest d;

			ret = rule_at(ks, pv.first + j, &kr);
			if (ret)
				break;
			if (!compile_rule_matches(&kr, p->proto, p->flags, p->dport))
				continue;
			entry_dest(p, &pv, &d);
			r->reason = KX_RULE;
			r->verdict = kr.action;
			r->rule_id = kr.id;
			krule_to_urule(&kr, &d, &r->rule);
			break;
		}
		if (ret || r->reason == KX_RULE || !pv.plen)
			break;
		plen = pv.plen - 1;
	}
	ktries_close(&t);
	if (ret < 0)
		return ret;
	k = 1 + (gen & 1);
	if (bpf_map_lookup_elem(ks->ctl_fd, &k, &cfg))
		return -errno;
	if (r->reason == KX_DEFAULT)
		r->verdict = cfg.dflt;
	if (r->reason == KX_DEFAULT && cfg.dflt == EGR_DENY && (cfg.flags & EGR_SF_NAMES)) {
		ret = learned(ks, p, gen & 1, r);
		if (ret)
			return ret;
	}
	r->audit = cfg.flags & EGR_SF_AUDIT;
	ret = kgen_read(ks, &r->generation);
	if (ret)
		return ret;
	return r->generation != gen;
}

static int rule_hits(const struct egr_kstate *ks, uint32_t id, uint64_t *hits)
{
	uint64_t *v = calloc(ks->ncpus, sizeof(*v));
	int c, ret = 0;

	if (!v)
		return -ENOMEM;
	*hits = 0;
	if (bpf_map_lookup_elem(ks->hits_fd, &id, v))
		ret = -errno;
	for (c = 0; !ret && c < ks->ncpus; c++)
		*hits += v[c];
	free(v);
	return ret;
}

/* ::ffff:a.b.c.d as a.b.c.d (unmap_v4mapped() of the program). */
static void unmap(struct kx_pkt *p)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (p->family != 6 || memcmp(p->dst, pre, sizeof(pre)))
		return;
	p->family = 4;
	memmove(p->dst, p->dst + 12, 4);
	memset(p->dst + 4, 0, 12);
}

static bool loopback(const struct kx_pkt *p)
{
	static const uint8_t one[16] = { [15] = 1 };

	return p->family == 4 ? p->dst[0] == 127 : !memcmp(p->dst, one, 16);
}

int kexplain(const struct egr_kstate *ks, const struct kx_pkt *in, struct kx_result *r)
{
	struct kx_pkt p = *in;
	int i, ret;

	unmap(&p);
	memset(r, 0, sizeof(*r));
	if (loopback(&p)) {
		r->reason = KX_LOOPBACK;
		r->verdict = EGR_ALLOW;
		return kgen_read(ks, &r->generation);
	}
	if (p.inbound && p.proto == IPPROTO_TCP && !(p.flags & (EGR_PKT_PROTO_UNKNOWN |
								 EGR_PKT_PORTS_UNKNOWN))) {
		r->reason = KX_INBOUND;
		r->verdict = EGR_ALLOW;
		return kgen_read(ks, &r->generation);
	}
	for (i = 0; i < KX_TRIES; i++) {
		ret = walk(ks, &p, r);
		if (ret <= 0)
			break;
	}
	if (ret > 0)
		return -EAGAIN;
	if (!ret && (r->reason == KX_RULE || r->reason == KX_LEARNED))
		ret = rule_hits(ks, r->rule_id, &r->hits);
	return ret;
}

static int chain_learned(const struct egr_kstate *ks, const struct kx_pkt *p,
			 struct egr_rule **rules, size_t *n, size_t *cap)
{
	struct egr_learned v;
	uint32_t i;
	int ret = learned_of(ks, p, &v);

	if (ret <= 0)
		return ret;
	for (i = 0; i < EGR_LEARN_REFS; i++) {
		struct egr_rule *x;

		if (!v.ref[i].inc)
			continue;
		if (*n == *cap) {
			x = realloc(*rules, (*cap = 2 * *cap + 32) * sizeof(*x));
			if (!x)
				return -ENOMEM;
			*rules = x;
		}
		x = &(*rules)[(*n)++];
		memset(x, 0, sizeof(*x));
		x->proto = v.ref[i].proto;
		x->flags = v.ref[i].flags;
		x->port_lo = v.ref[i].port_lo;
		x->port_hi = v.ref[i].port_hi;
	}
	return 0;
}

/* The rules of every prefix holding dst in the live slot (the chain the
 * walk can visit), and the references of an address DNS answers taught,
 * into *rules (their ports cut the classes).
 */
static int chain(const struct egr_kstate *ks, const struct kx_pkt *p, struct egr_rule **rules,
		 size_t *n)
{
	uint32_t plen = p->family == 4 ? 32 : 128, step, j;
	struct egr_prefix pv;
	struct egr_tries t;
	size_t cap = 0;
	uint64_t gen;
	int ret = kgen_read(ks, &gen);

	*rules = NULL;
	*n = 0;
	if (ret)
		return ret;
	ktries_init(&t);
	for (step = 0; step < EGR_MAX_WALK; step++) {
		ret = lookup(ks, &t, gen & 1, p, plen, &pv);
		if (ret <= 0)
			break;
		for (j = 0; j < pv.count && j < EGR_MAX_PREFIX_RULES; j++) {
			if (*n == cap) {
				struct egr_rule *x = realloc(*rules, (cap = 2 * cap + 32) * sizeof(*x));

				if (!x) {
					ret = -ENOMEM;
					goto out;
				}
				*rules = x;
			}
			ret = rule_at(ks, pv.first + j, &(*rules)[*n]);
			if (ret)
				goto out;
			(*n)++;
		}
		if (!pv.plen)
			break;
		plen = pv.plen - 1;
	}
	if (ret >= 0)
		ret = chain_learned(ks, p, rules, n, &cap);
out:
	ktries_close(&t);
	return ret < 0 ? ret : 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool same_outcome(const struct kx_result *a, const struct kx_result *b)
{
	return a->reason == b->reason && a->verdict == b->verdict &&
	       ((a->reason != KX_RULE && a->reason != KX_LEARNED) || a->rule_id == b->rule_id);
}

/* Add class (proto, ports lo..hi, outcome r) to *out, merged with one of
 * the same protocol and outcome.
 */
static int add_class(struct kx_class **out, size_t *n, uint8_t proto, uint32_t lo, uint32_t hi,
		     const struct kx_result *r)
{
	struct kx_class *c = NULL;
	size_t i;

	for (i = 0; i < *n && !c; i++)
		if ((*out)[i].proto == proto && same_outcome(&(*out)[i].r, r))
			c = &(*out)[i];
	if (!c) {
		struct kx_class *x = realloc(*out, (*n + 1) * sizeof(*x));

		if (!x)
			return -ENOMEM;
		*out = x;
		c = &x[(*n)++];
		memset(c, 0, sizeof(*c));
		c->proto = proto;
		c->r = *r;
	}
	if (!hi)
		return 0; /* no ports */
	if (c->nports && c->ports[c->nports - 1].hi + 1u == lo) {
		c->ports[c->nports - 1].hi = hi;
		return 0;
	}
	struct kx_range *pr = realloc(c->ports, (c->nports + 1) * sizeof(*pr));

	if (!pr)
		return -ENOMEM;
	c->ports = pr;
	pr[c->nports].lo = lo;
	pr[c->nports++].hi = hi;
	return 0;
}

/* The classes of one protocol: ports cut at every rule edge (TCP, UDP). */
static int classes_of(const struct egr_kstate *ks, const struct kx_pkt *dst, uint8_t proto,
		      const struct egr_rule *rules, size_t nr, struct kx_class **out, size_t *n)
{
	struct kx_pkt p = *dst;
	struct kx_result r;
	uint32_t *cut, ncut = 0, i;
	bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP;
	int ret = 0;

	p.proto = proto;
	p.flags = 0;
	if (!ports) {
		p.dport = 0;
		ret = kexplain(ks, &p, &r);
		return ret ? ret : add_class(out, n, proto, 0, 0, &r);
	}
	cut = calloc(2 * nr + 1, sizeof(*cut));
	if (!cut)
		return -ENOMEM;
	cut[ncut++] = 1;
	for (i = 0; i < nr; i++) {
		if (rules[i].proto != proto || !(rules[i].flags & EGR_RF_PORTS))
			continue;
		cut[ncut++] = rules[i].port_lo;
		if (rules[i].port_hi < 65535)
			cut[ncut++] = rules[i].port_hi + 1u;
	}
	qsort(cut, ncut, sizeof(*cut), cmp_u32);
	for (i = 0; i < ncut && !ret; i++) {
		uint32_t hi = i + 1 < ncut ? cut[i + 1] - 1 : 65535;

		if (i + 1 < ncut && cut[i + 1] == cut[i])
			continue;
		p.dport = cut[i];
		ret = kexplain(ks, &p, &r);
		if (!ret)
			ret = add_class(out, n, proto, cut[i], hi, &r);
	}
	free(cut);
	return ret;
}

int kexplain_all(const struct egr_kstate *ks, const struct kx_pkt *dst, struct kx_class **out,
		 size_t *n)
{
	struct kx_pkt p = *dst;
	struct egr_rule *rules = NULL;
	uint64_t g0, g1;
	size_t nr;
	int i, ret = 0;

	unmap(&p);
	for (i = 0; i < KX_TRIES; i++) {
		const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					   p.family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 0 };
		size_t k;

		*out = NULL;
		*n = 0;
		ret = kgen_read(ks, &g0);
		if (!ret)
			ret = chain(ks, &p, &rules, &nr);
		for (k = 0; !ret && k < sizeof(protos); k++)
			ret = classes_of(ks, &p, protos[k], rules, nr, out, n);
		free(rules);
		rules = NULL;
		if (!ret)
			ret = kgen_read(ks, &g1);
		if (ret || g0 == g1)
			break;
		kexplain_free(*out, *n); /* changed meanwhile: again */
		ret = -EAGAIN;
	}
	if (ret) {
		kexplain_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

void kexplain_free(struct kx_class *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++)
		free(c[i].ports);
	free(c);
}
