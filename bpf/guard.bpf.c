// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Strict-mode guard: see include/egressctl_guard.h. One map lookup per
 * packet when the socket's cgroup has an entry (bpf_skb_cgroup_id(): the
 * cgroup the kernel runs the cgroup_skb programs for, valid in softirq
 * context too, unlike bpf_get_current_cgroup_id()): a container's cgroup.
 * Otherwise the socket cgroup's ancestors below the guarded cgroup are
 * looked up, the outermost first: a Kubernetes pod's filter sits on the
 * pod's cgroup, its containers' sockets are in its child cgroups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "egressctl_guard.h"

#define SK_PASS 1
#define SK_DROP 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory for the cgroups present only */
	__uint(max_entries, EGR_GUARD_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u32);
} egr_guard_cg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EGR_GSTAT_MAX);
	__type(key, __u32);
	__type(value, struct egr_counter);
} egr_guard_stats SEC(".maps");

/* Userspace bookkeeping; the guarded cgroup's id is read here. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_guard_meta);
} egr_guard_meta SEC(".maps");

static __always_inline int verdict(__u32 stat, __u32 len, int v)
{
	struct egr_counter *c = bpf_map_lookup_elem(&egr_guard_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
	return v;
}

/* 1: loopback destination, 0: not, -1: no readable IP header. */
static __always_inline int loopback(struct __sk_buff *skb)
{
	__u32 w[4];

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 b;

		/* skb data starts at the IPv4 header; daddr is at offset 16 */
		if (bpf_skb_load_bytes(skb, 16, &b, 1))
			return -1;
		return b == 127;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 24, w, sizeof(w)))
			return -1;
		/* ::1 and ::ffff:127.0.0.0/104 */
		if (w[0] || w[1])
			return 0;
		if (!w[2] && w[3] == bpf_htonl(1))
			return 1;
		return w[2] == bpf_htonl(0xffff) &&
		       (w[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	}
	return -1;
}

/* The entry of an ancestor of the socket's cgroup below the guarded
 * cgroup, or NULL.
 */
static __always_inline __u32 *ancestor_entry(struct __sk_buff *skb)
{
	struct egr_guard_meta *m;
	bool below = false;
	__u32 k = 0, *v;
	int level;

	m = bpf_map_lookup_elem(&egr_guard_meta, &k);
	if (!m)
		return NULL;
	for (level = 0; level < EGR_GUARD_MAX_DEPTH; level++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, level);

		if (!id)
			break; /* past the socket's own cgroup */
		if (!below) {
			below = id == m->cgroup_id;
			continue;
		}
		v = bpf_map_lookup_elem(&egr_guard_cg, &id);
		if (v)
			return v;
	}
	return NULL;
}

SEC("cgroup_skb/egress")
int egr_guard(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_cgroup_id(skb);
	__u32 len = skb->len, *v;
	int lo = loopback(skb);

	if (lo < 0)
		return verdict(EGR_GSTAT_MALFORMED, len, SK_DROP);
	/* A loopback destination leaving by another device is a hand-made
	 * header (raw socket): not loopback traffic.
	 */
	if (lo && skb->ifindex == 1)
		return verdict(EGR_GSTAT_LOOPBACK, len, SK_PASS);
	v = bpf_map_lookup_elem(&egr_guard_cg, &cgid);
	if (!v)
		v = ancestor_entry(skb);
	if (v && *v == EGR_GUARD_MANAGED)
		return verdict(EGR_GSTAT_MANAGED, len, SK_PASS);
	if (v && *v == EGR_GUARD_ALLOW)
		return verdict(EGR_GSTAT_ALLOWED, len, SK_PASS);
	return verdict(EGR_GSTAT_DENIED, len, SK_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
