// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reference programs for the benchmark's cost floor (not part of
 * egressctl): what any cgroup_skb/egress filter pays before doing anything,
 * and what a single IPv4 LPM lookup adds on top.
 *   floor_noop  passes every packet
 *   floor_lpm1  one lookup of the IPv4 destination in floor_lpm (filled by
 *               `kops lpmfill` with the same prefixes egressctl holds); a
 *               miss drops, non-IPv4 passes
 * The connect() floor (bench/run.sh, configurations "hooks" and
 * "hookstor"): an empty program on every hook egressctl attaches to a
 * cgroup (user/kernel/kstate.c kstate_hooks[]), so the kernel's cost of
 * running programs there is measured apart from the programs' own work.
 *   floor_ingress, floor_sockops, floor_connect4, floor_connect6,
 *   floor_sendmsg4, floor_sendmsg6  allow everything (with floor_noop on
 *               egress)
 *   floor_stor4 connect4 that only creates the socket's storage (a
 *               struct egr_sk_state) and writes the caller into it, as
 *               egressctl's socket hooks do before they judge
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "egressctl.h"

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

/* An empty program: allows. */
#define FLOOR_EMPTY(sec, name, ctx_type) \
	SEC(sec)                         \
	int name(ctx_type *ctx)          \
	{                                \
		return 1;                \
	}

FLOOR_EMPTY("cgroup_skb/ingress", floor_ingress, struct __sk_buff)
FLOOR_EMPTY("sockops", floor_sockops, struct bpf_sock_ops)
FLOOR_EMPTY("cgroup/connect4", floor_connect4, struct bpf_sock_addr)
FLOOR_EMPTY("cgroup/connect6", floor_connect6, struct bpf_sock_addr)
FLOOR_EMPTY("cgroup/sendmsg4", floor_sendmsg4, struct bpf_sock_addr)
FLOOR_EMPTY("cgroup/sendmsg6", floor_sendmsg6, struct bpf_sock_addr)

/* egressctl's socket state: the same allocation, the same owner block */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct egr_sk_state);
} floor_sk SEC(".maps");

SEC("cgroup/connect4")
int floor_stor4(struct bpf_sock_addr *ctx)
{
	struct egr_sk_state *st;
	__u64 id;

	st = bpf_sk_storage_get(&floor_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 1;
	id = bpf_get_current_pid_tgid();
	if (st->owner_pid == (__u32)id && st->owner_tgid == (__u32)(id >> 32))
		return 1;
	st->owner_pid = (__u32)id;
	st->owner_tgid = id >> 32;
	bpf_get_current_comm(st->owner_comm, sizeof(st->owner_comm));
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
