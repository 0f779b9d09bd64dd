// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy compiler: group rules by exact prefix, order each group deny-first
 * (deny wins a tie), and lay the groups out as the kernel wants them. The
 * longest-prefix fallback itself happens at run time (the walk in
 * bpf/egressctl.bpf.c), so one edit only ever touches one prefix.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile.h"

struct crule {
	struct egr_dest dest;
	struct egr_rule r;
};

static int uproto_num(enum egr_uproto p, int family)
{
	switch (p) {
	case EGR_UP_TCP:
		return IPPROTO_TCP;
	case EGR_UP_UDP:
		return IPPROTO_UDP;
	case EGR_UP_ICMP:
		return family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	default:
		return EGR_PROTO_ANY;
	}
}

static int cmp_prefix(const struct egr_dest *a, const struct egr_dest *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static int rule_specificity(const struct egr_rule *r)
{
	if (r->proto == EGR_PROTO_ANY)
		return 0;
	return r->flags & EGR_RF_PORTS ? 2 : 1;
}

int compile_rule_cmp(const struct egr_dest *da, const struct egr_rule *a,
		     const struct egr_dest *db, const struct egr_rule *b)
{
	int c = cmp_prefix(da, db);

	if (c)
		return c;
	/* Within a prefix: deny first (deny wins a tie); then the most
	 * specific first, so the first match (the rule credited with the hit)
	 * is a port rule before a protocol-only rule before an any rule.
	 */
	if (a->action != b->action)
		return a->action == EGR_DENY ? -1 : 1;
	if (rule_specificity(a) != rule_specificity(b))
		return rule_specificity(a) > rule_specificity(b) ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port_lo != b->port_lo)
		return a->port_lo < b->port_lo ? -1 : 1;
	return a->port_hi < b->port_hi ? -1 : a->port_hi > b->port_hi;
}

static int cmp_crule(const void *pa, const void *pb)
{
	const struct crule *a = pa, *b = pb;
	int c = compile_rule_cmp(&a->dest, &a->r, &b->dest, &b->r);

	if (c)
		return c;
	/* equal rules: keep the first source rule */
	return a->r.id < b->r.id ? -1 : a->r.id > b->r.id;
}

static bool crule_same(const struct crule *a, const struct crule *b)
{
	return !compile_rule_cmp(&a->dest, &a->r, &b->dest, &b->r);
}

int compile_policy(const struct egr_policy *p, struct egr_compiled *c, char *err, size_t errlen)
{
	struct crule *cr = NULL;
	size_t i, n = 0, np[2] = { 0, 0 };
	int ret = -ENOMEM;

	memset(c, 0, sizeof(*c));
	c->dflt = p->dflt;
	c->audit = p->audit;
	if (!p->n)
		return 0;

	cr = calloc(p->n, sizeof(*cr));
	if (!cr)
		goto fail;
	for (i = 0; i < p->n; i++) {
		const struct egr_urule *u = &p->rules[i];
		struct crule *x = &cr[i];

		x->dest = u->dest;
		x->r.id = i;
		x->r.action = u->action;
		x->r.proto = uproto_num(u->ps.proto, u->dest.family);
		if (u->ps.has_ports && u->ps.proto != EGR_UP_ANY && u->ps.proto != EGR_UP_ICMP) {
			x->r.flags = EGR_RF_PORTS;
			x->r.port_lo = u->ps.lo;
			x->r.port_hi = u->ps.hi;
		}
	}
	qsort(cr, p->n, sizeof(*cr), cmp_crule);

	/* Drop duplicates in place, count prefixes per family. */
	for (i = 0; i < p->n; i++) {
		if (n && crule_same(&cr[n - 1], &cr[i]))
			continue;
		if (!n || cmp_prefix(&cr[n - 1].dest, &cr[i].dest))
			np[cr[i].dest.family == 6]++;
		cr[n++] = cr[i];
	}

	c->rules = calloc(n, sizeof(*c->rules));
	c->pfx[0] = calloc(np[0] ? np[0] : 1, sizeof(*c->pfx[0]));
	c->pfx[1] = calloc(np[1] ? np[1] : 1, sizeof(*c->pfx[1]));
	if (!c->rules || !c->pfx[0] || !c->pfx[1])
		goto fail;

	for (i = 0; i < n; i++) {
		int f = cr[i].dest.family == 6;
		struct egr_cprefix *cp;

		if (!i || cmp_prefix(&cr[i - 1].dest, &cr[i].dest)) {
			cp = &c->pfx[f][c->npfx[f]++];
			cp->dest = cr[i].dest;
			cp->first = i;
		}
		cp = &c->pfx[f][c->npfx[f] - 1];
		if (cp->count == EGR_MAX_PREFIX_RULES) {
			char buf[64];

			inet_ntop(f ? AF_INET6 : AF_INET, cp->dest.addr, buf, sizeof(buf));
			snprintf(err, errlen, "too many rules for %s/%u: at most %d per prefix", buf,
				 cp->dest.plen, EGR_MAX_PREFIX_RULES);
			ret = -E2BIG;
			goto fail;
		}
		cp->count++;
		c->rules[i] = cr[i].r;
	}
	c->nrules = n;
	free(cr);
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "compiling the policy: %s", strerror(ENOMEM));
	free(cr);
	compiled_free(c);
	return ret;
}

void compiled_free(struct egr_compiled *c)
{
	free(c->rules);
	free(c->pfx[0]);
	free(c->pfx[1]);
	memset(c, 0, sizeof(*c));
}

static void mask_addr(uint8_t *out, const uint8_t *in, unsigned int plen)
{
	unsigned int i;

	memset(out, 0, 16);
	for (i = 0; i < 16 && plen; i++) {
		unsigned int bits = plen >= 8 ? 8 : plen;

		out[i] = in[i] & (uint8_t)(0xff << (8 - bits));
		plen -= bits;
	}
}

/* The kernel rule matcher; keep in sync with rule_match() in the BPF. */
static bool krule_match(const struct egr_rule *r, const struct egr_tpkt *p)
{
	bool deny = r->action == EGR_DENY;

	if (r->proto == EGR_PROTO_ANY)
		return true;
	if (p->flags & EGR_PKT_PROTO_UNKNOWN)
		return deny;
	if (r->proto != p->proto)
		return false;
	if (!(r->flags & EGR_RF_PORTS))
		return true;
	if (p->flags & EGR_PKT_PORTS_UNKNOWN)
		return deny;
	return p->dport >= r->port_lo && p->dport <= r->port_hi;
}

static int cmp_cprefix(const void *key, const void *elem)
{
	return cmp_prefix(key, &((const struct egr_cprefix *)elem)->dest);
}

/* What an LPM lookup with prefixlen = maxlen returns: the longest prefix of
 * length <= maxlen that contains dst.
 */
static const struct egr_cprefix *lpm_lookup(const struct egr_compiled *c, int f,
					    const uint8_t *dst, int maxlen)
{
	struct egr_dest key = { .family = f ? 6 : 4 };
	int l;

	for (l = maxlen; l >= 0; l--) {
		const struct egr_cprefix *hit;

		key.plen = l;
		mask_addr(key.addr, dst, l);
		if (!c->npfx[f])
			return NULL;
		hit = bsearch(&key, c->pfx[f], c->npfx[f], sizeof(*hit), cmp_cprefix);
		if (hit)
			return hit;
	}
	return NULL;
}

int compile_eval(const struct egr_compiled *c, const struct egr_tpkt *pkt, uint32_t *rule_id)
{
	int f = pkt->family == 6;
	int plen = f ? 128 : 32;
	int step;

	for (step = 0; step < EGR_MAX_WALK; step++) {
		const struct egr_cprefix *cp = lpm_lookup(c, f, pkt->dst, plen);
		unsigned int j;

		if (!cp)
			break;
		for (j = 0; j < cp->count && j < EGR_MAX_PREFIX_RULES; j++) {
			const struct egr_rule *r = &c->rules[cp->first + j];

			if (krule_match(r, pkt)) {
				*rule_id = r->id;
				return r->action;
			}
		}
		if (!cp->dest.plen)
			break;
		plen = cp->dest.plen - 1;
	}
	*rule_id = EGR_RULE_DEFAULT;
	return c->dflt;
}
