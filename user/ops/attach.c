// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach and detach a target as a whole (see attach.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "egressctl_guard.h"
#include "kernel/guard.h"
#include "kernel/idcache.h"
#include "kernel/kpool.h"
#include "kernel/kstate.h"
#include "kernel/lsm.h"
#include "kernel/vethguard.h"
#include "kernel/registry.h"
#include "ops/attach.h"
#include "runtime/state.h"
#include "util/cgroup.h"

/* Attached already (attach is idempotent): repair missing links (no_links:
 * left to attach_finish(), after the policy is in; a filter whose links are
 * all there is finished here, so that attach_finish() has nothing left to
 * do that could fail after a change of policy).
 */
static int reattach(const char *cgpath, uint64_t cgid, bool no_links, struct egr_warn *warn,
		    char *err, size_t errlen)
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
	if (no_links && kstate_links_missing(cgid))
		return registry_add(cgid);
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
		return reattach(cgpath, cgid, o->no_links, warn, err, errlen);
	/* Registered first: programs that act for all managed cgroups (the
	 * packet-socket hook) cover this one before its filter is in place.
	 */
	ret = registry_add(cgid);
	if (ret) {
		seterr(err, errlen, "registering cgroup %s in %s: %s", cgpath, EGR_MANAGED_PIN,
		       strerror(-ret));
		return ret;
	}
	/* A preloaded instance, else (none left, or one that cannot be
	 * claimed) one loaded now.
	 */
	ret = o->preloaded ? kpool_claim(o, cgpath, rel, cgid, err, errlen) : -ENOENT;
	if (ret)
		ret = kstate_create(cgpath, rel, cgid, o, err, errlen);
	if (!ret) {
		*created = true;
		/* Strict mode: the guard on the parent now defers to this
		 * filter (no_links: once attach_finish() has attached it).
		 */
		if (!o->no_links)
			ret = guard_mark(cgid, EGR_GUARD_MANAGED, err, errlen);
	}
	if (ret)
		registry_del(cgid);
	return ret;
}

int attach_finish(const char *cgpath, uint64_t cgid, bool created, char *err, size_t errlen)
{
	int made, ret;

	if (!created && !kstate_links_missing(cgid))
		return 0; /* attached whole already: attach_cgroup() finished it */
	ret = kstate_repair(cgpath, cgid, &made, err, errlen);
	if (!ret)
		ret = guard_mark(cgid, EGR_GUARD_MANAGED, err, errlen);
	if (ret && created)
		detach_cgroup(cgid, NULL, 0);
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

bool attach_stale(const struct egr_kstate *ks)
{
	char mnt[2048], path[2400];
	struct stat sb;

	if (!kstate_link_alive(ks))
		return true;
	if (cgroup2_host_mount(mnt, sizeof(mnt)))
		return false;
	snprintf(path, sizeof(path), "%s%s", mnt, ks->meta.path);
	/* A removed cgroup's link stays attached while sockets hold it. */
	return stat(path, &sb) || (uint64_t)sb.st_ino != ks->cgid;
}

int detach_stale(const char *id, bool all, detach_stale_fn fn, void *ctx)
{
	uint64_t *ids = NULL;
	size_t n = 0, i;
	int cleaned = 0;

	if (kstate_list(&ids, &n))
		return 0;
	for (i = 0; i < n; i++) {
		struct egr_kstate ks;
		char pid[65], path[256], err[512];
		bool match, stale;

		if (kstate_open(ids[i], &ks))
			continue; /* not ours: never touched */
		match = !state_id_of_path(ks.meta.path, pid) && (!id || !strcmp(pid, id));
		stale = match && (all || attach_stale(&ks));
		snprintf(path, sizeof(path), "%s", ks.meta.path);
		if (!id && !match)
			stale = attach_stale(&ks);
		kstate_close(&ks);
		if (!stale)
			continue;
		if (detach_cgroup(ids[i], err, sizeof(err))) {
			if (fn && err[0])
				fn(ids[i], path, match ? pid : NULL, err, ctx);
			continue;
		}
		cleaned++;
		if (fn)
			fn(ids[i], path, match ? pid : NULL, NULL, ctx);
	}
	free(ids);
	return cleaned;
}
