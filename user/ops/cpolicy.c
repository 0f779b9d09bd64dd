// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A container's policy: found, attached, applied (see cpolicy.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/kgrow.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "ops/attach.h"
#include "ops/cpolicy.h"
#include "policy/addr.h"
#include "runtime/docker_labels.h"

int cpolicy_load(const char *id, const struct label_set *sets, size_t n, struct cpolicy *cp,
		 char *err, size_t errlen)
{
	size_t i;
	int ret;

	memset(cp, 0, sizeof(*cp));
	ret = id ? state_load(id, &cp->st, err, errlen) : -ENOENT;
	if (!ret) {
		cp->pol = cp->st.pol;
		memset(&cp->st.pol, 0, sizeof(cp->st.pol));
		cp->source = "saved";
		cp->saved = true;
		cp->max_rules = cp->st.max_rules;
		cp->max_learned = cp->st.max_learned;
		return 1;
	}
	if (ret != -ENOENT) {
		cp->source = "saved";
		return ret;
	}
	for (i = 0; i < n; i++) {
		ret = label_policy(sets[i].json, DOCKER_LABEL_PREFIX, sets[i].kind, &cp->pol, err,
				   errlen);
		if (!ret)
			continue;
		cp->source = sets[i].kind;
		return ret;
	}
	return 0;
}

void cpolicy_free(struct cpolicy *cp)
{
	policy_free(&cp->pol);
	state_free(&cp->st);
}

int cpolicy_attach(const char *cgpath, const char *rel, uint64_t cgid, const struct cpolicy *cp,
		   bool preloaded, bool *created, struct egr_warn *warn, char *err, size_t errlen)
{
	struct egr_attach_opts ao = { .dflt = EGR_DENY,
				      .max_rules = cp->max_rules,
				      .max_learned = cp->max_learned,
				      .preloaded = preloaded,
				      .no_links = true };

	return attach_cgroup(cgpath, rel, cgid, &ao, created, warn, err, errlen);
}

static bool rule_in(const struct egr_urule *r, const struct egr_urule *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (urule_equal(r, &v[i]))
			return true;
	return false;
}

bool cpolicy_in_force(const struct egr_kstate *ks, const struct egr_policy *pol)
{
	struct egr_live_rule *lr = NULL;
	struct egr_policy k;
	size_t n = 0, i;
	bool same;

	if (kpolicy_read(ks, &k, &lr, &n))
		return false;
	same = k.dflt == pol->dflt && k.audit == pol->audit && n <= pol->n;
	for (i = 0; same && i < n; i++)
		same = rule_in(&lr[i].rule, pol->rules, pol->n);
	for (i = 0; same && i < pol->n; i++) {
		size_t j;

		same = false;
		for (j = 0; j < n && !same; j++)
			same = urule_equal(&pol->rules[i], &lr[j].rule);
	}
	free(lr);
	policy_free(&k);
	return same;
}

int cpolicy_apply(uint64_t cgid, const struct cpolicy *cp, bool created, const char *save_id,
		  const char *save_name, bool *applied, bool *saving, char *err, size_t errlen)
{
	struct egr_kstate ks;
	char e[512] = "";
	int ret;

	*applied = *saving = false;
	ret = kstate_open(cgid, &ks);
	if (ret) {
		seterr(err, errlen, "opening the filter of cgroup id %llu: %s",
		       (unsigned long long)cgid, strerror(-ret));
		return ret;
	}
	if (created || !cpolicy_in_force(&ks, &cp->pol)) {
		ret = kpolicy_apply_grow(&ks, &cp->pol, NULL, e, sizeof(e));
		if (ret)
			seterr(err, errlen, "applying its %s policy: %s", cp->source, e);
		*applied = !ret;
	}
	/* Label and annotation policies are saved so that list/status name
	 * the container.
	 */
	if (!ret && save_id && (!cp->saved || strcmp(cp->st.name, save_name))) {
		ret = state_save_kernel(&ks, save_id, save_name,
					cp->saved ? cp->st.source : cp->source, err, errlen);
		*saving = ret != 0;
	}
	kstate_close(&ks);
	return ret;
}
