// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * egressctl packet-socket guard: what cgroup_skb/egress cannot see. See
 * include/egressctl_lsm.h for what each program refuses and why. One
 * instance for the whole host; which cgroups the LSM programs enforce is the
 * pinned registry egr_managed (user/kernel/registry.c), reused at load
 * time. The veth guard is attached only to managed targets' veths.
 *
 * Cost on the common path (an allowed family, an IP socket's frame): one
 * compare. The registry is looked up only when a refused family is used.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "egressctl.h"
#include "egressctl_lsm.h"

#define EPERM 1
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_NETLINK 16
#define AF_ALG 38

/* Same definition as registry_open() creates; userspace reuses the pin. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, EGR_MANAGED_MAX);
	__type(key, __u64);
	__type(value, struct egr_managed);
} egr_managed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EGR_LSM_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} egr_lsm_stats SEC(".maps");

/* Userspace bookkeeping (struct egr_pg_info); never read here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_pg_info);
} egr_pg_info SEC(".maps");

/* Families whose packets cgroup_skb judges (or that carry no packets). */
static __always_inline bool family_ok(int family)
{
	return family == AF_UNIX || family == AF_INET || family == AF_INET6 ||
	       family == AF_NETLINK || family == AF_ALG;
}

static __always_inline int refuse(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&egr_lsm_stats, &stat);

	if (c)
		(*c)++;
	return -EPERM;
}

/* The deepest managed cgroup on the current task's cgroup v2 path: its id,
 * and its level in *level. 0 when the task is not in a managed subtree.
 */
static __always_inline __u64 current_managed(int *level)
{
	__u64 found = 0;
	int i;

	for (i = 0; i < EGR_LSM_MAX_LEVEL; i++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(i);

		if (!id)
			break;
		if (bpf_map_lookup_elem(&egr_managed, &id)) {
			found = id;
			*level = i;
		}
	}
	return found;
}

SEC("lsm/socket_create")
int BPF_PROG(egr_sock_create, int family, int type, int protocol, int kern, int ret)
{
	int level;

	if (ret)
		return ret;
	/* Sockets the kernel makes for itself; SOCK_PACKET on AF_INET has
	 * already become AF_PACKET here.
	 */
	if (kern || family_ok(family))
		return 0;
	if (!current_managed(&level))
		return 0;
	return refuse(EGR_LSM_STAT_CREATE);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(egr_sock_send, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	int family, level;

	if (ret)
		return ret;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (family_ok(family))
		return 0;
	if (!current_managed(&level))
		return 0;
	return refuse(EGR_LSM_STAT_SEND);
}

SEC("lsm/file_receive")
int BPF_PROG(egr_file_recv, struct file *file, int ret)
{
	struct socket *sock;
	struct cgroup *cg, *anc = NULL;
	__u64 managed, id;
	int family, level = 0, cglevel;

	if (ret)
		return ret;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (family == AF_UNIX)
		return 0;
	managed = current_managed(&level);
	if (!managed)
		return 0;
	/* The socket's packets are judged by the policy of the cgroup it was
	 * created in: it must be the receiver's managed cgroup or below it.
	 */
	cg = BPF_CORE_READ(sock, sk, sk_cgrp_data.cgroup);
	if (!cg)
		return refuse(EGR_LSM_STAT_RECEIVE);
	cglevel = BPF_CORE_READ(cg, level);
	if (cglevel < level || level < 0 || level >= EGR_LSM_MAX_LEVEL)
		return refuse(EGR_LSM_STAT_RECEIVE);
	if (bpf_probe_read_kernel(&anc, sizeof(anc),
				  (void *)cg + bpf_core_field_offset(struct cgroup, ancestors) +
					  (__u64)level * sizeof(anc)) ||
	    !anc)
		return refuse(EGR_LSM_STAT_RECEIVE);
	id = BPF_CORE_READ(anc, kn, id);
	if (id != managed)
		return refuse(EGR_LSM_STAT_RECEIVE);
	return 0;
}

/*
 * The veth guard: tcx ingress at the host end of a managed container's veth,
 * where every frame the container emits arrives, whatever made it. A frame
 * still carries the socket that sent it (veth does not orphan it). Frames
 * from IPv4/IPv6 sockets were judged by cgroup_skb/egress inside the
 * container; frames from sockets of any other family (AF_PACKET, AF_XDP,
 * ...) were not: drop them. Frames without a socket are the kernel's own
 * (ARP, neighbour discovery) and go on.
 */
SEC("tc")
int egr_veth_guard(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TCX_NEXT;
	sk = bpf_sk_fullsock(sk);
	if (!sk) /* request and timewait socks: TCP */
		return TCX_NEXT;
	if (sk->family == AF_INET || sk->family == AF_INET6)
		return TCX_NEXT;
	refuse(EGR_LSM_STAT_VETH);
	return TCX_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
