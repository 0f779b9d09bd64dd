// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* peer: the receivers (udp-recv, tcp-recv, icmp-recv). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

int cmd_udp_recv(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6b", "nrp", &o);
	if (o.npos != 2)
		usage();
	unsigned long port = parse_ulong(o.pos[0], "PORT", 1, 65535);
	double deadline = now() + parse_seconds(o.pos[1]);
	unsigned long count = 0;
	unsigned long long bytes = 0;
	static char buf[BUF_SIZE];
	int fd = bound_socket(o.v6, SOCK_DGRAM, port);

	if (fd < 0)
		return 1;
	big_rcvbuf(fd);
	progress(o.progress, o.bytes ? "0 0\n" : "0\n");
	mark_ready(o.ready);
	while (!stop_flag && (o.n == 0 || count < o.n)) {
		int ms = ms_left(deadline);

		if (ms == 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, ms);

		if (r <= 0)
			continue; /* timeout, EINTR: loop conditions decide */
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			continue;
		count++;
		bytes += (unsigned long long)n;
		if (o.bytes)
			progress(o.progress, "%lu %llu\n", count, bytes);
		else
			progress(o.progress, "%lu\n", count);
	}
	if (o.bytes)
		printf("%lu %llu\n", count, bytes);
	else
		printf("%lu\n", count);
	close(fd);
	return 0;
}

int cmd_tcp_recv(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6e", "nrp", &o);
	if (o.npos != 2)
		usage();
	unsigned long port = parse_ulong(o.pos[0], "PORT", 1, 65535);
	double deadline = now() + parse_seconds(o.pos[1]);
	unsigned long conns = 0, done = 0;
	unsigned long long bytes = 0;
	static char buf[BUF_SIZE];
	struct pollfd pfd[MAX_CONNS + 1];
	int nconn = 0;
	int lfd = bound_socket(o.v6, SOCK_STREAM, port);

	if (lfd < 0)
		return 1;
	if (listen(lfd, 128) < 0) {
		fail("listen");
		close(lfd);
		return 1;
	}
	progress(o.progress, "0 0\n");
	mark_ready(o.ready);
	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	while (!stop_flag && (o.n == 0 || done < o.n)) {
		int ms = ms_left(deadline);

		if (ms == 0)
			break;
		pfd[0].events = nconn < MAX_CONNS ? POLLIN : 0;
		int r = poll(pfd, (nfds_t)nconn + 1, ms);

		if (r <= 0)
			continue;
		for (int i = 1; i <= nconn; i++) {
			if (!pfd[i].revents)
				continue;
			ssize_t n = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n > 0) {
				bytes += (unsigned long long)n;
				progress(o.progress, "%lu %llu\n", conns, bytes);
				if (o.echo)
					send_all(pfd[i].fd, buf, (size_t)n, 1000);
				continue;
			}
			/* EOF or error: this connection is finished */
			close(pfd[i].fd);
			pfd[i] = pfd[nconn];
			nconn--;
			i--;
			done++;
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (cfd >= 0) {
				set_timeouts(cfd, 1.0);
				conns++;
				progress(o.progress, "%lu %llu\n", conns, bytes);
				nconn++;
				pfd[nconn].fd = cfd;
				pfd[nconn].events = POLLIN;
				pfd[nconn].revents = 0;
			}
		}
	}
	printf("%lu %llu\n", conns, bytes);
	for (int i = 1; i <= nconn; i++)
		close(pfd[i].fd);
	close(lfd);
	return 0;
}

int cmd_icmp_recv(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6", "nsr", &o);
	if (o.npos != 1)
		usage();
	double deadline = now() + parse_seconds(o.pos[0]);
	struct addr src;
	unsigned long count = 0;
	static unsigned char buf[BUF_SIZE];
	int fd;

	if (o.src)
		parse_addr(o.src, 0, o.v6, &src);
	if (o.src && (src.family == AF_INET6) != !!o.v6)
		die_usage("-s %s does not match the address family (use -6 for IPv6)", o.src);
	if (o.v6) {
		struct icmp6_filter f;

		fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
		if (fd < 0)
			return fail_rc("socket(ICMPv6)");
		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REQUEST, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	} else {
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd < 0)
			return fail_rc("socket(ICMP)");
	}
	big_rcvbuf(fd);
	mark_ready(o.ready);
	while (!stop_flag && (o.n == 0 || count < o.n)) {
		int ms = ms_left(deadline);

		if (ms == 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, ms);

		if (r <= 0)
			continue;
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n =
			recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (n <= 0)
			continue;
		if (o.v6) {
			/* raw ICMPv6 sockets get the ICMPv6 header first */
			struct sockaddr_in6 *f6 = (struct sockaddr_in6 *)&from;

			if (n < 8 || buf[0] != ICMP6_ECHO_REQUEST)
				continue;
			if (o.src && memcmp(&f6->sin6_addr,
					    &((struct sockaddr_in6 *)&src.ss)->sin6_addr, 16))
				continue;
		} else {
			/* raw ICMP sockets get the IPv4 header first */
			size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
			struct sockaddr_in *f4 = (struct sockaddr_in *)&from;

			if (ihl < 20 || (size_t)n < ihl + 8 || buf[ihl] != ICMP_ECHO)
				continue;
			if (o.src &&
			    f4->sin_addr.s_addr != ((struct sockaddr_in *)&src.ss)->sin_addr.s_addr)
				continue;
		}
		count++;
	}
	printf("%lu\n", count);
	close(fd);
	return 0;
}
