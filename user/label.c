// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include "kstate.h"

/* Containers' names come from the state directory once it knows them. */
const char *kstate_label(const struct egr_kstate *ks, char *buf, size_t len)
{
	snprintf(buf, len, "cgroup:%s", ks->meta.path);
	return buf;
}
