/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Audit collection (issue 16): in audit mode, every packet the policy
 * denies and audit mode lets through is counted per destination,
 * protocol and port in egr_audit, in the kernel, so `egressctl suggest` can
 * turn what a workload needed into a policy without anyone having run
 * `egressctl events`. Bounded (include/egressctl.h: EGR_AUDIT_MAX, then
 * EGR_STAT_AUDIT_FULL). Only audited packets pay for it. Included by
 * egressctl.bpf.c before the egress program.
 */
#ifndef AUDIT_BPF_H
#define AUDIT_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EGR_AUDIT_MAX);
	__type(key, struct egr_audit_key);
	__type(value, struct egr_audit_val);
} egr_audit SEC(".maps");

static __always_inline void audit_record(const struct walk_ctx *c)
{
	struct egr_audit_key k = {
		.family = c->pkt.family,
		.proto = c->pkt.proto,
		.pktflags = c->pkt.flags,
		.dport = c->pkt.dport,
	};
	__u64 now = bpf_ktime_get_coarse_ns();
	struct egr_audit_val *v, nv = { .packets = 1, .first_ns = now, .last_ns = now,
					.rule = c->rule };

	__builtin_memcpy(k.dst, c->pkt.dst, 16);
	v = bpf_map_lookup_elem(&egr_audit, &k);
	if (!v) {
		if (!bpf_map_update_elem(&egr_audit, &k, &nv, BPF_NOEXIST))
			return;
		v = bpf_map_lookup_elem(&egr_audit, &k); /* another CPU put it in */
		if (!v) {
			count(EGR_STAT_AUDIT_FULL, 0);
			return;
		}
	}
	__sync_fetch_and_add(&v->packets, 1);
	v->last_ns = now;
	v->rule = c->rule;
}

#endif /* AUDIT_BPF_H */
