// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reference evaluator: the policy semantics written down as plainly as
 * possible, with no sorting, no tries and no compiled layout. The tests hold
 * compile_eval() (and through it the BPF program's walk) against this.
 */
#include <netinet/in.h>
#include "lib/oracle.h"
#include "policy/compile.h"

/* Does the protocol (and port range) of r match pkt? An unknown field that
 * the rule needs matches a deny rule and never an allow rule.
 */
bool urule_matches_pkt(const struct egr_urule *r, const struct egr_tpkt *pkt)
{
	bool deny = r->action == EGR_DENY;
	uint8_t want;

	switch (r->ps.proto) {
	case EGR_UP_ANY:
		return true;
	case EGR_UP_TCP:
		want = IPPROTO_TCP;
		break;
	case EGR_UP_UDP:
		want = IPPROTO_UDP;
		break;
	case EGR_UP_ICMP:
		want = pkt->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		break;
	default:
		return false;
	}

	if (pkt->flags & EGR_PKT_PROTO_UNKNOWN)
		return deny;
	if (pkt->proto != want)
		return false;

	/* Only tcp and udp rules carry ports. */
	if (r->ps.proto == EGR_UP_ICMP || !r->ps.has_ports)
		return true;
	if (pkt->flags & EGR_PKT_PORTS_UNKNOWN)
		return deny;
	return pkt->dport >= r->ps.lo && pkt->dport <= r->ps.hi;
}

/* Is addr (of the given family) inside the prefix d? */
static bool dest_contains(const struct egr_dest *d, uint8_t family, const uint8_t *addr)
{
	unsigned int bits = family == 6 ? 128 : 32;
	unsigned int i, full, rest;

	if (d->family != family || d->plen > bits)
		return false;
	full = d->plen / 8;
	rest = d->plen % 8;
	for (i = 0; i < full; i++)
		if (d->addr[i] != addr[i])
			return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((d->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static int specificity(const struct egr_urule *r)
{
	if (r->ps.proto == EGR_UP_ANY)
		return 0;
	return r->ps.has_ports ? 2 : 1;
}

/* Is rule a a better decider than rule b? Longer prefix first; at the same
 * length a deny beats an allow. Between rules that agree on both (same
 * verdict), the one credited with the hit is the most specific: a port
 * rule, then a protocol-only rule, then an any-protocol rule; then the
 * lower first port, the lower last port. Equal otherwise, and the caller
 * keeps the earlier (lower index) one.
 */
static bool better(const struct egr_urule *a, const struct egr_urule *b)
{
	if (a->dest.plen != b->dest.plen)
		return a->dest.plen > b->dest.plen;
	if (a->action != b->action)
		return a->action == EGR_DENY;
	if (specificity(a) != specificity(b))
		return specificity(a) > specificity(b);
	if (a->ps.has_ports && b->ps.has_ports && a->ps.lo != b->ps.lo)
		return a->ps.lo < b->ps.lo;
	if (a->ps.has_ports && b->ps.has_ports)
		return a->ps.hi < b->ps.hi;
	return false;
}

int policy_eval_ref(const struct egr_policy *p, const struct egr_tpkt *pkt, int *urule)
{
	const struct egr_urule *best = NULL;
	int best_idx = -1;
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct egr_urule *r = &p->rules[i];

		if (!dest_contains(&r->dest, pkt->family, pkt->dst))
			continue;
		if (!urule_matches_pkt(r, pkt))
			continue;
		if (!best || better(r, best)) {
			best = r;
			best_idx = (int)i;
		}
	}

	if (urule)
		*urule = best_idx;
	if (!best)
		return p->dflt == EGR_ALLOW ? EGR_ALLOW : EGR_DENY;
	return best->action == EGR_ALLOW ? EGR_ALLOW : EGR_DENY;
}
