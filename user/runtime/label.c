// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include "runtime/label.h"
#include "runtime/state.h"

/*
 * A container's cgroup path holds its id ("/docker/<id>",
 * "/system.slice/docker-<id>.scope"); when the state directory has a policy
 * for that id, the target is called by the container's name.
 */
const char *container_of_path(const char *path, char *buf, size_t len)
{
	struct egr_state s;
	char id[65], err[8];

	if (state_id_of_path(path, id) || state_load(id, &s, err, sizeof(err)))
		return NULL;
	if (s.name[0])
		snprintf(buf, len, "%s", s.name);
	else
		snprintf(buf, len, "%.12s", id);
	state_free(&s);
	return buf;
}

const char *target_label(const struct egr_kstate *ks, char *buf, size_t len)
{
	if (container_of_path(ks->meta.path, buf, len))
		return buf;
	snprintf(buf, len, "cgroup:%s", ks->meta.path);
	return buf;
}
