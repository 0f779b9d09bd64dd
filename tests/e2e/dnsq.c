// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dnsq: the DNS client, misbehaving resolver and in-container forger of the
 * name-rule e2e tests (tests/e2e/7*_dns_*.sh). Static, no libraries: it is
 * copied into the busybox test image and runs there as root with Docker's
 * default capabilities.
 *
 * A query is what a stub resolver (glibc's getaddrinfo()) sends: a random
 * id from a connected UDP socket on an ephemeral port (or a TCP connection,
 * -t), one question, and with -e an EDNS0 OPT record (4096 bytes).
 *
 *   dnsq resolve SERVER NAME [-t] [-e] [-6] [-s SPORT] [-w MS]
 *        prints the A (-6: AAAA) addresses of the answer, one a line; exit 0
 *        if there is one, 1 if none (rcode on stderr), 2 on a timeout
 *   dnsq race SERVER PATTERN PORT COUNT [-t] [-e] [-w MS] [-l] [-o OFFSET] [-C DIR,...]
 *        COUNT times: resolve PATTERN (its %d replaced by the round + OFFSET),
 *        then at once connect() to the first address at PORT (TCP, waiting
 *        at most MS, default 3000) and close. Prints "resolved R connected C
 *        failed F" (with -C, before it a line "cgroup K resolved ..." for
 *        each); every failure on stderr. Exit 0 when F is 0. -l: also a
 *        line "lat ROUND US RES K" per round (resolve + connect, and resolve
 *        alone, microseconds). -C DIR,...: round i runs in directory i mod n
 *        of the n listed cgroup directories (K: i mod n), so
 *        that configurations are compared name by name
 *   dnsq hold SERVER NAME PORT SECONDS [-w MS]
 *        resolve, connect, then write one byte every 100 ms for SECONDS and
 *        read it echoed back: prints "sent N echoed M" (the connection kept)
 *   dnsq listen PORT SECONDS [-b ADDR]
 *        a UDP socket that counts datagrams: prints "got N"
 *   dnsq serve ADDR PORT MODE SECONDS [-a ANSWER_ADDR] [-n NAME] [-T DST:PORT]
 *        a resolver that misbehaves, answering every query (or, unasked,
 *        sending one answer to DST:PORT) with ANSWER_ADDR for the question
 *        (or NAME). MODE: good, wrongid, wrongport (to the query's port + 1),
 *        wrongq (the question is NAME), unasked, late (the good answer, then
 *        it again 200 ms later)
 *   dnsq forge MODE SERVER NAME FORGED [-v VIA] [-s SRC]
 *        the in-container attacker: sends the query for NAME to SERVER from
 *        a socket of its own, so it knows the id and the port (as one that
 *        sniffs the wire does), and at once forges the answer "NAME has
 *        FORGED" from SRC (default SERVER) port 53, by MODE:
 *          raw        IP_HDRINCL, routed by the header (over lo: the
 *                     destination is this host)
 *          hairpin    IP_HDRINCL, sent to VIA (the gateway), which routes
 *                     it back
 *          bind       a UDP socket bound to SRC:53 (IP_FREEBIND, which needs
 *                     no capability, when SRC is not local)
 *          packet     AF_PACKET on lo (bypasses every egress hook)
 *          wrongid / wrongport / wrongq: raw, with the id + 1, to the query's
 *                     port + 1, or for the question "x" + NAME
 *        then prints the first answer it receives ("answer ADDR..." or
 *        "no answer"). Exit 0 when every send went out, 3 when the kernel
 *        refused one (EPERM), 1 on other errors.
 *   dnsq fake-server ADDR PORT FORGED SECONDS
 *        a resolver of its own on ADDR (127.0.0.1 inside a container),
 *        answering every A query with FORGED
 *
 * Traffic rule of the suite: callers pass only 198.18.0.0/15, loopback or
 * 127.0.0.11 addresses on namespaces and containers the test created.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 65536
#define T_A 1
#define T_CNAME 5
#define T_AAAA 28
#define T_OPT 41

static const char *prog = "dnsq";

static void usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of tests/e2e/dnsq.c\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(errno == EPERM || errno == EACCES ? 3 : 1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- options: -x VALUE or -x anywhere after the subcommand --- */

struct opts {
	bool tcp, edns, v6, lat;
	int sport, wait_ms, offset;
	const char *via, *src, *answer, *name, *to, *bind;
	char *cgroups; /* race -C: comma list of cgroup directories */
	char *pos[8];
	int npos;
};

static void parse(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->wait_ms = 3000;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (o->npos == 8)
				usage();
			o->pos[o->npos++] = argv[i];
			continue;
		}
		switch (a[1]) {
		case 't':
			o->tcp = true;
			continue;
		case 'e':
			o->edns = true;
			continue;
		case '6':
			o->v6 = true;
			continue;
		case 'l':
			o->lat = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		switch (a[1]) {
		case 's':
			if (!strcmp(argv[1], "forge"))
				o->src = argv[++i];
			else
				o->sport = atoi(argv[++i]);
			break;
		case 'w':
			o->wait_ms = atoi(argv[++i]);
			break;
		case 'v':
			o->via = argv[++i];
			break;
		case 'a':
			o->answer = argv[++i];
			break;
		case 'n':
			o->name = argv[++i];
			break;
		case 'T':
			o->to = argv[++i];
			break;
		case 'b':
			o->bind = argv[++i];
			break;
		case 'o':
			o->offset = atoi(argv[++i]);
			break;
		case 'C':
			o->cgroups = argv[++i];
			break;
		default:
			usage();
		}
	}
}

static struct sockaddr_in addr4(const char *a, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (inet_pton(AF_INET, a, &s.sin_addr) != 1) {
		fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, a);
		exit(2);
	}
	return s;
}

/* --- messages --- */

/* name in wire form at p; returns its length. */
static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;
	const char *s = name, *dot;

	while (*s) {
		dot = strchr(s, '.');
		size_t n = dot ? (size_t)(dot - s) : strlen(s);

		p[o++] = n;
		memcpy(p + o, s, n);
		o += n;
		s += n;
		if (*s == '.')
			s++;
	}
	p[o++] = 0;
	return o;
}

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
	return 2;
}

/* A query; returns its length. */
static size_t build_query(uint8_t *m, uint16_t id, const char *name, uint16_t type, bool edns)
{
	size_t o = 0;

	memset(m, 0, 12);
	put16(m, id);
	m[2] = 0x01; /* RD */
	put16(m + 4, 1);
	if (edns)
		put16(m + 10, 1);
	o = 12;
	o += put_name(m + o, name);
	o += put16(m + o, type);
	o += put16(m + o, 1);
	if (edns) {
		m[o++] = 0;
		o += put16(m + o, T_OPT);
		o += put16(m + o, 4096);
		memset(m + o, 0, 6);
		o += 6;
	}
	return o;
}

/* An answer "name A addr" (TTL 300) to the question qname. */
static size_t build_answer(uint8_t *m, uint16_t id, const char *qname, const char *addr)
{
	struct in_addr a;
	size_t o;

	if (inet_pton(AF_INET, addr, &a) != 1) {
		fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, addr);
		exit(2);
	}
	memset(m, 0, 12);
	put16(m, id);
	m[2] = 0x81; /* QR, RD */
	m[3] = 0x80; /* RA */
	put16(m + 4, 1);
	put16(m + 6, 1);
	o = 12;
	o += put_name(m + o, qname);
	o += put16(m + o, T_A);
	o += put16(m + o, 1);
	o += put16(m + o, 0xc00c);
	o += put16(m + o, T_A);
	o += put16(m + o, 1);
	o += put16(m + o, 0);
	o += put16(m + o, 300);
	o += put16(m + o, 4);
	memcpy(m + o, &a, 4);
	return o + 4;
}

/* Skip a (maybe compressed) name at off: the offset after it, or 0. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		if (!m[off])
			return off + 1;
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		off += m[off] + 1;
	}
	return 0;
}

/* The A or AAAA addresses of an answer's answer section into out (text,
 * one a line); returns the count, -1 for a malformed message, or -(rcode
 * + 2).
 */
static int answer_addrs(const uint8_t *m, size_t len, uint16_t type, char *out, size_t outlen)
{
	size_t off, o = 0;
	int an, n = 0, i;

	if (len < 12)
		return -1;
	if (m[3] & 0x0f)
		return -((m[3] & 0x0f) + 2);
	an = m[6] << 8 | m[7];
	off = skip_name(m, len, 12);
	if (!off || off + 4 > len)
		return -1;
	off += 4;
	for (i = 0; i < an; i++) {
		uint16_t t, rdlen;
		char txt[INET6_ADDRSTRLEN];

		off = skip_name(m, len, off);
		if (!off || off + 10 > len)
			return -1;
		t = m[off] << 8 | m[off + 1];
		rdlen = m[off + 8] << 8 | m[off + 9];
		off += 10;
		if (off + rdlen > len)
			return -1;
		if (t == type && rdlen == (type == T_A ? 4 : 16)) {
			inet_ntop(type == T_A ? AF_INET : AF_INET6, m + off, txt, sizeof(txt));
			o += snprintf(out + o, o < outlen ? outlen - o : 0, "%s\n", txt);
			n++;
		}
		off += rdlen;
	}
	return n;
}

static uint16_t rand16(void)
{
	uint16_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint16_t)(now() * 1e6);
	return v;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, ms);
}

/* Read exactly n bytes of a TCP stream, within ms. */
static int read_full(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;
	double end = now() + ms / 1e3;
	ssize_t r;

	while (got < n) {
		int left = (int)((end - now()) * 1e3);

		if (left <= 0 || wait_fd(fd, POLLIN, left) <= 0)
			return -1;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += r;
	}
	return 0;
}

/*
 * One query to server:53 and its answer (the one with the right id); as
 * glibc does it. Returns the answer's length, 0 on a timeout, -1 on an
 * error (errno).
 */
static ssize_t exchange(const char *server, const char *name, uint16_t type, const struct opts *o,
			uint8_t *ans)
{
	struct sockaddr_in sa = addr4(server, 53), me = { .sin_family = AF_INET };
	uint8_t q[600];
	uint16_t id = rand16();
	size_t qlen = build_query(o->tcp ? q + 2 : q, id, name, type, o->edns);
	double end = now() + o->wait_ms / 1e3;
	ssize_t n;
	int fd = socket(AF_INET, (o->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (o->sport) {
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		me.sin_port = htons(o->sport);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)))
			goto fail;
	}
	if (o->tcp) {
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
			goto fail;
		if (wait_fd(fd, POLLOUT, o->wait_ms) <= 0)
			goto timeout;
		fcntl(fd, F_SETFL, fl);
		put16(q, qlen);
		/* length and message in one write, as resolvers do */
		if (write(fd, q, qlen + 2) != (ssize_t)(qlen + 2))
			goto fail;
		uint8_t l[2];

		if (read_full(fd, l, 2, o->wait_ms))
			goto timeout;
		n = l[0] << 8 | l[1];
		if (read_full(fd, ans, n, o->wait_ms))
			goto timeout;
		close(fd);
		return n;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto fail;
	for (;;) {
		int left = (int)((end - now()) * 1e3);

		if (left <= 0 || wait_fd(fd, POLLIN, left) <= 0)
			goto timeout;
		n = recv(fd, ans, MSG_MAX, 0);
		if (n < 0)
			goto fail;
		if (n >= 12 && (ans[0] << 8 | ans[1]) == id) {
			close(fd);
			return n;
		}
	}
timeout:
	close(fd);
	return 0;
fail:
	n = errno;
	close(fd);
	errno = n;
	return -1;
}

/* connect() to a:port within ms: 0, or -1 with errno (ETIMEDOUT). */
static int try_connect(const char *a, int port, int ms, int *fdp)
{
	struct sockaddr_in sa = addr4(a, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)
		goto fail;
	if (wait_fd(fd, POLLOUT, ms) <= 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		errno = err;
		goto fail;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int cmd_resolve(struct opts *o)
{
	static uint8_t ans[MSG_MAX];
	char out[65536];
	uint16_t type = o->v6 ? T_AAAA : T_A;
	ssize_t n;
	int k;

	if (o->npos != 2)
		usage();
	n = exchange(o->pos[0], o->pos[1], type, o, ans);
	if (n < 0)
		die("query");
	if (!n) {
		fprintf(stderr, "%s: no answer\n", prog);
		return 2;
	}
	k = answer_addrs(ans, n, type, out, sizeof(out));
	if (k < 0) {
		fprintf(stderr, "%s: %s\n", prog, k == -1 ? "malformed answer" : "no address");
		if (k < -1)
			fprintf(stderr, "rcode %d\n", -k - 2);
		return 1;
	}
	fputs(out, stdout);
	return k ? 0 : 1;
}

/* Move this process into cgroup directory dir (its new sockets are then
 * that cgroup's).
 */
static void enter_cgroup(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "0\n") < 0 || fclose(f))
		die(path);
}

static int cmd_race(struct opts *o)
{
	static uint8_t ans[MSG_MAX];
	char name[300], out[65536], *cg[8];
	long count, i, ok[8] = { 0 }, resolved[8] = { 0 }, failed[8] = { 0 };
	long nres = 0, nok = 0, nfail = 0;
	int port, ncg = 0, c;

	if (o->npos != 4)
		usage();
	port = atoi(o->pos[2]);
	count = atol(o->pos[3]);
	for (char *t = o->cgroups ? strtok(o->cgroups, ",") : NULL; t; t = strtok(NULL, ",")) {
		if (ncg == 8)
			usage(); /* at most 8 */
		cg[ncg++] = t;
	}
	for (i = 0; i < count; i++) {
		double t0, t1;
		ssize_t n;
		int k;

		c = ncg ? (int)(i % ncg) : 0;
		if (ncg)
			enter_cgroup(cg[c]);
		snprintf(name, sizeof(name), o->pos[1], (int)i + o->offset);
		t0 = now();
		n = exchange(o->pos[0], name, T_A, o, ans);
		k = n > 0 ? answer_addrs(ans, n, T_A, out, sizeof(out)) : -1;
		if (k <= 0) {
			fprintf(stderr, "%s: round %ld: %s: no address\n", prog, i, name);
			failed[c]++;
			continue;
		}
		resolved[c]++;
		t1 = now();
		*strchr(out, '\n') = '\0';
		/* at once: no sleep, no retry */
		if (try_connect(out, port, o->wait_ms, NULL)) {
			fprintf(stderr, "%s: round %ld: %s -> %s: connect: %s\n", prog, i, name,
				out, strerror(errno));
			failed[c]++;
			continue;
		}
		ok[c]++;
		if (o->lat)
			printf("lat %ld %.1f %.1f %d\n", i, (now() - t0) * 1e6, (t1 - t0) * 1e6, c);
	}
	for (c = 0; c < 8; c++) {
		if (c < ncg)
			printf("cgroup %d resolved %ld connected %ld failed %ld\n", c, resolved[c],
			       ok[c], failed[c]);
		nres += resolved[c];
		nok += ok[c];
		nfail += failed[c];
	}
	printf("resolved %ld connected %ld failed %ld\n", nres, nok, nfail);
	return nfail ? 1 : 0;
}

static int cmd_hold(struct opts *o)
{
	static uint8_t ans[MSG_MAX];
	char out[65536];
	double end;
	long sent = 0, echoed = 0;
	ssize_t n;
	int fd, k;

	if (o->npos != 4)
		usage();
	n = exchange(o->pos[0], o->pos[1], T_A, o, ans);
	k = n > 0 ? answer_addrs(ans, n, T_A, out, sizeof(out)) : -1;
	if (k <= 0) {
		fprintf(stderr, "%s: %s: no address\n", prog, o->pos[1]);
		return 1;
	}
	*strchr(out, '\n') = '\0';
	if (try_connect(out, atoi(o->pos[2]), o->wait_ms, &fd))
		die("connect");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	printf("connected %s\n", out);
	fflush(stdout);
	end = now() + atof(o->pos[3]);
	while (now() < end) {
		uint8_t b = 'x';

		if (write(fd, &b, 1) != 1)
			break;
		sent++;
		if (read_full(fd, &b, 1, 1500))
			break;
		echoed++;
		usleep(100000);
	}
	printf("sent %ld echoed %ld\n", sent, echoed);
	close(fd);
	return sent == echoed ? 0 : 1;
}

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static int cmd_listen(struct opts *o)
{
	struct sockaddr_in me;
	uint8_t buf[2048];
	double end;
	long got = 0;
	int fd;

	if (o->npos != 2)
		usage();
	me = addr4(o->bind ? o->bind : "0.0.0.0", atoi(o->pos[0]));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)))
		die("bind");
	signal(SIGTERM, on_sig);
	printf("ready\n");
	fflush(stdout);
	end = now() + atof(o->pos[1]);
	while (!stop && now() < end) {
		if (wait_fd(fd, POLLIN, 100) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
			got++;
	}
	printf("got %ld\n", got);
	return 0;
}

/* The question name of a query (uncompressed) into name. */
static int qname_of(const uint8_t *m, size_t len, char *name, size_t nlen)
{
	size_t off = 12, o = 0;

	while (off < len && m[off]) {
		size_t l = m[off];

		if (l > 63 || off + 1 + l > len || o + l + 2 > nlen)
			return -1;
		if (o)
			name[o++] = '.';
		memcpy(name + o, m + off + 1, l);
		o += l;
		off += l + 1;
	}
	name[o] = '\0';
	return 0;
}

static int cmd_serve(struct opts *o)
{
	struct sockaddr_in me, peer;
	socklen_t pl = sizeof(peer);
	const char *mode;
	uint8_t q[2048], a[2048];
	char qn[300];
	double end;
	int fd, one = 1;

	if (o->npos != 4 || !o->answer)
		usage();
	mode = o->pos[2];
	me = addr4(o->pos[0], atoi(o->pos[1]));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)))
		die("bind");
	signal(SIGTERM, on_sig);
	end = now() + atof(o->pos[3]);
	if (!strcmp(mode, "unasked")) {
		char *colon = o->to ? strchr(o->to, ':') : NULL;
		size_t n;

		if (!colon || !o->name)
			usage();
		*colon = '\0';
		peer = addr4(o->to, atoi(colon + 1));
		n = build_answer(a, rand16(), o->name, o->answer);
		if (sendto(fd, a, n, 0, (struct sockaddr *)&peer, sizeof(peer)) != (ssize_t)n)
			die("sendto");
		printf("sent 1\n");
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop && now() < end) {
		ssize_t n;
		size_t an;
		uint16_t id;

		if (wait_fd(fd, POLLIN, 100) <= 0)
			continue;
		pl = sizeof(peer);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
		if (n < 12 || qname_of(q, n, qn, sizeof(qn)))
			continue;
		id = q[0] << 8 | q[1];
		if (!strcmp(mode, "wrongid"))
			id++;
		an = build_answer(a, id, !strcmp(mode, "wrongq") && o->name ? o->name : qn,
				  o->answer);
		if (!strcmp(mode, "wrongport"))
			peer.sin_port = htons(ntohs(peer.sin_port) + 1);
		sendto(fd, a, an, 0, (struct sockaddr *)&peer, sizeof(peer));
		if (!strcmp(mode, "late")) {
			usleep(200000);
			sendto(fd, a, an, 0, (struct sockaddr *)&peer, sizeof(peer));
		}
		printf("answered %s\n", qn);
		fflush(stdout);
	}
	return 0;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* An IPv4/UDP packet src:sport -> dst:dport around payload, into pkt. */
static size_t build_udp(uint8_t *pkt, struct in_addr src, uint16_t sport, struct in_addr dst,
			uint16_t dport, const uint8_t *payload, size_t plen)
{
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *u = (struct udphdr *)(pkt + 20);
	uint8_t ph[12];
	uint32_t sum = 0;
	size_t i;

	memset(pkt, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(28 + plen);
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = htons(csum(ip, 20, 0));
	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons(8 + plen);
	memcpy(pkt + 28, payload, plen);
	memcpy(ph, &ip->saddr, 4);
	memcpy(ph + 4, &ip->daddr, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	ph[10] = (8 + plen) >> 8;
	ph[11] = (8 + plen) & 0xff;
	for (i = 0; i < 12; i += 2)
		sum += ph[i] << 8 | ph[i + 1];
	u->check = htons(csum(u, 8 + plen, sum));
	if (!u->check)
		u->check = 0xffff;
	return 28 + plen;
}

static int cmd_forge(struct opts *o)
{
	static uint8_t ans[MSG_MAX];
	struct sockaddr_in sa, me, to;
	socklen_t ml = sizeof(me);
	const char *mode, *server, *name, *forged, *src;
	uint8_t q[600], a[600], pkt[800];
	char out[4096];
	struct in_addr s4;
	uint16_t id = rand16(), dport;
	size_t qlen, alen, plen;
	ssize_t n;
	int fd, rc = 0, sent_err = 0;

	if (o->npos != 4)
		usage();
	mode = o->pos[0];
	server = o->pos[1];
	name = o->pos[2];
	forged = o->pos[3];
	src = o->src ? o->src : server;
	sa = addr4(server, 53);
	s4 = addr4(src, 53).sin_addr;

	/* the query, as the application sends it */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("query socket");
	getsockname(fd, (struct sockaddr *)&me, &ml);
	qlen = build_query(q, id, name, T_A, false);
	if (send(fd, q, qlen, 0) != (ssize_t)qlen)
		die("query");

	/* the forgery */
	dport = ntohs(me.sin_port);
	if (!strcmp(mode, "wrongport"))
		dport++;
	{
		char qn[300];

		snprintf(qn, sizeof(qn), "%s%s", !strcmp(mode, "wrongq") ? "x" : "", name);
		alen = build_answer(a, !strcmp(mode, "wrongid") ? id + 1 : id, qn, forged);
	}
	if (!strcmp(mode, "bind")) {
		struct sockaddr_in b = { .sin_family = AF_INET,
					 .sin_port = htons(53),
					 .sin_addr = s4 };
		int bfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

		setsockopt(bfd, SOL_IP, IP_FREEBIND, &one, sizeof(one));
		setsockopt(bfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bfd < 0 || bind(bfd, (struct sockaddr *)&b, sizeof(b)))
			die("bind");
		to = me;
		to.sin_port = htons(dport);
		if (sendto(bfd, a, alen, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)alen)
			sent_err = errno;
	} else if (!strcmp(mode, "packet")) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET,
					  .sll_protocol = htons(ETH_P_IP),
					  .sll_ifindex = if_nametoindex("lo"),
					  .sll_halen = 6 };
		uint8_t frame[900];
		int pfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));

		if (pfd < 0)
			die("packet socket");
		memset(frame, 0, 14);
		frame[12] = 0x08;
		plen = build_udp(frame + 14, s4, 53, me.sin_addr, dport, a, alen);
		if (sendto(pfd, frame, plen + 14, 0, (struct sockaddr *)&ll, sizeof(ll)) !=
		    (ssize_t)(plen + 14))
			sent_err = errno;
	} else {
		/* raw, hairpin, wrongid, wrongport, wrongq */
		int rfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

		if (rfd < 0)
			die("raw socket");
		plen = build_udp(pkt, s4, 53, me.sin_addr, dport, a, alen);
		to = me;
		if (!strcmp(mode, "hairpin")) {
			if (!o->via)
				usage();
			to = addr4(o->via, 0);
		}
		if (sendto(rfd, pkt, plen, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)plen)
			sent_err = errno;
	}
	if (sent_err) {
		errno = sent_err;
		fprintf(stderr, "%s: forge %s: %s\n", prog, mode, strerror(errno));
		rc = errno == EPERM || errno == EACCES ? 3 : 1;
	} else {
		printf("forged %s\n", mode);
	}

	/* what the application reads first */
	n = wait_fd(fd, POLLIN, o->wait_ms) > 0 ? recv(fd, ans, sizeof(ans), 0) : -1;
	if (n > 0 && answer_addrs(ans, n, T_A, out, sizeof(out)) > 0) {
		char *nl;

		for (nl = out; (nl = strchr(nl, '\n')) && nl[1]; nl++)
			*nl = ' ';
		printf("answer %s", out);
	} else {
		printf("no answer\n");
	}
	return rc;
}

static int cmd_fake_server(struct opts *o)
{
	if (o->npos != 4)
		usage();
	o->answer = o->pos[2];
	o->pos[2] = "good";
	return cmd_serve(o);
}

int main(int argc, char **argv)
{
	struct opts o;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &o);
	if (!strcmp(argv[1], "resolve"))
		return cmd_resolve(&o);
	if (!strcmp(argv[1], "race"))
		return cmd_race(&o);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(&o);
	if (!strcmp(argv[1], "listen"))
		return cmd_listen(&o);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(&o);
	if (!strcmp(argv[1], "forge"))
		return cmd_forge(&o);
	if (!strcmp(argv[1], "fake-server"))
		return cmd_fake_server(&o);
	usage();
	return 2;
}
