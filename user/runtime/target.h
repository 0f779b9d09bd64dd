/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Targets: what a command acts on, resolved to a cgroup v2 directory.
 *   cgroup:<path>   absolute, or relative to the cgroup v2 mount
 *   pid:<pid>       that process's cgroup v2
 *   docker:<ref>    a Docker/Podman container by name, id or id prefix
 *   podman:<ref>    the same, asking Podman's API service (podman_socket())
 *   <ref>           the same as docker:<ref>
 *   cgid:<id>       an attached cgroup by id, also once it is gone (cgpath
 *                   is then empty: good for detach and list only)
 */
#ifndef EGR_TARGET_H
#define EGR_TARGET_H

#include <stdbool.h>
#include <stdint.h>

struct egr_target {
	char cgpath[4096]; /* absolute cgroup v2 directory */
	char rel[2048];	   /* the same, relative to the v2 mount ("/docker/<id>") */
	uint64_t cgid;
	bool container;
	char id[65];	 /* container id */
	char name[256];	 /* container name */
	char label[2112]; /* for display: the container name, else "cgroup:<rel>" */
	bool privileged; /* container warnings for attach */
	char netmode[64];
};

/* 0, or -errno with one line in err naming the target and the problem. */
int target_resolve(const char *spec, const char *docker_host, struct egr_target *t, char *err,
		   size_t errlen);

#endif /* EGR_TARGET_H */
