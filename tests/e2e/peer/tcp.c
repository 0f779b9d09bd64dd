// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* peer: the TCP senders (tcp-send, tcp-connect-hold, tcp-hello). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "peer.h"

int cmd_tcp_send(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6vR", "lt", &o);
	if (o.npos != 2)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	double timeout = o.timeout > 0 ? o.timeout : 5.0;
	double deadline = now() + timeout;
	struct addr a;
	static char out[BUF_SIZE], in[BUF_SIZE];
	unsigned long long sent = 0, reply = 0;
	int err = 0, eof = 0;

	if (o.len > 100000000UL)
		die_usage("LEN too large (max 100000000)");
	parse_addr(o.pos[0], port, o.v6, &a);
	int fd = connect_timeout(&a, timeout);

	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	printf("connected\n");
	if (o.retrans) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		memset(&ti, 0, sizeof(ti));
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
			printf("retrans %u\n", ti.tcpi_total_retrans);
		else
			printf("retrans ?\n");
	}
	fflush(stdout);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	memset(out, 't', sizeof(out));
	if (o.len == 0)
		shutdown(fd, SHUT_WR);
	/*
	 * Send while reading whatever comes back (an echoing peer would stall
	 * on a full window otherwise), then half-close and read until EOF.
	 * The reply is informational: a cut reply is not an error.
	 */
	while (!eof) {
		int ms = ms_left(deadline);

		if (ms == 0 || stop_flag) {
			if (sent < o.len)
				err = ETIMEDOUT;
			break;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < o.len ? POLLOUT : 0) };
		int r = poll(&p, 1, ms);

		if (r <= 0)
			continue;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);

			if (n > 0)
				reply += (unsigned long long)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (n < 0 && sent < o.len)
					err = errno;
				eof = 1;
			}
		}
		if (sent < o.len && !eof && (p.revents & POLLOUT)) {
			size_t chunk = sizeof(out);

			if (o.len - sent < chunk)
				chunk = (size_t)(o.len - sent);
			ssize_t n = send(fd, out, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				sent += (unsigned long long)n;
				if (sent == o.len)
					shutdown(fd, SHUT_WR);
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				err = errno;
				break;
			}
		}
	}
	if (sent < o.len) {
		fprintf(stderr, "%s: send: %s (%llu of %lu bytes)\n", prog,
			strerror(err ? err : EPIPE), sent, o.len);
		close(fd);
		return 1;
	}
	if (o.verbose)
		printf("sent %llu reply %llu\n", sent, reply);
	close(fd);
	return 0;
}

/*
 * Sends one 16-byte message per 100 ms. A message counts as OK once the peer
 * has acknowledged it (the send queue drains, SIOCOUTQ == 0) within 1 s: a
 * dropped segment never makes send() fail on an established connection, it
 * only stops being acknowledged.
 */
int cmd_tcp_connect_hold(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6", "p", &o);
	if (o.npos != 3)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	double secs = parse_seconds(o.pos[2]);
	double deadline = now() + secs;
	struct addr a;
	char msg[HOLD_MSG_LEN];
	unsigned long ok = 0;
	int rc = 0;

	parse_addr(o.pos[0], port, o.v6, &a);
	memset(msg, 'h', sizeof(msg));
	progress(o.progress, "0\n");
	int fd = connect_timeout(&a, secs < 5.0 ? secs : 5.0);

	if (fd < 0) {
		fprintf(stderr, "%s: connect: %s\n", prog, strerror(errno));
		printf("0\n");
		return 1;
	}
	set_timeouts(fd, 1.0);
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (!stop_flag) {
		double t0 = now();

		if (t0 >= deadline)
			break;
		ssize_t n = send(fd, msg, sizeof(msg), MSG_NOSIGNAL);

		if (n != (ssize_t)sizeof(msg)) {
			fprintf(stderr, "%s: send: %s\n", prog, n < 0 ? strerror(errno) : "short");
			rc = 1;
			break;
		}
		/* wait for the ack, polling the send queue every 5 ms */
		double ack_deadline = t0 + HOLD_ACK_MS / 1000.0;
		int outq = -1;

		for (;;) {
			if (ioctl(fd, SIOCOUTQ, &outq) < 0) {
				outq = -1;
				break;
			}
			if (outq == 0 || now() >= ack_deadline || stop_flag)
				break;
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (outq != 0) {
			if (stop_flag)
				break;
			fprintf(stderr, "%s: message %lu not acknowledged within %d ms\n", prog,
				ok + 1, HOLD_ACK_MS);
			rc = 1;
			break;
		}
		/* an RST from the peer shows up as a pending socket error */
		int err = 0;
		socklen_t sl = sizeof(err);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err) {
			fprintf(stderr, "%s: socket: %s\n", prog, strerror(err));
			rc = 1;
			break;
		}
		ok++;
		progress(o.progress, "%lu\n", ok);
		double next = t0 + HOLD_PERIOD_MS / 1000.0;
		int ms = ms_left(next < deadline ? next : deadline);

		if (ms > 0)
			poll(NULL, 0, ms);
	}
	printf("%lu\n", ok);
	close(fd);
	return rc;
}

/* Connect (one attempt: the kernel retransmits the SYN until SECONDS),
 * send "MSG retrans R ms M" and a newline, close: R = 0 says the first SYN
 * got through.
 */
int cmd_tcp_hello(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	char msg[600];
	struct addr a;
	double t0, ms, timeout;
	int fd, n;

	parse_opts(argc, argv, "6", "t", &o);
	if (o.npos != 3)
		usage();
	if (strlen(o.pos[2]) > 500)
		die_usage("MSG too long (max 500)");
	timeout = o.timeout > 0 ? o.timeout : 5.0;
	parse_addr(o.pos[0], parse_ulong(o.pos[1], "PORT", 1, 65535), o.v6, &a);
	t0 = now();
	fd = connect_timeout(&a, timeout);
	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	ms = (now() - t0) * 1000;
	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	n = snprintf(msg, sizeof(msg), "%s retrans %u ms %.0f\n", o.pos[2], ti.tcpi_total_retrans,
		     ms);
	if (send_all(fd, msg, (size_t)n, 2000) != (size_t)n) {
		printf("send: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	printf("connected retrans %u ms %.0f\n", ti.tcpi_total_retrans, ms);
	return 0;
}
