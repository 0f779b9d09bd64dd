// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* peer: time, signals, addresses, socket helpers, progress files. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

/* ---- time ------------------------------------------------------------- */

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline, rounded up, >= 0. */
int ms_left(double deadline)
{
	double left = deadline - now();

	if (left <= 0)
		return 0;
	return (int)(left * 1000.0) + 1;
}

void sleep_us(unsigned long us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000UL),
			       .tv_nsec = (long)(us % 1000000UL) * 1000 };

	nanosleep(&ts, NULL);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- addresses -------------------------------------------------------- */

void parse_addr(const char *s, unsigned long port, int want_v6, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	if (!want_v6 && inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		a->len = sizeof(*sin);
		a->family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		a->len = sizeof(*sin6);
		a->family = AF_INET6;
		return;
	}
	die_usage("bad %saddress '%s'", want_v6 ? "IPv6 " : "", s);
}

void any_addr(int v6, unsigned long port, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((unsigned short)port);
		a->len = sizeof(*sin6);
		a->family = AF_INET6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((unsigned short)port);
		a->len = sizeof(*sin);
		a->family = AF_INET;
	}
}

/* ---- socket helpers --------------------------------------------------- */

int fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return -1;
}

int fail_rc(const char *what)
{
	fail(what);
	return 1;
}

void set_timeouts(int fd, double secs)
{
	struct timeval tv;

	if (secs < 0.001)
		secs = 0.001;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* A big receive buffer so bursts are counted, not dropped by the socket. */
void big_rcvbuf(int fd)
{
	int sz = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

int bound_socket(int v6, int type, unsigned long port)
{
	struct addr a;
	int one = 1;
	int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	any_addr(v6, port, &a);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) {
		fail("bind");
		close(fd);
		return -1;
	}
	return fd;
}

void mark_ready(const char *path)
{
	if (!path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		fail("ready file");
		return;
	}
	close(fd);
}

/* Connect with a timeout; returns fd (blocking again) or -1 with errno set. */
int connect_timeout(const struct addr *a, double timeout)
{
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto out_err;
		}
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		double deadline = now() + timeout;
		int r;

		do {
			r = poll(&p, 1, ms_left(deadline));
		} while (r < 0 && errno == EINTR && !stop_flag);
		if (r < 0) {
			err = errno;
			goto out_err;
		}
		if (r == 0) {
			err = ETIMEDOUT;
			goto out_err;
		}
		socklen_t sl = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err)
			goto out_err;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
out_err:
	close(fd);
	errno = err;
	return -1;
}

/*
 * Writes all of buf to a non-blocking socket, waiting for room at most
 * stall_ms each time the socket is full. Returns bytes written.
 */
size_t send_all(int fd, const char *buf, size_t len, int stall_ms)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			if (poll(&p, 1, stall_ms) > 0)
				continue;
		}
		break;
	}
	return off;
}

/*
 * The result so far, for a script that waits for an event instead of a
 * time: written to PATH.tmp, then renamed over PATH, so a reader sees one
 * whole line. No-op without -p.
 */
void progress(const char *path, const char *fmt, ...)
{
	char tmp[4096], line[128];
	va_list ap;
	int fd, n;

	if (!path)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	rename(tmp, path);
}
