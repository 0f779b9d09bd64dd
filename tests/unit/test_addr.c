// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/policy/addr.c: destinations, port specs, the rule array. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "lib/cases.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t zero16[16];

struct dest_ok {
	const char *in;
	const char *out; /* format_dest() of the result */
	uint8_t family;
	uint8_t plen;
};

static const struct dest_ok dest_ok_cases[] = {
	/* IPv4, normalization clears host bits */
	{ "10.1.2.3/8", "10.0.0.0/8", 4, 8 },
	{ "10.1.2.3", "10.1.2.3/32", 4, 32 },
	{ "10.1.2.3/32", "10.1.2.3/32", 4, 32 },
	{ "10.1.2.3/31", "10.1.2.2/31", 4, 31 },
	{ "10.255.255.255/9", "10.128.0.0/9", 4, 9 },
	{ "172.31.255.255/12", "172.16.0.0/12", 4, 12 },
	{ "198.18.0.0/24", "198.18.0.0/24", 4, 24 },
	{ "255.255.255.255/1", "128.0.0.0/1", 4, 1 },
	{ "255.255.255.255/0", "0.0.0.0/0", 4, 0 },
	{ "0.0.0.0/0", "0.0.0.0/0", 4, 0 },
	{ "0.0.0.0", "0.0.0.0/32", 4, 32 },
	{ "255.255.255.255", "255.255.255.255/32", 4, 32 },
	{ "192.168.100.2", "192.168.100.2/32", 4, 32 },
	/* IPv6 */
	{ "2001:db8::1/32", "2001:db8::/32", 6, 32 },
	{ "2001:db8::/32", "2001:db8::/32", 6, 32 },
	{ "2001:db8::1", "2001:db8::1/128", 6, 128 },
	{ "2001:db8::1/128", "2001:db8::1/128", 6, 128 },
	{ "2001:DB8::A", "2001:db8::a/128", 6, 128 },
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128", 6, 128 },
	{ "2001:db8:ffff:ffff::/36", "2001:db8:f000::/36", 6, 36 },
	{ "2001:db8:ffff:ffff::/63", "2001:db8:ffff:fffe::/63", 6, 63 },
	{ "fe80::1:2:3:4/64", "fe80::/64", 6, 64 },
	{ "::1", "::1/128", 6, 128 },
	{ "::", "::/128", 6, 128 },
	{ "::/0", "::/0", 6, 0 },
	{ "ffff:ffff::/0", "::/0", 6, 0 },
	{ "ffff:ffff::/1", "8000::/1", 6, 1 },
	/* IPv4 inside IPv6 text: only ::ffff:0:0/96 is judged as IPv4 */
	{ "::ffff:10.1.2.3", "10.1.2.3/32", 4, 32 },
	{ "::ffff:10.1.2.3/104", "10.0.0.0/8", 4, 8 },
	{ "::FFFF:a01:203/128", "10.1.2.3/32", 4, 32 },
	{ "::ffff:0:0/96", "0.0.0.0/0", 4, 0 },
	{ "::ffff:10.1.2.3/95", "::fffe:0:0/95", 6, 95 },
	{ "::ffff:10.1.2.3/64", "::/64", 6, 64 },
	{ "::10.1.2.3", "::10.1.2.3/128", 6, 128 },
	{ "64:ff9b::1.2.3.4", "64:ff9b::102:304/128", 6, 128 },
	{ "::fffe:10.1.2.3", "::fffe:a01:203/128", 6, 128 },
};

static void test_parse_dest_ok(void **state)
{
	struct egr_dest d;
	char buf[64], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(dest_ok_cases); i++) {
		const struct dest_ok *c = &dest_ok_cases[i];
		size_t alen;

		cur_case = c->in;
		memset(&d, 0xa5, sizeof(d));
		err[0] = '\0';
		assert_int_equal(parse_dest(c->in, &d, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_int_equal(d.family, c->family);
		assert_int_equal(d.plen, c->plen);
		assert_string_equal(format_dest(&d, buf, sizeof(buf)), c->out);
		/* Bytes past the family's address are zero (compile.c memcmps 16). */
		alen = d.family == 4 ? 4 : 16;
		assert_memory_equal(d.addr + alen, zero16, 16 - alen);
	}
	cur_case = NULL;
}

/* Normalized output parses back to itself. */
static void test_dest_roundtrip(void **state)
{
	struct egr_dest d, d2;
	char buf[64], buf2[64];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(dest_ok_cases); i++) {
		cur_case = dest_ok_cases[i].in;
		assert_int_equal(parse_dest(dest_ok_cases[i].in, &d, NULL, 0), 0);
		format_dest(&d, buf, sizeof(buf));
		assert_int_equal(parse_dest(buf, &d2, NULL, 0), 0);
		assert_string_equal(format_dest(&d2, buf2, sizeof(buf2)), buf);
		assert_memory_equal(&d, &d2, sizeof(d));
	}
	cur_case = NULL;
}

static void test_parse_dest_bytes(void **state)
{
	static const uint8_t v4[4] = { 10, 0, 0, 0 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct egr_dest d;

	(void)state;
	assert_int_equal(parse_dest("10.1.2.3/8", &d, NULL, 0), 0);
	assert_memory_equal(d.addr, v4, 4);
	assert_int_equal(parse_dest("2001:db8:1:2::1/32", &d, NULL, 0), 0);
	assert_memory_equal(d.addr, v6, 16);
}

struct bad_case {
	const char *in;
	const char *msg; /* the whole message */
};

static const struct bad_case dest_bad_cases[] = {
	{ "", "bad destination '': empty" },
	{ "10.1.2.300/8", "bad destination '10.1.2.300/8': not an IPv4 or IPv6 address" },
	{ "10.1.2.256", "bad destination '10.1.2.256': not an IPv4 or IPv6 address" },
	{ "10.0.0", "bad destination '10.0.0': not an IPv4 or IPv6 address" },
	{ "10", "bad destination '10': not an IPv4 or IPv6 address" },
	{ "10.0.0.0.0", "bad destination '10.0.0.0.0': not an IPv4 or IPv6 address" },
	{ "010.0.0.1", "bad destination '010.0.0.1': not an IPv4 or IPv6 address" },
	{ "0x0a.0.0.1", "bad destination '0x0a.0.0.1': not an IPv4 or IPv6 address" },
	{ " 10.0.0.1", "bad destination ' 10.0.0.1': not an IPv4 or IPv6 address" },
	{ "10.0.0.1 ", "bad destination '10.0.0.1 ': not an IPv4 or IPv6 address" },
	{ "10.0.0.1x", "bad destination '10.0.0.1x': not an IPv4 or IPv6 address" },
	{ "10.0.0.1 /8", "bad destination '10.0.0.1 /8': not an IPv4 or IPv6 address" },
	{ "/8", "bad destination '/8': not an IPv4 or IPv6 address" },
	{ "any", "bad destination 'any': not an IPv4 or IPv6 address" },
	{ "example.com", "bad destination 'example.com': not an IPv4 or IPv6 address" },
	{ "2001:db8::1::2", "bad destination '2001:db8::1::2': not an IPv4 or IPv6 address" },
	{ "2001:db8:::1", "bad destination '2001:db8:::1': not an IPv4 or IPv6 address" },
	{ "fe80::1%eth0", "bad destination 'fe80::1%eth0': not an IPv4 or IPv6 address" },
	{ "[::1]", "bad destination '[::1]': not an IPv4 or IPv6 address" },
	{ "10.0.0.1\n", "bad destination '10.0.0.1\\x0a': not an IPv4 or IPv6 address" },
	{ "10.0.0.0/33", "bad prefix length '/33' in '10.0.0.0/33': IPv4 allows 0-32" },
	{ "10.0.0.0/255", "bad prefix length '/255' in '10.0.0.0/255': IPv4 allows 0-32" },
	{ "10.0.0.0/256", "bad prefix length '/256' in '10.0.0.0/256': IPv4 allows 0-32" },
	{ "10.0.0.0/99999999999999999999999",
	  "bad prefix length '/99999999999999999999999' in '10.0.0.0/99999999999999999999999': "
	  "IPv4 allows 0-32" },
	{ "2001:db8::/129", "bad prefix length '/129' in '2001:db8::/129': IPv6 allows 0-128" },
	{ "::ffff:1.2.3.4/129",
	  "bad prefix length '/129' in '::ffff:1.2.3.4/129': IPv6 allows 0-128" },
	{ "10.0.0.0/", "bad prefix length '/' in '10.0.0.0/': missing number" },
	{ "10.0.0.0/+8", "bad prefix length '/+8' in '10.0.0.0/+8': not a decimal number" },
	{ "10.0.0.0/-1", "bad prefix length '/-1' in '10.0.0.0/-1': not a decimal number" },
	{ "10.0.0.0/ 8", "bad prefix length '/ 8' in '10.0.0.0/ 8': not a decimal number" },
	{ "10.0.0.0/8 ", "bad prefix length '/8 ' in '10.0.0.0/8 ': not a decimal number" },
	{ "10.0.0.0/0x8", "bad prefix length '/0x8' in '10.0.0.0/0x8': not a decimal number" },
	{ "10.0.0.0/8/8", "bad prefix length '/8/8' in '10.0.0.0/8/8': not a decimal number" },
	{ "10.0.0.0/8.0", "bad prefix length '/8.0' in '10.0.0.0/8.0': not a decimal number" },
	{ "10.0.0.0/08", "bad prefix length '/08' in '10.0.0.0/08': leading zero" },
	{ "10.0.0.0/00", "bad prefix length '/00' in '10.0.0.0/00': leading zero" },
};

static void test_parse_dest_bad(void **state)
{
	struct egr_dest d;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(dest_bad_cases); i++) {
		const struct bad_case *c = &dest_bad_cases[i];

		cur_case = c->msg;
		memset(&d, 0xa5, sizeof(d));
		assert_int_equal(parse_dest(c->in, &d, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, c->msg);
		assert_null(strchr(err, '\n'));
		assert_int_equal(d.family, 0);
	}
	cur_case = NULL;
}

/*
 * parse_dest() reads addresses itself and leaves only what it refuses to
 * inet_pton(): it must agree with inet_pton() on every text. Texts glued
 * from pieces that sit near the edges of the grammar, checked against
 * inet_pton() directly (a /32 or /128 clears no host bits).
 */
static void test_parse_dest_vs_inet_pton(void **state)
{
	static const char *const pieces[] = {
		"",    "0",    "1",	  "00",	      "01",	 "9",	    "10",    "255", "256",
		"300", "ff",   "FFFF",	  "fFfF",     "abc",	 "0abc",    "10000", "g",   ":",
		"::",  ":::",  ".",	  "..",	      "1.2",	 "1.2.3",   "x",     " ",   "%",
		"-",   "ffff", "::ffff:", "2001:db8", "1.2.3.4", "0.0.0.0",
	};
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static char q[256]; /* cur_case, read after a failure */
	uint32_t seed = 12345;
	char in[128];
	struct egr_dest d;
	uint8_t a[16];
	int i, k, n, fam, ret;

	(void)state;
	for (i = 0; i < 300000; i++) {
		in[0] = '\0';
		n = 1 + i % 12;
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			if (strlen(in) + 20 < sizeof(in))
				strcat(in, pieces[(seed >> 8) % ARRAY_LEN(pieces)]);
		}
		if (strchr(in, '/') || !in[0])
			continue;
		memset(a, 0, sizeof(a));
		fam = inet_pton(AF_INET, in, a) == 1 ? 4 : inet_pton(AF_INET6, in, a) == 1 ? 6 : 0;
		if (strlen(in) > INET6_ADDRSTRLEN)
			fam = 0; /* parse_dest() refuses such text unread */
		if (fam == 6 && !memcmp(a, mapped, 12)) {
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			fam = 4;
		}
		cur_case = quote_text(in, q, sizeof(q));
		ret = parse_dest(in, &d, NULL, 0);
		assert_int_equal(ret, fam ? 0 : -EINVAL);
		if (!fam)
			continue;
		assert_int_equal(d.family, fam);
		assert_int_equal(d.plen, fam == 4 ? 32 : 128);
		assert_memory_equal(d.addr, a, 16);
	}
	cur_case = NULL;
}

static void test_parse_dest_err_handling(void **state)
{
	char longin[300], err[256], small[16];
	struct egr_dest d;

	(void)state;
	/* No err buffer: still fails cleanly. */
	assert_int_equal(parse_dest("nope", &d, NULL, 0), -EINVAL);
	assert_int_equal(parse_dest(NULL, &d, NULL, 0), -EINVAL);
	/* A short buffer truncates but terminates. */
	assert_int_equal(parse_dest("10.0.0.0/33", &d, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_true(!strncmp(small, "bad prefix leng", sizeof(small) - 1));
	/* Very long text is cut so the reason still fits. */
	memset(longin, '1', sizeof(longin) - 1);
	longin[sizeof(longin) - 1] = '\0';
	assert_int_equal(parse_dest(longin, &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "...': not an IPv4 or IPv6 address"));
}

static void test_parse_dests(void **state)
{
	struct egr_dest out[2];
	char buf[64], err[256];

	(void)state;
	assert_int_equal(parse_dests("any", out, err, sizeof(err)), 2);
	assert_string_equal(format_dest(&out[0], buf, sizeof(buf)), "0.0.0.0/0");
	assert_int_equal(out[0].family, 4);
	assert_int_equal(out[0].plen, 0);
	assert_memory_equal(out[0].addr, zero16, 16);
	assert_string_equal(format_dest(&out[1], buf, sizeof(buf)), "::/0");
	assert_int_equal(out[1].family, 6);
	assert_int_equal(out[1].plen, 0);
	assert_memory_equal(out[1].addr, zero16, 16);

	assert_int_equal(parse_dests("10.1.2.3/8", out, err, sizeof(err)), 1);
	assert_string_equal(format_dest(&out[0], buf, sizeof(buf)), "10.0.0.0/8");
	assert_int_equal(parse_dests("2001:db8::1/32", out, err, sizeof(err)), 1);
	assert_string_equal(format_dest(&out[0], buf, sizeof(buf)), "2001:db8::/32");

	/* "any" is one exact lowercase word. */
	assert_int_equal(parse_dests("ANY", out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad destination 'ANY': not an IPv4 or IPv6 address");
	assert_int_equal(parse_dests("any ", out, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_dests("any/0", out, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_dests("", out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad destination '': empty");
	assert_int_equal(parse_dests("10.0.0.0/33", out, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad prefix length '/33' in '10.0.0.0/33': IPv4 allows 0-32");
}

struct ps_ok {
	const char *in;
	enum egr_uproto proto;
	bool has_ports;
	uint16_t lo, hi;
	const char *out; /* format_portspec() of the result */
};

static const struct ps_ok ps_ok_cases[] = {
	{ "tcp", EGR_UP_TCP, false, 0, 0, "tcp" },
	{ "udp", EGR_UP_UDP, false, 0, 0, "udp" },
	{ "icmp", EGR_UP_ICMP, false, 0, 0, "icmp" },
	{ "any", EGR_UP_ANY, false, 0, 0, "any" },
	{ "tcp:443", EGR_UP_TCP, true, 443, 443, "tcp:443" },
	{ "udp:53", EGR_UP_UDP, true, 53, 53, "udp:53" },
	{ "tcp:1", EGR_UP_TCP, true, 1, 1, "tcp:1" },
	{ "tcp:65535", EGR_UP_TCP, true, 65535, 65535, "tcp:65535" },
	{ "udp:65535", EGR_UP_UDP, true, 65535, 65535, "udp:65535" },
	{ "tcp:8000-8999", EGR_UP_TCP, true, 8000, 8999, "tcp:8000-8999" },
	{ "udp:53-53", EGR_UP_UDP, true, 53, 53, "udp:53" },
	{ "tcp:1-65535", EGR_UP_TCP, true, 1, 65535, "tcp:1-65535" },
	{ "tcp:65535-65535", EGR_UP_TCP, true, 65535, 65535, "tcp:65535" },
	{ "udp:1-2", EGR_UP_UDP, true, 1, 2, "udp:1-2" },
};

static void test_parse_portspec_ok(void **state)
{
	struct egr_portspec ps, ps2;
	char buf[64], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ps_ok_cases); i++) {
		const struct ps_ok *c = &ps_ok_cases[i];

		cur_case = c->in;
		memset(&ps, 0xa5, sizeof(ps));
		err[0] = '\0';
		assert_int_equal(parse_portspec(c->in, &ps, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_int_equal(ps.proto, c->proto);
		assert_int_equal(ps.has_ports, c->has_ports);
		assert_int_equal(ps.lo, c->lo);
		assert_int_equal(ps.hi, c->hi);
		assert_string_equal(format_portspec(&ps, buf, sizeof(buf)), c->out);
		/* and the printed form parses back to the same spec */
		assert_int_equal(parse_portspec(buf, &ps2, NULL, 0), 0);
		assert_int_equal(ps2.proto, ps.proto);
		assert_int_equal(ps2.has_ports, ps.has_ports);
		assert_int_equal(ps2.lo, ps.lo);
		assert_int_equal(ps2.hi, ps.hi);
	}
	cur_case = NULL;
}

static const struct bad_case ps_bad_cases[] = {
	{ "", "bad port spec '': empty" },
	{ "tcp:0", "bad port 'tcp:0': ports are 1-65535" },
	{ "udp:0", "bad port 'udp:0': ports are 1-65535" },
	{ "tcp:65536", "bad port 'tcp:65536': ports are 1-65535" },
	{ "tcp:99999999999999999999999",
	  "bad port 'tcp:99999999999999999999999': ports are 1-65535" },
	{ "tcp:", "bad port 'tcp:': missing port number" },
	{ "tcp:-1", "bad port range 'tcp:-1': missing port number" },
	{ "tcp:1-", "bad port range 'tcp:1-': missing port number" },
	{ "tcp:-", "bad port range 'tcp:-': missing port number" },
	{ "tcp:80x", "bad port 'tcp:80x': not a decimal number" },
	{ "tcp:x80", "bad port 'tcp:x80': not a decimal number" },
	{ "tcp:+80", "bad port 'tcp:+80': not a decimal number" },
	{ "tcp: 80", "bad port 'tcp: 80': not a decimal number" },
	{ "tcp:80 ", "bad port 'tcp:80 ': not a decimal number" },
	{ "tcp:0x50", "bad port 'tcp:0x50': not a decimal number" },
	{ "tcp:http", "bad port 'tcp:http': not a decimal number" },
	{ "tcp:80:81", "bad port 'tcp:80:81': not a decimal number" },
	{ "tcp:80,443", "bad port 'tcp:80,443': not a decimal number" },
	{ "tcp:080", "bad port 'tcp:080': leading zero" },
	{ "tcp:1-2-3", "bad port range 'tcp:1-2-3': not a decimal number" },
	{ "tcp:1x-2", "bad port range 'tcp:1x-2': not a decimal number" },
	{ "tcp:9000-8000", "bad port range 'tcp:9000-8000': first port is above last" },
	{ "tcp:2-1", "bad port range 'tcp:2-1': first port is above last" },
	{ "tcp:0-80", "bad port range 'tcp:0-80': ports are 1-65535" },
	{ "tcp:1-65536", "bad port range 'tcp:1-65536': ports are 1-65535" },
	{ "udp:1-0", "bad port range 'udp:1-0': ports are 1-65535" },
	{ "sctp:1", "bad protocol 'sctp:1': use tcp, udp or icmp" },
	{ "sctp", "bad protocol 'sctp': use tcp, udp or icmp" },
	{ "TCP", "bad protocol 'TCP': use tcp, udp or icmp" },
	{ "Tcp:80", "bad protocol 'Tcp:80': use tcp, udp or icmp" },
	{ "UDP:53", "bad protocol 'UDP:53': use tcp, udp or icmp" },
	{ "ICMP", "bad protocol 'ICMP': use tcp, udp or icmp" },
	{ "icmpv6", "bad protocol 'icmpv6': use tcp, udp or icmp" },
	{ " tcp", "bad protocol ' tcp': use tcp, udp or icmp" },
	{ "tcp ", "bad protocol 'tcp ': use tcp, udp or icmp" },
	{ "tcp :80", "bad protocol 'tcp :80': use tcp, udp or icmp" },
	{ ":80", "bad protocol ':80': use tcp, udp or icmp" },
	{ "80", "bad protocol '80': use tcp, udp or icmp" },
	{ "tc", "bad protocol 'tc': use tcp, udp or icmp" },
	{ "tcpx:80", "bad protocol 'tcpx:80': use tcp, udp or icmp" },
	{ "icmp:8", "bad port spec 'icmp:8': icmp takes no port" },
	{ "icmp:", "bad port spec 'icmp:': icmp takes no port" },
	{ "icmp:8-9", "bad port spec 'icmp:8-9': icmp takes no port" },
	{ "any:80", "bad port spec 'any:80': any takes no port" },
	{ "tcp:\t80", "bad port 'tcp:\\x0980': not a decimal number" },
};

static void test_parse_portspec_bad(void **state)
{
	struct egr_portspec ps;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ps_bad_cases); i++) {
		const struct bad_case *c = &ps_bad_cases[i];

		cur_case = c->msg;
		memset(&ps, 0xa5, sizeof(ps));
		assert_int_equal(parse_portspec(c->in, &ps, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, c->msg);
		/* a failed parse leaves nothing half-set */
		assert_int_equal(ps.proto, EGR_UP_ANY);
		assert_false(ps.has_ports);
	}
	cur_case = NULL;
	assert_int_equal(parse_portspec(NULL, &ps, NULL, 0), -EINVAL);
	assert_int_equal(parse_portspec("tcp:0", &ps, NULL, 0), -EINVAL);
}

static void test_format_small_buffers(void **state)
{
	struct egr_portspec ps = { .proto = EGR_UP_TCP, .has_ports = true, .lo = 8000, .hi = 8999 };
	struct egr_dest d;
	char buf[8];

	(void)state;
	assert_int_equal(parse_dest("192.168.100.0/24", &d, NULL, 0), 0);
	assert_ptr_equal(format_dest(&d, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "192.168");
	assert_ptr_equal(format_portspec(&ps, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "tcp:800");
	/* len 0 writes nothing */
	buf[0] = 'X';
	format_dest(&d, buf, 0);
	format_portspec(&ps, buf, 0);
	assert_int_equal(buf[0], 'X');
	/* a dest that was never parsed still prints something */
	memset(&d, 0, sizeof(d));
	assert_string_equal(format_dest(&d, buf, sizeof(buf)), "?");
	/* any protocol never prints ports */
	ps.proto = EGR_UP_ANY;
	assert_string_equal(format_portspec(&ps, buf, sizeof(buf)), "any");
	/* the longest outputs fit in 64 bytes */
	{
		char big[64];
		struct egr_portspec w = { EGR_UP_UDP, true, 65534, 65535 };

		const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127";

		assert_int_equal(parse_dest(longest, &d, NULL, 0), 0);
		assert_string_equal(format_dest(&d, big, sizeof(big)), longest);
		assert_string_equal(format_portspec(&w, big, sizeof(big)), "udp:65534-65535");
	}
}

static struct egr_urule mkrule(uint8_t action, const char *dest, const char *ps)
{
	struct egr_urule r;

	memset(&r, 0, sizeof(r));
	r.action = action;
	assert_int_equal(parse_dest(dest, &r.dest, NULL, 0), 0);
	if (ps)
		assert_int_equal(parse_portspec(ps, &r.ps, NULL, 0), 0);
	return r;
}

static void test_urule_equal(void **state)
{
	struct egr_urule a = mkrule(EGR_ALLOW, "10.0.0.0/8", "tcp:443"), b;

	(void)state;
	b = mkrule(EGR_ALLOW, "10.1.2.3/8", "tcp:443");
	assert_true(urule_equal(&a, &b));
	assert_true(urule_equal(&b, &a));
	b = mkrule(EGR_ALLOW, "::ffff:10.0.0.0/104", "tcp:443-443");
	assert_true(urule_equal(&a, &b));
	b = mkrule(EGR_DENY, "10.0.0.0/8", "tcp:443");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "10.0.0.0/9", "tcp:443");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "11.0.0.0/8", "tcp:443");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "10.0.0.0/8", "udp:443");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "10.0.0.0/8", "tcp:443-444");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "10.0.0.0/8", "tcp");
	assert_false(urule_equal(&a, &b));
	b = mkrule(EGR_ALLOW, "10.0.0.0/8", NULL);
	assert_false(urule_equal(&a, &b));
	/* ::/8 is not 10.0.0.0/8 although both addrs start with zeros */
	a = mkrule(EGR_ALLOW, "0.0.0.0/0", NULL);
	b = mkrule(EGR_ALLOW, "::/0", NULL);
	assert_false(urule_equal(&a, &b));

	/* Without ports, stale lo/hi do not matter. */
	a = mkrule(EGR_DENY, "2001:db8::/32", "tcp");
	b = a;
	b.ps.lo = 1;
	b.ps.hi = 2;
	assert_true(urule_equal(&a, &b));
}

static void test_policy_add_free(void **state)
{
	struct egr_policy p;
	struct egr_urule r;
	char buf[64];
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.dflt = EGR_ALLOW;
	p.has_dflt = true;
	p.audit = true;
	for (i = 0; i < 5000; i++) {
		r = mkrule(i & 1 ? EGR_ALLOW : EGR_DENY, "10.0.0.0/8", NULL);
		r.ps.proto = EGR_UP_TCP;
		r.ps.has_ports = true;
		r.ps.lo = r.ps.hi = (uint16_t)(i + 1);
		assert_int_equal(policy_add(&p, &r), 0);
		assert_int_equal(p.n, i + 1);
		assert_true(p.cap >= p.n);
	}
	/* amortized: the capacity stays within a constant factor */
	assert_true(p.cap < 2 * 5000 + 16);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "tcp:%zu", i + 1);
		r = mkrule(i & 1 ? EGR_ALLOW : EGR_DENY, "10.0.0.0/8", buf);
		assert_true(urule_equal(&p.rules[i], &r));
	}
	policy_free(&p);
	assert_null(p.rules);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.cap, 0);
	assert_int_equal(p.dflt, 0);
	assert_false(p.has_dflt);
	assert_false(p.audit);
	/* freeing twice, or an empty policy, is harmless */
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_parse_dest_ok, show_case),
		cmocka_unit_test_teardown(test_dest_roundtrip, show_case),
		cmocka_unit_test_teardown(test_parse_dest_bytes, show_case),
		cmocka_unit_test_teardown(test_parse_dest_bad, show_case),
		cmocka_unit_test_teardown(test_parse_dest_vs_inet_pton, show_case),
		cmocka_unit_test_teardown(test_parse_dest_err_handling, show_case),
		cmocka_unit_test_teardown(test_parse_dests, show_case),
		cmocka_unit_test_teardown(test_parse_portspec_ok, show_case),
		cmocka_unit_test_teardown(test_parse_portspec_bad, show_case),
		cmocka_unit_test_teardown(test_format_small_buffers, show_case),
		cmocka_unit_test_teardown(test_urule_equal, show_case),
		cmocka_unit_test_teardown(test_policy_add_free, show_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
