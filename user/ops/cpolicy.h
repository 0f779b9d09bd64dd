/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A container's policy, as watch (ops/watch.h) and the OCI hook
 * (ops/hook.h) find it and put it in force: its saved policy (state.h),
 * else the policy its labels or annotations carry (docker_labels.h), else
 * none. Putting it in force: attach to the container's cgroup
 * (ops/attach.h), apply the policy unless exactly it is in force, and save
 * it so that list and status name the container.
 */
#ifndef EGR_CPOLICY_H
#define EGR_CPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"
#include "policy/rule.h"
#include "runtime/state.h"
#include "util/err.h"

struct cpolicy {
	struct egr_policy pol;
	struct egr_state st; /* saved: its state file */
	const char *source; /* "saved", or the kind of the label set it came from */
	bool saved;
	uint32_t max_rules; /* the capacity saved with it; 0: the default */
	uint32_t max_learned;
};

/* Labels (or annotations) as a JSON object text (NULL: none), and what to
 * call them in messages ("label", "annotation").
 */
struct label_set {
	const char *json;
	const char *kind;
};

/*
 * The policy of container id (NULL: none saved): saved, else from the
 * first of the n label sets that has egressctl.* keys. 1 (cp filled), 0 (none), or -errno with
 * one line in err (-EPROTO: an unreadable state file; -EINVAL: a bad label,
 * cp->source names its kind). Free with cpolicy_free() in every case.
 */
int cpolicy_load(const char *id, const struct label_set *sets, size_t n, struct cpolicy *cp,
		 char *err, size_t errlen);
void cpolicy_free(struct cpolicy *cp);

/* Is exactly pol (default, audit, rules) in force in ks? */
bool cpolicy_in_force(const struct egr_kstate *ks, const struct egr_policy *pol);

/* The caller holds kstate_lock() for both steps. */

/* Attach to the cgroup (cgpath, below the mount rel, id cgid) with cp's
 * capacity (preloaded: from watch's preloaded instances when one is
 * there); *created: attached by this call. 0, or -errno (err may say
 * more, warn gets what the user must know although it worked).
 * An instance it creates is not attached yet: cpolicy_apply() fills it,
 * then attach_finish() (ops/attach.h) attaches it with its policy whole.
 */
int cpolicy_attach(const char *cgpath, const char *rel, uint64_t cgid, const struct cpolicy *cp,
		   bool preloaded, bool *created, struct egr_warn *warn, char *err, size_t errlen);

/*
 * Put cp in force on the attached cgroup cgid unless exactly it is (always
 * when created); *applied: it was written. With save_id, save what is in
 * force as that container's policy (named save_name) when the policy came
 * from labels or the saved name differs. 0, or -errno with one line in err
 * (*saving: the save failed, the policy is in force).
 */
int cpolicy_apply(uint64_t cgid, const struct cpolicy *cp, bool created, const char *save_id,
		  const char *save_name, bool *applied, bool *saving, char *err, size_t errlen);

#endif /* EGR_CPOLICY_H */
