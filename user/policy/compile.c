// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy compiler: group rules by exact prefix, order each group deny-first
 * (deny wins a tie), and lay the groups out as the kernel wants them. The
 * longest-prefix fallback itself happens at run time (the walk in
 * bpf/egressctl.bpf.c), so one edit only ever touches one prefix.
 */
#include <endian.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy/compile.h"
#include "policy/name.h"

static int uproto_num(enum egr_uproto p, int family)
{
	switch (p) {
	case EGR_UP_TCP:
		return IPPROTO_TCP;
	case EGR_UP_UDP:
		return IPPROTO_UDP;
	case EGR_UP_ICMP:
		/* a name's learned IPv6 addresses: ICMPv6 (bpf/dns.bpf.h) */
		return family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	default:
		return EGR_PROTO_ANY;
	}
}

int compile_dest_cmp(const struct egr_dest *a, const struct egr_dest *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == EGR_FAM_NAME)
		return strcmp(dest_name(a), dest_name(b));
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
	int c = compile_dest_cmp(da, db);

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

/* How far ahead to prefetch what is read in a random order. */
#define PREFETCH 16

uint64_t compile_prefix_key(const struct egr_dest *d)
{
	uint64_t a = 0;

	if (d->family == EGR_FAM_NAME)
		strncpy((char *)&a, dest_name(d), 6); /* strcmp() order */
	else
		memcpy(&a, d->addr, 8);
	return (uint64_t)d->family << 56 | (uint64_t)d->plen << 48 | be64toh(a) >> 16;
}

/* LSD radix sort, RADIX_BITS a pass; a pass where every key has the same
 * digit is skipped (one family only, the zero tail of IPv4 keys).
 */
#define RADIX_BITS 11
#define RADIX_PASSES ((64 + RADIX_BITS - 1) / RADIX_BITS)
#define RADIX_MASK ((1u << RADIX_BITS) - 1)
#define DIGIT(key, d) (((key) >> (RADIX_BITS * (d))) & RADIX_MASK)

static int sort_keys(struct egr_sortkey *k, size_t n)
{
	struct egr_sortkey *a = k, *b, *t;
	size_t *cnt, *c, i, sum, x;
	unsigned int d, dg;

	if (n < 2)
		return 0;
	b = malloc(n * sizeof(*b));
	cnt = calloc(RADIX_PASSES << RADIX_BITS, sizeof(*cnt));
	if (!b || !cnt) {
		free(b);
		free(cnt);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		for (d = 0; d < RADIX_PASSES; d++)
			cnt[d << RADIX_BITS | DIGIT(k[i].key, d)]++;
	for (d = 0; d < RADIX_PASSES; d++) {
		c = cnt + (d << RADIX_BITS);
		if (c[DIGIT(a[0].key, d)] == n)
			continue;
		for (dg = 0, sum = 0; dg <= RADIX_MASK; dg++) {
			x = c[dg];
			c[dg] = sum;
			sum += x;
		}
		for (i = 0; i < n; i++)
			b[c[DIGIT(a[i].key, d)]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	if (a != k)
		memcpy(k, a, n * sizeof(*k));
	free(a != k ? a : b);
	free(cnt);
	return 0;
}

struct run_cmp {
	int (*cmp)(const void *ctx, uint32_t a, uint32_t b);
	const void *ctx;
};

static int run_cmp_qsort(const void *x, const void *y, void *arg)
{
	const struct run_cmp *rc = arg;

	return rc->cmp(rc->ctx, ((const struct egr_sortkey *)x)->idx,
		       ((const struct egr_sortkey *)y)->idx);
}

int compile_sort(struct egr_sortkey *k, size_t n,
		 int (*cmp)(const void *ctx, uint32_t a, uint32_t b), const void *ctx)
{
	struct run_cmp rc = { cmp, ctx };
	size_t i, j, m, run;
	int ret = sort_keys(k, n);

	if (ret)
		return ret;
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && k[i + run].key == k[i].key; run++)
			;
		if (run > 16) { /* e.g. many rules of one prefix */
			qsort_r(k + i, run, sizeof(*k), run_cmp_qsort, &rc);
			continue;
		}
		for (j = i + 1; j < i + run; j++) {
			struct egr_sortkey x = k[j];

			for (m = j; m > i && cmp(ctx, k[m - 1].idx, x.idx) > 0; m--)
				k[m] = k[m - 1];
			k[m] = x;
		}
	}
	return 0;
}

static int cmp_crule_idx(const void *ctx, uint32_t a, uint32_t b)
{
	const struct egr_crule *x = ctx;
	int c = compile_rule_cmp(&x[a].dest, &x[a].r, &x[b].dest, &x[b].r);

	return c ? c : a < b ? -1 : a > b;
}

int compile_sort_crules(struct egr_crule *x, size_t n)
{
	struct egr_sortkey *k;
	struct egr_crule t;
	size_t i, j, next;
	int ret;

	if (n < 2)
		return 0;
	if (n > UINT32_MAX || !(k = malloc(n * sizeof(*k))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		k[i].key = compile_prefix_key(&x[i].dest);
		k[i].idx = i;
	}
	ret = compile_sort(k, n, cmp_crule_idx, x);
	/* Permute in place, a cycle at a time: x[j] takes x[k[j].idx]. */
	for (i = 0; !ret && i < n; i++) {
		if (k[i].idx == i)
			continue;
		t = x[i];
		for (j = i; k[j].idx != i; j = next) {
			next = k[j].idx;
			x[j] = x[next];
			k[j].idx = j;
		}
		x[j] = t;
		k[j].idx = j;
	}
	free(k);
	return ret;
}

/* A source rule in kernel form; .id: its index in p->rules. */
static void to_krule(const struct egr_policy *p, uint32_t i, struct egr_rule *r)
{
	const struct egr_urule *u = &p->rules[i];

	memset(r, 0, sizeof(*r));
	r->id = i;
	r->action = u->action;
	r->proto = uproto_num(u->ps.proto, u->dest.family);
	if (u->ps.has_ports && u->ps.proto != EGR_UP_ANY && u->ps.proto != EGR_UP_ICMP) {
		r->flags = EGR_RF_PORTS;
		r->port_lo = u->ps.lo;
		r->port_hi = u->ps.hi;
	}
}

/* Full order of two source rules; equal rules: the first in the file. */
static int cmp_src(const void *ctx, uint32_t i, uint32_t j)
{
	const struct egr_policy *p = ctx;
	struct egr_rule a, b;
	int c;

	to_krule(p, i, &a);
	to_krule(p, j, &b);
	c = compile_rule_cmp(&p->rules[i].dest, &a, &p->rules[j].dest, &b);
	return c ? c : i < j ? -1 : i > j;
}

/* Rules in compiled order. */
static int sort_rules(const struct egr_policy *p, struct egr_sortkey *k)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		k[i].key = compile_prefix_key(&p->rules[i].dest);
		k[i].idx = i;
	}
	return compile_sort(k, p->n, cmp_src, p);
}

int compile_policy(const struct egr_policy *p, struct egr_compiled *c, char *err, size_t errlen)
{
	struct egr_sortkey *k = NULL;
	const struct egr_dest *prev = NULL;
	size_t i, n = 0, nf[EGR_NKINDS] = { 0 };
	struct egr_cprefix *cp = NULL;
	struct egr_rule r;
	int ret = -ENOMEM, f;
	void *shrunk;

	memset(c, 0, sizeof(*c));
	c->dflt = p->dflt;
	c->audit = p->audit;
	c->min_ttl = p->min_ttl ? p->min_ttl : EGR_DEFAULT_MIN_TTL;
	c->max_per_name = p->max_per_name ? p->max_per_name : EGR_DEFAULT_MAX_PER_NAME;
	if (!p->n)
		return 0;
	if (p->n > UINT32_MAX)
		goto fail;

	/* Room for the worst case (no duplicates, one rule a prefix);
	 * given back below.
	 */
	for (i = 0; i < p->n; i++) {
		const struct egr_urule *u = &p->rules[i];

		if (dest_is_name(&u->dest) && u->action != EGR_ALLOW) {
			name_deny_error(dest_name(&u->dest), err, errlen);
			ret = -EINVAL;
			goto fail;
		}
		nf[egr_kind(&u->dest)]++;
	}
	k = malloc(p->n * sizeof(*k));
	c->rules = malloc(p->n * sizeof(*c->rules));
	for (f = 0; f < EGR_NKINDS; f++)
		c->pfx[f] = malloc((nf[f] ? nf[f] : 1) * sizeof(*c->pfx[f]));
	if (!k || !c->rules || !c->pfx[0] || !c->pfx[1] || !c->pfx[2] || sort_rules(p, k))
		goto fail;

	/* Drop duplicates (the first source rule stays), slice by prefix. */
	for (i = 0; i < p->n; i++) {
		const struct egr_dest *d = &p->rules[k[i].idx].dest;

		f = egr_kind(d);

		/* the rules are read in a random order: ask ahead */
		if (i + PREFETCH < p->n)
			__builtin_prefetch(&p->rules[k[i + PREFETCH].idx]);
		to_krule(p, k[i].idx, &r);
		if (n && !compile_rule_cmp(prev, &c->rules[n - 1], d, &r))
			continue;
		if (!n || compile_dest_cmp(prev, d)) {
			cp = &c->pfx[f][c->npfx[f]++];
			memset(cp, 0, sizeof(*cp));
			cp->dest = *d;
			cp->first = n;
		}
		if (cp->count == EGR_MAX_PREFIX_RULES) {
			char buf[64];

			if (f == EGR_K_NAME)
				snprintf(err, errlen, "too many rules for %s: at most %d per name",
					 dest_name(&cp->dest), EGR_MAX_PREFIX_RULES);
			else
				snprintf(err, errlen, "too many rules for %s/%u: at most %d per prefix",
					 inet_ntop(f ? AF_INET6 : AF_INET, cp->dest.addr, buf,
						   sizeof(buf)),
					 cp->dest.plen, EGR_MAX_PREFIX_RULES);
			ret = -E2BIG;
			goto fail;
		}
		cp->count++;
		c->rules[n++] = r;
		prev = d;
	}
	c->nrules = n;
	free(k);
	/* give back the worst-case room (a failed shrink keeps the block) */
	if ((shrunk = realloc(c->rules, n * sizeof(*c->rules))))
		c->rules = shrunk;
	for (i = 0; i < EGR_NKINDS; i++)
		if (c->npfx[i] && (shrunk = realloc(c->pfx[i], c->npfx[i] * sizeof(*c->pfx[i]))))
			c->pfx[i] = shrunk;
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "compiling the policy: %s", strerror(ENOMEM));
	free(k);
	compiled_free(c);
	return ret;
}

void compiled_free(struct egr_compiled *c)
{
	int f;

	free(c->rules);
	for (f = 0; f < EGR_NKINDS; f++)
		free(c->pfx[f]);
	memset(c, 0, sizeof(*c));
}

bool compile_rule_matches(const struct egr_rule *r, uint8_t proto, uint8_t flags, uint16_t dport)
{
	bool deny = r->action == EGR_DENY;

	if (r->proto == EGR_PROTO_ANY)
		return true;
	if (flags & EGR_PKT_PROTO_UNKNOWN)
		return deny;
	if (r->proto != proto)
		return false;
	if (!(r->flags & EGR_RF_PORTS))
		return true;
	if (flags & EGR_PKT_PORTS_UNKNOWN)
		return deny;
	return dport >= r->port_lo && dport <= r->port_hi;
}
