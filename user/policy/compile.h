/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The policy compiler: struct egr_policy -> the kernel layout described in
 * include/egressctl.h (per family, one trie entry per distinct prefix, each
 * with a slice of rules, deny rules first). Pure code, no kernel access.
 */
#ifndef EGR_COMPILE_H
#define EGR_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "policy/rule.h"

struct egr_cprefix {
	struct egr_dest dest; /* family, plen, normalized addr */
	uint32_t first;       /* index into egr_compiled.rules */
	uint16_t count;       /* 1..EGR_MAX_PREFIX_RULES, deny rules first */
};

/* The kinds of destination, as compiled (and as tries in the kernel). */
enum {
	EGR_K_V4 = 0,
	EGR_K_V6 = 1,
	EGR_K_NAME = 2, /* domain names (policy/name.h) */
	EGR_NKINDS = 3,
};

static inline int egr_kind(const struct egr_dest *d)
{
	return d->family == 4 ? EGR_K_V4 : d->family == 6 ? EGR_K_V6 : EGR_K_NAME;
}

struct egr_compiled {
	uint8_t dflt; /* EGR_ALLOW / EGR_DENY */
	bool audit;
	uint32_t min_ttl, max_per_name; /* name rules' learning (never 0) */
	/* [EGR_K_V4], [EGR_K_V6]: sorted by (plen, addr); [EGR_K_NAME]: by
	 * name.
	 */
	struct egr_cprefix *pfx[EGR_NKINDS];
	size_t npfx[EGR_NKINDS];
	/* Kernel rules in slice order. .id holds the index of the source
	 * rule in egr_policy.rules until the loader assigns real ids.
	 */
	struct egr_rule *rules;
	size_t nrules;
};

/*
 * Compile. Duplicate rules (urule_equal) are compiled once. Errors (one
 * line in err): -E2BIG when one prefix would hold more than
 * EGR_MAX_PREFIX_RULES rules, -EINVAL for a deny rule with a name,
 * -ENOMEM.
 */
int compile_policy(const struct egr_policy *p, struct egr_compiled *c, char *err,
		   size_t errlen);
void compiled_free(struct egr_compiled *c);

/* The order of compiled rules (egr_compiled.rules): family, prefix length,
 * address, deny first, protocol, flags, ports. Ignores rule ids.
 */
int compile_rule_cmp(const struct egr_dest *da, const struct egr_rule *a,
		     const struct egr_dest *db, const struct egr_rule *b);

/* An element to sort: an integer key, and the index of what it stands for. */
struct egr_sortkey {
	uint64_t key;
	uint32_t idx;
};

/*
 * Sort k[0..n) by .key, then each run of equal keys by cmp(ctx, a, b) of
 * their .idx, which must order any two (break ties by index to keep the
 * sort stable). With compile_prefix_key() that sorts anything by prefix
 * in about linear time: runs are the few entries whose key cannot tell
 * them apart. 0 or -ENOMEM.
 */
int compile_sort(struct egr_sortkey *k, size_t n,
		 int (*cmp)(const void *ctx, uint32_t a, uint32_t b), const void *ctx);

/* A rule in kernel form with its prefix. */
struct egr_crule {
	struct egr_dest dest;
	struct egr_rule r;
};

/* Sort x into compile_rule_cmp() order, stable, in about a third of the
 * time qsort() with compile_rule_cmp() takes on a million rules. 0 or
 * -ENOMEM.
 */
int compile_sort_crules(struct egr_crule *x, size_t n);

/* Family, prefix length and the first 48 bits of the address (of a name:
 * its first 6 characters) as one integer: a < b implies the prefix order
 * of compile_rule_cmp(); equal keys need the full comparison (prefixes
 * longer than 48 bits).
 */
uint64_t compile_prefix_key(const struct egr_dest *d);

/* The order of prefixes: family, prefix length, address; names after
 * addresses, by their text.
 */
int compile_dest_cmp(const struct egr_dest *a, const struct egr_dest *b);

/* Does a compiled rule match a packet of protocol proto (IPPROTO_*),
 * parse flags EGR_PKT_* and destination port dport? rule_match() of the
 * BPF program, in userspace (explain, the test oracles): a field the
 * packet does not know matches a deny rule and never an allow rule.
 */
bool compile_rule_matches(const struct egr_rule *r, uint8_t proto, uint8_t flags, uint16_t dport);

#endif /* EGR_COMPILE_H */
