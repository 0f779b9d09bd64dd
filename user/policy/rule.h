/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The userspace policy model: what the CLI and policy files say, before it
 * is compiled into the kernel layout of include/egressctl.h.
 */
#ifndef EGR_RULE_H
#define EGR_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Protocol of a rule as the user wrote it. EGR_UP_ICMP is ICMP for IPv4
 * destinations and ICMPv6 for IPv6 ones; the compiler picks the number.
 */
enum egr_uproto {
	EGR_UP_ANY = 0,
	EGR_UP_TCP,
	EGR_UP_UDP,
	EGR_UP_ICMP,
};

/* A destination: one address family, network-order bytes, host bits
 * cleared (normalized). family is 4 or 6, or EGR_FAM_NAME for a domain
 * name (policy/name.h: addr holds the name's interned text, plen is 0).
 */
#define EGR_FAM_NAME 0x80

struct egr_dest {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16];
};

/* A port spec: protocol, and for tcp/udp an optional inclusive range. */
struct egr_portspec {
	enum egr_uproto proto;
	bool has_ports;
	uint16_t lo, hi;
};

/* One rule: action on a destination for one port spec. */
struct egr_urule {
	uint8_t action; /* EGR_ALLOW / EGR_DENY */
	struct egr_dest dest;
	struct egr_portspec ps;
};

struct egr_policy {
	uint8_t dflt;  /* EGR_ALLOW / EGR_DENY */
	bool audit;
	bool has_dflt; /* the file said default: */
	bool has_audit;
	bool has_dns; /* the file had dns: */
	/* Learned addresses of name rules (dns: min_ttl, max_per_name); 0:
	 * the default (EGR_DEFAULT_MIN_TTL, EGR_DEFAULT_MAX_PER_NAME).
	 */
	uint32_t min_ttl;
	uint32_t max_per_name;
	struct egr_urule *rules;
	size_t n, cap;
};

#endif /* EGR_RULE_H */
