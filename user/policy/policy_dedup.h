/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Dropping duplicate rules of a policy as they come (user/policy/policy_dedup.c):
 * a hash set of the rules kept so far.
 */
#ifndef EGR_POLICY_DEDUP_H
#define EGR_POLICY_DEDUP_H

#include <stddef.h>
#include <stdint.h>
#include "policy/rule.h"

/* New rules are looked up this many at a time. */
#define DEDUP_BATCH 32

/* The rules p->rules[0..kept) are distinct and in the set. */
struct rule_set {
	uint32_t *set; /* SET_TAG(hash) | (index + 1) into the rules; 0: free slot */
	size_t size;
	size_t kept;
};

/* Room in the set for need rules (a hint: dedup grows it as needed).
 * 0 or -ENOMEM.
 */
int rule_set_reserve(struct rule_set *s, const struct egr_policy *p, size_t need);

/* Drop the rules after kept equal to one kept, so that the first of each
 * set of equal rules stays, in order; they are all kept then. 0 or -ENOMEM.
 */
int rule_set_dedup(struct rule_set *s, struct egr_policy *p);

void rule_set_free(struct rule_set *s);

/* Drop duplicate rules, the first of each kept (0 or -ENOMEM). */
int policy_dedup(struct egr_policy *p);

#endif /* EGR_POLICY_DEDUP_H */
