// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy compiler, differentially: the input is decoded into a policy
 * (up to 48 rules over a few related prefixes, so that prefixes nest and
 * tie) and a set of packets (inside each rule's prefix and around it, with
 * random protocol, port and "unknown" flags). Every packet is judged by
 * the compiled walk (compile_policy + compile_eval, exactly what the BPF
 * program does) and by the plain reference of the documented semantics
 * (policy_eval_ref); they must agree on the verdict and on the deciding
 * rule (the default, or a rule of the same prefix length and action that
 * matches the packet).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "fuzz.h"
#include "policy/addr.h"
#include "lib/oracle.h"
#include "policy/compile.h"

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t u16(struct rd *r)
{
	return (uint16_t)(byte(r) << 8 | byte(r));
}

static void clear_host(uint8_t *a, unsigned int plen, unsigned int bytes)
{
	unsigned int i;

	for (i = plen; i < bytes * 8; i++)
		a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

/* Addresses are drawn from a few bases so that rules overlap. */
static const uint8_t base4[4][4] = { { 198, 18, 0, 0 },
				     { 198, 18, 1, 0 },
				     { 10, 0, 0, 0 },
				     { 0, 0, 0, 0 } };
static const uint8_t base6[3][16] = { { 0x20, 0x01, 0x0d, 0xb8 },
				      { 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
				      { 0 } };

static void rand_addr(struct rd *r, uint8_t family, uint8_t *a)
{
	uint8_t sel = byte(r);
	unsigned int bytes = family == 4 ? 4 : 16, i;

	memset(a, 0, 16);
	if (family == 4)
		memcpy(a, base4[sel % 4], 4);
	else
		memcpy(a, base6[sel % 3], 16);
	/* perturb a couple of bytes */
	for (i = 0; i < 2; i++) {
		uint8_t at = byte(r);

		a[at % bytes] ^= byte(r);
	}
}

static void rand_rule(struct rd *r, struct egr_urule *u)
{
	uint8_t f = byte(r), pl = byte(r), pr = byte(r);
	unsigned int max;

	memset(u, 0, sizeof(*u));
	u->action = f & 1 ? EGR_ALLOW : EGR_DENY;
	u->dest.family = f & 2 ? 6 : 4;
	max = u->dest.family == 4 ? 32 : 128;
	/* favour a handful of lengths so prefixes coincide */
	u->dest.plen = pl & 0x80 ? (uint8_t)(pl % (max + 1)) : (uint8_t)((pl & 3) * (max / 4));
	rand_addr(r, u->dest.family, u->dest.addr);
	clear_host(u->dest.addr, u->dest.plen, u->dest.family == 4 ? 4 : 16);
	u->ps.proto = (enum egr_uproto)(pr % 4);
	if ((u->ps.proto == EGR_UP_TCP || u->ps.proto == EGR_UP_UDP) && (pr & 4)) {
		uint16_t a = (uint16_t)(u16(r) % 64 + 1), b = (uint16_t)(u16(r) % 64 + 1);

		u->ps.has_ports = true;
		u->ps.lo = a < b ? a : b;
		u->ps.hi = a < b ? b : a;
	}
}

static void rand_pkt(struct rd *r, const struct egr_policy *p, struct egr_tpkt *k)
{
	uint8_t sel = byte(r), fl = byte(r), pr = byte(r);

	memset(k, 0, sizeof(*k));
	if (p->n && (sel & 1)) {
		/* inside a rule's prefix, host bits random */
		const struct egr_urule *u = &p->rules[(sel >> 1) % p->n];
		unsigned int bytes = u->dest.family == 4 ? 4 : 16, i;

		k->family = u->dest.family;
		for (i = 0; i < bytes; i++)
			k->dst[i] = byte(r);
		for (i = 0; i < u->dest.plen; i++) {
			uint8_t bit = 0x80 >> (i % 8);

			k->dst[i / 8] =
				(uint8_t)((k->dst[i / 8] & ~bit) | (u->dest.addr[i / 8] & bit));
		}
	} else {
		k->family = sel & 2 ? 6 : 4;
		rand_addr(r, k->family, k->dst);
	}
	{
		static const uint8_t protos[] = { IPPROTO_TCP,	  IPPROTO_UDP, IPPROTO_ICMP,
						  IPPROTO_ICMPV6, 132,	       47 };

		k->proto = protos[pr % sizeof(protos)];
	}
	k->flags = fl & (EGR_PKT_PROTO_UNKNOWN | EGR_PKT_PORTS_UNKNOWN | EGR_PKT_FRAGMENT);
	if (k->flags & EGR_PKT_FRAGMENT)
		k->flags |= EGR_PKT_PORTS_UNKNOWN;
	if (k->flags & EGR_PKT_PROTO_UNKNOWN)
		k->flags |= EGR_PKT_PORTS_UNKNOWN;
	k->dport = (uint16_t)(u16(r) % 66);
}

/* As tests/unit/test_compile.c: the deciding rule is acceptable if it is
 * the default when the reference found none, else a rule of the
 * reference's prefix length and action that contains and matches pkt.
 */
static int id_acceptable(const struct egr_policy *p, const struct egr_tpkt *pkt, int ridx,
			 uint32_t cid)
{
	struct egr_policy one;
	int v, idx;

	if (ridx < 0)
		return cid == EGR_RULE_DEFAULT;
	if (cid >= p->n)
		return 0;
	one = (struct egr_policy){ .rules = &p->rules[cid], .n = 1, .dflt = EGR_ALLOW };
	v = policy_eval_ref(&one, pkt, &idx);
	return idx == 0 && v == p->rules[ridx].action &&
	       p->rules[cid].dest.plen == p->rules[ridx].dest.plen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	struct egr_urule rules[48];
	struct egr_policy p = { 0 };
	struct egr_compiled c;
	char err[256];
	unsigned int nrules, npkts, i;
	uint8_t hdr = byte(&r);

	p.dflt = hdr & 1 ? EGR_ALLOW : EGR_DENY;
	nrules = byte(&r) % 49;
	for (i = 0; i < nrules; i++) {
		rand_rule(&r, &rules[i]);
		if (policy_add(&p, &rules[i]))
			abort();
	}
	memset(&c, 0, sizeof(c));
	if (compile_policy(&p, &c, err, sizeof(err))) {
		/* only a prefix with too many rules may be refused */
		FUZZ_CHECK(strstr(err, "rules") != NULL, "compile refused: %s", err);
		policy_free(&p);
		return 0;
	}
	npkts = 8 + byte(&r) % 56;
	for (i = 0; i < npkts; i++) {
		struct egr_tpkt k;
		uint32_t cid = 0xdeadbeef;
		int rv, cv, ridx;
		char a[INET6_ADDRSTRLEN];

		rand_pkt(&r, &p, &k);
		rv = policy_eval_ref(&p, &k, &ridx);
		cv = compile_eval(&c, &k, &cid);
		inet_ntop(k.family == 4 ? AF_INET : AF_INET6, k.dst, a, sizeof(a));
		FUZZ_CHECK(rv == cv,
			   "packet %s proto %u port %u flags %#x: reference %d (rule %d), "
			   "compiled %d (rule id %u), %zu rules",
			   a, k.proto, k.dport, k.flags, rv, ridx, cv, cid, p.n);
		FUZZ_CHECK(id_acceptable(&p, &k, ridx, cid),
			   "packet %s: reference rule %d, compiled rule id %u", a, ridx, cid);
	}
	compiled_free(&c);
	policy_free(&p);
	return 0;
}
