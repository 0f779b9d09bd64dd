// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reference DNS answer parser (tests/lib/dnsref.c), which the kernel's
 * parser is held to (tests/bpf/test_dns_parse.c, tests/fuzz/fuzz_dns.c):
 * what it finds in crafted answers, without root. The cases the kernel can
 * also run (up to a page) are in the bpf tier; here the bigger ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "lib/dnsmsg.h"
#include "lib/dnsref.h"

static struct dnsmsg m;
static struct dnsref r;

static void test_basic(void **state)
{
	size_t t;

	(void)state;
	dm_header(&m, 7);
	dm_question(&m, "Api.Example.COM.", 1);
	t = dm_cname(&m, 12, 10, "lb.example.net", 0);
	dm_a(&m, t, 42, "198.18.7.1");
	dm_a(&m, 12, 43, "198.18.7.2");
	dnsref_parse(m.b, m.len, &r);
	assert_false(r.malformed);
	assert_int_equal(r.nchain, 2);
	assert_string_equal(r.chain[0], "api.example.com");
	assert_string_equal(r.chain[1], "lb.example.net");
	assert_int_equal(r.naddr, 2);
	assert_int_equal(r.addr[0].owner, 1);
	assert_int_equal(r.addr[0].ttl, 42);
	assert_int_equal(r.addr[1].owner, 0);
	assert_memory_equal(r.addr[1].addr, "\xc6\x12\x07\x02", 4);
}

/* More addresses than taken from one answer: counted as dropped. */
static void test_dropped(void **state)
{
	char a[32];
	int i;

	(void)state;
	dm_header(&m, 8);
	dm_question(&m, "big.example", 1);
	for (i = 0; i < EGR_DNS_ADDRS + 44; i++) {
		snprintf(a, sizeof(a), "198.18.%d.%d", i / 250, i % 250 + 1);
		dm_a(&m, 12, 1, a);
	}
	dnsref_parse(m.b, m.len, &r);
	assert_false(r.malformed);
	assert_int_equal(r.naddr, EGR_DNS_ADDRS);
	assert_int_equal(r.dropped, 44);
}

/* Names: pointers only backwards, no loops, 253 characters at most. */
static void test_names(void **state)
{
	char out[EGR_NAME_KEY_MAX];
	uint8_t b[64];

	(void)state;
	memset(b, 0, sizeof(b));
	memcpy(b + 12, "\x01" "a\x02" "bc\x00", 6);
	assert_int_equal(dnsref_name(b, 18, 12, out), 18);
	assert_string_equal(out, "a.bc");
	memcpy(b + 18, "\x01x\xc0\x0c", 4); /* x + pointer back to a.bc */
	assert_int_equal(dnsref_name(b, 22, 18, out), 22);
	assert_string_equal(out, "x.a.bc");
	memcpy(b + 22, "\xc0\x16", 2); /* pointer to itself */
	assert_int_equal(dnsref_name(b, 24, 22, out), -1);
	memcpy(b + 24, "\xc0\x1a\x00", 3); /* forward */
	assert_int_equal(dnsref_name(b, 27, 24, out), -1);
	memcpy(b + 30, "\x41" "a\x00", 3); /* label type 0x40 */
	assert_int_equal(dnsref_name(b, 33, 30, out), -1);
	assert_int_equal(dnsref_name(b, 20, 18, out), -1); /* cut */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
