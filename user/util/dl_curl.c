// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/dl.h"
#include "util/dl_curl.h"

struct dl_curl curl_dl;

static void resolve(struct dl_lib *l)
{
#define DL_CURL_SYM(fn) curl_dl.fn = (__typeof__(curl_dl.fn))dl_sym(l, "curl_" #fn);
	DL_CURL_FUNCS(DL_CURL_SYM)
#undef DL_CURL_SYM
}

static struct dl_lib libcurl = {
	.soname = "libcurl.so.4",
	.name = "libcurl",
	.package = "libcurl4",
	.users = "docker targets and watch need",
	.resolve = resolve,
};

int dl_curl_load(char *err, size_t errlen)
{
	return dl_load(&libcurl, err, errlen);
}
