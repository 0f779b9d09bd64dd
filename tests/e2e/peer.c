// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * peer: tiny traffic generator / counter for the e2e tests. Built static with
 * no libraries so it can also be copied into busybox containers.
 *
 *   peer udp-recv  [-6] PORT SECONDS [-n N] [-b]        -> "COUNT" ("COUNT BYTES" with -b)
 *   peer tcp-recv  [-6] PORT SECONDS [-n N] [-e]        -> "CONNS BYTES"
 *   peer icmp-recv [-6] SECONDS [-s SRC] [-n N]         -> "COUNT" (echo requests)
 *   peer udp-send  [-6] ADDR PORT COUNT [-l LEN] [-i USEC] [-t SECONDS]
 *                                                       -> "sent N errors M"
 *   peer udp-alt   [-6] ADDR PORT ADDR2 PORT2 COUNT [-i USEC] [-t SECONDS]
 *                  one unconnected socket, COUNT datagrams to each, taking
 *                  turns               -> "sent N N2 errors M M2"
 *   peer tcp-send  [-6] ADDR PORT [-l LEN] [-t SECONDS] [-v]
 *                                                       -> "connected" | "connect: ERR"
 *   peer tcp-connect-hold ADDR PORT SECONDS             -> "N" (messages acked)
 *   peer udp-flood ADDR PORT COUNT SECONDS              -> "sent N errors M pps P"
 *
 * Options may stand anywhere after the subcommand. Every receiver also takes
 * -r FILE: the file is created once the socket is bound/listening, so a
 * script can wait for it instead of sleeping. Receivers stop at SECONDS, at
 * -n N (datagrams / finished connections / echo requests), or on
 * SIGTERM/SIGINT, and print their result in every case.
 *
 * The address family follows ADDR (an IPv6 literal selects IPv6); -6 selects
 * IPv6 for the receivers and is accepted, redundantly, by the senders.
 *
 * Exit codes: 0 success; 1 failure (udp-send: any send() error; tcp-send: the
 * connect or a send failed; tcp-connect-hold: stopped by an error before
 * SECONDS; a receiver could not set up its socket); 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define MAX_SECONDS 3600.0
#define MAX_CONNS 256
#define BUF_SIZE 65536
#define HOLD_MSG_LEN 16
#define HOLD_PERIOD_MS 100
#define HOLD_ACK_MS 1000

static const char *prog = "peer";
static volatile sig_atomic_t stop_flag;

static void usage(void)
{
	fprintf(stderr,
		"usage:\n"
		"  %1$s udp-recv  [-6] PORT SECONDS [-n N] [-b] [-r FILE]\n"
		"  %1$s tcp-recv  [-6] PORT SECONDS [-n N] [-e] [-r FILE]\n"
		"  %1$s icmp-recv [-6] SECONDS [-s SRC] [-n N] [-r FILE]\n"
		"  %1$s udp-send  [-6] ADDR PORT COUNT [-l LEN] [-i USEC] [-t SECONDS]\n"
		"  %1$s udp-alt   [-6] ADDR PORT ADDR2 PORT2 COUNT [-i USEC] [-t SECONDS]\n"
		"  %1$s tcp-send  [-6] ADDR PORT [-l LEN] [-t SECONDS] [-v]\n"
		"  %1$s tcp-connect-hold ADDR PORT SECONDS\n"
		"  %1$s udp-flood ADDR PORT COUNT SECONDS\n",
		prog);
	exit(2);
}

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage();
}

/* ---- options ---------------------------------------------------------- */

struct opts {
	int v6;
	int bytes;
	int echo;
	int verbose;
	unsigned long n; /* 0: no limit */
	unsigned long len;
	unsigned long interval_us;
	double timeout; /* < 0: not given */
	const char *src;
	const char *ready;
	char *pos[8];
	int npos;
};

/*
 * flags: option letters without a value; valued: letters taking one. Options
 * and positionals may be interleaved; "--" ends options.
 */
static void parse_opts(int argc, char **argv, const char *flags, const char *valued, struct opts *o)
{
	int only_pos = 0;

	for (int i = 0; i < argc; i++) {
		char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (o->npos >= (int)(sizeof(o->pos) / sizeof(o->pos[0])))
				die_usage("too many arguments");
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (a[2] != '\0')
			die_usage("bad option '%s'", a);
		char c = a[1];
		char *val = NULL;

		if (strchr(valued, c)) {
			if (i + 1 >= argc)
				die_usage("option -%c needs a value", c);
			val = argv[++i];
		} else if (!strchr(flags, c)) {
			die_usage("unknown option '%s'", a);
		}
		switch (c) {
		case '6':
			o->v6 = 1;
			break;
		case 'b':
			o->bytes = 1;
			break;
		case 'e':
			o->echo = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'n':
		case 'l':
		case 'i': {
			char *end;

			errno = 0;
			unsigned long v = strtoul(val, &end, 10);

			if (errno || end == val || *end || val[0] == '-')
				die_usage("bad number '%s' for -%c", val, c);
			if (c == 'n')
				o->n = v;
			else if (c == 'l')
				o->len = v;
			else
				o->interval_us = v;
			break;
		}
		case 't': {
			char *end;

			errno = 0;
			double v = strtod(val, &end);

			if (errno || end == val || *end || !(v > 0) || v > MAX_SECONDS)
				die_usage("bad seconds '%s'", val);
			o->timeout = v;
			break;
		}
		case 's':
			o->src = val;
			break;
		case 'r':
			o->ready = val;
			break;
		default:
			die_usage("unknown option '%s'", a);
		}
	}
}

static unsigned long parse_ulong(const char *s, const char *what, unsigned long min,
				 unsigned long max)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);

	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die_usage("bad %s '%s'", what, s);
	return v;
}

static double parse_seconds(const char *s)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);

	if (errno || end == s || *end || !(v > 0) || v > MAX_SECONDS)
		die_usage("bad SECONDS '%s' (0 < s <= %.0f)", s, MAX_SECONDS);
	return v;
}

/* ---- time ------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Milliseconds left until deadline, rounded up, >= 0. */
static int ms_left(double deadline)
{
	double left = deadline - now();

	if (left <= 0)
		return 0;
	return (int)(left * 1000.0) + 1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void setup_signals(void)
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

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static void parse_addr(const char *s, unsigned long port, int want_v6, struct addr *a)
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

static void any_addr(int v6, unsigned long port, struct addr *a)
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

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return -1;
}

static int fail_rc(const char *what)
{
	fail(what);
	return 1;
}

static void set_timeouts(int fd, double secs)
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
static void big_rcvbuf(int fd)
{
	int sz = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static int bound_socket(int v6, int type, unsigned long port)
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

static void mark_ready(const char *path)
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
static int connect_timeout(const struct addr *a, double timeout)
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
static size_t send_all(int fd, const char *buf, size_t len, int stall_ms)
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

/* ---- receivers -------------------------------------------------------- */

static int cmd_udp_recv(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6b", "nr", &o);
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
	}
	if (o.bytes)
		printf("%lu %llu\n", count, bytes);
	else
		printf("%lu\n", count);
	close(fd);
	return 0;
}

static int cmd_tcp_recv(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6e", "nr", &o);
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

static int cmd_icmp_recv(int argc, char **argv)
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

/* ---- senders ---------------------------------------------------------- */

static int cmd_udp_send(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6", "lit", &o);
	if (o.npos != 3)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	unsigned long count = parse_ulong(o.pos[2], "COUNT", 0, 100000000UL);
	struct addr a;
	static char buf[BUF_SIZE];
	unsigned long sent = 0, errors = 0;
	int last_err = 0;

	if (o.len > 65507)
		die_usage("LEN too large (max 65507)");
	if (o.interval_us > 10000000UL)
		die_usage("USEC too large (max 10000000)");
	parse_addr(o.pos[0], port, o.v6, &a);
	/* hard bound on the whole run; default 30 s */
	double deadline = now() + (o.timeout > 0 ? o.timeout : 30.0);
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	set_timeouts(fd, 1.0);
	memset(buf, 'u', o.len);
	for (unsigned long i = 0; i < count && !stop_flag; i++) {
		if (now() >= deadline) {
			fprintf(stderr, "%s: time bound reached\n", prog);
			break;
		}
		/* unconnected: ICMP errors do not turn into send() errors */
		ssize_t n = sendto(fd, buf, o.len, MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len);

		if (n == (ssize_t)o.len) {
			sent++;
		} else {
			errors++;
			last_err = n < 0 ? errno : EMSGSIZE;
		}
		if (o.interval_us && i + 1 < count) {
			struct timespec ts;

			ts.tv_sec = (time_t)(o.interval_us / 1000000UL);
			ts.tv_nsec = (long)(o.interval_us % 1000000UL) * 1000;
			nanosleep(&ts, NULL);
		}
	}
	if (errors)
		fprintf(stderr, "%s: last send error: %s\n", prog, strerror(last_err));
	printf("sent %lu errors %lu\n", sent, errors);
	close(fd);
	return errors || sent < count ? 1 : 0;
}

static void sleep_us(unsigned long us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000UL),
			       .tv_nsec = (long)(us % 1000000UL) * 1000 };

	nanosleep(&ts, NULL);
}

/* Two destinations from one socket, alternately: a filter that remembers a
 * socket's last verdict must still judge each datagram by its own address.
 */
static int cmd_udp_alt(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6", "it", &o);
	if (o.npos != 5)
		usage();
	unsigned long port[2] = { parse_ulong(o.pos[1], "PORT", 1, 65535),
				  parse_ulong(o.pos[3], "PORT2", 1, 65535) };
	unsigned long count = parse_ulong(o.pos[4], "COUNT", 0, 1000000UL);
	unsigned long sent[2] = { 0, 0 }, errors[2] = { 0, 0 };
	struct addr a[2];
	char buf[64];

	if (o.interval_us > 10000000UL)
		die_usage("USEC too large (max 10000000)");
	parse_addr(o.pos[0], port[0], o.v6, &a[0]);
	parse_addr(o.pos[2], port[1], o.v6, &a[1]);
	double deadline = now() + (o.timeout > 0 ? o.timeout : 30.0);
	int fd = socket(a[0].family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	memset(buf, 'u', sizeof(buf));
	for (unsigned long i = 0; i < 2 * count && !stop_flag; i++) {
		int k = i & 1;

		if (now() >= deadline) {
			fprintf(stderr, "%s: time bound reached\n", prog);
			break;
		}
		if (sendto(fd, buf, sizeof(buf), MSG_NOSIGNAL, (struct sockaddr *)&a[k].ss,
			   a[k].len) == (ssize_t)sizeof(buf))
			sent[k]++;
		else
			errors[k]++;
		if (o.interval_us)
			sleep_us(o.interval_us);
	}
	printf("sent %lu %lu errors %lu %lu\n", sent[0], sent[1], errors[0], errors[1]);
	close(fd);
	return 0;
}

static int cmd_tcp_send(int argc, char **argv)
{
	struct opts o = { .len = 64, .timeout = -1 };

	parse_opts(argc, argv, "6v", "lt", &o);
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
static int cmd_tcp_connect_hold(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6", "", &o);
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
		double next = t0 + HOLD_PERIOD_MS / 1000.0;
		int ms = ms_left(next < deadline ? next : deadline);

		if (ms > 0)
			poll(NULL, 0, ms);
	}
	printf("%lu\n", ok);
	close(fd);
	return rc;
}

static int cmd_udp_flood(int argc, char **argv)
{
	struct opts o = { .timeout = -1 };

	parse_opts(argc, argv, "6", "", &o);
	if (o.npos != 4)
		usage();
	unsigned long port = parse_ulong(o.pos[1], "PORT", 1, 65535);
	unsigned long count = parse_ulong(o.pos[2], "COUNT", 0, 4000000000UL);
	double secs = parse_seconds(o.pos[3]);
	struct addr a;
	char buf[64];
	unsigned long sent = 0, errors = 0;

	parse_addr(o.pos[0], port, o.v6, &a);
	int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return fail_rc("socket");
	set_timeouts(fd, 0.2);
	memset(buf, 'f', sizeof(buf));
	double start = now(), deadline = start + secs, end = start;

	for (unsigned long i = 0; i < count && !stop_flag; i++) {
		if ((i & 63) == 0 && now() >= deadline)
			break;
		if (sendto(fd, buf, sizeof(buf), MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len) ==
		    (ssize_t)sizeof(buf))
			sent++;
		else
			errors++;
	}
	end = now();
	double el = end - start;
	unsigned long pps = el > 0 ? (unsigned long)((double)sent / el) : 0;

	printf("sent %lu errors %lu pps %lu\n", sent, errors, pps);
	close(fd);
	return 0;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		/* clang-format off */
		{ "udp-recv", cmd_udp_recv },
		{ "tcp-recv", cmd_tcp_recv },
		{ "icmp-recv", cmd_icmp_recv },
		{ "udp-send", cmd_udp_send },
		{ "udp-alt", cmd_udp_alt },
		{ "tcp-send", cmd_tcp_send },
		{ "tcp-connect-hold", cmd_tcp_connect_hold },
		{ "udp-flood", cmd_udp_flood },
		/* clang-format on */
	};

	if (argc > 0 && argv[0] && argv[0][0])
		prog = argv[0];
	if (argc < 2)
		usage();
	setup_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	die_usage("unknown subcommand '%s'", argv[1]);
	return 2;
}
