/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * New containers' cgroups, as the engine creates them: inotify on their
 * parent cgroup (the guarded one). An engine creates a container's cgroup
 * (runc, before the container's first instruction) well before its start
 * event reaches a client: Podman's event stream, read from its events file,
 * lags by up to a quarter of a second. watch puts a container's policy in
 * force on its cgroup as soon as the engine answers for the container.
 */
#ifndef EGR_CGFOLLOW_H
#define EGR_CGFOLLOW_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The container id a cgroup directory's name carries, in the layouts of
 * Docker and Podman (cgroupfs: "<id>", "libpod-<id>"; systemd:
 * "docker-<id>.scope", "libpod-<id>.scope"; id: 64 hex digits, put in id).
 * false for any other name ("libpod-conmon-<id>", "init.scope", ...).
 */
bool cgfollow_container_id(const char *name, char id[65]);

/* Follow the cgroup directory abs_dir: an inotify descriptor (close it), or
 * -errno with a message.
 */
int cgfollow_open(const char *abs_dir, char *err, size_t errlen);

/*
 * Wait up to timeout_ms for new subdirectories, calling fn(id, name, ctx)
 * for each one named after a container. 0 (nothing or some), -ENOENT when
 * the directory itself went away (open it again), or -errno.
 */
int cgfollow_read(int fd, int timeout_ms, void (*fn)(const char *id, const char *name, void *ctx),
		  void *ctx);

#endif /* EGR_CGFOLLOW_H */
