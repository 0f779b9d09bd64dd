/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet-socket guard (bpf/lsm.bpf.c, loaded by user/kernel/lsm.c).
 * cgroup_skb/egress judges what IPv4/IPv6 sockets send; a packet socket
 * (AF_PACKET, SOCK_PACKET), an AF_XDP socket or any other link-layer
 * family puts frames on the wire without passing it. Two mechanisms close that for managed cgroups (the
 * ids in the EGR_MANAGED_PIN registry, and their descendants):
 *
 * 1. BPF LSM programs, host-wide, when the kernel lets them load:
 *    lsm/socket_create   socket() of any family but AF_UNIX, AF_INET,
 *                        AF_INET6, AF_NETLINK and AF_ALG fails with EPERM
 *    lsm/socket_sendmsg  so does sending on such a socket opened before
 *                        the attach
 *    lsm/file_receive    receiving (SCM_RIGHTS, pidfd_getfd) a socket other
 *                        than AF_UNIX created outside the receiver's managed
 *                        cgroup fails with EPERM: its packets would be
 *                        judged by the creator's cgroup, not by this policy
 * 2. The veth guard, per target: a tcx ingress program on the host end of
 *    each veth of the target's network namespace drops every frame sent by
 *    a socket that is not AF_INET/AF_INET6 (frames keep their socket across
 *    a veth). It needs a target with its own network namespace joined to
 *    the host by veth (Docker's bridge networks); it does not see sockets
 *    passed in from outside (they send from the host's namespace).
 *
 * Both are installed by attach (user/ops/attach.c) where possible; whatever
 * is missing is reported loudly by attach and by status. Pins, in
 * EGR_PKTGUARD_DIR (0700, pins 0600):
 *   prog_veth, egr_lsm_stats, egr_pg_info             always
 *   link_socket_create, link_socket_sendmsg, link_file_receive
 *                                                      with BPF LSM
 *   veth-<cgroup id>-<ifindex>                         one tcx link per veth
 */
#ifndef EGRESSCTL_LSM_H
#define EGRESSCTL_LSM_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define EGR_PKTGUARD_DIR "/sys/fs/bpf/egressctl/pktguard"

/* egr_lsm_stats indices (per-CPU __u64). */
#define EGR_LSM_STAT_CREATE 0 /* LSM: socket() of a refused family */
#define EGR_LSM_STAT_SEND 1 /* LSM: send on a refused-family socket from before attach */
#define EGR_LSM_STAT_RECEIVE 2 /* LSM: a foreign socket refused at fd passing */
#define EGR_LSM_STAT_VETH 3 /* veth guard: frames of non-IP sockets dropped */
#define EGR_LSM_STAT_MAX 4

/* Cgroup levels looked at, from the root: a process in a descendant of a
 * managed cgroup (at most this deep) is covered too.
 */
#define EGR_LSM_MAX_LEVEL 32

/* egr_pg_info[0]: userspace bookkeeping. */
struct egr_pg_info {
	__u32 magic; /* EGR_MAGIC */
	__s32 lsm_err; /* 0: BPF LSM hooks loaded; else why not (-errno) */
};

#endif /* EGRESSCTL_LSM_H */
