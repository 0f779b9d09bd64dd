/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding cgroup v2 directories: the mount, a process's cgroup, ids. */
#ifndef EGR_CGROUP_H
#define EGR_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The cgroup v2 mount point from a mountinfo file (normally
 * "/proc/self/mountinfo"): "/sys/fs/cgroup" on pure v2 hosts,
 * "/sys/fs/cgroup/unified" on hybrid ones. 0, or -ENOENT when no cgroup2
 * filesystem is mounted.
 */
int cgroup2_mount(const char *mountinfo, char *out, size_t len);

/* The same for this host (/proc/self/mountinfo, read once), unless
 * $EGRESSCTL_CGROUP_ROOT names a cgroup2 directory: in a Kubernetes pod,
 * the host's tree mounted into the pod (the pod's own /sys/fs/cgroup shows
 * only its cgroup namespace). -ENOENT when neither is there.
 */
int cgroup2_host_mount(char *out, size_t len);

/* Enter the cgroup namespace of pid 1 (the host's, with hostPID) when this
 * process is in another one (a container's: /proc/<pid>/cgroup then reads
 * paths relative to it). 0: already there, 1: entered, -errno. Call it
 * before starting threads.
 */
int cgroup_host_namespace(void);

/* The error line for a host without one. */
#define CGROUP2_MISSING "no cgroup v2 filesystem is mounted: egressctl needs cgroup v2"

/* The cgroup v2 path of a process from the text of /proc/<pid>/cgroup (the
 * "0::<path>" line), e.g. "/docker/<id>" or "/system.slice/docker-<id>.scope".
 * 0, or -ENOENT when the process has no v2 entry (cgroup v1 only host).
 */
int cgroup_parse_proc(const char *text, char *out, size_t len);

/* Same, reading /proc/<pid>/cgroup. -ESRCH when the process is gone. */
int cgroup_of_pid(pid_t pid, char *out, size_t len);

/* Join mount + relative path into an absolute directory and check it is a
 * cgroup v2 directory. Accepts absolute paths under the mount as well.
 * 0, -ENOENT (no such cgroup), -ENOTDIR / -EINVAL (not a cgroup2 dir).
 */
int cgroup_resolve(const char *mount, const char *path, char *out, size_t len);

/* The first process of the cgroup v2 directory abs_path (its
 * cgroup.procs), or -ESRCH when it has none, or -errno.
 */
int cgroup_first_pid(const char *abs_path);

/* The same, or when the cgroup has none, a process of a descendant (depth
 * levels down at most): a Kubernetes pod's cgroup holds its processes in
 * its containers' cgroups. -ESRCH when there is none.
 */
int cgroup_pid_below(const char *abs_path, int depth);

/* The cgroup id (inode number of the directory, as bpf_get_current_cgroup_id
 * reports it). 0 or -errno.
 */
int cgroup_id(const char *abs_path, uint64_t *id);

/* The path below the cgroup v2 mount of the cgroup with that id (a file
 * handle opened with open_by_handle_at(): needs CAP_DAC_READ_SEARCH). 0,
 * or -errno (-ESTALE: no such cgroup).
 */
int cgroup_path_of_id(uint64_t id, char *out, size_t len);

#endif /* EGR_CGROUP_H */
