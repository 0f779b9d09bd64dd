/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `egressctl explain`: the verdict the policy in the kernel gives a packet,
 * and why, read from the kernel state (user/kernel/kexplain.c): the live
 * slot's tries are looked up the way the program looks them up (LPM
 * lookups, the next shorter prefix holding rules while none of a prefix's
 * rules match), its rule slices, its default and audit flag, the hit
 * counters, and the addresses DNS answers taught name rules (egr_learn:
 * only after a default deny, as the program). Like the program it reads
 * the generation before and after and starts again if a change came in
 * between. A TCP connection's grant (kept past its address's expiry) is
 * the socket's and not shown.
 */
#ifndef EGR_KEXPLAIN_H
#define EGR_KEXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"
#include "policy/rule.h"

/* A packet as the egress program sees it (::ffff:a.b.c.d already unmapped
 * by kexplain()). proto 0 is no protocol explain knows: "other".
 */
struct kx_pkt {
	uint8_t family;	 /* 4 or 6 */
	uint8_t proto;	 /* IPPROTO_* */
	uint8_t flags;	 /* EGR_PKT_* */
	uint16_t dport;	 /* host order; TCP and UDP only */
	uint8_t dst[16]; /* network order; IPv4 in the first 4 bytes */
	bool inbound;	 /* part of a TCP connection accepted from outside */
};

enum kx_reason {
	KX_RULE = 0,	 /* a rule decided */
	KX_DEFAULT,	 /* no rule matched: the slot's default */
	KX_LOOPBACK,	 /* loopback destination: always allowed */
	KX_INBOUND,	 /* reply on an inbound TCP connection: always allowed */
	KX_LEARNED,	 /* no address rule matched, the default denies, and a name
			  * rule allows the address: a DNS answer taught it */
};

struct kx_result {
	enum kx_reason reason;
	uint8_t verdict;     /* EGR_ALLOW / EGR_DENY, as the policy says */
	bool audit;	     /* audit mode: a deny is let through (and counted) */
	uint32_t rule_id;    /* KX_RULE, KX_LEARNED: the rule's id (its hit counter) */
	struct egr_urule rule; /* KX_RULE, KX_LEARNED: the rule as `list` shows it */
	uint64_t hits;	     /* KX_RULE, KX_LEARNED: its hits */
	uint64_t left_ms;    /* KX_LEARNED: until the address expires */
	uint64_t generation; /* the policy generation judged under */
};

/* Judge p by the policy in force. 0 or -errno (-EAGAIN: the policy kept
 * changing under every attempt).
 */
int kexplain(const struct egr_kstate *ks, const struct kx_pkt *p, struct kx_result *r);

/* Every packet to one destination, in classes with the same outcome: per
 * protocol (TCP, UDP, ICMP, other), TCP and UDP ports 1-65535 cut where a
 * rule on the destination's prefixes starts or ends, adjacent or not.
 */
struct kx_range {
	uint16_t lo, hi;
};

struct kx_class {
	uint8_t proto;		 /* IPPROTO_TCP, _UDP, _ICMP(V6), or 0: other */
	struct kx_range *ports;	 /* TCP/UDP: the ports of this outcome, ascending */
	size_t nports;
	struct kx_result r;
};

/* dst: family and address of p (its proto, dport, flags are ignored). *out
 * is malloc'd; free with kexplain_free(). 0 or -errno.
 */
int kexplain_all(const struct egr_kstate *ks, const struct kx_pkt *dst, struct kx_class **out,
		 size_t *n);
void kexplain_free(struct kx_class *c, size_t n);

#endif /* EGR_KEXPLAIN_H */
