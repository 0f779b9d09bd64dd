/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `egressctl suggest`: a policy file from what audit mode observed
 * (user/policy/suggest.c). Pure: the caller reads the kernel (the policy
 * in force, egr_audit) and hands both over.
 *
 * The file is the policy in force (its default, its rules) with audit off,
 * plus an allow rule for each destination, protocol and port that audit
 * mode let through and that the default would have denied. Destinations a
 * deny rule decided are not allowed (the operator wrote that rule): they
 * are listed as comments. With a grouping bound N (IPv4; N6 for IPv6),
 * addresses seen on the same protocol and port that share their first N
 * bits become one prefix: the longest one holding them all, never shorter
 * than N. Without one, every address is its own /32 (/128). A destination
 * a DNS answer named in audit mode (name) becomes a rule for that name
 * instead, its addresses counted, and is not grouped.
 */
#ifndef EGR_SUGGEST_H
#define EGR_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "policy/rule.h"

/* One destination, protocol and port audit mode let through. */
struct suggest_obs {
	uint8_t family;	 /* 4 or 6 */
	uint8_t addr[16];
	uint8_t proto;	 /* IPPROTO_* */
	uint16_t dport;	 /* TCP and UDP */
	bool ports_unknown; /* fragments: no port known */
	const char *denied_by; /* the deny rule that decided, as text; NULL: the default */
	const char *name; /* interned name (policy/name.h) a DNS answer gave addr; NULL */
	uint64_t packets;
};

struct suggest_opts {
	const char *target; /* as the user named it, for the header */
	int group4, group6; /* grouping bounds; 0: none */
	uint64_t not_recorded; /* packets egr_audit had no room for */
};

/* Write the policy file to f. p: the policy in force (dflt and rules;
 * audit is written as false). 0, -ENOMEM, or -EIO when writing failed.
 */
int suggest_format(FILE *f, const struct egr_policy *p, const struct suggest_obs *o, size_t n,
		   const struct suggest_opts *opt);

#endif /* EGR_SUGGEST_H */
