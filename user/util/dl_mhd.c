// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "util/dl.h"
#include "util/dl_mhd.h"

struct dl_mhd mhd_dl;

static void resolve(struct dl_lib *l)
{
#define DL_MHD_SYM(fn) mhd_dl.fn = (__typeof__(mhd_dl.fn))dl_sym(l, "MHD_" #fn);
	DL_MHD_FUNCS(DL_MHD_SYM)
#undef DL_MHD_SYM
}

static struct dl_lib libmhd = {
	.soname = "libmicrohttpd.so.12",
	.name = "libmicrohttpd",
	.package = "libmicrohttpd12",
	.users = "serve needs",
	.resolve = resolve,
};

int dl_mhd_load(char *err, size_t errlen)
{
	return dl_load(&libmhd, err, errlen);
}
