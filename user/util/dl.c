// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include "util/dl.h"

static void keep_why(struct dl_lib *l)
{
	const char *e = dlerror();

	if (!l->why[0])
		snprintf(l->why, sizeof(l->why), "%s", e ? e : "unknown error");
}

void *dl_sym(struct dl_lib *l, const char *sym)
{
	void *p = dlsym(l->handle, sym);

	if (!p)
		keep_why(l);
	return p;
}

int dl_load(struct dl_lib *l, char *err, size_t errlen)
{
	if (l->ready)
		return 0;
	l->why[0] = '\0';
	l->handle = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (l->handle) {
		l->resolve(l);
		if (!l->why[0]) {
			l->ready = true;
			return 0;
		}
		dlclose(l->handle);
		l->handle = NULL;
	} else {
		keep_why(l);
	}
	snprintf(err, errlen, "%s %s (apt-get install %s): %s", l->users, l->name, l->package,
		 l->why);
	return -ENOENT;
}
