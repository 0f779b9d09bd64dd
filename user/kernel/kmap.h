/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF map helpers shared by the kernel-state modules. */
#ifndef EGR_KMAP_H
#define EGR_KMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Update n elements (keys, values of the sizes given), in batches where the
 * map supports it. 0 or -errno.
 */
int kmap_update_many(int fd, const void *keys, const void *vals, uint32_t n, size_t ksz,
		     size_t vsz);

/* Set the value of key in a per-CPU map to zeros on every CPU (ncpus
 * values of vsz bytes; flags: BPF_ANY, BPF_EXIST). 0 or -errno.
 */
int kmap_zero_percpu(int fd, const void *key, size_t vsz, int ncpus, uint64_t flags);

/* Is prog_fd's program of type type and named name (the kernel keeps 15
 * characters)?
 */
bool kmap_prog_is(int prog_fd, uint32_t type, const char *name);

/* The id of the BPF map behind fd, or 0. */
uint32_t kmap_id(int fd);

#endif /* EGR_KMAP_H */
