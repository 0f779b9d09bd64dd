// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sockprobe: one socket call as an application makes it, for the socket-hook
 * tests (tests/e2e/16_sock_hooks.sh), and a packet counter for the receiver
 * side. Static, no libraries.
 *
 *   sockprobe connect tcp|udp|ping ADDR PORT [-t SECONDS] [-6]
 *       one connect() (blocking, bounded by -t, default 5 s), then (TCP,
 *       UDP) one send() of one byte, which prints "send ..." if it fails;
 *       -6: an AF_INET6 socket (for ::ffff:a.b.c.d)
 *   sockprobe sendto udp|ping ADDR PORT [-6] [-t SECONDS]
 *       one sendto() of 32 bytes (ping: an echo request) on a new socket
 *       (-t: accepted, unused)
 *   sockprobe cmsg ADDR PORT WAITFILE [-t SECONDS]
 *       connect a UDP socket (must succeed), wait until WAITFILE exists,
 *       then send one datagram with an IP_TTL / IPV6_HOPLIMIT cmsg
 *   sockprobe loop ADDR PORT SECONDS [-r FILE]
 *       TCP connect() and close (RST: no TIME_WAIT) every 200 us, each
 *       bounded by 2 s, until SIGTERM, SECONDS or 5,000,000 of them (-r:
 *       FILE is created after the first); prints "ok N refused N eperm N
 *       other N"
 *   sockprobe sniff tcp|udp PORT SECONDS [-r FILE] [-s]
 *       count IPv4/IPv6 packets of that protocol to PORT seen on any
 *       interface of this network namespace (AF_PACKET; -s: TCP SYNs only)
 *       until SECONDS or SIGTERM; prints the count
 *
 * The callers print "ok", or the error as "ERRNO_NAME: strerror" (e.g.
 * "ECONNREFUSED: Connection refused"); exit 0 on success, 1 on a failed
 * call, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: sockprobe connect tcp|udp|ping ADDR PORT [-t S] [-6]\n"
			"       sockprobe sendto udp|ping ADDR PORT [-6] [-t S]\n"
			"       sockprobe cmsg ADDR PORT WAITFILE [-t S]\n"
			"       sockprobe loop ADDR PORT SECONDS [-r FILE]\n"
			"       sockprobe sniff tcp|udp PORT SECONDS [-r FILE] [-s]\n");
	exit(2);
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ENETUNREACH:
		return "ENETUNREACH";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case EINPROGRESS:
		return "EINPROGRESS";
	}
	return "E?";
}

static int report(int ret)
{
	if (!ret) {
		printf("ok\n");
		return 0;
	}
	printf("%s: %s\n", errname(errno), strerror(errno));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* ADDR PORT, on an AF_INET6 socket if v6 (IPv4 given: ::ffff:a.b.c.d). */
static void parse_target(const char *addr, const char *port, int v6, struct target *t)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	struct in_addr a4;

	if (*end || !*port || p > 65535)
		usage();
	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, addr, &a4) == 1 && !v6) {
		sin->sin_family = AF_INET;
		sin->sin_addr = a4;
		sin->sin_port = htons(p);
		t->len = sizeof(*sin);
		t->family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) {
		usage();
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(p);
	t->len = sizeof(*sin6);
	t->family = AF_INET6;
}

static int sock_for(const char *kind, int family)
{
	if (!strcmp(kind, "tcp"))
		return socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!strcmp(kind, "udp"))
		return socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!strcmp(kind, "ping"))
		return socket(family, SOCK_DGRAM | SOCK_CLOEXEC,
			      family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	usage();
	return -1;
}

static void opts(int argc, char **argv, int first, double *secs, int *v6, const char **file,
		 int *syn)
{
	int i;

	for (i = first; i < argc; i++) {
		if (!strcmp(argv[i], "-6") && v6)
			*v6 = 1;
		else if (!strcmp(argv[i], "-s") && syn)
			*syn = 1;
		else if (!strcmp(argv[i], "-t") && secs && i + 1 < argc)
			*secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "-r") && file && i + 1 < argc)
			*file = argv[++i];
		else
			usage();
	}
	if (secs && !(*secs > 0 && *secs <= 3600))
		usage();
}

static int cmd_connect(int argc, char **argv)
{
	struct timeval tv;
	struct target t;
	double secs = 5;
	int v6 = 0, fd, ret;

	if (argc < 4)
		usage();
	opts(argc, argv, 4, &secs, &v6, NULL, NULL);
	parse_target(argv[2], argv[3], v6, &t);
	fd = sock_for(argv[1], t.family);
	if (fd < 0)
		return report(-1);
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = connect(fd, (struct sockaddr *)&t.ss, t.len);
	if (ret && errno == EINPROGRESS)
		errno = ETIMEDOUT; /* SO_SNDTIMEO ran out */
	if (ret)
		return report(ret);
	if (strcmp(argv[1], "ping") && send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
		printf("send ");
		return report(-1);
	}
	return report(0);
}

static int cmd_loop(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sig };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct timeval tv = { .tv_sec = 2 };
	unsigned long ok = 0, refused = 0, eperm = 0, other = 0, i;
	const char *ready = NULL;
	struct target t;
	double secs, end;
	int fd;

	if (argc < 4)
		usage();
	parse_target(argv[1], argv[2], 0, &t);
	secs = atof(argv[3]);
	if (!(secs > 0 && secs <= 3600))
		usage();
	opts(argc, argv, 4, NULL, NULL, &ready, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0, end = now() + secs; !stop && now() < end && i < 5000000; i++) {
		fd = sock_for("tcp", t.family);
		if (fd < 0)
			return report(-1);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, (struct sockaddr *)&t.ss, t.len))
			ok++;
		else if (errno == ECONNREFUSED)
			refused++;
		else if (errno == EPERM)
			eperm++;
		else if (errno != EINTR)
			other++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (!i && ready)
			close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		usleep(200);
	}
	printf("ok %lu refused %lu eperm %lu other %lu\n", ok, refused, eperm, other);
	return 0;
}

static int cmd_sendto(int argc, char **argv)
{
	struct icmphdr echo = { .type = ICMP_ECHO };
	struct icmp6_hdr echo6 = { .icmp6_type = ICMP6_ECHO_REQUEST };
	char buf[32] = "sockprobe";
	struct target t;
	const void *msg = buf;
	size_t len = sizeof(buf);
	int v6 = 0, fd;

	double secs = 5;

	if (argc < 4)
		usage();
	opts(argc, argv, 4, &secs, &v6, NULL, NULL);
	parse_target(argv[2], argv[3], v6, &t);
	fd = sock_for(argv[1], t.family);
	if (fd < 0)
		return report(-1);
	if (!strcmp(argv[1], "ping")) {
		msg = t.family == AF_INET ? (const void *)&echo : (const void *)&echo6;
		len = t.family == AF_INET ? sizeof(echo) : sizeof(echo6);
	} else if (strcmp(argv[1], "udp")) {
		usage();
	}
	return report(sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&t.ss, t.len) ==
			      (ssize_t)len ?
			      0 :
			      -1);
}

static int cmd_cmsg(int argc, char **argv)
{
	char cbuf[CMSG_SPACE(sizeof(int))], data[32] = "sockprobe-cmsg";
	struct iovec iov = { data, sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	struct target t;
	double secs = 5, end;
	int fd, ttl = 33;

	if (argc < 4)
		usage();
	opts(argc, argv, 4, &secs, NULL, NULL, NULL);
	parse_target(argv[1], argv[2], 0, &t);
	fd = sock_for("udp", t.family);
	if (fd < 0 || connect(fd, (struct sockaddr *)&t.ss, t.len)) {
		printf("connect ");
		return report(-1);
	}
	printf("connected\n");
	fflush(stdout);
	for (end = now() + secs; access(argv[3], F_OK); usleep(10000))
		if (now() > end) {
			printf("no %s\n", argv[3]);
			return 1;
		}
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = t.family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	cm->cmsg_type = t.family == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &ttl, sizeof(ttl));
	return report(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(data) ? 0 : -1);
}

/* Is the frame at p (len bytes, from the network header on) one we count? */
static int wanted(const unsigned char *p, size_t len, int proto, unsigned port, int syn)
{
	size_t off;
	int nh;

	if (len < 20)
		return 0;
	if ((p[0] >> 4) == 4) {
		nh = p[9];
		off = (p[0] & 15) * 4;
	} else if ((p[0] >> 4) == 6 && len >= 40) {
		nh = p[6];
		off = 40;
	} else {
		return 0;
	}
	if (nh != proto || len < off + 14)
		return 0;
	if (((unsigned)p[off + 2] << 8 | p[off + 3]) != port)
		return 0;
	return !syn || (proto == IPPROTO_TCP && (p[off + 13] & 0x12) == 0x02);
}

static int cmd_sniff(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sig };
	const char *ready = NULL;
	unsigned char buf[2048];
	unsigned long n = 0;
	double secs, end;
	int proto, syn = 0, fd;
	unsigned port;

	if (argc < 4)
		usage();
	proto = !strcmp(argv[1], "tcp") ? IPPROTO_TCP : !strcmp(argv[1], "udp") ? IPPROTO_UDP : -1;
	port = atoi(argv[2]);
	secs = atof(argv[3]);
	if (proto < 0 || !port || port > 65535 || !(secs > 0 && secs <= 3600))
		usage();
	opts(argc, argv, 4, NULL, NULL, &ready, &syn);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* SOCK_DGRAM: frames without their link-layer header */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("sockprobe: AF_PACKET socket");
		return 1;
	}
	if (ready)
		close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (end = now() + secs; !stop && now() < end;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 50) <= 0)
			continue;
		r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		/* each packet once: as it arrives (not as it is sent back out) */
		if (r > 0 && from.sll_pkttype != PACKET_OUTGOING &&
		    wanted(buf, (size_t)r, proto, port, syn))
			n++;
	}
	printf("%lu\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "connect"))
		return cmd_connect(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sendto"))
		return cmd_sendto(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cmsg"))
		return cmd_cmsg(argc - 1, argv + 1);
	if (!strcmp(argv[1], "loop"))
		return cmd_loop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sniff"))
		return cmd_sniff(argc - 1, argv + 1);
	usage();
	return 2;
}
