/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libmicrohttpd, loaded on first use (dl.h): the serve exporter. The types
 * and constants come from <microhttpd.h>; the functions are called through
 * mhd_dl, e.g. mhd_dl.start_daemon() for MHD_start_daemon().
 */
#ifndef EGR_DL_MHD_H
#define EGR_DL_MHD_H

#include <stddef.h>
#include <microhttpd.h>

/* Every libmicrohttpd function egressctl calls, without the "MHD_" prefix. */
#define DL_MHD_FUNCS(X)                \
	X(start_daemon)                \
	X(stop_daemon)                 \
	X(create_response_from_buffer) \
	X(add_response_header)         \
	X(queue_response)              \
	X(destroy_response)

struct dl_mhd {
#define DL_MHD_FIELD(fn) __typeof__(MHD_##fn) *fn;
	DL_MHD_FUNCS(DL_MHD_FIELD)
#undef DL_MHD_FIELD
};

/* Valid once dl_mhd_load() returned 0. */
extern struct dl_mhd mhd_dl;

/* 0, or -ENOENT with one line in err naming the library and its package. */
int dl_mhd_load(char *err, size_t errlen);

#endif /* EGR_DL_MHD_H */
