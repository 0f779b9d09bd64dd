/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The strict-mode guard (bpf/guard.bpf.c): one cgroup_skb/egress program on
 * the cgroup under which the container engine creates its containers
 * (/docker for Docker's cgroupfs driver). Cgroup programs attached with
 * BPF_F_ALLOW_MULTI (every bpf_link is) run for every descendant cgroup too,
 * including ones created later, in addition to the descendant's own
 * programs; a packet passes only if all of them pass it.
 *
 * The guard passes a packet when its socket's cgroup, or an ancestor of it
 * below the guarded cgroup (a Kubernetes pod's cgroup, whose filter judges
 * its containers' child cgroups), is in egr_guard_cg:
 *   EGR_GUARD_MANAGED  an egressctl filter is attached (attach_cgroup() adds
 *                      the id, detach_cgroup() removes it); that filter judges
 *   EGR_GUARD_ALLOW    `watch --unmanaged allow` looked at the container and
 *                      found no policy for it
 * Every other cgroup (a container watch has not handled yet, whether watch
 * is running or not) is denied; loopback always passes.
 *
 * Pinned under EGR_GUARD_DIR: the maps, "prog" and "link". The guard stays
 * in force until `egressctl watch --remove-guard`.
 */
#ifndef EGRESSCTL_GUARD_H
#define EGRESSCTL_GUARD_H

#include "egressctl.h"

#define EGR_GUARD_DIR EGR_PIN_ROOT "/guard"
#define EGR_GUARD_MAP_PIN EGR_GUARD_DIR "/egr_guard_cg"

#define EGR_GUARD_MAX_CGROUPS 65536
/* Cgroup levels (from the root) the guard looks at for an ancestor's entry. */
#define EGR_GUARD_MAX_DEPTH 16

/* The guard's own layout version: independent of EGR_ABI_VERSION (the
 * per-cgroup filter's), so a guard pinned by an older egressctl with the
 * same layout stays in use across upgrades.
 */
#define EGR_GUARD_ABI 1

/* egr_guard_cg values (key: __u64 cgroup id). */
#define EGR_GUARD_MANAGED 1
#define EGR_GUARD_ALLOW 2

/* egr_guard_stats indices (per-CPU struct egr_counter). */
enum egr_guard_stat {
	EGR_GSTAT_MANAGED = 0, /* passed on to the cgroup's own filter */
	EGR_GSTAT_ALLOWED = 1, /* passed: unmanaged, --unmanaged allow */
	EGR_GSTAT_DENIED = 2, /* dropped: no policy in force for the cgroup */
	EGR_GSTAT_LOOPBACK = 3, /* passed: destination is loopback */
	EGR_GSTAT_MALFORMED = 4, /* dropped: no readable IP header */
	EGR_GSTAT_MAX = 5,
};

/* egr_guard_meta[0]: userspace bookkeeping. */
struct egr_guard_meta {
	__u32 magic; /* EGR_MAGIC */
	__u32 abi; /* EGR_GUARD_ABI */
	__u64 cgroup_id;
	__u64 created; /* CLOCK_REALTIME seconds */
	char path[256]; /* the guarded cgroup, below the v2 mount */
};

#endif /* EGRESSCTL_GUARD_H */
