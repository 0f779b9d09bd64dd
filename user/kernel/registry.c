// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "egressctl.h"
#include "kernel/registry.h"

int registry_open(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_obj_get(EGR_MANAGED_PIN);

	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "egr_managed", sizeof(__u64),
			    sizeof(struct egr_managed), EGR_MANAGED_MAX, &opts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, EGR_MANAGED_PIN)) {
		int err = -errno;

		close(fd);
		/* lost a race with another egressctl: use its map */
		if (err == -EEXIST)
			return registry_open();
		return err;
	}
	return fd;
}

static int update(uint64_t cgid, int add)
{
	struct egr_managed v = { 0 };
	int fd = registry_open(), err = 0;

	if (fd < 0)
		return fd;
	if (add ? bpf_map_update_elem(fd, &cgid, &v, BPF_ANY) : bpf_map_delete_elem(fd, &cgid))
		err = errno == ENOENT && !add ? 0 : -errno;
	close(fd);
	return err;
}

int registry_add(uint64_t cgid)
{
	return update(cgid, 1);
}

int registry_del(uint64_t cgid)
{
	return update(cgid, 0);
}
