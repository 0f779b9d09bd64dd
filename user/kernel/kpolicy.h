/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Live edits of the policy in force (user/kernel/kpolicy.c). */
#ifndef EGR_KPOLICY_H
#define EGR_KPOLICY_H

#include <stddef.h>
#include "kernel/kstate.h"
#include "policy/rule.h"

/* Add (allow/deny) or remove rules live. All-or-nothing: every check is
 * made before the first write. err gets one line on failure.
 */
int kpolicy_add(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		size_t errlen);
int kpolicy_remove(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		   size_t errlen);

/* Change the default verdict / audit flag of the live slot (-1: keep). */
int kpolicy_set_cfg(struct egr_kstate *ks, int dflt, int audit);

#endif /* EGR_KPOLICY_H */
