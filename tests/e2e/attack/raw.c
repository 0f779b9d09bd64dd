// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: the raw IP senders (rawudp, rawudp6, icmp, pingsock, proto, udp6)
 * and hand-made fragments (frag, frag6).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attack.h"

/* ---- raw IP senders ------------------------------------------------------------ */

int do_rawudp(int argc, char **argv)
{
	struct in_addr dst, src = { 0 }, via;
	uint8_t b[256];
	unsigned tag;
	size_t n;
	int fd, err;

	if (argc < 3)
		usage();
	addr4(argv[0], &dst);
	tag = tag_arg(argv[2]);
	if (argc > 3)
		addr4(argv[3], &src);
	via = dst;
	if (argc > 4)
		addr4(argv[4], &via);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* IP_HDRINCL implied */
	if (fd < 0)
		return fail("socket(SOCK_RAW)", errno);
	n = udp4(b + 20, src, dst, 40000, num(argv[1], 65535), tag);
	ip4hdr(b, src, dst, IPPROTO_UDP, 20 + n, ID4(tag), 0);
	err = send_raw4(fd, b, 20 + n, via);
	if (err)
		return fail("sendto(IP_HDRINCL)", -err);
	printf("sent 1\n");
	return 0;
}

int do_icmp(int argc, char **argv)
{
	uint8_t b[128];
	unsigned tag;
	size_t n;
	int fd;

	if (argc < 2)
		usage();
	tag = tag_arg(argv[1]);
	memset(b, 0, 8);
	n = 8 + payload(b + 8, tag);
	if (is_v6(argv[0])) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

		addr6(argv[0], &s6.sin6_addr);
		b[0] = ICMP6_ECHO_REQUEST;
		b[4] = 0x45;
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6); /* kernel sums */
		if (fd < 0)
			return fail("socket(SOCK_RAW, ICMPv6)", errno);
		if (sendto(fd, b, n, 0, (struct sockaddr *)&s6, sizeof(s6)) < 0)
			return fail("sendto(ICMPv6)", errno);
	} else {
		struct in_addr dst;

		addr4(argv[0], &dst);
		b[0] = ICMP_ECHO;
		b[4] = 0x45;
		*(uint16_t *)(b + 2) = csum(b, n, 0);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd < 0)
			return fail("socket(SOCK_RAW, ICMP)", errno);
		if (send_raw4(fd, b, n, dst))
			return fail("sendto(ICMP)", errno);
	}
	printf("sent 1\n");
	return 0;
}

int do_pingsock(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint8_t b[128] = { 0 };
	size_t n;
	int fd;

	if (argc < 2)
		usage();
	addr4(argv[0], &sin.sin_addr);
	b[0] = ICMP_ECHO;
	n = 8 + payload(b + 8, tag_arg(argv[1]));
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0)
		return fail("socket(ping)", errno);
	if (sendto(fd, b, n, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return fail("sendto(ping)", errno);
	printf("sent 1\n");
	return 0;
}

int do_proto(int argc, char **argv)
{
	struct in_addr dst, src = { 0 };
	uint8_t b[256];
	unsigned proto, tag;
	size_t n;
	int fd;

	if (argc < 3)
		usage();
	addr4(argv[0], &dst);
	proto = num(argv[1], 255);
	tag = tag_arg(argv[2]);
	memset(b, 0, sizeof(b));
	switch (proto) {
	case 132: /* SCTP common header: ports, verification tag, checksum */
		b[0] = 0x9c;
		b[1] = 0x40;
		b[2] = 0x00;
		b[3] = 0x35;
		n = 12 + payload(b + 12, tag);
		break;
	case 47: /* GRE, protocol IPv4, around IPv4/UDP */
		b[2] = 0x08;
		b[3] = 0x00;
		n = udp4(b + 4 + 20, src, dst, 40000, 9, tag);
		ip4hdr(b + 4, dst, dst, IPPROTO_UDP, 20 + n, ID4(tag), 0);
		n += 4 + 20;
		break;
	case 4: /* IPIP: IPv4/UDP inside */
	case 41: /* 6in4 would need IPv6 inside; send IPv4, the outer is what counts */
		n = udp4(b + 20, src, dst, 40000, 9, tag);
		ip4hdr(b, dst, dst, IPPROTO_UDP, 20 + n, ID4(tag), 0);
		n += 20;
		break;
	default:
		n = payload(b, tag);
	}
	fd = socket(AF_INET, SOCK_RAW, (int)proto);
	if (fd < 0)
		return fail("socket(SOCK_RAW)", errno);
	if (send_raw4(fd, b, n, dst))
		return fail("sendto(raw)", errno);
	printf("sent 1\n");
	return 0;
}

int do_udp6(int argc, char **argv)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	char a[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], *pct;
	uint8_t b[PAYLOAD];
	int fd, off = 0;

	if (argc < 3)
		usage();
	snprintf(a, sizeof(a), "%s", argv[0]);
	pct = strchr(a, '%');
	if (pct) {
		*pct = 0;
		s6.sin6_scope_id = if_nametoindex(pct + 1);
		if (!s6.sin6_scope_id)
			return fail("if_nametoindex", errno);
	}
	addr6(a, &s6.sin6_addr);
	s6.sin6_port = htons(num(argv[1], 65535));
	payload(b, tag_arg(argv[2]));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket(AF_INET6)", errno);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)); /* dual stack */
	if (sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&s6, sizeof(s6)) < 0)
		return fail("sendto(udp6)", errno);
	printf("sent 1\n");
	return 0;
}

/* ---- fragments ------------------------------------------------------------------- */

int do_frag(int argc, char **argv)
{
	struct in_addr dst, src = { 0 };
	uint8_t l4[128], b[256];
	unsigned tag, port, sent = 0;
	const char *mode;
	size_t n;
	int fd, err = 0;

	if (argc < 4)
		usage();
	addr4(argv[0], &dst);
	port = num(argv[1], 65535);
	tag = tag_arg(argv[2]);
	mode = argv[3];
	if (argc > 4)
		addr4(argv[4], &src);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return fail("socket(SOCK_RAW)", errno);

	if (!strcmp(mode, "tiny") || !strcmp(mode, "overlap")) {
		/* TCP SYN to port: 20-byte header + marked data */
		memset(l4, 0, 20);
		l4[0] = 0x9c;
		l4[1] = 0x41;
		l4[2] = port >> 8;
		l4[3] = port & 0xff;
		l4[12] = 5 << 4;
		l4[13] = 0x02;
		n = 20 + payload(l4 + 20, tag);
		if (!strcmp(mode, "tiny")) {
			/* RFC 1858: 8 bytes (ports, sequence) first; flags later */
			memcpy(b + 20, l4, 8);
			ip4hdr(b, src, dst, IPPROTO_TCP, 28, ID4(tag), 0x2000);
			err = send_raw4(fd, b, 28, dst);
			sent += !err;
			memcpy(b + 20, l4 + 8, n - 8);
			ip4hdr(b, src, dst, IPPROTO_TCP, 20 + n - 8, ID4(tag), 1);
			err = err ?: send_raw4(fd, b, 20 + n - 8, dst);
		} else {
			/* first fragment: 24 bytes; second at offset 8 rewrites
			 * from byte 8 on (flags and all), RFC 1858 section 4
			 */
			memcpy(b + 20, l4, 24);
			ip4hdr(b, src, dst, IPPROTO_TCP, 44, ID4(tag), 0x2000);
			err = send_raw4(fd, b, 44, dst);
			sent += !err;
			l4[13] = 0x12;
			memcpy(b + 20, l4 + 8, n - 8);
			ip4hdr(b, src, dst, IPPROTO_TCP, 20 + n - 8, ID4(tag), 1);
			err = err ?: send_raw4(fd, b, 20 + n - 8, dst);
		}
		sent += !err;
	} else if (!strcmp(mode, "nonfirst")) {
		n = payload(b + 20, tag);
		ip4hdr(b, src, dst, IPPROTO_UDP, 20 + n, ID4(tag), 2);
		err = send_raw4(fd, b, 20 + n, dst);
		sent += !err;
	} else if (!strcmp(mode, "split")) {
		n = udp4(l4, src, dst, 40000, port, tag); /* 72 bytes */
		memcpy(b + 20, l4, 16);
		ip4hdr(b, src, dst, IPPROTO_UDP, 36, ID4(tag), 0x2000);
		err = send_raw4(fd, b, 36, dst);
		sent += !err;
		memcpy(b + 20, l4 + 16, n - 16);
		ip4hdr(b, src, dst, IPPROTO_UDP, 20 + n - 16, ID4(tag), 2);
		err = err ?: send_raw4(fd, b, 20 + n - 16, dst);
		sent += !err;
	} else {
		usage();
	}
	if (err)
		return fail("sendto(fragment)", -err);
	printf("sent %u\n", sent);
	return 0;
}

int do_frag6(int argc, char **argv)
{
	struct in6_addr src, dst;
	uint8_t l4[128], b[1024];
	unsigned tag, port, sent = 0;
	const char *mode;
	size_t n;
	int fd, err = 0, on = 1;

	if (argc < 5)
		usage();
	addr6(argv[0], &src);
	addr6(argv[1], &dst);
	port = num(argv[2], 65535);
	tag = tag_arg(argv[3]);
	mode = argv[4];
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW); /* IPV6_HDRINCL implied */
	if (fd < 0)
		return fail("socket(AF_INET6, SOCK_RAW)", errno);
	setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &on, sizeof(on));
	n = udp6(l4, &src, &dst, port, tag); /* 72 bytes */

	if (!strcmp(mode, "first") || !strcmp(mode, "split")) {
		frag6hdr(b + 40, IPPROTO_UDP, 0, 1, ID6(tag));
		memcpy(b + 48, l4, 16);
		ip6hdr(b, &src, &dst, 44, 8 + 16);
		err = send_raw6(fd, b, 40 + 8 + 16, &dst);
		sent += !err;
		if (!err && !strcmp(mode, "split")) {
			frag6hdr(b + 40, IPPROTO_UDP, 2, 0, ID6(tag));
			memcpy(b + 48, l4 + 16, n - 16);
			ip6hdr(b, &src, &dst, 44, 8 + n - 16);
			err = send_raw6(fd, b, 40 + 8 + n - 16, &dst);
			sent += !err;
		}
	} else if (!strcmp(mode, "nonfirst")) {
		frag6hdr(b + 40, IPPROTO_UDP, 2, 0, ID6(tag));
		memcpy(b + 48, l4 + 16, n - 16);
		ip6hdr(b, &src, &dst, 44, 8 + n - 16);
		err = send_raw6(fd, b, 40 + 8 + n - 16, &dst);
		sent += !err;
	} else if (!strncmp(mode, "chain", 5)) {
		unsigned k, chain = num(mode + 5, 100);
		size_t off = 40;

		for (k = 0; k < chain; k++) {
			b[off] = k + 1 < chain ? 60 : IPPROTO_UDP;
			b[off + 1] = 0; /* 8 bytes */
			b[off + 2] = 1; /* PadN */
			b[off + 3] = 4;
			memset(b + off + 4, 0, 4);
			off += 8;
		}
		memcpy(b + off, l4, n);
		ip6hdr(b, &src, &dst, chain ? 60 : IPPROTO_UDP, off - 40 + n);
		err = send_raw6(fd, b, off + n, &dst);
		sent += !err;
	} else {
		usage();
	}
	if (err)
		return fail("sendto(IPv6 raw)", -err);
	printf("sent %u\n", sent);
	return 0;
}

/* A whole IPv6/UDP packet via IPPROTO_RAW (IPV6_HDRINCL), sent to VIA. */
int do_rawudp6(int argc, char **argv)
{
	struct in6_addr src, dst, via;
	uint8_t b[256];
	size_t n;
	int fd, err;

	if (argc < 4)
		usage();
	addr6(argv[0], &src);
	addr6(argv[1], &dst);
	via = dst;
	if (argc > 4)
		addr6(argv[4], &via);
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return fail("socket(AF_INET6, SOCK_RAW)", errno);
	n = udp6(b + 40, &src, &dst, num(argv[2], 65535), tag_arg(argv[3]));
	ip6hdr(b, &src, &dst, IPPROTO_UDP, n);
	err = send_raw6(fd, b, 40 + n, &via);
	if (err)
		return fail("sendto(IPV6_HDRINCL)", -err);
	printf("sent 1\n");
	return 0;
}
