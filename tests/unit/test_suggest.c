// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * suggest_format(): the policy file it writes parses (as apply -f parses
 * it), holds the policy in force, allows every observation the default
 * denied (checked with the reference model) and nothing a deny rule
 * decided, groups addresses only within the bound, and writes a rule per
 * name for destinations a DNS answer named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/oracle.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/policy_file.h"
#include "policy/suggest.h"

static struct suggest_obs obs(const char *addr, uint8_t proto, uint16_t port, uint64_t pk)
{
	struct suggest_obs o = { .proto = proto, .dport = port, .packets = pk };

	o.family = strchr(addr, ':') ? 6 : 4;
	assert_int_equal(inet_pton(o.family == 4 ? AF_INET : AF_INET6, addr, o.addr), 1);
	return o;
}

/* Format, print on failure, parse back. */
static char *format(const struct egr_policy *in, const struct suggest_obs *o, size_t n,
		    const struct suggest_opts *opt, struct egr_policy *out)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(suggest_format(f, in, o, n, opt), 0);
	fclose(f);
	if (policy_parse_buf(buf, len, "suggested.yaml", out, err, sizeof(err)))
		fail_msg("%s\n---\n%s", err, buf);
	return buf;
}

static int has_rule(const struct egr_policy *p, const char *action, const char *dest,
		    const char *ps)
{
	struct egr_urule r = { .action = !strcmp(action, "allow") ? EGR_ALLOW : EGR_DENY };
	struct egr_dest d[2];
	char err[128];
	size_t i;

	assert_int_equal(parse_dests(dest, d, err, sizeof(err)), 1);
	r.dest = d[0];
	if (ps)
		assert_int_equal(parse_portspec(ps, &r.ps, err, sizeof(err)), 0);
	for (i = 0; i < p->n; i++)
		if (urule_equal(&p->rules[i], &r))
			return 1;
	return 0;
}

static int verdict(const struct egr_policy *p, const struct suggest_obs *o)
{
	struct egr_tpkt t = { .family = o->family, .proto = o->proto, .dport = o->dport };

	memcpy(t.dst, o->addr, 16);
	return policy_eval_ref(p, &t, NULL);
}

static void test_basic(void **state)
{
	struct egr_policy in = { .dflt = EGR_DENY }, out;
	struct suggest_opts opt = { .target = "web" };
	struct egr_urule r = { .action = EGR_DENY };
	struct egr_dest d[2];
	struct suggest_obs o[6];
	char err[128], *text;
	size_t i;

	(void)state;
	assert_int_equal(parse_dests("10.0.0.0/8", d, err, sizeof(err)), 1);
	r.dest = d[0];
	assert_int_equal(policy_add(&in, &r), 0);
	o[0] = obs("198.18.0.9", IPPROTO_TCP, 443, 12);
	o[1] = obs("198.18.0.9", IPPROTO_UDP, 53, 3);
	o[2] = obs("2001:db8::9", IPPROTO_ICMPV6, 0, 1);
	o[3] = obs("10.1.2.3", IPPROTO_TCP, 443, 4);
	o[3].denied_by = "deny 10.0.0.0/8 any";
	o[4] = obs("198.18.0.10", 47, 0, 2); /* GRE: not expressible */
	o[5] = obs("198.18.0.11", IPPROTO_UDP, 0, 1);
	o[5].ports_unknown = true;
	text = format(&in, o, 6, &opt, &out);
	assert_int_equal(out.dflt, EGR_DENY);
	assert_false(out.audit);
	assert_int_equal(out.n, 4);
	assert_true(has_rule(&out, "deny", "10.0.0.0/8", NULL));
	assert_true(has_rule(&out, "allow", "198.18.0.9", "tcp:443"));
	assert_true(has_rule(&out, "allow", "198.18.0.9", "udp:53"));
	assert_true(has_rule(&out, "allow", "2001:db8::9", "icmp"));
	for (i = 0; i < 3; i++)
		assert_int_equal(verdict(&out, &o[i]), EGR_ALLOW);
	assert_int_equal(verdict(&out, &o[3]), EGR_DENY);
	assert_non_null(strstr(text, "tcp:443  # 12 packets"));
	assert_non_null(strstr(text, "denied by the rule \"deny 10.0.0.0/8 any\""));
	assert_non_null(strstr(text, "protocol 47"));
	assert_non_null(strstr(text, "egressctl apply web -f"));
	free(text);
	policy_free(&out);
	policy_free(&in);
}

/* --group 24: addresses of one port in one /24 become their smallest
 * common prefix (never beyond /24); others stay /32; IPv6 ungrouped.
 */
static void test_group(void **state)
{
	struct egr_policy in = { .dflt = EGR_DENY }, out;
	struct suggest_opts opt = { .target = "web", .group4 = 24 };
	struct suggest_obs o[7];
	char *text;
	size_t i;

	(void)state;
	o[0] = obs("198.18.0.4", IPPROTO_TCP, 443, 1);
	o[1] = obs("198.18.0.6", IPPROTO_TCP, 443, 1);
	o[2] = obs("198.18.0.7", IPPROTO_TCP, 443, 1);
	o[3] = obs("198.18.1.7", IPPROTO_TCP, 443, 1); /* another /24 */
	o[4] = obs("198.18.0.5", IPPROTO_TCP, 80, 1);	 /* another port */
	o[5] = obs("2001:db8::1", IPPROTO_UDP, 53, 1);
	o[6] = obs("2001:db8::2", IPPROTO_UDP, 53, 1);
	text = format(&in, o, 7, &opt, &out);
	assert_int_equal(out.n, 5);
	assert_true(has_rule(&out, "allow", "198.18.0.4/30", "tcp:443"));
	assert_true(has_rule(&out, "allow", "198.18.1.7", "tcp:443"));
	assert_true(has_rule(&out, "allow", "198.18.0.5", "tcp:80"));
	assert_true(has_rule(&out, "allow", "2001:db8::1", "udp:53"));
	assert_true(has_rule(&out, "allow", "2001:db8::2", "udp:53"));
	assert_non_null(strstr(text, "3 addresses"));
	for (i = 0; i < 7; i++)
		assert_int_equal(verdict(&out, &o[i]), EGR_ALLOW);
	free(text);
	policy_free(&out);
	opt.group4 = 8;
	opt.group6 = 64;
	text = format(&in, o, 7, &opt, &out);
	assert_true(has_rule(&out, "allow", "198.18.0.0/23", "tcp:443"));
	assert_true(has_rule(&out, "allow", "2001:db8::/126", "udp:53"));
	free(text);
	policy_free(&out);
}

static void test_empty(void **state)
{
	struct egr_policy in = { .dflt = EGR_ALLOW }, out;
	struct suggest_opts opt = { .target = "cgroup:/x", .not_recorded = 5 };
	char *text;

	(void)state;
	text = format(&in, NULL, 0, &opt, &out);
	assert_int_equal(out.n, 0);
	assert_int_equal(out.dflt, EGR_ALLOW);
	assert_non_null(strstr(text, "5 more packets"));
	free(text);
	policy_free(&out);
}

/* Destinations a DNS answer named: one rule per name and port, their
 * addresses counted, never grouped into a prefix; the rest as before.
 */
static void test_names(void **state)
{
	struct egr_policy in = { .dflt = EGR_DENY }, out;
	struct suggest_opts opt = { .target = "web", .group4 = 16 };
	const char *api = name_intern("api.example.com"), *cdn = name_intern("cdn.example.net");
	struct suggest_obs o[6];
	char *text;

	(void)state;
	o[0] = obs("198.18.0.9", IPPROTO_TCP, 443, 5);
	o[0].name = api;
	o[1] = obs("198.18.7.1", IPPROTO_TCP, 443, 2); /* the same name, far away */
	o[1].name = api;
	o[2] = obs("198.18.0.10", IPPROTO_TCP, 443, 1);
	o[2].name = cdn;
	o[3] = obs("198.18.0.9", IPPROTO_TCP, 80, 1); /* another port of api's */
	o[3].name = api;
	o[4] = obs("198.18.0.53", IPPROTO_UDP, 53, 4); /* the resolver: no name */
	o[5] = obs("198.18.0.54", IPPROTO_UDP, 53, 1);
	text = format(&in, o, 6, &opt, &out);
	assert_int_equal(out.n, 4);
	assert_true(has_rule(&out, "allow", "api.example.com", "tcp:443"));
	assert_true(has_rule(&out, "allow", "api.example.com", "tcp:80"));
	assert_true(has_rule(&out, "allow", "cdn.example.net", "tcp:443"));
	assert_true(has_rule(&out, "allow", "198.18.0.52/30", "udp:53"));
	assert_non_null(strstr(text, "tcp:443  # 7 packets, 2 addresses"));
	free(text);
	policy_free(&out);
	/* a name rule in force that audit mode did not learn from: not twice */
	{
		struct egr_urule r = { .action = EGR_ALLOW };
		char err[128];

		dest_set_name(&r.dest, api);
		assert_int_equal(parse_portspec("tcp:443", &r.ps, err, sizeof(err)), 0);
		assert_int_equal(policy_add(&in, &r), 0);
	}
	text = format(&in, o, 6, &opt, &out);
	assert_int_equal(out.n, 4);
	assert_null(strstr(text, "# 7 packets"));
	free(text);
	policy_free(&out);
	policy_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("suggest", tests, NULL, NULL);
}
