/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loading and reporting the packet-socket guard (include/egressctl_lsm.h
 * says what it blocks and how).
 */
#ifndef EGR_LSM_H
#define EGR_LSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl_lsm.h"
#include "util/err.h"

#define EGR_LSM_WARNING                                                               \
	"packet sockets (AF_PACKET) are NOT blocked: BPF LSM unavailable (boot with " \
	"lsm=...,bpf)"

struct egr_lsm_info {
	bool available; /* "bpf" is in /sys/kernel/security/lsm */
	bool lsm_loaded; /* our LSM hooks are pinned and attached */
	bool guard_loaded; /* the veth guard program is pinned */
	bool foreign; /* EGR_PKTGUARD_DIR holds pins egressctl did not make */
	int lsm_err; /* why the LSM hooks are not loaded (-errno), if known */
	uint64_t refused[EGR_LSM_STAT_MAX];
};

/*
 * Make sure the guard covers the cgroup cgpath (id cgid): load and pin the
 * programs once per host, attach the veth guard to the target's veths.
 * Idempotent; callers hold kstate_lock(). Returns 0 when packet sockets are
 * blocked for the target (by BPF LSM, or by the veth guard), else -errno
 * with a loud warning added to warn; a warning also says when only the
 * veth guard covers it.
 */
int lsm_ensure(const char *cgpath, uint64_t cgid, struct egr_warn *warn);

/* Remove the veth guard links of a cgroup (detach). 0 or -errno. */
int lsm_release(uint64_t cgid);

/* Live veth guard links of a cgroup. */
int lsm_target_guarded(uint64_t cgid);

/* What status shows. Never fails; fields say what could be found. */
void lsm_info(struct egr_lsm_info *li);

/* Is "bpf" in the kernel's active LSM list (text of
 * /sys/kernel/security/lsm, e.g. "lockdown,capability,bpf")?
 */
bool lsm_list_has_bpf(const char *list);

#endif /* EGR_LSM_H */
