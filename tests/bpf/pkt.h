/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Crafted test packets: Ethernet + IPv4/IPv6 (+ extension headers) + L4. */
#ifndef EGR_TEST_PKT_H
#define EGR_TEST_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

struct pktspec {
	int family;	  /* 4 or 6 */
	const char *dst;  /* address text */
	uint8_t proto;	  /* IPPROTO_* of the L4 header */
	uint16_t dport;
	uint8_t tcpflags; /* default SYN */
	uint16_t frag;	  /* IPv4 frag_off field; IPv6 fragment header bytes 2-3 (host order) */
	int next6[12];	  /* IPv6 extension headers before L4, 0-terminated: 60, 43, 44; use
			     * 256 for hop-by-hop (0) */
	int truncate;	  /* cut the packet to this many bytes after Ethernet (0: no) */
	int payload;	  /* payload bytes */
	int icmp_type;	  /* 0: echo request */
	int hoplimit;	  /* IPv6 hop limit, 0: 64 */
};

static inline size_t build_pkt(uint8_t *buf, size_t cap, const struct pktspec *s)
{
	uint8_t *p = buf + 14, *l3 = p;
	size_t l4len, n;
	int i, nh_off;

	memset(buf, 0, cap);
	buf[12] = s->family == 4 ? 0x08 : 0x86;
	buf[13] = s->family == 4 ? 0x00 : 0xdd;
	l4len = s->proto == IPPROTO_TCP ? 20 : 8;
	if (s->family == 4) {
		p[0] = 0x45;
		p[8] = 64;
		p[9] = s->proto;
		p[6] = s->frag >> 8;
		p[7] = s->frag & 0xff;
		inet_pton(AF_INET, "198.18.0.10", p + 12);
		inet_pton(AF_INET, s->dst, p + 16);
		p += 20;
	} else {
		p[0] = 0x60;
		p[7] = s->hoplimit ? s->hoplimit : 64;
		inet_pton(AF_INET6, "2001:db8:ffff::10", p + 8);
		inet_pton(AF_INET6, s->dst, p + 24);
		nh_off = 6; /* where the next "next header" byte goes */
		p += 40;
		for (i = 0; i < 12 && s->next6[i]; i++) {
			l3[nh_off] = s->next6[i] & 0xff;
			nh_off = p - l3;
			if (s->next6[i] == IPPROTO_FRAGMENT) {
				/* offset and M flag from frag */
				p[2] = s->frag >> 8;
				p[3] = s->frag & 0xff;
				p += 8;
			} else {
				p[1] = 0; /* 8 bytes */
				p += 8;
			}
		}
		l3[nh_off] = s->proto;
	}
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		p[0] = 0x30;
		p[1] = 0x39; /* sport 12345 */
		p[2] = s->dport >> 8;
		p[3] = s->dport & 0xff;
		if (s->proto == IPPROTO_TCP) {
			p[12] = 0x50;
			p[13] = s->tcpflags ? s->tcpflags : 0x02;
		}
	} else {
		l4len = 8; /* ICMP echo */
		p[0] = s->icmp_type ? s->icmp_type : s->family == 4 ? 8 : 128;
	}
	p += l4len + s->payload;
	n = p - l3;
	if (s->family == 4) {
		l3[2] = n >> 8;
		l3[3] = n & 0xff;
	} else {
		l3[4] = (n - 40) >> 8;
		l3[5] = (n - 40) & 0xff;
	}
	if (s->truncate && (size_t)s->truncate < n)
		n = s->truncate;
	return 14 + n;
}

#endif /* EGR_TEST_PKT_H */
