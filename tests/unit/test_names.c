// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for domain names as destinations (user/policy/name.c): the
 * parser and validator, the wildcard matcher, the name trie keys, and
 * names in rules, policy files and the compiler.
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
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/compile.h"
#include "policy/name.h"
#include "policy/policy_dedup.h"
#include "policy/policy_file.h"
#include "lib/cases.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct name_ok {
	const char *in, *canon;
};

static const struct name_ok name_ok_cases[] = {
	{ "api.example.com", "api.example.com" },
	{ "API.Example.COM", "api.example.com" },
	{ "api.example.com.", "api.example.com" },
	{ "*.example.com", "*.example.com" },
	{ "*.EXAMPLE.com.", "*.example.com" },
	{ "*.com", "*.com" },
	{ "db", "db" }, /* Docker's embedded DNS resolves container names */
	{ "xn--bcher-kva.de", "xn--bcher-kva.de" },
	{ "a-b.c-d.e", "a-b.c-d.e" },
	{ "1e100.net", "1e100.net" },
	{ "0.example.com", "0.example.com" },
	{ "s3.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com" },
	{ "10.0.0.1.example.com", "10.0.0.1.example.com" },
};

static void test_name_ok(void **state)
{
	char out[EGR_NAME_BUF], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(name_ok_cases); i++) {
		cur_case = name_ok_cases[i].in;
		err[0] = '\0';
		assert_int_equal(name_parse(name_ok_cases[i].in, out, err, sizeof(err)), 0);
		assert_string_equal(out, name_ok_cases[i].canon);
	}
	cur_case = NULL;
}

struct name_bad {
	const char *in, *msg;
};

static const struct name_bad name_bad_cases[] = {
	{ "a..b", "bad name 'a..b': empty label" },
	{ ".example.com", "bad name '.example.com': empty label" },
	{ "example.com..", "bad name 'example.com..': empty label" },
	{ "-a.example.com", "bad name '-a.example.com': a label starts with a hyphen" },
	{ "a-.example.com", "bad name 'a-.example.com': a label ends with a hyphen" },
	{ "a_b.example.com", "bad name 'a_b.example.com': '_' is not a letter, digit or hyphen" },
	{ "a b.com", "bad name 'a b.com': ' ' is not a letter, digit or hyphen" },
	{ "b\xc3\xbc"
	  "cher.de",
	  "bad name 'b\xc3\xbc"
	  "cher.de': international names go in their punycode form (xn--...)" },
	{ "*", "bad name '*': a wildcard needs a domain (*.example.com)" },
	{ "*.", "bad name '*.': a wildcard needs a domain (*.example.com)" },
	{ "*example.com",
	  "bad name '*example.com': '*' only as the whole first label (*.example.com)" },
	{ "a.*.com", "bad name 'a.*.com': '*' only as the whole first label (*.example.com)" },
	{ "*.*.com", "bad name '*.*.com': '*' only as the whole first label (*.example.com)" },
	{ "host.123", "bad destination 'host.123': not an IPv4 or IPv6 address" },
	{ "10.0.0.1x", "bad destination '10.0.0.1x': not an IPv4 or IPv6 address" },
	{ "ANY", "bad destination 'ANY': not an IPv4 or IPv6 address" },
	{ "", "bad name '': empty" },
	{ ".", "bad name '.': empty" },
};

static void test_name_bad(void **state)
{
	char out[EGR_NAME_BUF], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(name_bad_cases); i++) {
		cur_case = name_bad_cases[i].in;
		assert_int_equal(name_parse(name_bad_cases[i].in, out, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, name_bad_cases[i].msg);
	}
	cur_case = NULL;
}

/* Length limits: 63 per label, 253 in all. */
static void test_name_limits(void **state)
{
	char in[400], out[EGR_NAME_BUF], err[512];
	size_t i;

	(void)state;
	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	assert_int_equal(name_parse(in, out, err, sizeof(err)), 0);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	assert_int_equal(name_parse(in, out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a label is longer than 63 characters"));
	/* 253 characters: 63.63.63.61 */
	for (i = 0; i < 253; i++)
		in[i] = i % 64 == 63 ? '.' : 'b';
	in[253] = '\0';
	assert_int_equal(name_parse(in, out, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), 253);
	strcpy(in + 253, ".");
	assert_int_equal(name_parse(in, out, err, sizeof(err)), 0); /* the root's dot */
	in[253] = 'c';
	in[254] = '\0';
	assert_int_equal(name_parse(in, out, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 253 characters"));
}

static void test_name_match(void **state)
{
	(void)state;
	assert_true(name_match("api.example.com", "api.example.com"));
	assert_false(name_match("api.example.com", "x.api.example.com"));
	assert_false(name_match("api.example.com", "example.com"));
	assert_true(name_match("*.example.com", "api.example.com"));
	assert_true(name_match("*.example.com", "a.b.c.example.com"));
	assert_false(name_match("*.example.com", "example.com"));
	assert_false(name_match("*.example.com", "evilexample.com"));
	assert_false(name_match("*.example.com", "example.com.evil"));
	assert_true(name_match("*.com", "example.com"));
	assert_false(name_match("*.com", "com"));
}

/* Keys: reversed, a terminator for exact names, a trailing dot for
 * wildcards; prefix order is suffix order.
 */
static void test_name_key(void **state)
{
	static const char *const pats[] = { "api.example.com", "*.example.com", "db", "*.com",
					    "a.b.c.d.e.f" };
	struct egr_lpm_name k;
	char back[EGR_NAME_BUF];
	uint32_t slot, n, i;

	(void)state;
	n = name_key(1, "api.example.com", &k);
	assert_int_equal(n, 1 + 15 + 1);
	assert_int_equal(k.prefixlen, 8 * n);
	assert_int_equal(k.data[0], 1);
	assert_memory_equal(k.data + 1, "moc.elpmaxe.ipa\0", 16);
	n = name_key(0, "*.example.com", &k);
	assert_int_equal(n, 1 + 12);
	assert_memory_equal(k.data + 1, "moc.elpmaxe.", 12);
	for (i = 0; i < ARRAY_LEN(pats); i++) {
		name_key(i & 1, pats[i], &k);
		assert_int_equal(name_of_key(&k, &slot, back), 0);
		assert_int_equal(slot, i & 1);
		assert_string_equal(back, pats[i]);
	}
	/* a key no pattern gives */
	memset(&k, 0, sizeof(k));
	k.prefixlen = 8 * 5;
	memcpy(k.data, "\0abcd", 5);
	assert_int_equal(name_of_key(&k, &slot, back), -EINVAL);
}

static void test_dests(void **state)
{
	struct egr_dest d[2], e[2];
	char err[512], buf[EGR_DEST_STRLEN];

	(void)state;
	assert_int_equal(parse_dests("API.example.com.", d, err, sizeof(err)), 1);
	assert_true(dest_is_name(&d[0]));
	assert_string_equal(dest_name(&d[0]), "api.example.com");
	assert_string_equal(format_dest(&d[0], buf, sizeof(buf)), "api.example.com");
	/* interned: equal names, equal bytes */
	assert_int_equal(parse_dests("api.example.com", e, err, sizeof(err)), 1);
	assert_memory_equal(&d[0], &e[0], sizeof(d[0]));
	assert_int_equal(parse_dests("*.example.com", e, err, sizeof(err)), 1);
	assert_memory_not_equal(&d[0], &e[0], sizeof(d[0]));
	/* addresses stay addresses, and their errors address errors */
	assert_int_equal(parse_dests("10.1.2.3", d, err, sizeof(err)), 1);
	assert_int_equal(d[0].family, 4);
	assert_int_equal(parse_dests("10.0.0.0/33", d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad prefix length '/33' in '10.0.0.0/33': IPv4 allows 0-32");
	assert_int_equal(parse_dests("2001:db8:::1", d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad destination '2001:db8:::1': not an IPv4 or IPv6 address");
	assert_int_equal(parse_dests("a..b", d, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad name 'a..b': empty label");
}

static void parse_ok(const char *doc, struct egr_policy *p)
{
	char err[512] = "";
	int ret = policy_parse_buf(doc, strlen(doc), "policy.yaml", p, err, sizeof(err));

	if (ret)
		fail_msg("parse failed: %s", err);
}

static void parse_bad(const char *doc, const char *want)
{
	struct egr_policy p;
	char err[512] = "";

	cur_case = doc;
	assert_int_equal(policy_parse_buf(doc, strlen(doc), "policy.yaml", &p, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, want);
	cur_case = NULL;
}

static void test_policy_file(void **state)
{
	struct egr_policy p;
	char buf[EGR_DEST_STRLEN], ps[32];

	(void)state;
	parse_ok("dns: {min_ttl: 5, max_per_name: 10}\n"
		 "rules:\n"
		 "  - allow: API.example.com\n"
		 "    ports: [tcp:443, udp:443]\n"
		 "  - allow: '*.cdn.example.net'\n"
		 "  - allow: api.example.com.\n"
		 "    ports: tcp:443\n"
		 "  - allow: 198.18.0.53\n"
		 "    ports: [udp:53, tcp:53]\n",
		 &p);
	assert_true(p.has_dns);
	assert_int_equal(p.min_ttl, 5);
	assert_int_equal(p.max_per_name, 10);
	assert_int_equal(p.n, 5); /* the duplicate name rule kept once */
	assert_string_equal(format_dest(&p.rules[0].dest, buf, sizeof(buf)), "api.example.com");
	assert_string_equal(format_portspec(&p.rules[1].ps, ps, sizeof(ps)), "udp:443");
	assert_string_equal(format_dest(&p.rules[2].dest, buf, sizeof(buf)), "*.cdn.example.net");
	policy_free(&p);
	parse_ok("dns:\nrules: []\n", &p);
	assert_true(p.has_dns);
	assert_int_equal(p.min_ttl, 0);
	policy_free(&p);

	parse_bad(
		"rules:\n  - deny: example.com\n",
		"policy.yaml:2: deny by name is not supported ('example.com'): another resolver or a "
		"hard-coded address walks around it; deny the addresses instead (deny <target> "
		"10.0.0.0/8), or leave the name out of the allow rules (the default denies it)");
	parse_bad("rules:\n  - allow: a..b\n", "policy.yaml:2: bad name 'a..b': empty label");
	parse_bad("dns: {min_ttl: 0}\n",
		  "policy.yaml:1: bad min_ttl '0': a whole number from 1 to 86400");
	parse_bad("dns: {min_ttl: 86401}\n",
		  "policy.yaml:1: bad min_ttl '86401': a whole number from 1 to 86400");
	parse_bad("dns: {min_ttl: 060}\n",
		  "policy.yaml:1: bad min_ttl '060': a whole number from 1 to 86400");
	parse_bad("dns: {max_per_name: 257}\n",
		  "policy.yaml:1: bad max_per_name '257': a whole number from 1 to 256");
	parse_bad("dns: {ttl: 5}\n",
		  "policy.yaml:1: unknown key 'ttl' in dns (expected min_ttl or max_per_name)");
	parse_bad("dns: {min_ttl: 5, min_ttl: 6}\n",
		  "policy.yaml:1: duplicate key 'min_ttl' in dns");
	parse_bad(
		"dns: 60\n",
		"policy.yaml:1: dns: must be a mapping (dns: {min_ttl: 60, max_per_name: 64}), not a scalar");
	parse_bad("dns: {}\ndns: {}\n", "policy.yaml:2: duplicate key 'dns'");
}

static void add(struct egr_policy *p, int action, const char *dest, const char *ps)
{
	struct egr_urule r = { .action = action };
	char err[512];

	assert_int_equal(parse_dest_or_name(dest, &r.dest, err, sizeof(err)), 0);
	if (ps)
		assert_int_equal(parse_portspec(ps, &r.ps, err, sizeof(err)), 0);
	assert_int_equal(policy_add(p, &r), 0);
}

/* Names compile to their own kind, after the addresses, by name. */
static void test_compile(void **state)
{
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_compiled c;
	char err[512];

	(void)state;
	add(&p, EGR_ALLOW, "b.example.com", "tcp:443");
	add(&p, EGR_ALLOW, "10.0.0.0/8", NULL);
	add(&p, EGR_ALLOW, "a.example.com", "icmp");
	add(&p, EGR_ALLOW, "b.example.com", "udp:53");
	add(&p, EGR_ALLOW, "b.example.com", "tcp:443"); /* duplicate */
	assert_int_equal(compile_policy(&p, &c, err, sizeof(err)), 0);
	assert_int_equal(c.npfx[EGR_K_V4], 1);
	assert_int_equal(c.npfx[EGR_K_NAME], 2);
	assert_string_equal(dest_name(&c.pfx[EGR_K_NAME][0].dest), "a.example.com");
	assert_int_equal(c.pfx[EGR_K_NAME][1].count, 2);
	assert_int_equal(c.nrules, 4);
	assert_int_equal(c.rules[c.pfx[EGR_K_NAME][0].first].proto, 1 /* ICMP */);
	assert_int_equal(c.min_ttl, EGR_DEFAULT_MIN_TTL);
	assert_int_equal(c.max_per_name, EGR_DEFAULT_MAX_PER_NAME);
	compiled_free(&c);
	/* deny with a name: refused */
	add(&p, EGR_DENY, "c.example.com", NULL);
	assert_int_equal(compile_policy(&p, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "deny by name is not supported ('c.example.com')"));
	policy_free(&p);
}

/* Many names, deduplicated: interning makes equal names equal rules. */
static void test_dedup(void **state)
{
	struct egr_policy p = { 0 };
	char name[64];
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%d.example.com", i % 1000);
		add(&p, EGR_ALLOW, name, i % 2 ? "tcp:443" : "tcp:443");
	}
	assert_int_equal(policy_dedup(&p), 0);
	assert_int_equal(p.n, 1000);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_name_ok, show_case),
		cmocka_unit_test_teardown(test_name_bad, show_case),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_name_key),
		cmocka_unit_test(test_dests),
		cmocka_unit_test_teardown(test_policy_file, show_case),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_dedup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
