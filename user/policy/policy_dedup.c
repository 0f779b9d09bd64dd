// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Duplicate rules dropped as they come (see policy_dedup.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_dedup.h"
#include "policy/policy_file.h"

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Duplicates are found with a hash set of the rules kept. An entry holds a
 * rule's index + 1 in its low bits and a few bits of its hash above: most
 * probes then need not look at the rule itself, a cache miss away in a large
 * policy. New rules are looked up a batch at a time, for the same reason.
 */
#define SET_IDX_BITS 23
#define SET_IDX(v) ((v) & ((1u << SET_IDX_BITS) - 1))
#define SET_TAG(h) ((uint32_t)((h) >> (64 - (32 - SET_IDX_BITS))) << SET_IDX_BITS)
_Static_assert(POLICY_RULES_MAX < 1u << SET_IDX_BITS, "rule index must fit a set entry");

/* Hashes exactly what urule_equal() compares. */
static uint64_t rule_hash(const struct egr_urule *r)
{
	uint64_t a, b = 0, m;
	uint32_t a4;

	if (r->dest.family == 4) {
		memcpy(&a4, r->dest.addr, 4);
		a = a4;
	} else {
		memcpy(&a, r->dest.addr, 8);
		memcpy(&b, r->dest.addr + 8, 8);
	}
	m = r->action | (uint64_t)r->dest.family << 8 | (uint64_t)r->dest.plen << 16 |
	    (uint64_t)(r->ps.proto & 0xff) << 24 | (uint64_t)r->ps.has_ports << 32;
	if (r->ps.has_ports)
		m ^= (uint64_t)r->ps.lo << 40 | (uint64_t)r->ps.hi << 48;
	/* one mix: the multiplications spread a, b over all 64 bits first */
	return mix64(a * 0x9e3779b97f4a7c15ULL ^ b * 0xc2b2ae3d27d4eb4fULL ^ m);
}

/* Room in the set for need rules, at most half full. */
int rule_set_reserve(struct rule_set *c, const struct egr_policy *p, size_t need)
{
	size_t size = c->size ? c->size : 1024, mask, i, h;
	const struct egr_urule *rules = p->rules;
	uint64_t hash;
	uint32_t *set;

	while (size < 2 * need)
		size *= 2;
	if (size == c->size)
		return 0;
	set = calloc(size, sizeof(*set));
	if (!set)
		return -ENOMEM;
	mask = size - 1;
	for (i = 0; i < c->kept; i++) {
		if (i + 8 < c->kept)
			__builtin_prefetch(&set[rule_hash(&rules[i + 8]) & mask], 1);
		hash = rule_hash(&rules[i]);
		for (h = hash & mask; set[h]; h = (h + 1) & mask)
			;
		set[h] = SET_TAG(hash) | (i + 1);
	}
	free(c->set);
	c->set = set;
	c->size = size;
	return 0;
}

/*
 * Drop the waiting rules (after kept) equal to one kept, so that the first
 * of each set of equal rules stays, in file order. A batch of at most
 * DEDUP_BATCH is looked up at once (n <= DEDUP_BATCH).
 */
int rule_set_dedup(struct rule_set *c, struct egr_policy *p)
{
	struct egr_urule *rules = p->rules;
	size_t k, h, mask, o = c->kept, n = p->n - c->kept;
	uint64_t hash[DEDUP_BATCH];
	uint32_t v;

	if (rule_set_reserve(c, p, p->n))
		return -ENOMEM;
	mask = c->size - 1;
	for (k = 0; k < n; k++) {
		hash[k] = rule_hash(&rules[c->kept + k]);
		__builtin_prefetch(&c->set[hash[k] & mask]);
	}
	/* and the rule that is likely the same, if any */
	for (k = 0; k < n; k++) {
		v = c->set[hash[k] & mask];
		if (v && (v & ~SET_IDX(~0u)) == SET_TAG(hash[k]))
			__builtin_prefetch(&rules[SET_IDX(v) - 1]);
	}
	for (k = 0; k < n; k++) {
		for (h = hash[k] & mask; (v = c->set[h]); h = (h + 1) & mask)
			if ((v & ~SET_IDX(~0u)) == SET_TAG(hash[k]) &&
			    urule_equal(&rules[SET_IDX(v) - 1], &rules[c->kept + k]))
				break;
		if (v)
			continue;
		rules[o] = rules[c->kept + k];
		c->set[h] = SET_TAG(hash[k]) | ++o;
	}
	p->n = c->kept = o;
	return 0;
}

void rule_set_free(struct rule_set *s)
{
	free(s->set);
	memset(s, 0, sizeof(*s));
}

int policy_dedup(struct egr_policy *p)
{
	struct rule_set s = { 0 };
	size_t total = p->n, next = 0, m;
	int ret = 0;

	/* in rule_set_dedup()'s batches, as the policy reader feeds it */
	p->n = 0;
	while (next < total && !ret) {
		m = total - next < DEDUP_BATCH ? total - next : DEDUP_BATCH;
		memmove(p->rules + s.kept, p->rules + next, m * sizeof(*p->rules));
		p->n = s.kept + m;
		next += m;
		ret = rule_set_dedup(&s, p);
	}
	rule_set_free(&s);
	return ret;
}
