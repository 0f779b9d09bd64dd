// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* egressctl hook: the policy in force before the first instruction (hook.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernel/kstate.h"
#include "ops/attach.h"
#include "ops/cpolicy.h"
#include "ops/hook.h"
#include "runtime/target.h"

/* The container's policy: 1 (cp filled), 0 (none), or -errno. */
static int policy_of(const struct hook_opts *o, const struct oci_state *st, struct cpolicy *cp,
		     struct hook_result *r, char *err, size_t errlen)
{
	struct label_set set = { st->annotations_json, "annotation" };
	char *labels = NULL;
	int ret;

	ret = cpolicy_load(st->id, &set, 1, cp, err, errlen);
	if (ret || !o->docker)
		return ret;
	cpolicy_free(cp);
	ret = oci_docker_config(st->bundle, st->id, o->docker_root, r->name, sizeof(r->name),
				&labels, err, errlen);
	if (ret) {
		cp->source = "label";
		return ret;
	}
	set.json = labels;
	set.kind = "label";
	ret = cpolicy_load(st->id, &set, 1, cp, err, errlen);
	free(labels);
	return ret;
}

/*
 * Test hook (README "Tests"): EGRESSCTL_TEST_HOOK_FAIL=1 makes the attach
 * fail as a kernel that refuses the filter would, once the policy is
 * known: the path of a hook that cannot put a policy in force.
 */
static int test_fail(char *err, size_t errlen)
{
	const char *s = getenv("EGRESSCTL_TEST_HOOK_FAIL");

	if (!s || strcmp(s, "1"))
		return 0;
	seterr(err, errlen, "attaching the filter: %s (test hook EGRESSCTL_TEST_HOOK_FAIL)",
	       strerror(EPERM));
	return -EPERM;
}

/* Attach to the cgroup of st->pid and apply cp; a filter attached here is
 * removed again when the policy does not go in.
 */
static int put_in_force(const struct oci_state *st, const struct cpolicy *cp, struct hook_result *r,
			struct egr_warn *warn, char *err, size_t errlen)
{
	struct egr_target t;
	char spec[32];
	bool applied, saving;
	int ret, lock;

	snprintf(spec, sizeof(spec), "pid:%d", (int)st->pid);
	ret = target_resolve(spec, NULL, &t, err, errlen);
	if (ret)
		return ret;
	snprintf(r->rel, sizeof(r->rel), "%s", t.rel);
	ret = test_fail(err, errlen);
	if (ret)
		return ret;
	lock = kstate_lock();
	if (lock < 0) {
		seterr(err, errlen, "taking the lock: %s", strerror(-lock));
		return lock;
	}
	ret = cpolicy_attach(t.cgpath, t.rel, t.cgid, cp, false, &r->created, warn, err, errlen);
	if (ret && !err[0])
		seterr(err, errlen, "attaching to cgroup %s: %s", t.rel, strerror(-ret));
	if (!ret)
		ret = cpolicy_apply(t.cgid, cp, r->created, NULL, NULL, &applied, &saving, err,
				    errlen);
	if (!ret) /* attached with its policy whole */
		ret = attach_finish(t.cgpath, t.cgid, r->created, err, errlen);
	else if (r->created)
		detach_cgroup(t.cgid, NULL, 0);
	if (ret)
		r->created = false;
	kstate_unlock(lock);
	return ret;
}

static int enforce(const struct hook_opts *o, const struct oci_state *st, struct hook_result *r,
		   struct egr_warn *warn, char *err, size_t errlen)
{
	struct cpolicy cp;
	char why[1024];
	int ret;

	if (st->pid <= 0) {
		seterr(err, errlen,
		       "the OCI state has no pid: run egressctl hook at the createRuntime (or prestart) stage");
		return -EINVAL;
	}
	if (geteuid()) {
		/* A rootless runtime runs hooks as its user: no saved policies
		 * (root's), nothing can be attached; only a container that asks
		 * for a policy is refused.
		 */
		struct label_set set = { st->annotations_json, "annotation" };

		memset(&cp, 0, sizeof(cp));
		ret = cpolicy_load(NULL, &set, 1, &cp, err, errlen);
		if (ret == 1) {
			seterr(err, errlen,
			       "the hook runs as uid %u, not root: a policy cannot be put in force for a rootless container",
			       (unsigned int)geteuid());
			ret = -EPERM;
		}
	} else {
		ret = policy_of(o, st, &cp, r, err, errlen);
	}
	if (ret == 1 && cp.saved && !r->name[0])
		snprintf(r->name, sizeof(r->name), "%s", cp.st.name);
	if (ret == 1) {
		r->source = cp.source;
		r->rules = cp.pol.n;
		r->dflt = cp.pol.dflt;
		r->audit = cp.pol.audit;
		ret = put_in_force(st, &cp, r, warn, err, errlen);
	}
	cpolicy_free(&cp);
	if (ret < 0) {
		snprintf(why, sizeof(why), "%s", err[0] ? err : strerror(-ret));
		seterr(err, errlen, "container %.12s%s%s%s: %s; not starting it", st->id,
		       r->name[0] ? " (" : "", r->name, r->name[0] ? ")" : "", why);
	}
	return ret < 0 ? ret : 0;
}

int hook_run(const struct hook_opts *o, const struct oci_state *st, struct hook_result *r,
	     struct egr_warn *warn, char *err, size_t errlen)
{
	int lock;

	memset(r, 0, sizeof(*r));
	seterr(err, errlen, "%s", "");
	if (strcmp(st->status, "stopped"))
		return enforce(o, st, r, warn, err, errlen);
	r->poststop = true;
	if (geteuid())
		return 0;
	lock = kstate_lock();
	if (lock < 0) {
		seterr(err, errlen, "taking the lock: %s", strerror(-lock));
		return lock;
	}
	r->cleaned = (unsigned int)detach_stale(st->id, false, NULL, NULL);
	kstate_unlock(lock);
	return 0;
}
