/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Clock readings in nanoseconds. */
#ifndef EGR_CLOCK_H
#define EGR_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clk (CLOCK_MONOTONIC, CLOCK_REALTIME) now, in ns. */
int64_t clock_ns(clockid_t clk);

#endif /* EGR_CLOCK_H */
