/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The strict-mode guard (include/egressctl_guard.h): installing it on the
 * container engine's parent cgroup, its managed-cgroup map, removal and
 * counters. Callers that change pins hold kstate_lock().
 */
#ifndef EGR_GUARD_H
#define EGR_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl_guard.h"

struct egr_guard_info {
	struct egr_guard_meta meta;
	bool alive; /* the link is attached to a live cgroup */
	size_t entries; /* cgroups in egr_guard_cg */
	size_t managed; /* ... of them EGR_GUARD_MANAGED */
	struct egr_counter stats[EGR_GSTAT_MAX];
};

/* Is a guard pinned? */
bool guard_present(void);

/*
 * Attach the guard to the cgroup v2 directory rel (below the mount, e.g.
 * "/docker"; created if missing, so the guard is there before the engine
 * starts its first container) and pin it. Every attached egressctl target
 * is entered as managed. A pinned guard whose cgroup is gone is replaced;
 * a live one on another cgroup is an error (-EEXIST). *created tells.
 */
int guard_install(const char *rel, bool *created, char *err, size_t errlen);

/* Unpin the guard: the kernel detaches it. 0 or -ENOENT. */
int guard_remove(void);

/* Set / clear a cgroup's entry. 0 when no guard is pinned. */
int guard_mark(uint64_t cgid, uint32_t val, char *err, size_t errlen);
int guard_unmark(uint64_t cgid);

/*
 * Make the map match the pins: every live egressctl target is managed,
 * managed entries without pins go; EGR_GUARD_ALLOW entries stay only for
 * the cgroups in allow[0..n). 0 when no guard is pinned.
 */
int guard_sync(const uint64_t *allow, size_t n);

/* guard_sync() that keeps every EGR_GUARD_ALLOW entry (the list of those
 * to keep is not known whole).
 */
int guard_sync_keep(void);

int guard_info(struct egr_guard_info *gi);

/* Cgroups the guard holds: live ones under the guarded cgroup, with a
 * process, that have no entry (no policy in force, not allowed by watch):
 * every packet they send but loopback is dropped. count of them all, the
 * first EGR_GUARD_HELD_LIST paths (below the cgroup v2 mount).
 */
#define EGR_GUARD_HELD_LIST 16
#define EGR_GUARD_HELD_DEPTH 6

struct egr_guard_held {
	size_t count;
	size_t n;
	char **paths;
};

/* 0 (also when the guard's cgroup is gone: none held), -ENOENT when no
 * guard is pinned, -EPROTO. Free with guard_held_free().
 */
int guard_held(struct egr_guard_held *h);
void guard_held_free(struct egr_guard_held *h);

#endif /* EGR_GUARD_H */
