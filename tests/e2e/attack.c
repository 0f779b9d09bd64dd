// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * attack: the security e2e test's attacker and witness (tests/e2e/60_*).
 * Static, no libraries: it is copied into the busybox test image and runs
 * there as root with Docker's default capabilities and seccomp profile.
 *
 * Every packet it sends is marked with a TAG (1..4095) so the witness can
 * count it wherever it is seen: the payload holds "EGRV:<tag>:", IPv4
 * packets carry IP id 0xE000 + tag, IPv6 fragments identification
 * 0xE6E60000 + tag (a tiny first fragment has no room for the payload).
 *
 *   attack capture IFACE SECONDS [-r READY] [-s STOPFILE]
 *        witness: counts marked frames received on IFACE (AF_PACKET);
 *        prints "TAG COUNT" lines and "total N" at the end (SECONDS,
 *        SIGTERM or STOPFILE)
 *   attack packet IFACE DST4 PORT TAG [COUNT]   Ethernet frame, AF_PACKET,
 *        broadcast MAC, IPv4/UDP to DST4
 *   attack xdp IFACE DST4 PORT TAG              the same frame via AF_XDP (copy mode)
 *   attack rawudp DST PORT TAG [SRC [VIA]]      IPv4 IP_HDRINCL UDP; SRC spoofs
 *        the source; VIA: sendto() address (route) if not DST
 *   attack icmp DST TAG                        raw ICMP / ICMPv6 echo with data
 *   attack pingsock DST TAG                    ICMP echo on a ping (datagram) socket
 *   attack proto DST4 PROTO TAG                raw IPv4 socket of protocol PROTO
 *        (132 SCTP, 47 GRE, 4 IPIP, ...) with a plausible header + data
 *   attack udp6 ADDR[%IFACE] PORT TAG          UDP on a dual-stack AF_INET6 socket
 *   attack frag DST4 PORT TAG MODE [SRC]       hand-made IPv4 fragments, MODE:
 *        tiny (first fragment of 8 bytes of TCP header + the rest), overlap
 *        (second fragment overlapping the first), nonfirst (one fragment at
 *        offset 16), split (a whole UDP datagram in two fragments)
 *   attack rawudp6 SRC6 DST6 PORT TAG [VIA6]   IPv6/UDP via IPPROTO_RAW (header
 *        made here); VIA6: sendto() address (route) if not DST6
 *   attack frag6 SRC6 DST6 PORT TAG MODE       IPv6 via IPPROTO_RAW, MODE: first,
 *        nonfirst, split, chainN (N destination-options headers, then UDP)
 *   attack family                              socket() of the non-IP families
 *        that reach the wire: "NAME: created" | "NAME: ERRNO"
 *   attack prehold IFACE DST4 UDPPORT TCPPORT TAG DIR
 *        opens a connected UDP socket, a TCP connection and a packet socket,
 *        creates DIR/ready, waits (<= 60 s) for DIR/go, then sends on each
 *   attack fdpass-server PATH DST4 PORT [IFACE]  (outside the container) makes
 *        a UDP socket (and, with IFACE, a packet socket), serves them over the
 *        unix socket PATH to one client, <= 60 s
 *   attack fdpass-client PATH DST4 PORT TAG    receives them and sends on each
 *   attack escape                               tries to leave the cgroup or
 *        reach the BPF state: "NAME: blocked (ERR)" | "NAME: SUCCEEDED"
 *   attack sockbench N                          N socket()+close(), prints ns/op
 *   attack sendbench N                          N UDP sends to 127.0.0.1:9, ns/op
 *
 * Senders print one line per attempt: "sent N" or "STEP: ERROR". Exit: 0
 * when everything was sent, 3 when the kernel refused (EPERM/EACCES), 1 on
 * other errors, 2 usage. escape exits with the number of attempts that
 * succeeded.
 *
 * Traffic rule of the suite: callers pass only 198.18.0.0/15, 2001:db8::/32,
 * link-local or loopback destinations on namespaces the test created.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sched.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

#define MARK "EGRV:"
#define MAX_TAG 4095
#define ID4(tag) ((uint16_t)(0xE000 + (tag)))
#define ID6(tag) (0xE6E60000u + (tag))
#define PAYLOAD 64

static const char *prog = "attack";
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s capture|packet|xdp|rawudp|rawudp6|icmp|pingsock|proto|udp6|frag|frag6|"
		"family|prehold|fdpass-server|fdpass-client|escape|sockbench|sendbench ...\n"
		"(see the comment at the top of tests/e2e/attack.c)\n",
		prog);
	exit(2);
}

static int refused(int e)
{
	return e == EPERM || e == EACCES;
}

/* Print "STEP: ERROR" and return the exit code for errno e. */
static int fail(const char *step, int e)
{
	printf("%s: %s\n", step, strerror(e));
	fflush(stdout);
	return refused(e) ? 3 : 1;
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s || v > max) {
		fprintf(stderr, "%s: bad number '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

static unsigned tag_arg(const char *s)
{
	unsigned t = num(s, MAX_TAG);

	if (!t) {
		fprintf(stderr, "%s: tag must be 1..%d\n", prog, MAX_TAG);
		exit(2);
	}
	return t;
}

static void addr4(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, s);
		exit(2);
	}
}

static void addr6(const char *s, struct in6_addr *a)
{
	if (inet_pton(AF_INET6, s, a) != 1) {
		fprintf(stderr, "%s: bad IPv6 address '%s'\n", prog, s);
		exit(2);
	}
}

/* The marked payload: "EGRV:0042:" then filler. */
static size_t payload(uint8_t *p, unsigned tag)
{
	int n = snprintf((char *)p, PAYLOAD, MARK "%04u:", tag);

	memset(p + n, 'x', PAYLOAD - n);
	return PAYLOAD;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
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
static void ip4hdr(uint8_t *b, struct in_addr src, struct in_addr dst, uint8_t proto,
		   uint16_t totlen, uint16_t id, uint16_t frag)
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
static size_t udp4(uint8_t *b, struct in_addr src, struct in_addr dst, uint16_t sport,
		   uint16_t dport, unsigned tag)
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

static size_t udp6(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst,
		   uint16_t dport, unsigned tag)
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

static int if_addr4(int fd, const char *ifname, struct in_addr *a)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFADDR, &ifr))
		return -1;
	*a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	return 0;
}

static int if_mac(int fd, const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* A broadcast Ethernet frame holding IPv4/UDP to dst:port. */
static size_t eth_frame(uint8_t *f, const uint8_t smac[6], struct in_addr src, struct in_addr dst,
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

/* ---- capture (the witness) ------------------------------------------------ */

static int frame_tag(const uint8_t *f, size_t n)
{
	size_t i, off;
	uint16_t et;

	for (i = 0; i + 10 <= n; i++) {
		if (!memcmp(f + i, MARK, 5) && f[i + 9] == ':') {
			char d[5];
			unsigned t;

			memcpy(d, f + i + 5, 4);
			d[4] = 0;
			if (sscanf(d, "%4u", &t) == 1 && t >= 1 && t <= MAX_TAG)
				return (int)t;
		}
	}
	if (n < 14)
		return 0;
	et = (uint16_t)(f[12] << 8 | f[13]);
	off = 14;
	if (et == 0x8100 && n >= 18) { /* VLAN */
		et = (uint16_t)(f[16] << 8 | f[17]);
		off = 18;
	}
	if (et == 0x0800 && n >= off + 20) {
		uint16_t id = (uint16_t)(f[off + 4] << 8 | f[off + 5]);

		if (id > 0xE000 && id <= 0xE000 + MAX_TAG)
			return id - 0xE000;
	}
	if (et == 0x86DD && n >= off + 40) {
		uint8_t nh = f[off + 6];
		int k;

		off += 40;
		for (k = 0; k < 16 && off + 8 <= n; k++) {
			if (nh == 44) {
				uint32_t ident = (uint32_t)f[off + 4] << 24 | f[off + 5] << 16 |
						 f[off + 6] << 8 | f[off + 7];

				if (ident > ID6(0) && ident <= ID6(MAX_TAG))
					return (int)(ident - ID6(0));
				return 0;
			}
			if (nh != 0 && nh != 43 && nh != 60)
				return 0;
			nh = f[off];
			off += (f[off + 1] + 1) * 8;
		}
	}
	return 0;
}

static int do_capture(int argc, char **argv)
{
	static unsigned counts[MAX_TAG + 1];
	const char *ready = NULL, *stopf = NULL;
	struct sockaddr_ll sll = { 0 };
	struct timespec t0, now;
	unsigned total = 0;
	double secs;
	int fd, one = 1, i, t;
	uint8_t buf[65536];

	if (argc < 2)
		usage();
	secs = (double)num(argv[1], 3600);
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			ready = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			stopf = argv[++i];
		else
			usage();
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return fail("socket", errno);
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	if (!sll.sll_ifindex)
		return fail("if_nametoindex", errno);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return fail("bind", errno);
	if (ready) {
		int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (r >= 0)
			close(r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_flag) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
			break;
		if (stopf && !access(stopf, F_OK))
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			continue;
		t = frame_tag(buf, (size_t)n);
		if (t) {
			counts[t]++;
			total++;
		}
	}
	for (t = 1; t <= MAX_TAG; t++)
		if (counts[t])
			printf("%d %u\n", t, counts[t]);
	printf("total %u\n", total);
	return 0;
}

/* ---- L2 senders -------------------------------------------------------------- */

static int do_packet(int argc, char **argv)
{
	struct sockaddr_ll sll = { 0 };
	struct in_addr src, dst;
	uint8_t f[256], smac[6];
	unsigned tag, count = 1, i, sent = 0;
	size_t n;
	int fd;

	if (argc < 4)
		usage();
	addr4(argv[1], &dst);
	tag = tag_arg(argv[3]);
	if (argc > 4)
		count = num(argv[4], 1000);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		return fail("socket(AF_PACKET)", errno);
	if (if_mac(fd, argv[0], smac) || if_addr4(fd, argv[0], &src))
		return fail("interface", errno);
	n = eth_frame(f, smac, src, dst, num(argv[2], 65535), tag);
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	sll.sll_halen = 6;
	memset(sll.sll_addr, 0xff, 6);
	for (i = 0; i < count; i++) {
		if (sendto(fd, f, n, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			return fail("sendto(AF_PACKET)", errno);
		sent++;
	}
	printf("sent %u\n", sent);
	return 0;
}

static int do_xdp(int argc, char **argv)
{
	struct xdp_umem_reg mr = { 0 };
	struct xdp_mmap_offsets off;
	struct sockaddr_xdp sxdp = { 0 };
	struct in_addr src, dst;
	socklen_t ol = sizeof(off);
	uint8_t smac[6];
	unsigned tag, ring = 64;
	size_t n, umem_len = 16 * 4096;
	uint8_t *umem, *tx;
	struct xdp_desc *desc;
	uint32_t *prod;
	int fd, ifd;

	if (argc < 4)
		usage();
	addr4(argv[1], &dst);
	tag = tag_arg(argv[3]);
	fd = socket(AF_XDP, SOCK_RAW, 0);
	if (fd < 0)
		return fail("socket(AF_XDP)", errno);
	ifd = socket(AF_INET, SOCK_DGRAM, 0);
	if (ifd < 0 || if_mac(ifd, argv[0], smac) || if_addr4(ifd, argv[0], &src))
		return fail("interface", errno);
	close(ifd);
	umem = mmap(NULL, umem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem == MAP_FAILED)
		return fail("mmap umem", errno);
	mr.addr = (uintptr_t)umem;
	mr.len = umem_len;
	mr.chunk_size = 4096;
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)))
		return fail("XDP_UMEM_REG", errno);
	if (setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring, sizeof(ring)) ||
	    setsockopt(fd, SOL_XDP, XDP_TX_RING, &ring, sizeof(ring)))
		return fail("XDP rings", errno);
	if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol))
		return fail("XDP_MMAP_OFFSETS", errno);
	tx = mmap(NULL, off.tx.desc + ring * sizeof(struct xdp_desc), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, XDP_PGOFF_TX_RING);
	if (tx == MAP_FAILED)
		return fail("mmap tx ring", errno);
	sxdp.sxdp_family = AF_XDP;
	sxdp.sxdp_ifindex = if_nametoindex(argv[0]);
	sxdp.sxdp_queue_id = 0;
	sxdp.sxdp_flags = XDP_COPY;
	if (bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		return fail("bind(AF_XDP)", errno);
	n = eth_frame(umem, smac, src, dst, num(argv[2], 65535), tag);
	desc = (struct xdp_desc *)(tx + off.tx.desc);
	prod = (uint32_t *)(tx + off.tx.producer);
	desc[0].addr = 0;
	desc[0].len = n;
	desc[0].options = 0;
	__atomic_store_n(prod, 1, __ATOMIC_RELEASE);
	if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0)
		return fail("sendto(AF_XDP)", errno);
	usleep(100000);
	printf("sent 1\n");
	return 0;
}

/* ---- raw IP senders ------------------------------------------------------------ */

static int send_raw4(int fd, const void *b, size_t n, struct in_addr to)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = to };

	return sendto(fd, b, n, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0 ? -errno : 0;
}

static int do_rawudp(int argc, char **argv)
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

static int is_v6(const char *s)
{
	return strchr(s, ':') != NULL;
}

static int do_icmp(int argc, char **argv)
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

static int do_pingsock(int argc, char **argv)
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

static int do_proto(int argc, char **argv)
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

static int do_udp6(int argc, char **argv)
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

static int do_frag(int argc, char **argv)
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

static int send_raw6(int fd, const uint8_t *b, size_t n, const struct in6_addr *dst)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = *dst };

	return sendto(fd, b, n, 0, (struct sockaddr *)&s6, sizeof(s6)) < 0 ? -errno : 0;
}

static void ip6hdr(uint8_t *b, const struct in6_addr *src, const struct in6_addr *dst, uint8_t nh,
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

static void frag6hdr(uint8_t *b, uint8_t nh, uint16_t off8, int more, uint32_t ident)
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

static int do_frag6(int argc, char **argv)
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
static int do_rawudp6(int argc, char **argv)
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

/* ---- socket families --------------------------------------------------------------- */

static int do_family(void)
{
	static const struct {
		int family, type;
		const char *name;
	} fams[] = {
		{ AF_PACKET, SOCK_RAW, "AF_PACKET" },
		{ AF_PACKET, SOCK_DGRAM, "AF_PACKET/DGRAM" },
		{ AF_INET, SOCK_PACKET, "SOCK_PACKET" },
		{ AF_XDP, SOCK_RAW, "AF_XDP" },
		{ 26, SOCK_DGRAM, "AF_LLC" },
		{ 5, SOCK_DGRAM, "AF_APPLETALK" },
		{ 9, SOCK_SEQPACKET, "AF_X25" },
		{ 3, SOCK_DGRAM, "AF_AX25" },
		{ 29, SOCK_RAW, "AF_CAN" },
		{ 30, SOCK_RDM, "AF_TIPC" },
		{ 21, SOCK_SEQPACKET, "AF_RDS" },
		{ 31, SOCK_RAW, "AF_BLUETOOTH" },
		{ 36, SOCK_RAW, "AF_IEEE802154" },
		{ 35, SOCK_DGRAM, "AF_PHONET" },
		{ 43, SOCK_STREAM, "AF_SMC" },
		{ 45, SOCK_DGRAM, "AF_MCTP" },
		{ 40, SOCK_STREAM, "AF_VSOCK" },
		{ 15, SOCK_RAW, "AF_KEY" },
		{ 33, SOCK_DGRAM, "AF_RXRPC" },
		{ 42, SOCK_DGRAM, "AF_QIPCRTR" },
	};
	size_t i;
	int made = 0;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		int fd = socket(fams[i].family, fams[i].type, 0);

		if (fd >= 0) {
			printf("%s: created\n", fams[i].name);
			close(fd);
			made++;
		} else {
			printf("%s: %s\n", fams[i].name, strerror(errno));
		}
	}
	return made ? 1 : 0;
}

/* ---- sockets from before the attach ------------------------------------------------ */

static int wait_file(const char *path, int secs)
{
	int i;

	for (i = 0; i < secs * 10; i++) {
		if (!access(path, F_OK))
			return 0;
		usleep(100000);
	}
	return -1;
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
		close(fd);
}

static int do_prehold(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_ll sll = { 0 };
	struct in_addr src;
	char path[4096];
	uint8_t b[256], f[256], smac[6];
	unsigned tag;
	size_t n, fn = 0;
	int u, t, p, rc = 0, i;

	if (argc < 6)
		usage();
	addr4(argv[1], &to.sin_addr);
	tag = tag_arg(argv[4]);
	n = payload(b, tag);

	u = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_port = htons(num(argv[2], 65535));
	if (u < 0 || connect(u, (struct sockaddr *)&to, sizeof(to)))
		return fail("udp connect", errno);
	t = socket(AF_INET, SOCK_STREAM, 0);
	to.sin_port = htons(num(argv[3], 65535));
	if (t < 0 || connect(t, (struct sockaddr *)&to, sizeof(to)))
		return fail("tcp connect", errno);
	p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (p >= 0 && !if_mac(u, argv[0], smac) && !if_addr4(u, argv[0], &src)) {
		fn = eth_frame(f, smac, src, to.sin_addr, num(argv[2], 65535), tag);
		sll.sll_family = AF_PACKET;
		sll.sll_ifindex = (int)if_nametoindex(argv[0]);
		sll.sll_halen = 6;
		memset(sll.sll_addr, 0xff, 6);
	}
	printf("opened udp tcp %s\n", p >= 0 ? "packet" : "(no packet socket)");
	fflush(stdout);
	snprintf(path, sizeof(path), "%s/ready", argv[5]);
	touch(path);
	snprintf(path, sizeof(path), "%s/go", argv[5]);
	if (wait_file(path, 60))
		return fail("waiting for go", ETIMEDOUT);
	for (i = 0; i < 3; i++) {
		if (send(u, b, n, 0) < 0) {
			rc = fail("udp send", errno);
			break;
		}
	}
	if (i == 3)
		printf("udp: sent 3\n");
	if (send(t, b, n, MSG_NOSIGNAL) < 0)
		rc = fail("tcp send", errno);
	else
		printf("tcp: queued 1\n");
	if (p >= 0 && fn) {
		if (sendto(p, f, fn, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			rc = fail("packet send", errno);
		else
			printf("packet: sent 1\n");
	}
	fflush(stdout);
	sleep(2); /* let TCP retransmit into the filter */
	return rc;
}

/* ---- SCM_RIGHTS from outside -------------------------------------------------------- */

static int do_fdpass_server(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in to = { .sin_family = AF_INET };
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	int fds[2], nfds = 1, l, c;
	struct pollfd pfd;
	char one = 'x';

	if (argc < 3)
		usage();
	addr4(argv[1], &to.sin_addr);
	to.sin_port = htons(num(argv[2], 65535));
	fds[0] = socket(AF_INET, SOCK_DGRAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&to, sizeof(to)))
		return fail("udp socket", errno);
	if (argc > 3) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL) };

		fds[1] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
		sll.sll_ifindex = (int)if_nametoindex(argv[3]);
		if (fds[1] < 0 || bind(fds[1], (struct sockaddr *)&sll, sizeof(sll)))
			return fail("packet socket", errno);
		nfds = 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[0]);
	unlink(argv[0]);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) || listen(l, 1))
		return fail("unix listen", errno);
	chmod(argv[0], 0666);
	printf("serving %d fd(s)\n", nfds);
	fflush(stdout);
	pfd.fd = l;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 60000) <= 0)
		return fail("waiting for a client", ETIMEDOUT);
	c = accept(l, NULL, NULL);
	if (c < 0)
		return fail("accept", errno);
	iov.iov_base = &one;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	if (sendmsg(c, &mh, 0) < 0)
		return fail("sendmsg(SCM_RIGHTS)", errno);
	/* wait for the client to finish (it closes), bounded */
	pfd.fd = c;
	poll(&pfd, 1, 20000);
	printf("passed %d fd(s)\n", nfds);
	unlink(argv[0]);
	return 0;
}

static int do_fdpass_client(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in to = { .sin_family = AF_INET };
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { 0 };
	struct cmsghdr *cm;
	uint8_t b[PAYLOAD];
	char one;
	int s, i, got = 0, rc = 0;

	if (argc < 4)
		usage();
	addr4(argv[1], &to.sin_addr);
	to.sin_port = htons(num(argv[2], 65535));
	payload(b, tag_arg(argv[3]));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[0]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	for (i = 0; i < 100; i++) {
		if (!connect(s, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		usleep(100000);
	}
	if (i == 100)
		return fail("connect(unix)", errno);
	iov.iov_base = &one;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(s, &mh, 0) < 0)
		return fail("recvmsg", errno);
	if (mh.msg_flags & MSG_CTRUNC)
		printf("control data truncated (MSG_CTRUNC): fds refused\n");
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k, nfd, fd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (k = 0; k < nfd; k++) {
			int dom = 0;
			socklen_t dl = sizeof(dom);

			memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			got++;
			getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl);
			if (dom == AF_INET) {
				if (sendto(fd, b, sizeof(b), 0, NULL, 0) < 0)
					rc = fail("udp send on passed fd", errno);
				else
					printf("udp: sent 1 on a passed socket\n");
			} else {
				printf("received a socket of family %d\n", dom);
			}
		}
	}
	printf("received %d fd(s)\n", got);
	close(s);
	return got ? rc : 3;
}

/* ---- escapes -------------------------------------------------------------------------- */

static int report(const char *what, int ok, int e)
{
	if (ok)
		printf("%s: SUCCEEDED\n", what);
	else
		printf("%s: blocked (%s)\n", what, strerror(e));
	return ok ? 1 : 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), e;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int do_escape(void)
{
	static const char *const procs[] = {
		"/sys/fs/cgroup/cgroup.procs",	       "/sys/fs/cgroup/unified/cgroup.procs",
		"/sys/fs/cgroup/systemd/cgroup.procs", "/sys/fs/cgroup/memory/cgroup.procs",
		"/sys/fs/cgroup/pids/cgroup.procs",
	};
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	char pid[32], name[128];
	size_t i;
	int won = 0, r, fd;

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		r = write_file(procs[i], pid);
		snprintf(name, sizeof(name), "write own pid to %s", procs[i]);
		won += report(name, !r, -r);
	}
	/* a new cgroup of our own, then move there */
	r = mkdir("/sys/fs/cgroup/egr-escape", 0755) ? -errno : 0;
	won += report("mkdir a cgroup under /sys/fs/cgroup",
		      !r && !access("/sys/fs/cgroup/egr-escape/cgroup.procs", F_OK), -r ?: ENOENT);
	rmdir("/sys/fs/cgroup/egr-escape");
	r = umount2("/sys/fs/cgroup", MNT_DETACH) ? -errno : 0;
	won += report("umount /sys/fs/cgroup", !r, -r);
	mkdir("/tmp/egr-cg2", 0755);
	r = mount("none", "/tmp/egr-cg2", "cgroup2", 0, NULL) ? -errno : 0;
	won += report("mount -t cgroup2", !r, -r);
	if (!r) {
		/* with a cgroup2 mount: try the root cgroup */
		r = write_file("/tmp/egr-cg2/cgroup.procs", pid);
		won += report("write own pid to the root cgroup", !r, -r);
		umount2("/tmp/egr-cg2", MNT_DETACH);
	}
	r = mount("none", "/sys/fs/cgroup", "tmpfs", MS_REMOUNT, NULL) ? -errno : 0;
	won += report("remount /sys/fs/cgroup", !r, -r);
	r = mount("bpffs", "/tmp/egr-cg2", "bpf", 0, NULL) ? -errno : 0;
	won += report("mount -t bpf", !r, -r);
	if (!r)
		umount2("/tmp/egr-cg2", MNT_DETACH);
	rmdir("/tmp/egr-cg2");
	{
		/* clone3(CLONE_INTO_CGROUP) needs a cgroup2 directory fd */
		struct clone_args ca = { 0 };
		long pidc;

		fd = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
		ca.flags = CLONE_INTO_CGROUP;
		ca.exit_signal = SIGCHLD;
		ca.cgroup = fd < 0 ? 0 : (uint64_t)fd;
		pidc = syscall(__NR_clone3, &ca, sizeof(ca));
		if (pidc == 0)
			_exit(0);
		if (pidc > 0)
			waitpid((pid_t)pidc, NULL, 0);
		won += report("clone3(CLONE_INTO_CGROUP, /sys/fs/cgroup)", pidc > 0, errno);
		if (fd >= 0)
			close(fd);
	}

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uintptr_t) "GPL";
	fd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	won += report("bpf(BPF_PROG_LOAD)", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)sys_bpf(BPF_MAP_CREATE, &attr);
	won += report("bpf(BPF_MAP_CREATE)", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t) "/sys/fs/bpf/egressctl/egr_managed";
	fd = (int)sys_bpf(BPF_OBJ_GET, &attr);
	won += report("bpf(BPF_OBJ_GET) of the registry pin", fd >= 0, errno);
	memset(&attr, 0, sizeof(attr));
	attr.link_id = 1;
	fd = (int)sys_bpf(BPF_LINK_GET_FD_BY_ID, &attr);
	won += report("bpf(BPF_LINK_GET_FD_BY_ID)", fd >= 0, errno);
	fd = open("/sys/fs/bpf/egressctl", O_RDONLY | O_DIRECTORY);
	won += report("open /sys/fs/bpf/egressctl", fd >= 0, errno);
	r = unlink("/sys/fs/bpf/egressctl/egr_managed") ? -errno : 0;
	won += report("unlink a pin", !r, -r);
	r = unshare(CLONE_NEWNET) ? -errno : 0;
	won += report("unshare(CLONE_NEWNET)", !r, -r);
	r = unshare(CLONE_NEWUSER) ? -errno : 0;
	won += report("unshare(CLONE_NEWUSER)", !r, -r);
	r = unshare(CLONE_NEWCGROUP) ? -errno : 0;
	won += report("unshare(CLONE_NEWCGROUP)", !r, -r);
	return won;
}

/* ---- cost of the hooks ---------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int do_sockbench(int argc, char **argv)
{
	unsigned long i, n;
	double t0;

	if (argc < 1)
		usage();
	n = num(argv[0], 100000000);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0)
			return fail("socket", errno);
		close(fd);
	}
	printf("%.1f ns/op\n", (now_ns() - t0) / n);
	return 0;
}

static int do_sendbench(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	unsigned long i, n;
	char b[16] = { 0 };
	double t0;
	int fd;

	if (argc < 1)
		usage();
	n = num(argv[0], 100000000);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket", errno);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		sendto(fd, b, sizeof(b), 0, (struct sockaddr *)&to, sizeof(to));
	printf("%.1f ns/op\n", (now_ns() - t0) / n);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *cmd;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "capture"))
		return do_capture(argc, argv);
	if (!strcmp(cmd, "packet"))
		return do_packet(argc, argv);
	if (!strcmp(cmd, "xdp"))
		return do_xdp(argc, argv);
	if (!strcmp(cmd, "rawudp"))
		return do_rawudp(argc, argv);
	if (!strcmp(cmd, "icmp"))
		return do_icmp(argc, argv);
	if (!strcmp(cmd, "pingsock"))
		return do_pingsock(argc, argv);
	if (!strcmp(cmd, "proto"))
		return do_proto(argc, argv);
	if (!strcmp(cmd, "udp6"))
		return do_udp6(argc, argv);
	if (!strcmp(cmd, "frag"))
		return do_frag(argc, argv);
	if (!strcmp(cmd, "frag6"))
		return do_frag6(argc, argv);
	if (!strcmp(cmd, "rawudp6"))
		return do_rawudp6(argc, argv);
	if (!strcmp(cmd, "family"))
		return do_family();
	if (!strcmp(cmd, "prehold"))
		return do_prehold(argc, argv);
	if (!strcmp(cmd, "fdpass-server"))
		return do_fdpass_server(argc, argv);
	if (!strcmp(cmd, "fdpass-client"))
		return do_fdpass_client(argc, argv);
	if (!strcmp(cmd, "escape"))
		return do_escape();
	if (!strcmp(cmd, "sockbench"))
		return do_sockbench(argc, argv);
	if (!strcmp(cmd, "sendbench"))
		return do_sendbench(argc, argv);
	usage();
	return 2;
}
