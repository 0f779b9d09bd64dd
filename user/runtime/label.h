/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What to call an attached target in output (user/runtime/label.c). */
#ifndef EGR_LABEL_H
#define EGR_LABEL_H

#include <stddef.h>
#include "kernel/kstate.h"

/* The container name when the state directory knows the cgroup (see
 * state.h), else "cgroup:<path>". Returns buf.
 */
const char *target_label(const struct egr_kstate *ks, char *buf, size_t len);

/* The name of the container whose cgroup is path (below the cgroup v2
 * mount) when the state directory knows it; else NULL.
 */
const char *container_of_path(const char *path, char *buf, size_t len);

#endif /* EGR_LABEL_H */
