/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libcurl, loaded on first use (dl.h): the Docker API client (docker.c),
 * the Kubernetes API client (kube.c) and watch. The types and constants come from <curl/curl.h>; the functions are
 * called through curl_dl, e.g. curl_dl.easy_init() for curl_easy_init().
 * Calls through the table skip the checks of curl's typecheck-gcc.h: a
 * long option takes a long (1L), as curl_easy_setopt(3) requires.
 */
#ifndef EGR_DL_CURL_H
#define EGR_DL_CURL_H

#include <stddef.h>
#include <curl/curl.h>

/* Every libcurl function egressctl calls, without the "curl_" prefix. */
#define DL_CURL_FUNCS(X)  \
	X(global_init)    \
	X(global_cleanup) \
	X(easy_init)      \
	X(easy_setopt)    \
	X(easy_perform)   \
	X(easy_getinfo)   \
	X(easy_cleanup)   \
	X(easy_strerror)  \
	X(easy_escape)    \
	X(slist_append)   \
	X(slist_free_all) \
	X(free)

struct dl_curl {
#define DL_CURL_FIELD(fn) __typeof__(curl_##fn) *fn;
	DL_CURL_FUNCS(DL_CURL_FIELD)
#undef DL_CURL_FIELD
};

/* Valid once dl_curl_load() returned 0. */
extern struct dl_curl curl_dl;

/* 0, or -ENOENT with one line in err naming the library and its package. */
int dl_curl_load(char *err, size_t errlen);

#endif /* EGR_DL_CURL_H */
