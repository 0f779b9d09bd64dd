// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach and detach a target as a whole (see attach.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "egressctl_guard.h"
#include "kernel/guard.h"
#include "kernel/idcache.h"
#include "kernel/kpool.h"
#include "kernel/kstate.h"
#include "kernel/lsm.h"
#include "kernel/vethguard.h"
#include "kernel/registry.h"
#include "ops/attach.h"

/* Attached already (attach is idempotent): repair missing links. */
static int reattach(const char *cgpath, uint64_t cgid, struct egr_warn *warn, char *err,
		    size_t errlen)
{
	struct egr_kstate ks;
	int ret, made;

	ret = kstate_open(cgid, &ks);
	kstate_close(&ks);
	if (ret == -EPROTONOSUPPORT) {
		char spec[300];

		snprintf(spec, sizeof(spec), "cgroup:%s", cgpath);
		kstate_other_layout(cgpath, ks.meta.abi, spec, err, errlen);
		return ret;
	}
	ret = kstate_repair(cgpath, cgid, &made, err, errlen);
	if (!ret && made)
		warn_add(warn,
			 "%s: the filter's link was missing (an interrupted command?); re-attached",
			 cgpath);
	return ret ?: registry_add(cgid) ?: guard_mark(cgid, EGR_GUARD_MANAGED, err, errlen);
}

int attach_cgroup(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, bool *created, struct egr_warn *warn, char *err,
		  size_t errlen)
{
	int ret;

	*created = false;
	seterr(err, errlen, "%s", "");
	ret = kstate_prepare(err, errlen);
	if (ret)
		return ret;
	lsm_ensure(cgpath, rel, cgid, warn); /* packet-socket guard; warns loudly when it cannot */
	/* what killed attaches, detaches and growths left (tmp-*, dead-*) */
	kstate_clean_stale();
	if (kstate_pinned(cgid))
		return reattach(cgpath, cgid, warn, err, errlen);
	/* Registered first: programs that act for all managed cgroups (the
	 * packet-socket hook) cover this one before its filter is in place.
	 */
	ret = registry_add(cgid);
	if (ret) {
		seterr(err, errlen, "registering cgroup %s in %s: %s", cgpath, EGR_MANAGED_PIN,
		       strerror(-ret));
		return ret;
	}
	ret = o->preloaded ? kpool_claim(o, cgpath, rel, cgid, err, errlen) : -ENOENT;
	if (ret == -ENOENT)
		ret = kstate_create(cgpath, rel, cgid, o, err, errlen);
	if (!ret) {
		*created = true;
		/* Strict mode: the guard on the parent now defers to this filter. */
		ret = guard_mark(cgid, EGR_GUARD_MANAGED, err, errlen);
	}
	if (ret)
		registry_del(cgid);
	return ret;
}

int detach_cgroup(uint64_t cgid, char *err, size_t errlen)
{
	int ret;

	seterr(err, errlen, "%s", "");
	if (!kstate_pinned(cgid)) {
		registry_del(cgid);
		return -ENOENT;
	}
	ret = kstate_remove(cgid, err, errlen);
	/* Detached once the pins have left their name, whatever is left. */
	if (!ret || ret == -ENOTEMPTY)
		idcache_drop(cgid);
	if (ret)
		return ret;
	/* Strict mode: the guard denies the cgroup again. */
	guard_unmark(cgid);
	vguard_release(cgid);
	return registry_del(cgid);
}
