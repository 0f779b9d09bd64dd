// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: building marked packets (IPv4/IPv6/UDP headers, checksums,
 * Ethernet frames) and sending them on raw sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "attack.h"

/* The marked payload: "EGRV:0042:" then filler. */
size_t payload(uint8_t *p, unsigned tag)
{
	int n = snprintf((char *)p, PAYLOAD, MARK "%04u:", tag);

	memset(p + n, 'x', PAYLOAD - n);
	return PAYLOAD;
}

uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static uint32_t sum_words(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* IPv4 header (20 bytes). */
void ip4hdr(uint8_t *b, struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t totlen,
	    uint16_t id, uint16_t frag)
{
	struct iphdr *ip = (struct iphdr *)b;

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->tot_len = htons(totlen);
	ip->id = htons(id);
	ip->frag_off = htons(frag);
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = csum(ip, sizeof(*ip), 0);
}

/* UDP header + payload at b; checksum over the IPv4 pseudo header. */
size_t udp4(uint8_t *b, struct in_addr src, struct in_addr dst, uint16_t sport, uint16_t dport,
	    unsigned tag)
{
	struct udphdr *u = (struct udphdr *)b;
	size_t n = payload(b + 8, tag) + 8;
	uint8_t ph[12];

	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons(n);
	u->check = 0;
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	ph[10] = n >> 8;
	ph[11] = n & 0xff;
	u->check = csum(b, n, sum_words(ph, 12));
	if (!u->check)
		u->check = 0xffff;
	return n;
}

size_t udp6(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst, uint16_t dport,
	    unsigned tag)
{
	struct udphdr *u = (struct udphdr *)b;
	size_t n = payload(b + 8, tag) + 8;
	uint8_t ph[40] = { 0 };

	u->source = htons(40000);
	u->dest = htons(dport);
	u->len = htons(n);
	u->check = 0;
	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[34] = n >> 8;
	ph[35] = n & 0xff;
	ph[39] = IPPROTO_UDP;
	u->check = csum(b, n, sum_words(ph, 40));
	if (!u->check)
		u->check = 0xffff;
	return n;
}

int if_addr4(int fd, const char *ifname, struct in_addr *a)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFADDR, &ifr))
		return -1;
	*a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	return 0;
}

int if_mac(int fd, const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* A broadcast Ethernet frame holding IPv4/UDP to dst:port. */
size_t eth_frame(uint8_t *f, const uint8_t smac[6], struct in_addr src, struct in_addr dst,
		 uint16_t port, unsigned tag)
{
	size_t n;

	memset(f, 0xff, 6);
	memcpy(f + 6, smac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	n = udp4(f + 14 + 20, src, dst, 40000, port, tag);
	ip4hdr(f + 14, src, dst, IPPROTO_UDP, 20 + n, ID4(tag), 0);
	return 14 + 20 + n;
}

int send_raw4(int fd, const void *b, size_t n, struct in_addr to)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = to };

	return sendto(fd, b, n, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0 ? -errno : 0;
}

int send_raw6(int fd, const uint8_t *b, size_t n, const struct in6_addr *dst)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = *dst };

	return sendto(fd, b, n, 0, (struct sockaddr *)&s6, sizeof(s6)) < 0 ? -errno : 0;
}

void ip6hdr(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst, uint8_t nh,
	    uint16_t plen)
{
	struct ip6_hdr *h = (struct ip6_hdr *)b;

	memset(h, 0, sizeof(*h));
	h->ip6_flow = htonl(6u << 28);
	h->ip6_plen = htons(plen);
	h->ip6_nxt = nh;
	h->ip6_hlim = 64;
	h->ip6_src = *src;
	h->ip6_dst = *dst;
}

void frag6hdr(uint8_t *b, uint8_t nh, uint16_t off8, int more, uint32_t ident)
{
	uint16_t v = (uint16_t)(off8 << 3) | (more ? 1 : 0);

	b[0] = nh;
	b[1] = 0;
	b[2] = v >> 8;
	b[3] = v & 0xff;
	b[4] = ident >> 24;
	b[5] = ident >> 16;
	b[6] = ident >> 8;
	b[7] = ident & 0xff;
}
