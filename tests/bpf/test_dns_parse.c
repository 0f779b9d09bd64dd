// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The DNS answer parser of bpf/dns_parse.bpf.h, run by the kernel
 * (bpf_prog_test_run_opts() on the test object tests/bpf/dns_parse.bpf.c)
 * on crafted answers, whose results are checked, and on thousands of
 * mutations of them (EGR_DNS_FUZZ_N, default 4000), where the kernel's
 * results must equal the reference parser's (tests/lib/dnsref.c) on the
 * same bytes. Needs root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.h"
#include "dns_parse.bpf.h"
#include "dns_parse.skel.h"
#include "lib/dnsmsg.h"
#include "lib/dnsref.h"

/* What a test run can carry: a page, less the skb's head- and tailroom. */
#define RUN_MAX 3500

static struct dns_parse_bpf *skel;
static struct egr_dns_parse *res; /* the kernel's results */

static int setup(void **state)
{
	(void)state;
	skel = dns_parse_bpf__open_and_load();
	assert_non_null(skel);
	res = calloc(1, sizeof(*res));
	assert_non_null(res);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_parse_bpf__destroy(skel);
	free(res);
	return 0;
}

/* The kernel parses m: 1 when it ran the parser (res filled), 0 if not. */
static int kparse(const uint8_t *m, size_t len)
{
	static uint8_t pkt[14 + 28 + RUN_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = 1);
	uint32_t z = 0;

	assert_true(len <= RUN_MAX);
	memset(pkt, 0, 14 + 28);
	pkt[12] = 0x08;
	pkt[14] = 0x45;
	pkt[14 + 2] = (28 + len) >> 8;
	pkt[14 + 3] = (28 + len) & 0xff;
	pkt[14 + 8] = 64;
	pkt[14 + 9] = 17;
	pkt[14 + 20 + 1] = 53;
	memcpy(pkt + 14 + 28, m, len);
	o.data_size_in = 14 + 28 + len;
	memset(res, 0, sizeof(*res));
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.work), &z, res, BPF_ANY), 0);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.parse), &o))
		fail_msg("test run: %s", strerror(errno));
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.work), &z, res), 0);
	return o.retval;
}

/* The kernel's results equal the reference's on m (both parse m). */
static void same(const uint8_t *m, size_t len, const struct dnsref *r, const char *what)
{
	uint32_t i;

	if (!kparse(m, len))
		fail_msg("%s: the program did not parse a %zu-byte message", what, len);
	if (r->malformed) {
		if (res->err != EGR_DP_MALFORMED)
			fail_msg("%s: the reference finds it malformed, the kernel not", what);
		return;
	}
	if (res->err)
		fail_msg("%s: the kernel finds it malformed, the reference not", what);
	if (res->nchain != r->nchain || res->naddr != r->naddr || res->dropped != r->dropped ||
	    res->qtype != r->qtype || res->qclass != r->qclass)
		fail_msg("%s: kernel chain %u addrs %u dropped %u q %u/%u, reference %u %u %u %u/%u",
			 what, res->nchain, res->naddr, res->dropped, res->qtype, res->qclass,
			 r->nchain, r->naddr, r->dropped, r->qtype, r->qclass);
	for (i = 0; i < r->nchain; i++) {
		if (res->clen[i] != strlen(r->chain[i]) ||
		    memcmp(res->chain[i], r->chain[i], EGR_NAME_KEY_MAX))
			fail_msg("%s: chain name %u: kernel '%.*s', reference '%s'", what, i,
				 res->clen[i], (const char *)res->chain[i], r->chain[i]);
	}
	for (i = 0; i < r->naddr; i++) {
		const struct egr_dns_addr *k = &res->addr[i];
		const struct dnsref_addr *a = &r->addr[i];

		if (k->family != a->family || k->owner != a->owner || k->ttl != a->ttl ||
		    memcmp(k->addr, a->addr, 16))
			fail_msg("%s: address %u differs (family %u/%u owner %u/%u ttl %u/%u)", what,
				 i, k->family, a->family, k->owner, a->owner, k->ttl, a->ttl);
	}
}

/* Crafted answers and what they hold; each is also run by the kernel. */
static void check(struct dnsmsg *m, struct dnsref *r, const char *what)
{
	dnsref_parse(m->b, m->len, r);
	same(m->b, m->len, r, what);
}

static void test_simple(void **state)
{
	struct dnsmsg m;
	struct dnsref r;

	(void)state;
	dm_header(&m, 0x1234);
	dm_question(&m, "api.example.com", 1);
	dm_a(&m, 12, 30, "198.18.0.7");
	check(&m, &r, "simple");
	assert_false(r.malformed);
	assert_int_equal(r.nchain, 1);
	assert_string_equal(r.chain[0], "api.example.com");
	assert_int_equal(r.naddr, 1);
	assert_int_equal(r.addr[0].ttl, 30);
	assert_int_equal(r.qtype, 1);
	assert_int_equal(r.qclass, 1);
}

/* Mixed case, a CNAME chain through pointers, records of other owners,
 * classes and sizes ignored, the authority and additional sections (EDNS0)
 * ignored.
 */
static void test_chain(void **state)
{
	struct dnsmsg m;
	struct dnsref r;
	size_t edge, origin;

	(void)state;
	dm_header(&m, 1);
	dm_question(&m, "WWW.Example.COM", 1);
	/* www -> edge.cdn.example.net -> origin.<pointer to example.net> */
	edge = dm_cname(&m, 12, 60, "edge.cdn.example.net", 0);
	origin = dm_cname(&m, edge, 60, "origin", edge + 9 /* "example.net" */);
	dm_a(&m, origin, 20, "198.18.1.1");
	dm_aaaa(&m, origin, 21, "2001:db8::1");
	dm_a(&m, edge, 22, "198.18.1.2");
	/* an unrelated owner */
	dm_name(&m, "other.example.org");
	dm_rr(&m, 1, 5, 4);
	memcpy(m.b + m.len, "\xc6\x12\x09\x09", 4);
	m.len += 4;
	dm_count(&m, 6);
	/* class CH, and an A of 5 bytes: ignored */
	dm_u16(&m, 0xc00c);
	dm_u16(&m, 1);
	dm_u16(&m, 3);
	dm_u32(&m, 5);
	dm_u16(&m, 4);
	memcpy(m.b + m.len, "\xc6\x12\x09\x0a", 4);
	m.len += 4;
	dm_count(&m, 6);
	dm_u16(&m, 0xc00c);
	dm_rr(&m, 1, 5, 5);
	memset(m.b + m.len, 7, 5);
	m.len += 5;
	dm_count(&m, 6);
	/* authority: an A of the question name, not learned */
	dm_a(&m, 12, 5, "198.18.9.11");
	m.b[7]--, m.b[9]++; /* (counted as authority, not answer) */
	/* EDNS0 OPT in the additional section */
	m.b[m.len++] = 0;
	dm_rr(&m, 41, 0, 0);
	m.b[m.len - 8] = 0x10; /* class: UDP size 4096 */
	m.b[m.len - 7] = 0x00;
	dm_count(&m, 10);
	check(&m, &r, "chain");
	assert_false(r.malformed);
	assert_int_equal(r.nchain, 3);
	assert_string_equal(r.chain[0], "www.example.com");
	assert_string_equal(r.chain[1], "edge.cdn.example.net");
	assert_string_equal(r.chain[2], "origin.example.net");
	assert_int_equal(r.naddr, 3);
	assert_int_equal(r.addr[0].owner, 2);
	assert_int_equal(r.addr[1].family, 6);
	assert_int_equal(r.addr[2].owner, 1);
}

static void test_many(void **state)
{
	struct dnsmsg m;
	struct dnsref r;
	char a[32];
	int i;

	(void)state;
	dm_header(&m, 2);
	dm_question(&m, "many.example.com", 1);
	for (i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", i / 250, i % 250 + 1);
		dm_a(&m, 12, i, a);
	}
	check(&m, &r, "200 records");
	assert_int_equal(r.naddr, 200);
	assert_int_equal(r.addr[199].ttl, 199);
}

/* Loops and a longer chain than followed. */
static void test_loops(void **state)
{
	struct dnsmsg m;
	struct dnsref r;
	size_t b, prev;
	char n[32];
	int i;

	(void)state;
	dm_header(&m, 3);
	dm_question(&m, "a.example", 1);
	b = dm_cname(&m, 12, 1, "b.example", 0);
	dm_cname(&m, b, 1, "a.example", 0); /* back to a: no new name */
	dm_a(&m, 12, 1, "198.18.2.1");
	check(&m, &r, "CNAME loop");
	assert_int_equal(r.nchain, 2);
	assert_int_equal(r.naddr, 1);

	dm_header(&m, 4);
	dm_question(&m, "c0.example", 1);
	prev = 12;
	for (i = 1; i <= EGR_DNS_CHAIN + 1; i++) {
		snprintf(n, sizeof(n), "c%d.example", i);
		prev = dm_cname(&m, prev, 1, n, 0);
	}
	dm_a(&m, prev, 1, "198.18.2.2"); /* owned by the 10th name: not followed */
	dm_a(&m, 12, 1, "198.18.2.3");
	check(&m, &r, "long chain");
	assert_int_equal(r.nchain, EGR_DNS_CHAIN);
	assert_int_equal(r.naddr, 1);
}

static void bad(struct dnsmsg *m, const char *what)
{
	struct dnsref r;

	dnsref_parse(m->b, m->len, &r);
	assert_true(r.malformed);
	same(m->b, m->len, &r, what);
}

static void test_malformed(void **state)
{
	struct dnsmsg m;
	char name[300];
	size_t at;
	int i;

	(void)state;
	/* a pointer to itself */
	dm_header(&m, 5);
	dm_question(&m, "x.example", 1);
	at = m.len;
	dm_u16(&m, 0xc000 | at);
	dm_rr(&m, 1, 1, 4);
	m.len += 4;
	dm_count(&m, 6);
	bad(&m, "pointer loop");
	/* a forward pointer */
	dm_header(&m, 6);
	dm_question(&m, "x.example", 1);
	dm_u16(&m, 0xc000 | (m.len + 20));
	dm_rr(&m, 1, 1, 4);
	m.len += 4;
	dm_count(&m, 6);
	bad(&m, "forward pointer");
	/* label types 0x40 and 0x80 */
	dm_header(&m, 7);
	dm_question(&m, "x.example", 1);
	m.b[12] = 0x41;
	bad(&m, "label type 0x40");
	/* a '.' inside a label */
	dm_header(&m, 8);
	dm_question(&m, "x.example", 1);
	m.b[13] = '.';
	bad(&m, "dot in a label");
	/* cut short */
	dm_header(&m, 9);
	dm_question(&m, "x.example", 1);
	dm_a(&m, 12, 1, "198.18.3.1");
	m.len -= 2;
	bad(&m, "truncated record");
	/* 253 characters fit; 254 do not */
	for (i = 0; i < 253; i++)
		name[i] = i % 64 == 63 ? '.' : 'n';
	name[253] = '\0';
	dm_header(&m, 10);
	dm_question(&m, name, 1);
	dm_a(&m, 12, 1, "198.18.3.2");
	{
		struct dnsref r;

		check(&m, &r, "253 characters");
		assert_false(r.malformed);
		assert_int_equal(strlen(r.chain[0]), 253);
	}
	name[252] = 'n';
	name[253] = 'n';
	name[254] = '\0';
	dm_header(&m, 11);
	dm_question(&m, name, 1);
	bad(&m, "254 characters");
}

/* Mutations of the crafted answers: the kernel and the reference agree. */
static void test_differential(void **state)
{
	struct dnsmsg base[4], m;
	struct dnsref r;
	const char *env = getenv("EGR_DNS_FUZZ_N");
	long n = env ? atol(env) : 4000, i;
	char what[64];
	size_t edge, k;
	int j;

	(void)state;
	dm_header(&base[0], 1);
	dm_question(&base[0], "api.example.com", 1);
	dm_a(&base[0], 12, 30, "198.18.0.7");
	dm_header(&base[1], 2);
	dm_question(&base[1], "www.example.com", 1);
	edge = dm_cname(&base[1], 12, 60, "edge.example.net", 0);
	dm_cname(&base[1], edge, 60, "origin", edge + 5);
	dm_a(&base[1], edge, 20, "198.18.1.1");
	dm_aaaa(&base[1], 12, 20, "2001:db8::2");
	dm_header(&base[2], 3);
	dm_question(&base[2], "m.example", 28);
	for (j = 0; j < 30; j++)
		dm_aaaa(&base[2], 12, j, "2001:db8::3");
	dm_header(&base[3], 4);
	dm_question(&base[3], "q.example", 1);
	dm_cname(&base[3], 12, 1, "r", 12 + 2);

	srand(15);
	for (i = 0; i < n; i++) {
		int muts = 1 + rand() % 4;

		m = base[rand() % 4];
		for (j = 0; j < muts; j++) {
			k = 12 + (size_t)rand() % (m.len - 12);
			switch (rand() % 6) {
			case 0: /* any byte */
				m.b[k] = rand();
				break;
			case 1: /* a pointer somewhere */
				if (k + 1 < m.len) {
					m.b[k] = 0xc0 | (rand() % 2);
					m.b[k + 1] = rand() % m.len;
				}
				break;
			case 2: /* cut */
				m.len = k + 1;
				break;
			case 3: /* a record count */
				m.b[6 + 2 * (rand() % 3)] = 0;
				m.b[7 + 2 * (rand() % 3)] = rand() % 40;
				break;
			case 4: /* a label length */
				m.b[k] = rand() % 70;
				break;
			default: /* case */
				m.b[k] ^= 0x20;
				break;
			}
		}
		if (m.len < 12)
			continue;
		snprintf(what, sizeof(what), "mutation %ld", i);
		dnsref_parse(m.b, m.len, &r);
		same(m.b, m.len, &r, what);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),	  cmocka_unit_test(test_chain),
		cmocka_unit_test(test_many),	  cmocka_unit_test(test_loops),
		cmocka_unit_test(test_malformed), cmocka_unit_test(test_differential),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "bpf tests need root\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
