/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The socket hooks (issue 16): cgroup/connect4, connect6, sendmsg4 and
 * sendmsg6 judge the destination of a connect() or of a sendto()/sendmsg()
 * with an address, with the same judge (egr_judge()), maps and semantics
 * as the egress program, before any packet is built. A denied TCP connect()
 * fails at once with ECONNREFUSED where the program may call
 * bpf_set_retval() (egr_have_set_retval, from a load probe in userspace),
 * EPERM otherwise; a denied UDP or ping sendto() fails with EPERM. No SYN
 * or datagram leaves. connect() of a UDP or ping socket is let be: it sends
 * nothing (see sock_judge()), and its sends are judged.
 *
 * The egress program stays authoritative: it judges every packet, also
 * those no hook sees (raw sockets, connected-UDP send(), sockets from
 * before attach, a policy changed under an established connection). The
 * hooks only ever refuse what egress would drop, and let through what
 * egress judges anyway.
 *
 * Every hook also remembers the calling process in the socket's storage
 * (egr_sk_state's owner block), so events of later packets of the socket,
 * judged at egress, name it too. Included at the end of egressctl.bpf.c.
 */
#ifndef SOCK_BPF_H
#define SOCK_BPF_H

#define AF_INET 2
#define AF_INET6 10
#define ECONNREFUSED 111

/* Set at load from a probe (userspace: kstate_load()): 1 when programs of
 * this type may call bpf_set_retval() (Linux 6.1+). When 0 the verifier
 * drops the call as dead code, so the object loads on kernels without it.
 */
const volatile __u32 egr_have_set_retval = 0;

/* Refused calls per process name (include/egressctl.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EGR_COMM_MAX + 1); /* + the overflow key */
	__type(key, struct egr_comm_key);
	__type(value, struct egr_comm_count);
} egr_comm SEC(".maps");

static __always_inline void comm_count(const char *comm, bool audit)
{
	struct egr_comm_count zero = {}, *v;
	struct egr_comm_key k;

	__builtin_memcpy(k.comm, comm, sizeof(k.comm));
	v = bpf_map_lookup_elem(&egr_comm, &k);
	if (!v) {
		/* full: fails, and the overflow key counts it */
		bpf_map_update_elem(&egr_comm, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&egr_comm, &k);
	}
	if (!v) {
		__builtin_memset(k.comm, 0, sizeof(k.comm));
		k.comm[15] = 1;
		v = bpf_map_lookup_elem(&egr_comm, &k);
	}
	if (!v)
		return;
	if (audit)
		__sync_fetch_and_add(&v->audit, 1);
	else
		__sync_fetch_and_add(&v->denied, 1);
}

/* Who calls: into the socket's owner block (once per thread). */
static __always_inline void set_owner(struct egr_sk_state *st, __u64 pid_tgid)
{
	if (st->owner_pid == (__u32)pid_tgid && st->owner_tgid == (__u32)(pid_tgid >> 32))
		return;
	st->owner_pid = (__u32)pid_tgid;
	st->owner_tgid = pid_tgid >> 32;
	bpf_get_current_comm(st->owner_comm, sizeof(st->owner_comm));
}

/* The destination of the call as a packet of the egress program would
 * show it: family, address (::ffff:a.b.c.d unmapped), protocol, port.
 * 0, or -1 when there is no address to judge (sendmsg with AF_UNSPEC: a
 * connected UDP socket whose message carries an IP-level cmsg; its
 * destination was judged at connect() and its packets are at egress).
 */
static __always_inline int sock_pkt(struct bpf_sock_addr *ctx, bool v6, struct egr_pkt *p)
{
	__u32 proto = ctx->protocol;

	if (v6) {
		__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1], a2 = ctx->user_ip6[2],
		      a3 = ctx->user_ip6[3];
		__u32 *w = (__u32 *)p->dst;

		/* the context only allows 4-byte loads of user_ip6 */
		asm volatile("" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3));
		if (ctx->user_family != AF_INET6)
			return -1;
		p->family = 6;
		w[0] = a0;
		w[1] = a1;
		w[2] = a2;
		w[3] = a3;
		unmap_v4mapped(p);
	} else {
		__u32 a = ctx->user_ip4;

		asm volatile("" : "+r"(a));
		/* sendmsg4 also runs for an AF_INET6 socket sending to a
		 * mapped address: user_family says AF_INET then
		 */
		if (ctx->user_family != AF_INET)
			return -1;
		p->family = 4;
		__builtin_memcpy(p->dst, &a, 4);
	}
	p->proto = proto;
	/* Only TCP and UDP have ports at egress (ping sockets: none). */
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		p->dport = bpf_ntohs(ctx->user_port);
	return 0;
}

/* 0.0.0.0, :: (and ::ffff:0.0.0.0, unmapped by now): the kernel sends to
 * the host itself, by the loopback device, where egress passes it.
 */
static __always_inline bool dst_is_unspec(const struct egr_pkt *p)
{
	const __u32 *w = (const __u32 *)p->dst;

	if (p->family == 4)
		return !w[0];
	return !w[0] && !w[1] && !w[2] && !w[3];
}

/* Judge one connect() or sendmsg(). 1 lets it go on, 0 refuses it: only
 * ever what egress would drop (egress stays the authority).
 */
static __always_inline int sock_judge(struct bpf_sock_addr *ctx, bool v6, __u8 hook)
{
	struct walk_ctx c = { .rule = EGR_RULE_DEFAULT };
	struct egr_sk_state *st, *cst;
	__u64 pid_tgid;
	struct egr_event *e;
	char comm[16];
	__u8 action;

	if (sock_pkt(ctx, v6, &c.pkt))
		return 1;
	/* Its packets leave by the loopback device: egress passes them. */
	if (dst_is_loopback(&c.pkt) || dst_is_unspec(&c.pkt))
		return 1;
	pid_tgid = bpf_get_current_pid_tgid();
	st = bpf_sk_storage_get(&egr_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (st)
		set_owner(st, pid_tgid);
	/* connect() of a UDP or ping socket sends nothing: programs use it to
	 * learn a route or a source address (ping's probe socket, glibc's
	 * getaddrinfo() sorting, connect() to 8.8.8.8 then getsockname()).
	 * Its sends are judged: here with an address, at egress without.
	 */
	if (hook == EGR_HOOK_CONNECT && c.pkt.proto != IPPROTO_TCP)
		return 1;
	/* The verdict goes into the socket's cache: its first packet (the
	 * SYN, the datagram) then reuses it instead of judging again.
	 */
	cst = egr_no_cache ? NULL : st;
	/* No verdict (the policy kept changing under the walk): egress
	 * judges the packets, and drops what it cannot judge; refusing here
	 * would fail a connect() that egress lets through on a retransmit.
	 */
	if (verdict_of(&c, cst, NULL, ctx->type == 1 /* SOCK_STREAM */ && c.pkt.proto == IPPROTO_TCP,
		       &action))
		return 1;
	if (action == EGR_ACT_ALLOW)
		return 1;
	bpf_get_current_comm(comm, sizeof(comm));
	if (action == EGR_ACT_AUDIT) {
		/* its packets are counted and reported at egress */
		comm_count(comm, true);
		return 1;
	}
	if (c.rule != EGR_RULE_DEFAULT) {
		__u64 *hits = bpf_map_lookup_elem(&egr_hits, &c.rule);

		if (hits)
			(*hits)++;
	}
	count(EGR_STAT_DENIED, 0);
	count(EGR_STAT_REFUSED, 0);
	comm_count(comm, false);
	e = ev_reserve(&c, EGR_DENY, 0, hook);
	if (e) {
		e->cgroup_id = bpf_get_current_cgroup_id();
		e->cookie = bpf_get_socket_cookie(ctx);
		e->pid = (__u32)pid_tgid;
		e->tgid = pid_tgid >> 32;
		__builtin_memcpy(e->comm, comm, sizeof(e->comm));
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		ev_submit(e);
	}
	if (egr_have_set_retval && c.pkt.proto == IPPROTO_TCP)
		bpf_set_retval(-ECONNREFUSED);
	return 0;
}

SEC("cgroup/connect4")
int egr_connect4(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, false, EGR_HOOK_CONNECT);
}

SEC("cgroup/connect6")
int egr_connect6(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, true, EGR_HOOK_CONNECT);
}

SEC("cgroup/sendmsg4")
int egr_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, false, EGR_HOOK_SENDMSG);
}

SEC("cgroup/sendmsg6")
int egr_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_judge(ctx, true, EGR_HOOK_SENDMSG);
}

#endif /* SOCK_BPF_H */
