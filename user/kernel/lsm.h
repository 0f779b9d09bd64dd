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

/* Whether BPF LSM covers packet sockets here. */
enum egr_lsm_state {
	EGR_LSM_ACTIVE, /* our LSM hooks are pinned and attached */
	EGR_LSM_REFUSED, /* "bpf" is in the kernel's LSM list, the hooks did not load */
	EGR_LSM_ABSENT, /* "bpf" is not in the kernel's LSM list */
	EGR_LSM_UNKNOWN, /* the LSM list cannot be read (securityfs not mounted) */
};

struct egr_lsm_info {
	enum egr_lsm_state state;
	int lsm_err; /* EGR_LSM_REFUSED: why (-errno; -EOPNOTSUPP: not tried yet) */
	bool guard_loaded; /* the veth guard program is pinned */
	bool foreign; /* EGR_PKTGUARD_DIR holds pins egressctl did not make */
	uint64_t refused[EGR_LSM_STAT_MAX];
};

/* The state's reason in words, e.g. "the kernel refuses BPF LSM programs
 * (Operation not permitted)", into buf.
 */
const char *lsm_reason(const struct egr_lsm_info *li, char *buf, size_t len);

/* The state's name: "active", "refused", "absent", "unknown". */
const char *lsm_state_name(enum egr_lsm_state st);

/*
 * Make sure the guard covers the cgroup cgpath (id cgid; rel, its path under
 * the cgroup v2 mount, names it in the warnings that are about it alone):
 * load and pin the programs once per host, attach the veth guard to the
 * target's veths.
 * Idempotent; callers hold kstate_lock(). Returns 0 when packet sockets are
 * blocked for the target (by BPF LSM, or by the veth guard), else -errno
 * with a loud warning added to warn; a warning also says when only the
 * veth guard covers it.
 */
int lsm_ensure(const char *cgpath, const char *rel, uint64_t cgid, struct egr_warn *warn);

/* What status shows. Never fails; fields say what could be found. Reads
 * only (it does not mount securityfs: attach does).
 */
void lsm_info(struct egr_lsm_info *li);

/* Is "bpf" in the kernel's active LSM list (text of
 * /sys/kernel/security/lsm, e.g. "lockdown,capability,bpf")?
 */
bool lsm_list_has_bpf(const char *list);

#endif /* EGR_LSM_H */
