// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * blast: traffic and timing helper of the benchmark (bench/run.sh).
 * Every mode is bounded in time (and the senders in packets) and stops by
 * itself. Destinations must be in 198.18.0.0/15, 2001:db8::/32 or loopback:
 * anything else is refused.
 *
 *   blast udp ADDR PORT SECONDS MAXPKTS [-l LEN] [-d K]
 *       connected UDP socket, sendmmsg() batches of 64 datagrams of LEN
 *       (default 64) payload bytes -> "sent N errors E secs S pps P cpu_s C"
 *       -d K (2..64, IPv4): unconnected, datagram i of each batch to
 *       ADDR + i % K: no two consecutive datagrams share a destination.
 *   blast tcp ADDR PORT SECONDS
 *       one connection, 64 KiB writes -> "bytes B secs S gbps G cpu_s C"
 *       cpu_s: CPU time of the sender process (CLOCK_PROCESS_CPUTIME_ID).
 *       The veth receive path runs in the sender's context (softirq on
 *       local_bh_enable), so this is the CPU cost of the whole path, and
 *       unlike the wall-clock rate it does not drop when other tasks take
 *       the CPU away.
 *   blast sink-udp PORT SECONDS        bind and hold, never read (the
 *       socket's receive buffer fills and the kernel drops at the socket)
 *   blast sink-tcp PORT SECONDS        accept and discard -> "bytes B"
 *   blast crr ADDR PORT SECONDS
 *       TCP_CRR-like: a new socket, connect(), one byte, close() (with
 *       SO_LINGER 0: an RST, so no TIME_WAIT exhausts the ports), again
 *       -> "conns N errors E secs S cps R cpu_s C"
 *   blast sink-crr PORT SECONDS        accept and close at once (backlog
 *       4096) -> "conns N"
 *   blast connlat ADDR PORT COUNT
 *       COUNT connect()s to a destination the filter refuses, each timed
 *       -> "n N refused R median_ns M p99_ns P max_ns X"; R counts the
 *       connects that failed with ECONNREFUSED or EPERM at once
 *   blast probe OLD NEW PORT SECONDS STOPFILE
 *       every ~50 us one datagram to OLD, then one to NEW; a send refused
 *       (EPERM: dropped by the cgroup filter) counts as blocked. Stops at
 *       SECONDS or once STOPFILE exists. Prints the sequence of states
 *       "old/new" (1 passed, 0 blocked) with sample counts and the time of
 *       each change (CLOCK_MONOTONIC ns).
 *   blast attach-lat ADDR PORT TIMEOUT CMD [ARGS...]
 *       a thread sends to ADDR (every ~20 us); the main thread runs CMD and
 *       waits for it. Prints "cmd_ns C enforce_ns E" where E is the time
 *       from starting CMD to the first send the filter refused (-1: none
 *       within TIMEOUT seconds).
 *   blast run CMD [ARGS...]            run CMD, wait -> "wall_ns W cpu_ns C status S"
 *       (cpu: user + system time of CMD and its waited-for descendants)
 *   blast now                          CLOCK_MONOTONIC ns
 *
 * Options may stand anywhere after the mode.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SECONDS 600.0

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "blast: %s\n", msg);
	exit(2);
}

static double seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !(v > 0) || v > MAX_SECONDS)
		die("SECONDS must be in (0, 600]");
	return v;
}

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

/* Only the bench ranges and loopback, never anything else. */
static void parse_addr(const char *s, const char *port, struct addr *a)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
	long p = strtol(port, NULL, 10);

	memset(a, 0, sizeof(*a));
	if (p < 1 || p > 65535)
		die("bad port");
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		uint32_t h = ntohl(s4->sin_addr.s_addr);

		if ((h & 0xfffe0000u) != 0xc6120000u && (h >> 24) != 127)
			die("IPv4 destination must be in 198.18.0.0/15 or 127.0.0.0/8");
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		a->len = sizeof(*s4);
		a->family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		static const uint8_t doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };

		if (memcmp(s6->sin6_addr.s6_addr, doc, 4) && !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			die("IPv6 destination must be in 2001:db8::/32 or ::1");
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		a->len = sizeof(*s6);
		a->family = AF_INET6;
		return;
	}
	die("bad address");
}

static int cmd_udp(int argc, char **argv)
{
	static char payload[BATCH][2048];
	static struct addr dst[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long max, sent = 0, errors = 0;
	size_t len = 64;
	unsigned long ndst = 1;
	char *pos[4];
	int npos = 0, i, fd;
	struct addr a;
	uint64_t t0, dl, t1;
	double secs, c0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-l") && i + 1 < argc)
			len = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			ndst = strtoul(argv[++i], NULL, 10);
		else if (npos < 4)
			pos[npos++] = argv[i];
		else
			die("udp: too many arguments");
	}
	if (npos != 4 || len < 1 || len > sizeof(payload[0]) || ndst < 1 || ndst > BATCH)
		die("usage: blast udp ADDR PORT SECONDS MAXPKTS [-l LEN] [-d 1..64]");
	parse_addr(pos[0], pos[1], &a);
	secs = seconds(pos[2]);
	max = strtoull(pos[3], NULL, 10);
	if (!max || max > 4000000000ull)
		die("MAXPKTS must be 1..4e9");
	fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (ndst == 1 && connect(fd, (struct sockaddr *)&a.ss, a.len))) {
		perror("blast: udp socket/connect");
		return 1;
	}
	/* -d K: unconnected, datagram i of a batch to ADDR + i % K (IPv4), so
	 * consecutive datagrams never share a destination.
	 */
	for (i = 0; ndst > 1 && i < (int)ndst; i++) {
		char buf[INET_ADDRSTRLEN];
		struct in_addr x;

		if (a.family != AF_INET)
			die("-d: IPv4 only");
		x.s_addr = htonl(ntohl(((struct sockaddr_in *)&a.ss)->sin_addr.s_addr) + i);
		inet_ntop(AF_INET, &x, buf, sizeof(buf));
		parse_addr(buf, pos[1], &dst[i]); /* range-checks each one */
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		memset(payload[i], 'b', len);
		iov[i].iov_base = payload[i];
		iov[i].iov_len = len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (ndst > 1) {
			msgs[i].msg_hdr.msg_name = &dst[i % ndst].ss;
			msgs[i].msg_hdr.msg_namelen = dst[i % ndst].len;
		}
	}
	c0 = cpu_s();
	t0 = now_ns();
	dl = t0 + (uint64_t)(secs * 1e9);
	for (t1 = t0; sent + errors < max && t1 < dl; t1 = now_ns()) {
		unsigned int want = max - sent - errors < BATCH ? max - sent - errors : BATCH;
		int r = sendmmsg(fd, msgs, want, 0);

		if (r > 0) {
			sent += r;
		} else {
			/* A refused datagram (EPERM from a filter) ends the batch:
			 * count it and go on with the rest.
			 */
			errors++;
		}
	}
	printf("sent %llu errors %llu secs %.6f pps %.0f cpu_s %.6f\n", sent, errors,
	       (t1 - t0) / 1e9, sent / ((t1 - t0) / 1e9), cpu_s() - c0);
	close(fd);
	return 0;
}

static int cmd_tcp(int argc, char **argv)
{
	static char buf[65536];
	unsigned long long bytes = 0;
	struct addr a;
	uint64_t t0, dl, t1;
	int fd;

	if (argc != 3)
		die("usage: blast tcp ADDR PORT SECONDS");
	parse_addr(argv[0], argv[1], &a);
	dl = (uint64_t)(seconds(argv[2]) * 1e9);
	fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("blast: socket");
		return 1;
	}
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a.ss, a.len)) {
		perror("blast: connect");
		return 1;
	}
	memset(buf, 't', sizeof(buf));
	double c0 = cpu_s();

	t0 = now_ns();
	dl += t0;
	for (t1 = t0; t1 < dl; t1 = now_ns()) {
		ssize_t r = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);

		if (r <= 0)
			break;
		bytes += r;
	}
	printf("bytes %llu secs %.6f gbps %.3f cpu_s %.6f\n", bytes, (t1 - t0) / 1e9,
	       bytes * 8 / ((t1 - t0) / 1e9) / 1e9, cpu_s() - c0);
	close(fd);
	return 0;
}

static int listen_any(int type, const char *port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0), one = 1, zero = 0;

	s.sin6_port = htons(strtol(port, NULL, 10));
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) || (type == SOCK_STREAM && listen(fd, 64))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_sink_udp(int argc, char **argv)
{
	double secs;
	int fd;

	if (argc != 2)
		die("usage: blast sink-udp PORT SECONDS");
	secs = seconds(argv[1]);
	fd = listen_any(SOCK_DGRAM, argv[0]);
	if (fd < 0) {
		perror("blast: sink-udp");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	usleep((useconds_t)(secs * 1e6));
	close(fd);
	return 0;
}

static volatile int sink_stop;

static void on_alarm(int sig)
{
	(void)sig;
	sink_stop = 1;
}

static int cmd_sink_tcp(int argc, char **argv)
{
	static char buf[1 << 18];
	unsigned long long bytes = 0;
	struct sigaction sa = { .sa_handler = on_alarm };
	int fd;

	if (argc != 2)
		die("usage: blast sink-tcp PORT SECONDS");
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: accept/recv return EINTR */
	alarm((unsigned int)seconds(argv[1]) + 1);
	fd = listen_any(SOCK_STREAM, argv[0]);
	if (fd < 0) {
		perror("blast: sink-tcp");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!sink_stop) {
		int c = accept(fd, NULL, NULL);
		ssize_t r;

		if (c < 0)
			continue;
		while (!sink_stop && (r = recv(c, buf, sizeof(buf), 0)) > 0)
			bytes += r;
		close(c);
	}
	printf("bytes %llu\n", bytes);
	close(fd);
	return 0;
}

static int cmd_crr(int argc, char **argv)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned long long conns = 0, errors = 0;
	struct addr a;
	uint64_t t0, dl, t1;
	double c0;

	if (argc != 3)
		die("usage: blast crr ADDR PORT SECONDS");
	parse_addr(argv[0], argv[1], &a);
	dl = (uint64_t)(seconds(argv[2]) * 1e9);
	c0 = cpu_s();
	t0 = now_ns();
	dl += t0;
	for (t1 = t0; t1 < dl; t1 = now_ns()) {
		int fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("blast: socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (!connect(fd, (struct sockaddr *)&a.ss, a.len) &&
		    send(fd, "c", 1, MSG_NOSIGNAL) == 1)
			conns++;
		else
			errors++;
		close(fd);
		if (errors > 1000 && errors > conns)
			break; /* something is wrong: stop early */
	}
	printf("conns %llu errors %llu secs %.6f cps %.1f cpu_s %.6f\n", conns, errors,
	       (t1 - t0) / 1e9, conns / ((t1 - t0) / 1e9), cpu_s() - c0);
	return 0;
}

static int cmd_sink_crr(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned long long conns = 0;
	int fd, one = 4096;

	if (argc != 2)
		die("usage: blast sink-crr PORT SECONDS");
	sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: accept returns EINTR */
	alarm((unsigned int)seconds(argv[1]) + 1);
	fd = listen_any(SOCK_STREAM, argv[0]);
	if (fd < 0 || listen(fd, one)) {
		perror("blast: sink-crr");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!sink_stop) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		conns++;
		close(c);
	}
	printf("conns %llu\n", conns);
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmd_connlat(int argc, char **argv)
{
	unsigned long n, i, refused = 0;
	uint64_t *t;
	struct addr a;

	if (argc != 3)
		die("usage: blast connlat ADDR PORT COUNT");
	parse_addr(argv[0], argv[1], &a);
	n = strtoul(argv[2], NULL, 10);
	if (n < 1 || n > 1000000)
		die("COUNT must be in [1, 1000000]");
	t = calloc(n, sizeof(*t));
	if (!t)
		die("out of memory");
	for (i = 0; i < n; i++) {
		int fd = socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0), r;
		struct timeval tv = { .tv_sec = 1 };
		uint64_t t0;

		if (fd < 0) {
			perror("blast: socket");
			return 1;
		}
		/* bounded: a connect the filter lets through waits at most 1 s */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		t0 = now_ns();
		r = connect(fd, (struct sockaddr *)&a.ss, a.len);
		t[i] = now_ns() - t0;
		if (r && (errno == ECONNREFUSED || errno == EPERM))
			refused++;
		close(fd);
		if (t[i] > 500000000ull && i > 3)
			break; /* not refused at once: a few are enough to say so */
	}
	n = i < n ? i + 1 : n;
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("n %lu refused %lu median_ns %llu p99_ns %llu max_ns %llu\n", n, refused,
	       (unsigned long long)t[n / 2], (unsigned long long)t[n * 99 / 100],
	       (unsigned long long)t[n - 1]);
	free(t);
	return 0;
}

static int udp_to(const struct addr *a)
{
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->ss, a->len)) {
		perror("blast: socket");
		exit(1);
	}
	return fd;
}

/* 1 passed, 0 refused by the filter (EPERM), -1 other error. */
static int try_send(int fd)
{
	char b[16] = "probe";

	if (send(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b))
		return 1;
	return errno == EPERM ? 0 : -1;
}

static int cmd_probe(int argc, char **argv)
{
	struct addr o, n;
	uint64_t t0, dl, t, since = 0;
	unsigned long long cnt = 0, other = 0;
	int fo, fn, state = -1, changes = 0, i;

	if (argc != 5)
		die("usage: blast probe OLD NEW PORT SECONDS STOPFILE");
	parse_addr(argv[0], argv[2], &o);
	parse_addr(argv[1], argv[2], &n);
	fo = udp_to(&o);
	fn = udp_to(&n);
	t0 = now_ns();
	dl = t0 + (uint64_t)(seconds(argv[3]) * 1e9);
	for (i = 0; (t = now_ns()) < dl; i++) {
		int a = try_send(fo), b = try_send(fn), s;

		if (a < 0 || b < 0) {
			other++;
			continue;
		}
		s = a << 1 | b;
		if (s != state) {
			if (state >= 0)
				printf("state %d/%d samples %llu from_ns %llu\n", state >> 1, state & 1,
				       cnt, (unsigned long long)since);
			state = s;
			since = t;
			cnt = 0;
			changes++;
		}
		cnt++;
		if ((i & 63) == 0 && !access(argv[4], F_OK))
			break;
		usleep(50);
	}
	if (state >= 0)
		printf("state %d/%d samples %llu from_ns %llu\n", state >> 1, state & 1, cnt,
		       (unsigned long long)since);
	printf("changes %d other_errors %llu end_ns %llu\n", changes - 1, other,
	       (unsigned long long)now_ns());
	return 0;
}

struct alat {
	struct addr a;
	uint64_t deadline;
	volatile uint64_t first_block;
	volatile int stop;
};

static void *alat_thread(void *p)
{
	struct alat *x = p;
	int fd = udp_to(&x->a);

	while (!x->stop && now_ns() < x->deadline) {
		if (try_send(fd) == 0) {
			x->first_block = now_ns();
			break;
		}
		usleep(20);
	}
	close(fd);
	return NULL;
}

static int cmd_attach_lat(int argc, char **argv)
{
	struct alat x = { 0 };
	pthread_t th;
	uint64_t t0, t1;
	double tmo;
	pid_t pid;
	int st;

	if (argc < 4)
		die("usage: blast attach-lat ADDR PORT TIMEOUT CMD [ARGS...]");
	parse_addr(argv[0], argv[1], &x.a);
	tmo = seconds(argv[2]);
	x.deadline = now_ns() + (uint64_t)((tmo + 5) * 1e9);
	pthread_create(&th, NULL, alat_thread, &x);
	usleep(20000); /* the sender is running */
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 1);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		perror("blast: fork");
		return 1;
	}
	t1 = now_ns();
	x.deadline = t1 + (uint64_t)(tmo * 1e9);
	pthread_join(th, NULL);
	printf("cmd_ns %llu enforce_ns %lld status %d\n", (unsigned long long)(t1 - t0),
	       x.first_block ? (long long)(x.first_block - t0) : -1LL,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct rusage ru;
	uint64_t t0, t1;
	pid_t pid;
	int st;

	if (argc < 1)
		die("usage: blast run CMD [ARGS...]");
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) {
		perror("blast: run");
		return 1;
	}
	t1 = now_ns();
	printf("wall_ns %llu cpu_ns %llu status %d\n", (unsigned long long)(t1 - t0),
	       (unsigned long long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
				    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull),
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: blast udp|tcp|crr|connlat|sink-udp|sink-tcp|sink-crr|probe|attach-lat|now ...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "udp"))
		return cmd_udp(argc - 2, argv + 2);
	if (!strcmp(argv[1], "tcp"))
		return cmd_tcp(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sink-udp"))
		return cmd_sink_udp(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sink-tcp"))
		return cmd_sink_tcp(argc - 2, argv + 2);
	if (!strcmp(argv[1], "crr"))
		return cmd_crr(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sink-crr"))
		return cmd_sink_crr(argc - 2, argv + 2);
	if (!strcmp(argv[1], "connlat"))
		return cmd_connlat(argc - 2, argv + 2);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 2, argv + 2);
	if (!strcmp(argv[1], "attach-lat"))
		return cmd_attach_lat(argc - 2, argv + 2);
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (!strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	die("unknown mode");
	return 2;
}
