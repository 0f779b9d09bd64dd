/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The veth guard: the packet-socket guard's program on the host end of each
 * veth of a target's network namespace (include/egressctl_lsm.h says what
 * it drops). Its program is pinned by kernel/lsm.c; this attaches it, by
 * tcx where the kernel has it, else by a classic tc filter. Callers hold
 * kstate_lock().
 */
#ifndef EGR_VETHGUARD_H
#define EGR_VETHGUARD_H

#include <stdint.h>

/* Pins of attachments in EGR_PKTGUARD_DIR start with this. */
#define VGUARD_PREFIX "veth-"

/*
 * Attach to the host end of each veth of the network namespace of the
 * cgroup cgpath's first process: how many are guarded, or -errno:
 * -EEXIST the target shares our network namespace, -ESRCH it has no
 * process, -ENODEV it has no veth.
 */
int vguard_attach(const char *cgpath, uint64_t cgid);

/* Live attachments of a cgroup. */
int vguard_count(uint64_t cgid);

/* Remove the attachments of a cgroup (detach). 0 or -errno. */
int vguard_release(uint64_t cgid);

/* Remove the attachments whose veth is gone, of every cgroup. */
void vguard_prune(void);

#endif /* EGR_VETHGUARD_H */
