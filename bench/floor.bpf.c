// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference programs for the benchmark's cost floor (not part of
 * egressctl): what any cgroup_skb/egress filter pays before doing anything,
 * and what a single IPv4 LPM lookup adds on top.
 *   floor_noop  passes every packet
 *   floor_lpm1  one lookup of the IPv4 destination in floor_lpm (filled by
 *               `kops lpmfill` with the same prefixes egressctl holds); a
 *               miss drops, non-IPv4 passes
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct floor_k4 {
	__u32 plen;
	__u8 a[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 22);
	__type(key, struct floor_k4);
	__type(value, __u32);
} floor_lpm SEC(".maps");

SEC("cgroup_skb/egress")
int floor_noop(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int floor_lpm1(struct __sk_buff *skb)
{
	struct floor_k4 k = { .plen = 32 };

	if (skb->protocol != bpf_htons(0x0800))
		return 1;
	if (bpf_skb_load_bytes(skb, 16, k.a, 4))
		return 0;
	return bpf_map_lookup_elem(&floor_lpm, &k) ? 1 : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
