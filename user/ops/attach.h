/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attaching and detaching a target as a whole: the filter's pins
 * (kernel/kstate.h), the packet-socket guard (kernel/lsm.h), the registry
 * of managed cgroups (kernel/registry.h), the strict-mode guard's map
 * (kernel/guard.h) and the rule-id cache (kernel/idcache.h). Callers hold
 * kstate_lock(). err gets one line when there is something to say (it may
 * stay empty: then the call said nothing more than its return value).
 */
#ifndef EGR_ATTACH_H
#define EGR_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"
#include "util/err.h"

/* Attach to the cgroup directory cgpath (id cgid; rel is its path below the
 * cgroup v2 mount, kept for display). If the cgroup is attached already,
 * changes nothing but missing links and sets *created = false. What the
 * user must know although it worked (packet sockets not blocked, say) is
 * added to warn.
 */
int attach_cgroup(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, bool *created, struct egr_warn *warn, char *err,
		  size_t errlen);

/* After attach_cgroup() with o->no_links and the policy filled in: attach
 * the links (of a new instance, or those an interrupted attach left
 * missing: the filter is in force from here on, its policy whole), then
 * (strict mode) the guard defers to it. Nothing to do for a filter that was
 * attached whole. On failure an instance this attach created (created) is
 * removed again: under --strict the guard still denies the cgroup; without
 * it, the cgroup is unfiltered as it was before the attach.
 */
int attach_finish(const char *cgpath, uint64_t cgid, bool created, char *err, size_t errlen);

/* Remove the filter's links (the kernel detaches the program) and every
 * pin of cgid, and its entries. -ENOENT when it is not attached.
 */
int detach_cgroup(uint64_t cgid, char *err, size_t errlen);

/* Is the cgroup ks was attached to gone (or re-created under its path)? */
bool attach_stale(const struct egr_kstate *ks);

/*
 * Detach the pins of container id's cgroups (the id is in their path at
 * attach) whose cgroup is gone, or all of them with all; id NULL: of every
 * cgroup that is gone. fn (may be NULL) hears of each: with err NULL when
 * it was removed (id: the container id in its path, NULL if none), else
 * with the error. Returns how many were removed.
 */
typedef void (*detach_stale_fn)(uint64_t cgid, const char *path, const char *id, const char *err,
				void *ctx);
int detach_stale(const char *id, bool all, detach_stale_fn fn, void *ctx);

#endif /* EGR_ATTACH_H */
