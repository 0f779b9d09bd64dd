/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Packet parsing for cgroup_skb programs: the skb starts at the network
 * header. Each parse_*() reads one header at a cursor, bounds-checked, and
 * fills struct egr_pkt. Anything that cannot be read with certainty is
 * marked unknown (PKT_*_UNKNOWN) rather than guessed; the matcher treats
 * unknown fields conservatively (see rule_match()).
 */
#ifndef PARSING_BPF_H
#define PARSING_BPF_H

#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_ICMPV6 58
#define IPPROTO_DSTOPTS 60
#define IPPROTO_MH 135
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* How many IPv6 extension headers are walked before giving up. */
#define EGR_MAX_EXTHDRS 8

#define PKT_PROTO_UNKNOWN EGR_PKT_PROTO_UNKNOWN
#define PKT_PORTS_UNKNOWN EGR_PKT_PORTS_UNKNOWN
#define PKT_FRAGMENT EGR_PKT_FRAGMENT

struct egr_pkt {
	__u8 family; /* 4 or 6: which trie judges the packet */
	__u8 proto;
	__u8 flags;  /* PKT_* */
	__u8 tcpflags;
	__u8 icmp_type; /* ICMP/ICMPv6 type */
	__u8 hoplimit;	/* IPv6 hop limit */
	__u16 l4off;	/* where the TCP/UDP header starts (keeps dst 4-byte aligned) */
	__u16 sport; /* host byte order */
	__u16 dport;
	__u8 dst[16]; /* network order; IPv4 in the first 4 bytes */
	__u8 src[16];
};

/* Read len bytes at off with the helper (any offset, paged data too). */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* The same, by direct packet access when the bytes are in the linear area
 * (the common case for locally built packets). Only for the fixed headers:
 * at the variable offsets of an IPv6 extension header chain the verifier's
 * state count would explode.
 */
#define EGR_DIRECT_MAX 64

static __always_inline int load_direct(struct __sk_buff *skb, __u32 off, void *to, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (off <= EGR_DIRECT_MAX && data + off + len <= end) {
		/* Word loads: a plain memcpy from a packet pointer (alignment
		 * unknown to the compiler) would be byte by byte. x86-64 and
		 * the verifier allow unaligned packet loads.
		 */
		if (len % 4 == 0) {
			__u32 *d = to, *src = data + off;
			int i;

			for (i = 0; i < len / 4; i++)
				d[i] = src[i];
		} else {
			__builtin_memcpy(to, data + off, len);
		}
		return 0;
	}
	return bpf_skb_load_bytes(skb, off, to, len);
}

/* Read len bytes of the L4 header at off; direct: try direct access first. */
static __always_inline int load_l4(struct __sk_buff *skb, __u32 off, void *to, __u32 len,
				   bool direct)
{
	return direct ? load_direct(skb, off, to, len) : load(skb, off, to, len);
}

static __always_inline void parse_l4(struct __sk_buff *skb, __u32 off, struct egr_pkt *p,
				     bool direct)
{
	__u8 hdr[16] __attribute__((aligned(4)));

	if (p->flags & PKT_PORTS_UNKNOWN)
		return;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		if (load_l4(skb, off, hdr, 1, direct) < 0) {
			p->flags |= PKT_PORTS_UNKNOWN;
			return;
		}
		p->icmp_type = hdr[0];
		return;
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return;
	p->l4off = off;
	if (p->proto == IPPROTO_TCP) {
		/* RFC 1858: the whole fixed TCP header must be there. */
		if (load_l4(skb, off, hdr, sizeof(hdr), direct) < 0 || off + 20 > skb->len)
			goto unknown;
		p->tcpflags = hdr[13];
	} else {
		if (load_l4(skb, off, hdr, 4, direct) < 0 || off + 8 > skb->len)
			goto unknown;
	}
	p->sport = ((__u16)hdr[0] << 8) | hdr[1];
	p->dport = ((__u16)hdr[2] << 8) | hdr[3];
	return;
unknown:
	p->flags |= PKT_PORTS_UNKNOWN;
}

/* Returns 0, or -1 when not even the destination address can be read. */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct egr_pkt *p)
{
	struct iphdr *iph = (void *)(long)skb->data, copy;
	__u32 ihl;

	/* The header in place when it is in the linear area (the common
	 * case): its fields are read once, not copied first.
	 */
	if ((void *)(iph + 1) > (void *)(long)skb->data_end) {
		if (bpf_skb_load_bytes(skb, 0, &copy, sizeof(copy)) < 0)
			return -1;
		iph = &copy;
	}
	if (iph->version != 4)
		return -1;
	p->family = 4;
	__builtin_memcpy(p->dst, &iph->daddr, 4);
	__builtin_memcpy(p->src, &iph->saddr, 4);
	p->proto = iph->protocol;
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph)) {
		p->flags |= PKT_PROTO_UNKNOWN | PKT_PORTS_UNKNOWN;
		return 0;
	}
	/* Locally built packets are fragmented after this hook, so a fragment
	 * here was hand-made (raw socket): its ports cannot be trusted.
	 */
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		p->flags |= PKT_FRAGMENT | PKT_PORTS_UNKNOWN;
	parse_l4(skb, ihl, p, true);
	return 0;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct egr_pkt *p)
{
	struct ipv6hdr ip6;
	__u8 ext[4];
	__u32 off = sizeof(ip6);
	__u8 nexthdr;
	int i;

	if (load_direct(skb, 0, &ip6, sizeof(ip6)) < 0 || ip6.version != 6)
		return -1;
	p->family = 6;
	__builtin_memcpy(p->dst, &ip6.daddr, 16);
	__builtin_memcpy(p->src, &ip6.saddr, 16);
	nexthdr = ip6.nexthdr;
	p->hoplimit = ip6.hop_limit;

	for (i = 0; i < EGR_MAX_EXTHDRS; i++) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_MH:
			if (load(skb, off, ext, 2) < 0)
				goto unknown;
			nexthdr = ext[0];
			off += (ext[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (load(skb, off, ext, 2) < 0)
				goto unknown;
			nexthdr = ext[0];
			off += (ext[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (load(skb, off, ext, 4) < 0)
				goto unknown;
			nexthdr = ext[0];
			/* offset (13 bits) and M flag in bytes 2..3 */
			if ((((__u16)ext[2] << 8) | ext[3]) & 0xfff9)
				p->flags |= PKT_FRAGMENT | PKT_PORTS_UNKNOWN;
			off += 8;
			break;
		default:
			p->proto = nexthdr;
			if (i == 0) /* no extension header: at a fixed offset */
				parse_l4(skb, sizeof(ip6), p, true);
			else
				parse_l4(skb, off, p, false);
			return 0;
		}
	}
unknown:
	/* Chain longer than the walk bound, or truncated. */
	p->flags |= PKT_PROTO_UNKNOWN | PKT_PORTS_UNKNOWN;
	return 0;
}

/* ::ffff:a.b.c.d is judged as a.b.c.d, by the IPv4 rules. */
static __always_inline void unmap_v4mapped(struct egr_pkt *p)
{
	__u32 *w = (__u32 *)p->dst;

	if (p->family != 6 || w[0] || w[1] || w[2] != bpf_htonl(0xffff))
		return;
	p->family = 4;
	w[0] = w[3];
	w[3] = 0;
	w[2] = 0;
}

/* A loopback destination: 127.0.0.0/8 (mapped ones are unmapped first) or ::1. */
static __always_inline bool dst_is_loopback(const struct egr_pkt *p)
{
	const __u32 *w = (const __u32 *)p->dst;

	if (p->family == 4)
		return p->dst[0] == 127;
	return !w[0] && !w[1] && !w[2] && w[3] == bpf_htonl(1);
}

/* Loopback traffic: a loopback destination on the loopback device. A
 * loopback header leaving by another device was hand-made (raw socket).
 */
static __always_inline bool is_loopback(const struct __sk_buff *skb, const struct egr_pkt *p)
{
	if (skb->ifindex != 1) /* LOOPBACK_IFINDEX */
		return false;
	return dst_is_loopback(p);
}

/* IPv6 neighbour discovery (RS, RA, NS, NA, redirect: ICMPv6 133-137) with
 * hop limit 255 to a link-local or link-scope multicast address. The
 * kernel sends these from the netns's own socket, which lives in the
 * container's cgroup; they never leave the link.
 */
static __always_inline bool is_ndp(const struct egr_pkt *p)
{
	if (p->family != 6 || p->proto != IPPROTO_ICMPV6 || p->hoplimit != 255 ||
	    (p->flags & (PKT_PROTO_UNKNOWN | PKT_PORTS_UNKNOWN | PKT_FRAGMENT)))
		return false;
	if (p->icmp_type < 133 || p->icmp_type > 137)
		return false;
	return (p->dst[0] == 0xfe && (p->dst[1] & 0xc0) == 0x80) ||
	       (p->dst[0] == 0xff && p->dst[1] == 0x02);
}

#endif /* PARSING_BPF_H */
