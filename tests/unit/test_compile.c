// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy semantics: a table of (policy, packet) -> verdict and deciding
 * rule, checked against the reference evaluator (policy_eval_ref) and the
 * compiled walk (compile_policy + compile_eval); a randomized differential
 * test of the two; the per-prefix rule limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/addr.h"
#include "lib/oracle.h"
#include "policy/compile.h"

#define ALLOW EGR_ALLOW
#define DENY EGR_DENY
#define PU EGR_PKT_PORTS_UNKNOWN
#define XU EGR_PKT_PROTO_UNKNOWN
#define FR EGR_PKT_FRAGMENT

#define MAX_CASE_RULES 8

/* Rules read "ACTION DEST [PORTSPEC]" (no portspec: any protocol and
 * port); packets read "DST PROTO [DPORT]", PROTO a name or a number.
 */
struct ecase {
	const char *name;
	uint8_t dflt;
	const char *rules[MAX_CASE_RULES];
	const char *pkt;
	uint8_t flags;
	int verdict;
	int idx; /* deciding rule in rules[], -1 for the default */
};

/* Policies used by several cases. */
#define P_NEST_ALLOW32 { "deny 10.0.0.0/8", "allow 10.1.2.3/32" }
#define P_NEST_DENY32 { "deny 10.1.2.3/32", "allow 10.0.0.0/8" }
#define P_NEST3 { "deny 10.1.0.0/16", "allow 10.1.2.0/24", "allow 10.0.0.0/8" }
#define P_NEST4 { "allow 10.0.0.0/8", "deny 10.1.0.0/16", "allow 10.1.2.0/24", "deny 10.1.2.3/32" }
#define P_TIE_ANY_AD { "allow 10.0.0.0/8", "deny 10.0.0.0/8" }
#define P_TIE_ANY_DA { "deny 10.0.0.0/8", "allow 10.0.0.0/8" }
#define P_TIE_PORTS { "allow 10.0.0.0/8 tcp:80-90", "deny 10.0.0.0/8 tcp:85" }
#define P_TIE_ANY_PORT { "allow 10.0.0.0/8", "deny 10.0.0.0/8 tcp:443" }
#define P_PORT_UNDER_ANY { "deny 10.0.0.0/8", "allow 10.1.0.0/16 tcp:443" }
#define P_ANY_UNDER_PORT { "allow 10.0.0.0/8", "deny 10.1.0.0/16 tcp:22" }
#define P_FALLBACK                                                                         \
	{ "allow 0.0.0.0/0 tcp:80", "deny 10.0.0.0/8 tcp:81-90", "allow 10.1.0.0/16 tcp:443", \
	  "allow 10.1.2.0/24 udp:53", "allow 10.1.2.3/32 icmp" }
#define P_V6_ANY_DENY25 { "allow ::/0", "deny 2001:db8::/32 tcp:25" }
#define P_RANGE { "allow 10.0.0.0/8 tcp:8000-8999" }
#define P_V6_NEST                                                                     \
	{ "deny 2001:db8::/32", "allow 2001:db8:1::/48", "deny 2001:db8:1:2::/64", \
	  "allow 2001:db8:1:2::3/128" }
#define P_V6_TIE_PORTS { "allow 2001:db8::/32 tcp:80-90", "deny 2001:db8::/32 tcp:85" }
#define P_UNK_FALLBACK { "allow 10.0.0.0/8", "allow 10.1.0.0/16 tcp:443" }
#define P_UNK_SAMEPFX { "allow 10.0.0.0/8", "allow 10.1.0.0/16 tcp:80", "deny 10.1.0.0/16 tcp:81" }

static const struct ecase cases[] = {
	/* Default, no rules. */
	{ "empty_default_allow", ALLOW, { NULL }, "10.0.0.1 tcp 80", 0, ALLOW, -1 },
	{ "empty_default_deny", DENY, { NULL }, "10.0.0.1 tcp 80", 0, DENY, -1 },
	{ "empty_default_allow_v6", ALLOW, { NULL }, "2001:db8::1 udp 53", 0, ALLOW, -1 },
	{ "empty_default_deny_v6", DENY, { NULL }, "2001:db8::1 udp 53", 0, DENY, -1 },

	/* A /32 allow inside a /8 deny, and the reverse. */
	{ "allow32_in_deny8_hit", ALLOW, P_NEST_ALLOW32, "10.1.2.3 tcp 80", 0, ALLOW, 1 },
	{ "allow32_in_deny8_sibling", ALLOW, P_NEST_ALLOW32, "10.1.2.4 tcp 80", 0, DENY, 0 },
	{ "allow32_in_deny8_outside", ALLOW, P_NEST_ALLOW32, "11.1.2.3 tcp 80", 0, ALLOW, -1 },
	{ "deny32_in_allow8_hit", DENY, P_NEST_DENY32, "10.1.2.3 udp 53", 0, DENY, 0 },
	{ "deny32_in_allow8_sibling", DENY, P_NEST_DENY32, "10.9.9.9 udp 53", 0, ALLOW, 1 },
	{ "deny32_in_allow8_outside", DENY, P_NEST_DENY32, "192.168.1.1 udp 53", 0, DENY, -1 },

	/* Three and four levels of nesting. */
	{ "nest3_level24", DENY, P_NEST3, "10.1.2.5 tcp 80", 0, ALLOW, 1 },
	{ "nest3_level16", DENY, P_NEST3, "10.1.3.5 tcp 80", 0, DENY, 0 },
	{ "nest3_level8", DENY, P_NEST3, "10.2.0.1 tcp 80", 0, ALLOW, 2 },
	{ "nest3_outside", DENY, P_NEST3, "11.1.2.5 tcp 80", 0, DENY, -1 },
	{ "nest4_level32", ALLOW, P_NEST4, "10.1.2.3 icmp", 0, DENY, 3 },
	{ "nest4_level24", ALLOW, P_NEST4, "10.1.2.4 icmp", 0, ALLOW, 2 },
	{ "nest4_level16", ALLOW, P_NEST4, "10.1.200.4 icmp", 0, DENY, 1 },
	{ "nest4_level8", ALLOW, P_NEST4, "10.200.0.1 icmp", 0, ALLOW, 0 },

	/* Same prefix, allow and deny both match: deny wins. */
	{ "tie_any_allow_first", ALLOW, P_TIE_ANY_AD, "10.5.5.5 tcp 80", 0, DENY, 1 },
	{ "tie_any_deny_first", ALLOW, P_TIE_ANY_DA, "10.5.5.5 tcp 80", 0, DENY, 0 },
	{ "tie_any_outside", DENY, P_TIE_ANY_AD, "11.5.5.5 tcp 80", 0, DENY, -1 },
	{ "tie_ports_85_denied", DENY, P_TIE_PORTS, "10.0.0.1 tcp 85", 0, DENY, 1 },
	{ "tie_ports_80_allowed", DENY, P_TIE_PORTS, "10.0.0.1 tcp 80", 0, ALLOW, 0 },
	{ "tie_ports_90_allowed", DENY, P_TIE_PORTS, "10.0.0.1 tcp 90", 0, ALLOW, 0 },
	{ "tie_ports_91_default", DENY, P_TIE_PORTS, "10.0.0.1 tcp 91", 0, DENY, -1 },
	{ "tie_ports_udp85_default", ALLOW, P_TIE_PORTS, "10.0.0.1 udp 85", 0, ALLOW, -1 },
	{ "tie_anyport_443_denied", DENY, P_TIE_ANY_PORT, "10.0.0.1 tcp 443", 0, DENY, 1 },
	{ "tie_anyport_80_allowed", DENY, P_TIE_ANY_PORT, "10.0.0.1 tcp 80", 0, ALLOW, 0 },
	{ "tie_anyport_udp443_allowed", DENY, P_TIE_ANY_PORT, "10.0.0.1 udp 443", 0, ALLOW, 0 },

	/* A port rule under a broader any-port rule, and the reverse. */
	{ "port_under_any_443", ALLOW, P_PORT_UNDER_ANY, "10.1.1.1 tcp 443", 0, ALLOW, 1 },
	{ "port_under_any_80", ALLOW, P_PORT_UNDER_ANY, "10.1.1.1 tcp 80", 0, DENY, 0 },
	{ "port_under_any_udp443", ALLOW, P_PORT_UNDER_ANY, "10.1.1.1 udp 443", 0, DENY, 0 },
	{ "port_under_any_icmp", ALLOW, P_PORT_UNDER_ANY, "10.1.1.1 icmp", 0, DENY, 0 },
	{ "any_under_port_22", DENY, P_ANY_UNDER_PORT, "10.1.1.1 tcp 22", 0, DENY, 1 },
	{ "any_under_port_23", DENY, P_ANY_UNDER_PORT, "10.1.1.1 tcp 23", 0, ALLOW, 0 },
	{ "any_under_port_udp22", DENY, P_ANY_UNDER_PORT, "10.1.1.1 udp 22", 0, ALLOW, 0 },
	{ "any_under_port_other16", DENY, P_ANY_UNDER_PORT, "10.2.1.1 tcp 22", 0, ALLOW, 0 },

	/* The longest prefix's rules do not match: fall back, several levels. */
	{ "fallback_to_0", DENY, P_FALLBACK, "10.1.2.3 tcp 80", 0, ALLOW, 0 },
	{ "fallback_to_8", DENY, P_FALLBACK, "10.1.2.3 tcp 85", 0, DENY, 1 },
	{ "fallback_to_16", DENY, P_FALLBACK, "10.1.2.3 tcp 443", 0, ALLOW, 2 },
	{ "fallback_to_24", DENY, P_FALLBACK, "10.1.2.3 udp 53", 0, ALLOW, 3 },
	{ "fallback_at_32", DENY, P_FALLBACK, "10.1.2.3 icmp", 0, ALLOW, 4 },
	{ "fallback_to_default", DENY, P_FALLBACK, "10.1.2.3 tcp 22", 0, DENY, -1 },
	{ "fallback_sibling_icmp", DENY, P_FALLBACK, "10.1.2.4 icmp", 0, DENY, -1 },
	{ "fallback_outside_tcp80", DENY, P_FALLBACK, "8.8.8.8 tcp 80", 0, ALLOW, 0 },
	{ "fallback_adjacent_plen", DENY, { "allow 10.1.2.0/23", "deny 10.1.2.0/24 tcp:22" },
	  "10.1.2.5 tcp 80", 0, ALLOW, 0 },
	{ "fallback_adjacent_plen_v6", DENY, { "allow 2001:db8::/63", "deny 2001:db8::/64 udp:53" },
	  "2001:db8::1 udp 54", 0, ALLOW, 0 },
	{ "fallback_plen1_to_0", DENY, { "allow 0.0.0.0/0 udp", "deny 0.0.0.0/1 tcp" },
	  "10.0.0.1 udp 53", 0, ALLOW, 0 },

	/* /0 rules against the default. */
	{ "deny0_over_default_allow", ALLOW, { "deny 0.0.0.0/0" }, "8.8.8.8 udp 53", 0, DENY, 0 },
	{ "allow0_tcp443_hit", DENY, { "allow 0.0.0.0/0 tcp:443" }, "1.1.1.1 tcp 443", 0, ALLOW,
	  0 },
	{ "allow0_tcp443_miss", DENY, { "allow 0.0.0.0/0 tcp:443" }, "1.1.1.1 tcp 80", 0, DENY,
	  -1 },
	{ "v6_allow0_deny32_25", DENY, P_V6_ANY_DENY25, "2001:db8::1 tcp 25", 0, DENY, 1 },
	{ "v6_allow0_outside_25", DENY, P_V6_ANY_DENY25, "2001:db9::1 tcp 25", 0, ALLOW, 0 },
	{ "v6_allow0_inside_80", DENY, P_V6_ANY_DENY25, "2001:db8::1 tcp 80", 0, ALLOW, 0 },

	/* icmp is protocol 1 for IPv4 and 58 for IPv6, and only that. */
	{ "icmp_v4_proto1", DENY, { "allow 10.0.0.0/8 icmp" }, "10.0.0.1 1", 0, ALLOW, 0 },
	{ "icmp_v4_not_58", DENY, { "allow 10.0.0.0/8 icmp" }, "10.0.0.1 58", 0, DENY, -1 },
	{ "icmp_v6_proto58", DENY, { "allow 2001:db8::/32 icmp" }, "2001:db8::1 58", 0, ALLOW, 0 },
	{ "icmp_v6_not_1", DENY, { "allow 2001:db8::/32 icmp" }, "2001:db8::1 1", 0, DENY, -1 },
	{ "icmp_deny_v4_not_tcp", ALLOW, { "deny 10.0.0.0/8 icmp" }, "10.0.0.1 tcp 0", 0, ALLOW,
	  -1 },
	{ "icmp_deny_v6_hit", ALLOW, { "deny ::/0 icmp" }, "2001:db8::1 58", 0, DENY, 0 },

	/* Protocol-only rules (no ports). */
	{ "tcp_only_port1", DENY, { "allow 10.0.0.0/8 tcp" }, "10.0.0.1 tcp 1", 0, ALLOW, 0 },
	{ "tcp_only_port65535", DENY, { "allow 10.0.0.0/8 tcp" }, "10.0.0.1 tcp 65535", 0, ALLOW,
	  0 },
	{ "tcp_only_not_udp", DENY, { "allow 10.0.0.0/8 tcp" }, "10.0.0.1 udp 53", 0, DENY, -1 },
	{ "udp_only_deny_udp", ALLOW, { "deny 10.0.0.0/8 udp" }, "10.0.0.1 udp 53", 0, DENY, 0 },
	{ "udp_only_deny_not_tcp", ALLOW, { "deny 10.0.0.0/8 udp" }, "10.0.0.1 tcp 53", 0, ALLOW,
	  -1 },
	{ "udp_only_deny_not_gre", ALLOW, { "deny 10.0.0.0/8 udp" }, "10.0.0.1 47", 0, ALLOW, -1 },
	{ "any_matches_gre", DENY, { "allow 10.0.0.0/8" }, "10.0.0.1 47", 0, ALLOW, 0 },

	/* Port range boundaries. */
	{ "range_lo", DENY, P_RANGE, "10.0.0.1 tcp 8000", 0, ALLOW, 0 },
	{ "range_hi", DENY, P_RANGE, "10.0.0.1 tcp 8999", 0, ALLOW, 0 },
	{ "range_mid", DENY, P_RANGE, "10.0.0.1 tcp 8500", 0, ALLOW, 0 },
	{ "range_lo_minus_1", DENY, P_RANGE, "10.0.0.1 tcp 7999", 0, DENY, -1 },
	{ "range_hi_plus_1", DENY, P_RANGE, "10.0.0.1 tcp 9000", 0, DENY, -1 },
	{ "range_65535", DENY, P_RANGE, "10.0.0.1 tcp 65535", 0, DENY, -1 },
	{ "range_udp_same_port", DENY, P_RANGE, "10.0.0.1 udp 8000", 0, DENY, -1 },
	{ "port_65535_hit", DENY, { "allow 10.0.0.0/8 tcp:65535" }, "10.0.0.1 tcp 65535", 0, ALLOW,
	  0 },
	{ "port_65535_miss", DENY, { "allow 10.0.0.0/8 tcp:65535" }, "10.0.0.1 tcp 65534", 0, DENY,
	  -1 },
	{ "port_1_hit", DENY, { "allow 10.0.0.0/8 udp:1" }, "10.0.0.1 udp 1", 0, ALLOW, 0 },
	{ "port_1_miss_0", DENY, { "allow 10.0.0.0/8 udp:1" }, "10.0.0.1 udp 0", 0, DENY, -1 },
	{ "range_full_udp", DENY, { "allow 10.0.0.0/8 udp:1-65535" }, "10.0.0.1 udp 65535", 0,
	  ALLOW,
	  0 },

	/* Families: a rule never matches the other family; IPv6 is not left open. */
	{ "v4only_allow_v6pkt_default_deny", DENY, { "allow 0.0.0.0/0" }, "2001:db8::1 tcp 80", 0,
	  DENY, -1 },
	{ "v4only_deny_v6pkt_default_allow", ALLOW, { "deny 0.0.0.0/0" }, "2001:db8::1 tcp 80", 0,
	  ALLOW, -1 },
	{ "v6only_allow_v4pkt_default_deny", DENY, { "allow ::/0" }, "10.0.0.1 tcp 80", 0, DENY,
	  -1 },
	{ "v6only_deny_v4pkt_default_allow", ALLOW, { "deny ::/0" }, "10.0.0.1 tcp 80", 0, ALLOW,
	  -1 },
	{ "v4_rule_v6_same_bytes", ALLOW, { "deny 10.0.0.0/8" }, "a00::1 tcp 80", 0, ALLOW, -1 },
	{ "v6_rule_v4_same_bytes", ALLOW, { "deny a00::/8" }, "10.0.0.1 tcp 80", 0, ALLOW, -1 },
	{ "both_families_v4", DENY, { "allow 10.0.0.0/8", "deny 2001:db8::/32" }, "10.0.0.1 udp 53",
	  0, ALLOW, 0 },
	{ "both_families_v6", ALLOW, { "allow 10.0.0.0/8", "deny 2001:db8::/32" },
	  "2001:db8::53 udp 53", 0, DENY, 1 },

	/* Prefix lengths that are not byte multiples. */
	{ "v4_plen12_in", DENY, { "allow 172.16.0.0/12" }, "172.31.255.255 tcp 80", 0, ALLOW, 0 },
	{ "v4_plen12_out", DENY, { "allow 172.16.0.0/12" }, "172.32.0.0 tcp 80", 0, DENY, -1 },
	{ "v6_plen33_in", DENY, { "allow 2001:db8::/33" }, "2001:db8:7fff::1 tcp 80", 0, ALLOW, 0 },
	{ "v6_plen33_out", DENY, { "allow 2001:db8::/33" }, "2001:db8:8000::1 tcp 80", 0, DENY,
	  -1 },

	/* IPv6 nesting and ties. */
	{ "v6_nest_128", ALLOW, P_V6_NEST, "2001:db8:1:2::3 tcp 80", 0, ALLOW, 3 },
	{ "v6_nest_64", ALLOW, P_V6_NEST, "2001:db8:1:2::4 tcp 80", 0, DENY, 2 },
	{ "v6_nest_48", ALLOW, P_V6_NEST, "2001:db8:1:3::1 tcp 80", 0, ALLOW, 1 },
	{ "v6_nest_32", ALLOW, P_V6_NEST, "2001:db8:2::1 tcp 80", 0, DENY, 0 },
	{ "v6_nest_outside", DENY, P_V6_NEST, "2001:db9::1 tcp 80", 0, DENY, -1 },
	{ "v6_tie_any", ALLOW, { "allow 2001:db8::/32", "deny 2001:db8::/32" },
	  "2001:db8::1 udp 53",
	  0, DENY, 1 },
	{ "v6_tie_ports_85", DENY, P_V6_TIE_PORTS, "2001:db8::1 tcp 85", 0, DENY, 1 },
	{ "v6_tie_ports_80", DENY, P_V6_TIE_PORTS, "2001:db8::1 tcp 80", 0, ALLOW, 0 },
	{ "v6_tie_ports_91", DENY, P_V6_TIE_PORTS, "2001:db8::1 tcp 91", 0, DENY, -1 },

	/* Unknown ports (fragments): allow-port rules never match, deny-port
	 * rules do; protocol-only and any rules need no ports.
	 */
	{ "unk_ports_allow_port_no_match", DENY, { "allow 10.0.0.0/8 tcp:443" }, "10.0.0.1 tcp 443",
	  PU | FR, DENY, -1 },
	{ "unk_ports_allow_port_fallback", DENY, P_UNK_FALLBACK, "10.1.1.1 tcp 443", PU | FR, ALLOW,
	  0 },
	{ "unk_ports_deny_port_match", ALLOW, { "deny 10.0.0.0/8 tcp:22" }, "10.0.0.1 tcp 80",
	  PU | FR,
	  DENY, 0 },
	{ "unk_ports_deny_port_other_proto", ALLOW, { "deny 10.0.0.0/8 tcp:22" }, "10.0.0.1 udp 80",
	  PU | FR, ALLOW, -1 },
	{ "unk_ports_longer_any_allow", ALLOW, { "deny 10.0.0.0/8 udp:53", "allow 10.1.0.0/16" },
	  "10.1.1.1 udp 53", PU | FR, ALLOW, 1 },
	{ "unk_ports_shorter_deny_port", DENY,
	  { "deny 10.0.0.0/8 udp:53", "allow 10.1.0.0/16 udp:53" },
	  "10.1.1.1 udp 53", PU | FR, DENY, 0 },
	{ "unk_ports_proto_only_allow", DENY, { "allow 10.0.0.0/8 tcp" }, "10.0.0.1 tcp 80",
	  PU | FR,
	  ALLOW, 0 },
	{ "unk_ports_same_prefix_deny", DENY, P_UNK_SAMEPFX, "10.1.1.1 tcp 80", PU | FR, DENY, 2 },
	{ "unk_ports_deny_port_beats_any_allow", DENY,
	  { "allow 10.0.0.0/8", "deny 10.0.0.0/8 tcp:22" },
	  "10.0.0.1 tcp 443", PU, DENY, 1 },
	{ "unk_ports_v6_allow_port", DENY, { "allow 2001:db8::/32 udp:53" }, "2001:db8::1 udp 53",
	  PU,
	  DENY, -1 },
	{ "unk_ports_v6_deny_port", ALLOW, { "deny 2001:db8::/32 udp:53" }, "2001:db8::1 udp 53",
	  PU,
	  DENY, 0 },
	{ "fragment_ports_known", DENY, { "allow 10.0.0.0/8 tcp:443" }, "10.0.0.1 tcp 443", FR,
	  ALLOW,
	  0 },
	{ "fragment_ports_known_miss", DENY, { "allow 10.0.0.0/8 tcp:443" }, "10.0.0.1 tcp 80", FR,
	  DENY, -1 },

	/* Unknown protocol: allow rules with a protocol never match, deny
	 * rules with a protocol do, any rules always match.
	 */
	{ "unk_proto_allow_tcp", DENY, { "allow 10.0.0.0/8 tcp" }, "10.0.0.1 tcp 80", XU | PU, DENY,
	  -1 },
	{ "unk_proto_deny_tcp", ALLOW, { "deny 10.0.0.0/8 tcp" }, "10.0.0.1 udp 80", XU | PU, DENY,
	  0 },
	{ "unk_proto_deny_tcp_port", ALLOW, { "deny 10.0.0.0/8 tcp:22" }, "10.0.0.1 47", XU | PU,
	  DENY,
	  0 },
	{ "unk_proto_allow_tcp_port", DENY, { "allow 10.0.0.0/8 tcp:22" }, "10.0.0.1 tcp 22",
	  XU | PU,
	  DENY, -1 },
	{ "unk_proto_deny_icmp", ALLOW, { "deny 10.0.0.0/8 icmp" }, "10.0.0.1 47", XU, DENY, 0 },
	{ "unk_proto_allow_any", DENY, { "allow 10.0.0.0/8" }, "10.0.0.1 47", XU | PU, ALLOW, 0 },
	{ "unk_proto_deny_any", ALLOW, { "deny 10.0.0.0/8" }, "10.0.0.1 47", XU | PU, DENY, 0 },
	{ "unk_proto_fallback_to_any", DENY, { "allow 10.0.0.0/8", "allow 10.1.0.0/16 udp" },
	  "10.1.0.1 udp 53", XU | PU, ALLOW, 0 },
	{ "unk_proto_v6_deny_udp", ALLOW, { "allow ::/0", "deny 2001:db8::/32 udp" },
	  "2001:db8::1 47",
	  XU | PU, DENY, 1 },

	/* Duplicates: compiled once; the first copy decides. */
	{ "dup_allow_port", DENY, { "allow 10.0.0.0/8 tcp:80", "allow 10.0.0.0/8 tcp:80" },
	  "10.0.0.1 tcp 80", 0, ALLOW, 0 },
	{ "dup_deny_any", ALLOW, { "deny 10.0.0.0/8", "deny 10.0.0.0/8" }, "10.0.0.1 tcp 80", 0,
	  DENY,
	  0 },
	{ "dup_interleaved_tie", ALLOW,
	  { "allow 10.0.0.0/8", "deny 10.0.0.0/8", "allow 10.0.0.0/8", "deny 10.0.0.0/8" },
	  "10.0.0.1 tcp 80", 0, DENY, 1 },
	{ "dup_after_normalization", ALLOW, { "deny 10.0.0.0/8", "deny 10.9.9.9/8" },
	  "10.1.1.1 tcp 80", 0, DENY, 0 },
	{ "dup_v6", DENY, { "allow 2001:db8::/32 udp:53", "allow 2001:db8::/32 udp:53" },
	  "2001:db8::1 udp 53", 0, ALLOW, 0 },

	/* Several rules of one action match at one prefix: the most specific
	 * is credited with the hit.
	 */
	{ "two_denies_most_specific", ALLOW, { "deny 10.0.0.0/8 tcp", "deny 10.0.0.0/8 tcp:22" },
	  "10.0.0.1 tcp 22", 0, DENY, 1 },
	/* same prefix, same verdict: the most specific rule is credited */
	{ "two_allows_most_specific", DENY, { "allow 10.0.0.0/8 tcp", "allow 10.0.0.0/8 tcp:20-30" },
	  "10.0.0.1 tcp 22", 0, ALLOW, 1 },
	{ "two_allows_port_before_any", DENY, { "allow 10.0.0.0/8", "allow 10.0.0.0/8 tcp:22" },
	  "10.0.0.1 tcp 22", 0, ALLOW, 1 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void add_rule(struct egr_policy *p, const char *text)
{
	char act[16], dst[64], ps[32] = "any", err[256] = "";
	struct egr_urule r;
	int n;

	memset(&r, 0, sizeof(r));
	n = sscanf(text, "%15s %63s %31s", act, dst, ps);
	if (n < 2)
		fail_msg("bad rule text \"%s\"", text);
	if (!strcmp(act, "allow"))
		r.action = EGR_ALLOW;
	else if (!strcmp(act, "deny"))
		r.action = EGR_DENY;
	else
		fail_msg("bad action in \"%s\"", text);
	if (parse_dest(dst, &r.dest, err, sizeof(err)))
		fail_msg("parse_dest(\"%s\"): %s", dst, err);
	if (!strcmp(ps, "any"))
		r.ps.proto = EGR_UP_ANY;
	else if (parse_portspec(ps, &r.ps, err, sizeof(err)))
		fail_msg("parse_portspec(\"%s\"): %s", ps, err);
	assert_int_equal(policy_add(p, &r), 0);
}

static void build_policy(struct egr_policy *p, uint8_t dflt, const char *const *rules, size_t max)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->dflt = dflt;
	p->has_dflt = true;
	for (i = 0; i < max && rules[i]; i++)
		add_rule(p, rules[i]);
}

static void make_pkt(struct egr_tpkt *pkt, const char *text, uint8_t flags)
{
	char dst[64], proto[16];
	unsigned int port = 0;
	char *end;
	int n;

	memset(pkt, 0, sizeof(*pkt));
	n = sscanf(text, "%63s %15s %u", dst, proto, &port);
	if (n < 2 || port > 65535)
		fail_msg("bad packet text \"%s\"", text);
	if (inet_pton(AF_INET, dst, pkt->dst) == 1)
		pkt->family = 4;
	else if (inet_pton(AF_INET6, dst, pkt->dst) == 1)
		pkt->family = 6;
	else
		fail_msg("bad packet address \"%s\"", dst);
	if (!strcmp(proto, "tcp"))
		pkt->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		pkt->proto = IPPROTO_UDP;
	else if (!strcmp(proto, "icmp"))
		pkt->proto = pkt->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	else {
		unsigned long v = strtoul(proto, &end, 10);

		if (*end || v > 255)
			fail_msg("bad packet protocol \"%s\"", proto);
		pkt->proto = (uint8_t)v;
	}
	pkt->dport = (uint16_t)port;
	pkt->flags = flags;
}

static const char *verdict_str(int v)
{
	return v == EGR_ALLOW ? "allow" : v == EGR_DENY ? "deny" : "?";
}

static const char *pkt_str(const struct egr_tpkt *pkt, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(pkt->family == 6 ? AF_INET6 : AF_INET, pkt->dst, a, sizeof(a));
	snprintf(buf, len, "%s proto %u dport %u flags 0x%x%s%s%s", a, pkt->proto, pkt->dport,
		 pkt->flags, pkt->flags & EGR_PKT_PROTO_UNKNOWN ? " PROTO_UNKNOWN" : "",
		 pkt->flags & EGR_PKT_PORTS_UNKNOWN ? " PORTS_UNKNOWN" : "",
		 pkt->flags & EGR_PKT_FRAGMENT ? " FRAGMENT" : "");
	return buf;
}

static void print_policy(const struct egr_policy *p)
{
	char d[64], ps[32];
	size_t i;

	fprintf(stderr, "  default %s, %zu rule(s):\n", verdict_str(p->dflt), p->n);
	for (i = 0; i < p->n; i++)
		fprintf(stderr, "    [%zu] %s %s %s\n", i, verdict_str(p->rules[i].action),
			format_dest(&p->rules[i].dest, d, sizeof(d)),
			format_portspec(&p->rules[i].ps, ps, sizeof(ps)));
}

/* Compile p and judge pkt. 0 with *verdict and *id set, or the error. */
static int eval_compiled(const struct egr_policy *p, const struct egr_tpkt *pkt, int *verdict,
			 uint32_t *id, char *err, size_t errlen)
{
	struct egr_compiled c;
	int ret;

	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	ret = compile_policy(p, &c, err, errlen);
	if (ret)
		return ret;
	*id = 0xdeadbeef;
	*verdict = compile_eval(&c, pkt, id);
	compiled_free(&c);
	return 0;
}

/* One table case: both evaluators must give the expected verdict and
 * deciding rule.
 */
static void run_case(void **state)
{
	const struct ecase *tc = *state;
	struct egr_policy p;
	struct egr_tpkt pkt;
	uint32_t want_id = tc->idx < 0 ? EGR_RULE_DEFAULT : (uint32_t)tc->idx;
	char err[256], pb[128];
	int rv, ridx = -2, cv = -1, ret, bad = 0;
	uint32_t cid = 0;

	build_policy(&p, tc->dflt, tc->rules, MAX_CASE_RULES);
	make_pkt(&pkt, tc->pkt, tc->flags);

	rv = policy_eval_ref(&p, &pkt, &ridx);
	if (rv != tc->verdict || ridx != tc->idx) {
		fprintf(stderr, "  policy_eval_ref: %s by rule %d, want %s by rule %d\n",
			verdict_str(rv), ridx, verdict_str(tc->verdict), tc->idx);
		bad = 1;
	}

	ret = eval_compiled(&p, &pkt, &cv, &cid, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "  compile_policy: %d (%s)\n", ret, err);
		bad = 1;
	} else if (cv != tc->verdict || cid != want_id) {
		fprintf(stderr, "  compile_eval: %s by rule id %d, want %s by rule %d\n",
			verdict_str(cv), (int)cid, verdict_str(tc->verdict), tc->idx);
		bad = 1;
	}

	if (bad) {
		fprintf(stderr, "  case %s: packet %s\n", tc->name,
			pkt_str(&pkt, pb, sizeof(pb)));
		print_policy(&p);
	}
	policy_free(&p);
	if (bad)
		fail_msg("case %s", tc->name);
}

/* Randomized differential test: reference vs compiled walk. */

static const char *const rnd_pfx[] = {
	"0.0.0.0/0", "10.0.0.0/8", "10.128.0.0/9", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.0/25",
	"10.1.2.3/32", "::/0", "2001:db8::/32", "2001:db8::/33", "2001:db8:1::/48",
	"2001:db8:1:2::/64", "2001:db8:1:2::/65", "2001:db8:1:2::3/128",
};

static const char *const rnd_ps[] = {
	"any", "tcp", "udp", "icmp", "tcp:80", "tcp:80-90", "udp:53",
};

static const char *const rnd_dst[] = {
	"10.1.2.3", "10.1.2.4", "10.1.2.200", "10.1.3.1", "10.2.0.1", "10.200.0.1", "11.0.0.1",
	"2001:db8:1:2::3", "2001:db8:1:2::4", "2001:db8:1:2:8000::1", "2001:db8:1:3::1",
	"2001:db8:2::1", "2001:db8:8000::1", "2001:db9::1",
};

static const uint8_t rnd_proto[] = { 6, 17, 1, 58, 47 };
static const uint16_t rnd_port[] = { 53, 80, 85, 90, 91, 443 };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define RND(a) ((a)[rand() % (int)NELEM(a)])

static void random_policy(struct egr_policy *p)
{
	char text[96];
	int i, n = 1 + rand() % 40;

	memset(p, 0, sizeof(*p));
	p->dflt = rand() % 2 ? EGR_ALLOW : EGR_DENY;
	p->has_dflt = true;
	for (i = 0; i < n; i++) {
		const char *act = rand() % 2 ? "allow" : "deny";
		const char *pfx = RND(rnd_pfx);

		snprintf(text, sizeof(text), "%s %s %s", act, pfx, RND(rnd_ps));
		add_rule(p, text);
	}
}

static void random_pkt(struct egr_tpkt *pkt)
{
	char text[96];
	uint8_t flags = 0;
	int r;

	snprintf(text, sizeof(text), "%s %u %u", RND(rnd_dst), RND(rnd_proto), RND(rnd_port));
	r = rand() % 100;
	if (r < 8)
		flags = EGR_PKT_PORTS_UNKNOWN | EGR_PKT_FRAGMENT;
	else if (r < 11)
		flags = EGR_PKT_PORTS_UNKNOWN;
	else if (r < 14)
		flags = EGR_PKT_PROTO_UNKNOWN | EGR_PKT_PORTS_UNKNOWN;
	else if (r < 16)
		flags = EGR_PKT_FRAGMENT;
	make_pkt(pkt, text, flags);
}

/* Is the compiled walk's deciding rule an acceptable one: the default when
 * the reference found no rule, else a rule of the reference's prefix
 * length and action that contains and matches the packet (a tie among
 * equal rules may pick any of them).
 */
static bool id_acceptable(const struct egr_policy *p, const struct egr_tpkt *pkt, int ridx,
			  uint32_t cid)
{
	struct egr_policy one;
	int v, idx;

	if (ridx < 0)
		return cid == EGR_RULE_DEFAULT;
	if (cid >= p->n)
		return false;
	one = (struct egr_policy){ .rules = &p->rules[cid], .n = 1, .dflt = EGR_ALLOW };
	v = policy_eval_ref(&one, pkt, &idx);
	return idx == 0 && v == p->rules[ridx].action &&
	       p->rules[cid].dest.plen == p->rules[ridx].dest.plen;
}

/* 0: agree; 1: verdicts differ; 2: verdicts agree, the deciding rule
 * does not.
 */
static int diff_one(const struct egr_policy *p, const struct egr_compiled *c,
		    const struct egr_tpkt *pkt)
{
	int rv, ridx, cv;
	uint32_t cid = 0xdeadbeef;

	rv = policy_eval_ref(p, pkt, &ridx);
	cv = compile_eval(c, pkt, &cid);
	if (rv != cv)
		return 1;
	if (!id_acceptable(p, pkt, ridx, cid))
		return 2;
	return 0;
}

/* Like diff_one(), compiling p first; -1 when it does not compile. */
static int diff_compile(const struct egr_policy *p, const struct egr_tpkt *pkt)
{
	struct egr_compiled c;
	char err[256];
	int kind;

	memset(&c, 0, sizeof(c));
	if (compile_policy(p, &c, err, sizeof(err)))
		return -1;
	kind = diff_one(p, &c, pkt);
	compiled_free(&c);
	return kind;
}

/* Drop rules one at a time while the same kind of disagreement remains,
 * then print what is left.
 */
static void shrink_and_report(const struct egr_policy *p, const struct egr_tpkt *pkt, int kind)
{
	struct egr_urule *rules = calloc(p->n ? p->n : 1, sizeof(*rules));
	struct egr_policy q = { .dflt = p->dflt, .rules = rules, .n = p->n };
	char err[256], pb[128];
	int rv, ridx, cv = -1;
	uint32_t cid = 0;
	bool progress = true;
	size_t i;

	assert_non_null(rules);
	memcpy(rules, p->rules, p->n * sizeof(*rules));
	while (progress) {
		progress = false;
		for (i = 0; i < q.n; i++) {
			struct egr_urule saved = rules[i];

			memmove(&rules[i], &rules[i + 1], (q.n - i - 1) * sizeof(*rules));
			q.n--;
			if (diff_compile(&q, pkt) == kind) {
				progress = true;
				break;
			}
			q.n++;
			memmove(&rules[i + 1], &rules[i], (q.n - i - 1) * sizeof(*rules));
			rules[i] = saved;
		}
	}
	rv = policy_eval_ref(&q, pkt, &ridx);
	if (!eval_compiled(&q, pkt, &cv, &cid, err, sizeof(err)))
		fprintf(stderr,
			"  minimal case: packet %s\n  policy_eval_ref: %s by rule %d;"
			" compile_eval: %s by rule id %d\n",
			pkt_str(pkt, pb, sizeof(pb)), verdict_str(rv), ridx, verdict_str(cv),
			(int)cid);
	print_policy(&q);
	free(rules);
}

static void test_differential(void **state)
{
	int i, j, ret, skipped = 0, verdict_bad = 0, id_bad = 0, reported = 0, checked = 0;
	char err[256], pb[128];

	(void)state;
	srand(1);
	for (i = 0; i < 2000; i++) {
		struct egr_compiled c;
		struct egr_policy p;

		random_policy(&p);
		memset(&c, 0, sizeof(c));
		err[0] = '\0';
		ret = compile_policy(&p, &c, err, sizeof(err));
		if (ret == -E2BIG) {
			skipped++;
			policy_free(&p);
			continue;
		}
		if (ret) {
			print_policy(&p);
			fail_msg("policy %d: compile_policy: %d (%s)", i, ret, err);
		}
		for (j = 0; j < 50; j++) {
			struct egr_tpkt pkt;
			int kind;

			random_pkt(&pkt);
			kind = diff_one(&p, &c, &pkt);
			checked++;
			if (kind == 0)
				continue;
			if (kind == 1)
				verdict_bad++;
			else
				id_bad++;
			if (reported++ < 3) {
				fprintf(stderr, "differential: policy %d packet %d: %s (%s)\n", i,
					j, kind == 1 ? "verdicts differ" : "deciding rule differs",
					pkt_str(&pkt, pb, sizeof(pb)));
				print_policy(&p);
				shrink_and_report(&p, &pkt, kind);
			}
		}
		compiled_free(&c);
		policy_free(&p);
	}
	fprintf(stderr,
		"differential: %d checks, %d policies skipped (-E2BIG),"
		" %d verdict mismatches, %d deciding-rule mismatches\n",
		checked, skipped, verdict_bad, id_bad);
	assert_int_equal(verdict_bad, 0);
	assert_int_equal(id_bad, 0);
}

/* Per-prefix rule limit. */

static void add_port_rules(struct egr_policy *p, const char *act, const char *pfx, int from,
			   int to)
{
	char text[96];
	int port;

	for (port = from; port <= to; port++) {
		snprintf(text, sizeof(text), "%s %s tcp:%d", act, pfx, port);
		add_rule(p, text);
	}
}

static int compile_only(const struct egr_policy *p, char *err, size_t errlen)
{
	struct egr_compiled c;
	int ret;

	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	ret = compile_policy(p, &c, err, errlen);
	if (!ret)
		compiled_free(&c);
	return ret;
}

static void test_prefix_limit(void **state)
{
	struct egr_policy p;
	struct egr_compiled c;
	struct egr_tpkt pkt;
	char err[256];
	uint32_t id;
	int ret;

	(void)state;

	/* Exactly the limit: compiles into one prefix of that many rules. */
	memset(&p, 0, sizeof(p));
	p.dflt = EGR_DENY;
	add_port_rules(&p, "allow", "10.0.0.0/8", 1, EGR_MAX_PREFIX_RULES);
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	ret = compile_policy(&p, &c, err, sizeof(err));
	if (ret)
		fail_msg("%d rules on one prefix: %d (%s)", EGR_MAX_PREFIX_RULES, ret, err);
	assert_int_equal(c.npfx[0], 1);
	assert_int_equal(c.npfx[1], 0);
	assert_int_equal(c.pfx[0][0].count, EGR_MAX_PREFIX_RULES);
	assert_int_equal(c.nrules, EGR_MAX_PREFIX_RULES);
	make_pkt(&pkt, "10.0.0.1 tcp 32", 0);
	assert_int_equal(compile_eval(&c, &pkt, &id), EGR_ALLOW);
	assert_int_equal(id, EGR_MAX_PREFIX_RULES - 1);
	make_pkt(&pkt, "10.0.0.1 tcp 33", 0);
	assert_int_equal(compile_eval(&c, &pkt, &id), EGR_DENY);
	assert_int_equal(id, EGR_RULE_DEFAULT);
	compiled_free(&c);

	/* A duplicate is compiled once: still within the limit. */
	add_rule(&p, "allow 10.0.0.0/8 tcp:7");
	ret = compile_only(&p, err, sizeof(err));
	if (ret)
		fail_msg("limit + a duplicate: %d (%s)", ret, err);

	/* One more distinct rule: refused, naming the prefix. */
	add_rule(&p, "allow 10.0.0.0/8 tcp:33");
	ret = compile_only(&p, err, sizeof(err));
	fprintf(stderr, "  limit + 1: %d \"%s\"\n", ret, err);
	assert_int_equal(ret, -E2BIG);
	assert_true(strlen(err) > 0);
	assert_non_null(strstr(err, "10.0.0.0/8"));
	policy_free(&p);

	/* Allow and deny rules of a prefix count together. */
	memset(&p, 0, sizeof(p));
	add_port_rules(&p, "allow", "10.0.0.0/8", 1, 16);
	add_port_rules(&p, "deny", "10.0.0.0/8", 100, 116);
	assert_int_equal(compile_only(&p, err, sizeof(err)), -E2BIG);
	assert_true(strlen(err) > 0);
	policy_free(&p);

	/* IPv6 the same. */
	memset(&p, 0, sizeof(p));
	add_port_rules(&p, "deny", "2001:db8::/32", 1, EGR_MAX_PREFIX_RULES);
	ret = compile_only(&p, err, sizeof(err));
	if (ret)
		fail_msg("%d IPv6 rules on one prefix: %d (%s)", EGR_MAX_PREFIX_RULES, ret, err);
	add_rule(&p, "deny 2001:db8::/32 tcp:33");
	assert_int_equal(compile_only(&p, err, sizeof(err)), -E2BIG);
	assert_true(strlen(err) > 0);
	policy_free(&p);

	/* The limit is per prefix: the limit on each of several is fine. */
	memset(&p, 0, sizeof(p));
	add_port_rules(&p, "allow", "10.0.0.0/8", 1, EGR_MAX_PREFIX_RULES);
	add_port_rules(&p, "allow", "10.0.0.0/9", 1, EGR_MAX_PREFIX_RULES);
	add_port_rules(&p, "allow", "2001:db8::/32", 1, EGR_MAX_PREFIX_RULES);
	ret = compile_only(&p, err, sizeof(err));
	if (ret)
		fail_msg("limit on three prefixes: %d (%s)", ret, err);
	policy_free(&p);
}

int main(void)
{
	size_t i, n = NCASES + 2;
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int ret;

	if (!tests)
		return 1;
	for (i = 0; i < NCASES; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&cases[i];
	}
	tests[i].name = "differential_random";
	tests[i++].test_func = test_differential;
	tests[i].name = "prefix_rule_limit";
	tests[i++].test_func = test_prefix_limit;
	ret = _cmocka_run_group_tests("compile", tests, n, NULL, NULL);
	free(tests);
	return ret;
}
