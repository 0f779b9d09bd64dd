// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "kernel/kmap.h"

int kmap_update_many(int fd, const void *keys, const void *vals, uint32_t n, size_t ksz, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys, *v = vals;
	uint32_t done = 0, i;

	while (done < n) {
		uint32_t cnt = n - done > 65536 ? 65536 : n - done;

		if (bpf_map_update_batch(fd, k + done * ksz, v + done * vsz, &cnt, &opts)) {
			if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
				return -errno;
			break; /* no batch support: one by one below */
		}
		done += cnt;
	}
	for (i = done; i < n; i++)
		if (bpf_map_update_elem(fd, k + i * ksz, v + i * vsz, BPF_ANY))
			return -errno;
	return 0;
}

uint32_t kmap_id(int fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

bool kmap_prog_is(int prog_fd, uint32_t type, const char *name)
{
	struct bpf_prog_info pi = { 0 };
	uint32_t len = sizeof(pi);

	return !bpf_obj_get_info_by_fd(prog_fd, &pi, &len) && pi.type == type &&
	       !strncmp(pi.name, name, sizeof(pi.name));
}

int kmap_zero_percpu(int fd, const void *key, size_t vsz, int ncpus, uint64_t flags)
{
	void *z = calloc(ncpus, (vsz + 7) & ~(size_t)7); /* per-CPU values: 8-byte slots */
	int err = 0;

	if (!z)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, key, z, flags))
		err = -errno;
	free(z);
	return err;
}
