/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading the policy in force back from the kernel (user/kernel/kread.c). */
#ifndef EGR_KREAD_H
#define EGR_KREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"
#include "policy/rule.h"

/* A rule in force, read back from the kernel. */
struct egr_live_rule {
	struct egr_urule rule;
	struct egr_rule krule; /* as the kernel holds it (.id == id) */
	uint32_t id;
	uint64_t hits;
};

/* A kernel rule of prefix d as the userspace model says it. */
void krule_to_urule(const struct egr_rule *r, const struct egr_dest *d, struct egr_urule *u);

/* Read the active policy (rules sorted by family, prefix, deny first). */
int kpolicy_read(const struct egr_kstate *ks, struct egr_policy *pol, struct egr_live_rule **rules,
		 size_t *n);

/* The same; with_hits false skips reading the counters (hits = 0). */
int kpolicy_read_ex(const struct egr_kstate *ks, struct egr_policy *pol,
		    struct egr_live_rule **rules, size_t *n, bool with_hits);

/* Rebuild egr_meta's counts and the rule-id free stack from the live slot
 * (after a change whose process died: egr_meta.dirty). Under the lock.
 */
int kpolicy_recover(struct egr_kstate *ks);

/* Refused (and, in audit mode, would-be refused) connect()/sendmsg()
 * calls per process name, from egr_comm: at most EGR_COMM_MAX names and the
 * overflow row (other), sorted by name, the overflow last.
 */
struct egr_comm_stat {
	char comm[17];
	bool other; /* the names past EGR_COMM_MAX, together */
	uint64_t denied, audit;
};

int kread_comm(const struct egr_kstate *ks, struct egr_comm_stat **out, size_t *n);

#endif /* EGR_KREAD_H */
