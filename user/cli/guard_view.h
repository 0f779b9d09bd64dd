/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The strict-mode guard as `status` and `watch --guard-status` show it:
 * where it is attached, what it does, what it has admitted and what it is
 * holding back, its counters, and the command that removes it.
 */
#ifndef EGR_GUARD_VIEW_H
#define EGR_GUARD_VIEW_H

#include <stdbool.h>
#include <jansson.h>

#define GUARD_REMOVE_CMD "egressctl watch --remove-guard"

/* The guard as JSON: null when none is pinned; an object with "error"
 * when its pins are not usable.
 */
json_t *guard_view_json(void);

/* The guard as text lines (the first: "guard on cgroup <path> (id N)", or
 * "no guard installed"). 0, or -EPROTO when its pins are not usable (the
 * line says so).
 */
int guard_view_print(void);

/* One line for attach/detach when the guard covers cgroup path rel (below
 * the cgroup v2 mount) and holds cgroups back: what that means and how to
 * see or undo it. Nothing otherwise.
 */
void guard_view_note(const char *rel, bool detached);

#endif /* EGR_GUARD_VIEW_H */
