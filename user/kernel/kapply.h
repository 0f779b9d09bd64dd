/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* apply: replace a cgroup's whole policy atomically (user/kernel/kapply.c). */
#ifndef EGR_KAPPLY_H
#define EGR_KAPPLY_H

#include <stddef.h>
#include "kernel/kstate.h"
#include "policy/rule.h"

/* Replace the whole policy atomically (default, audit and rules). */
int kpolicy_apply(struct egr_kstate *ks, const struct egr_policy *p, char *err, size_t errlen);

/* apply reads the live policy to keep rule ids (and so hit counters) of
 * rules that stay. With a big policy, start that read first, in a thread,
 * while the file is parsed, then hand it to kpolicy_apply_prefetched()
 * (which joins and frees it). Hold the lock from before the start.
 */
struct egr_prefetch;
int kpolicy_prefetch(const struct egr_kstate *ks, struct egr_prefetch **pf);
int kpolicy_apply_prefetched(struct egr_kstate *ks, const struct egr_policy *p,
			     struct egr_prefetch *pf, char *err, size_t errlen);
void kpolicy_prefetch_cancel(struct egr_prefetch *pf);

/* A "prefetch" of rules already known (with their ids, any order): the
 * apply keeps those ids. Takes live (malloc'd). NULL: out of memory.
 */
struct egr_crule;
struct egr_prefetch *kpolicy_prefetch_of(struct egr_crule *live, size_t n);

/* When the policy does not fit the instance: make room for need rules and
 * prefixes per family (kgrow.c swaps in a bigger instance and re-opens ks
 * on it), or fail with a message. 0 or -errno.
 */
typedef int kpolicy_grow_fn(struct egr_kstate *ks, size_t need, void *ctx, char *err,
			    size_t errlen);

/* kpolicy_apply_prefetched() that calls grow (when not NULL) instead of
 * refusing a policy too large for the instance (pf may be NULL).
 */
int kpolicy_apply_ex(struct egr_kstate *ks, const struct egr_policy *p, struct egr_prefetch *pf,
		     kpolicy_grow_fn *grow, void *grow_ctx, char *err, size_t errlen);

#endif /* EGR_KAPPLY_H */
