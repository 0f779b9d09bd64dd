/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Capacity that grows instead of refusing (user/kernel/kgrow.c). The
 * capacity of an instance (its maps' sizes) is fixed when it is loaded;
 * when a change needs more, a bigger instance is loaded with the same
 * policy, rule ids and hit counts, taking over the maps whose contents must
 * outlive the swap (kstate_load_ex()), and swapped in: its pins replace the
 * old ones in one rename, then every link of the cgroup is pointed at its
 * program with bpf_link_update(), which is atomic for the cgroup. The
 * filter is never detached: each packet and each call is judged by the
 * old instance or the new one, which hold the same policy, and the change
 * itself is then applied to the new one as to any instance (each packet
 * judged by the old policy or the new one, never a mix).
 */
#ifndef EGR_KGROW_H
#define EGR_KGROW_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/kapply.h"
#include "kernel/kstate.h"
#include "policy/rule.h"

/* The capacity an instance of capacity cap grows to for need rules (and
 * prefixes per family): twice cap, or need rounded up to a power of two,
 * at most EGR_MAX_MAX_RULES. 0 when need is more than that.
 */
uint32_t kgrow_capacity(uint32_t cap, size_t need);

/* Swap in a bigger instance for the attached cgroup of ks (pins open),
 * holding need rules; ks is re-opened on it. Under the lock. 0 or -errno
 * with a message (-ENOSPC: more than any instance holds, or ks is not
 * pinned: a test's instance).
 */
int kgrow(struct egr_kstate *ks, size_t need, char *err, size_t errlen);

/* kpolicy_apply_prefetched() that grows the capacity when the policy does
 * not fit (pf may be NULL).
 */
int kpolicy_apply_grow(struct egr_kstate *ks, const struct egr_policy *p,
		       struct egr_prefetch *pf, char *err, size_t errlen);

#endif /* EGR_KGROW_H */
