// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Test object: the answer parser of bpf/dns_parse.bpf.h on its own, for
 * tests/bpf/test_dns_parse.c. The packet is IPv4 + UDP + the message; the
 * results stay in the map for the test to read. Not shipped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "egressctl.h"
#include "dns_parse.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egr_dns_parse);
} work SEC(".maps");

#define HDRS 28 /* IPv4 without options, UDP */

SEC("cgroup_skb/ingress")
int parse(struct __sk_buff *skb)
{
	struct egr_dns_parse *s;
	__u32 z = 0, len;

	s = bpf_map_lookup_elem(&work, &z);
	if (!s)
		return 0;
	len = skb->len - HDRS;
	if (len < 12 || len > EGR_DNS_MSG_MAX)
		return 0;
	s->mlen = len;
	if (bpf_skb_load_bytes(skb, HDRS, s->msg, len))
		return 0;
	egr_dns_answer(s);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
