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

#endif /* EGR_KAPPLY_H */
