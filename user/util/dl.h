/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Libraries that only some commands use are dlopen()ed by those commands
 * instead of linked: mapping libcurl and libmicrohttpd with their
 * dependencies at exec cost every command about 3 ms (README,
 * "Requirements"). dl_curl.h and dl_mhd.h each hold one library's table of
 * function pointers; this is the loader they share.
 */
#ifndef EGR_DL_H
#define EGR_DL_H

#include <stdbool.h>
#include <stddef.h>

struct dl_lib {
	const char *soname;  /* Debian's SONAME, e.g. "libcurl.so.4" */
	const char *name;    /* for the error: "libcurl" */
	const char *package; /* the Debian package that ships it: "libcurl4" */
	const char *users;   /* who needs it, for the error: "serve needs" */
	void (*resolve)(struct dl_lib *l); /* fills the table with dl_sym() */
	void *handle;
	char why[256];       /* the first dlerror() of this load */
	bool ready;
};

/*
 * Load l once: 0 when every symbol was found, else -ENOENT with one line in
 * err: "<users> <name> (apt-get install <package>): <dlerror>". Call it
 * before starting threads that use the table.
 */
int dl_load(struct dl_lib *l, char *err, size_t errlen);

/* For l->resolve: dlsym(), or NULL with the reason kept for dl_load(). */
void *dl_sym(struct dl_lib *l, const char *sym);

#endif /* EGR_DL_H */
