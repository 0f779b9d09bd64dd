// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/policy/policy_file.c: YAML and JSON policy documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "lib/cases.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The table row under test, named by the teardown if the test failed. */

/* The example of the policy file documentation. */
static const char spec_yaml[] = "default: deny            # or allow\n"
				"rules:\n"
				"  - allow: 198.18.0.0/24\n"
				"  - allow: 192.168.100.2\n"
				"    ports: [udp:53]\n"
				"  - deny: 192.168.0.0/16\n"
				"  - allow: 2001:db8::/32\n"
				"    ports: [tcp:443, tcp:8000-8999]\n";

static const char spec_json[] = "{\n"
				"  \"default\": \"deny\",\n"
				"  \"rules\": [\n"
				"    {\"allow\": \"198.18.0.0/24\"},\n"
				"    {\"allow\": \"192.168.100.2\", \"ports\": [\"udp:53\"]},\n"
				"    {\"deny\": \"192.168.0.0/16\"},\n"
				"    {\"allow\": \"2001:db8::/32\",\n"
				"     \"ports\": [\"tcp:443\", \"tcp:8000-8999\"]}\n"
				"  ]\n"
				"}\n";

static const char *const spec_rules[] = {
	"allow 198.18.0.0/24 any",
	"allow 192.168.100.2/32 udp:53",
	"deny 192.168.0.0/16 any",
	"allow 2001:db8::/32 tcp:443",
	"allow 2001:db8::/32 tcp:8000-8999",
};

static const char *rule_text(const struct egr_urule *r, char *buf, size_t len)
{
	char d[64], ps[32];

	snprintf(buf, len, "%s %s %s",
		 r->action == EGR_ALLOW ? "allow" : r->action == EGR_DENY ? "deny" : "?",
		 format_dest(&r->dest, d, sizeof(d)), format_portspec(&r->ps, ps, sizeof(ps)));
	return buf;
}

/* The policy holds exactly these rules, in this order. */
static void assert_rules(const struct egr_policy *p, const char *const *want, size_t n)
{
	char buf[128];
	size_t i;

	for (i = 0; i < p->n && i < n; i++)
		assert_string_equal(rule_text(&p->rules[i], buf, sizeof(buf)), want[i]);
	assert_int_equal(p->n, n);
}

static void parse_ok(const char *doc, struct egr_policy *p)
{
	char err[512] = "";
	int ret = policy_parse_buf(doc, strlen(doc), "policy.yaml", p, err, sizeof(err));

	if (ret)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(ret, 0);
	assert_string_equal(err, "");
}

/* Errors: one line, the expected text, the policy empty. */
static void parse_bad(const char *doc, size_t len, const char *want, int want_ret)
{
	struct egr_policy p;
	char err[512] = "";
	int ret;

	/* garbage in the output must not survive (nor be freed) */
	memset(&p, 0x5a, sizeof(p));
	ret = policy_parse_buf(doc, len, "policy.yaml", &p, err, sizeof(err));
	if (ret != want_ret)
		print_error("unexpected result %d: %s\n", ret, err);
	assert_int_equal(ret, want_ret);
	assert_string_equal(err, want);
	assert_null(strchr(err, '\n'));
	assert_int_equal(p.n, 0);
	assert_null(p.rules);
}

static void test_spec_example(void **state)
{
	struct egr_policy p;

	(void)state;
	parse_ok(spec_yaml, &p);
	assert_true(p.has_dflt);
	assert_int_equal(p.dflt, EGR_DENY);
	assert_false(p.has_audit);
	assert_false(p.audit);
	assert_rules(&p, spec_rules, ARRAY_LEN(spec_rules));
	/* exact field values, not only their printed form */
	assert_int_equal(p.rules[1].ps.proto, EGR_UP_UDP);
	assert_true(p.rules[1].ps.has_ports);
	assert_int_equal(p.rules[1].ps.lo, 53);
	assert_int_equal(p.rules[1].ps.hi, 53);
	assert_int_equal(p.rules[0].ps.proto, EGR_UP_ANY);
	assert_false(p.rules[0].ps.has_ports);
	assert_int_equal(p.rules[4].ps.lo, 8000);
	assert_int_equal(p.rules[4].ps.hi, 8999);
	assert_int_equal(p.rules[3].dest.family, 6);
	assert_int_equal(p.rules[3].dest.plen, 32);
	policy_free(&p);
	assert_null(p.rules);
	assert_int_equal(p.n, 0);
}

static void assert_same_policy(const struct egr_policy *a, const struct egr_policy *b)
{
	size_t i;

	assert_int_equal(a->dflt, b->dflt);
	assert_int_equal(a->has_dflt, b->has_dflt);
	assert_int_equal(a->audit, b->audit);
	assert_int_equal(a->has_audit, b->has_audit);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_true(urule_equal(&a->rules[i], &b->rules[i]));
}

static void test_json(void **state)
{
	/* jq --tab style indentation, and compact JSON without spaces */
	static const char tabbed[] = "{\n\t\"default\": \"deny\",\n\t\"rules\": [\n"
				     "\t\t{\n\t\t\t\"allow\": \"198.18.0.0/24\"\n\t\t},\n"
				     "\t\t{\n\t\t\t\"allow\": \"192.168.100.2\",\n"
				     "\t\t\t\"ports\": [\n\t\t\t\t\"udp:53\"\n\t\t\t]\n\t\t},\n"
				     "\t\t{\n\t\t\t\"deny\": \"192.168.0.0/16\"\n\t\t},\n"
				     "\t\t{\n\t\t\t\"allow\": \"2001:db8::/32\",\n"
				     "\t\t\t\"ports\": [\"tcp:443\", \"tcp:8000-8999\"]\n\t\t}\n"
				     "\t]\n}\n";
	static const char compact[] =
		"{\"default\":\"deny\",\"rules\":[{\"allow\":\"198.18.0.0/24\"},"
		"{\"allow\":\"192.168.100.2\",\"ports\":[\"udp:53\"]},"
		"{\"deny\":\"192.168.0.0/16\"},"
		"{\"allow\":\"2001:db8::/32\",\"ports\":[\"tcp:443\",\"tcp:8000-8999\"]}]}";
	struct egr_policy y, j;

	(void)state;
	parse_ok(spec_yaml, &y);
	parse_ok(spec_json, &j);
	assert_same_policy(&y, &j);
	assert_rules(&j, spec_rules, ARRAY_LEN(spec_rules));
	policy_free(&j);
	parse_ok(tabbed, &j);
	assert_same_policy(&y, &j);
	policy_free(&j);
	parse_ok(compact, &j);
	assert_same_policy(&y, &j);
	policy_free(&j);
	policy_free(&y);

	/* JSON booleans and null */
	parse_ok("{\"default\": \"allow\", \"audit\": true, \"rules\": null}", &j);
	assert_true(j.has_dflt);
	assert_int_equal(j.dflt, EGR_ALLOW);
	assert_true(j.has_audit);
	assert_true(j.audit);
	assert_int_equal(j.n, 0);
	policy_free(&j);
}

static void test_defaults_and_audit(void **state)
{
	struct egr_policy p;

	(void)state;
	parse_ok("default: allow\naudit: true\n", &p);
	assert_true(p.has_dflt);
	assert_int_equal(p.dflt, EGR_ALLOW);
	assert_true(p.has_audit);
	assert_true(p.audit);
	assert_int_equal(p.n, 0);
	assert_null(p.rules);
	policy_free(&p);

	parse_ok("audit: false\ndefault: deny\n", &p);
	assert_true(p.has_audit);
	assert_false(p.audit);
	assert_int_equal(p.dflt, EGR_DENY);
	policy_free(&p);

	/* every key is optional; quoted values read the same */
	parse_ok("rules: []\n", &p);
	assert_false(p.has_dflt);
	assert_int_equal(p.dflt, EGR_DENY);
	assert_false(p.has_audit);
	assert_int_equal(p.n, 0);
	policy_free(&p);
	parse_ok("{}", &p);
	assert_false(p.has_dflt);
	policy_free(&p);
	parse_ok("default: 'allow'\naudit: \"true\"\n", &p);
	assert_int_equal(p.dflt, EGR_ALLOW);
	assert_true(p.audit);
	policy_free(&p);

	/* rules: with every rule commented out is an empty list, not an error */
	parse_ok("default: deny\nrules:\n#  - allow: 10.0.0.0/8\n", &p);
	assert_int_equal(p.n, 0);
	policy_free(&p);
	parse_ok("rules: ~\n", &p);
	policy_free(&p);
	parse_ok("---\ndefault: deny\n...\n", &p);
	policy_free(&p);
}

static void test_any(void **state)
{
	static const char *const want[] = {
		"deny 0.0.0.0/0 any",
		"deny ::/0 any",
	};
	static const char *const want_ports[] = {
		"allow 0.0.0.0/0 tcp:80",
		"allow 0.0.0.0/0 udp:53",
		"allow ::/0 tcp:80",
		"allow ::/0 udp:53",
	};
	struct egr_policy p;

	(void)state;
	parse_ok("rules:\n  - deny: any\n", &p);
	assert_rules(&p, want, ARRAY_LEN(want));
	policy_free(&p);
	parse_ok("rules:\n  - allow: any\n    ports: [tcp:80, udp:53]\n", &p);
	assert_rules(&p, want_ports, ARRAY_LEN(want_ports));
	policy_free(&p);
	parse_ok("{\"rules\": [{\"deny\": \"any\"}]}", &p);
	assert_rules(&p, want, ARRAY_LEN(want));
	policy_free(&p);
}

static void test_ports_forms(void **state)
{
	static const char *const one[] = { "allow 10.0.0.0/8 tcp:443" };
	static const char *const three[] = {
		"deny 10.0.0.0/8 tcp",
		"deny 10.0.0.0/8 udp:53",
		"deny 10.0.0.0/8 icmp",
	};
	struct egr_policy p;

	(void)state;
	parse_ok("rules:\n  - allow: 10.1.2.3/8\n    ports: tcp:443\n", &p);
	assert_rules(&p, one, 1);
	policy_free(&p);
	parse_ok("rules:\n  - allow: 10.1.2.3/8\n    ports: [tcp:443]\n", &p);
	assert_rules(&p, one, 1);
	policy_free(&p);
	parse_ok("rules:\n  - allow: 10.1.2.3/8\n    ports:\n      - tcp:443\n", &p);
	assert_rules(&p, one, 1);
	policy_free(&p);
	parse_ok("rules:\n  - ports: \"tcp:443\"\n    allow: \"10.1.2.3/8\"\n", &p);
	assert_rules(&p, one, 1);
	policy_free(&p);
	parse_ok("rules:\n  - deny: 10.0.0.0/8\n    ports:\n      - tcp\n      - udp:53\n"
		 "      - icmp\n",
		 &p);
	assert_rules(&p, three, ARRAY_LEN(three));
	policy_free(&p);
}

static void test_duplicates(void **state)
{
	static const char doc[] = "rules:\n"
				  "  - allow: 10.0.0.0/8\n"
				  "  - deny: 10.0.0.0/8\n"
				  "  - allow: 10.1.2.3/8\n" /* same prefix once normalized */
				  "  - allow: 2001:db8::/32\n"
				  "    ports: [tcp:443, tcp:443-443, udp:53, tcp:443]\n"
				  "  - allow: ::ffff:10.0.0.0/104\n" /* 10.0.0.0/8 again */
				  "  - deny: 10.0.0.0/8\n"
				  "  - deny: any\n"
				  "  - deny: 0.0.0.0/0\n";
	static const char *const want[] = {
		"allow 10.0.0.0/8 any",
		"deny 10.0.0.0/8 any",
		"allow 2001:db8::/32 tcp:443",
		"allow 2001:db8::/32 udp:53",
		"deny 0.0.0.0/0 any",
		"deny ::/0 any",
	};
	struct egr_policy p;

	(void)state;
	parse_ok(doc, &p);
	assert_rules(&p, want, ARRAY_LEN(want));
	policy_free(&p);
}

/* A large generated policy: duplicates are removed without quadratic cost. */
static void test_large(void **state)
{
	const size_t nrules = 40000;
	struct egr_policy p;
	char *doc, *o;
	size_t i;

	(void)state;
	doc = malloc(nrules * 64 + 16);
	assert_non_null(doc);
	o = doc + sprintf(doc, "rules:\n");
	for (i = 0; i < nrules; i++)
		o += sprintf(o, "- allow: 10.%zu.%zu.0/24\n  ports: [tcp:443]\n",
			     (i / 2) / 256 % 256, (i / 2) % 256);
	parse_ok(doc, &p);
	assert_int_equal(p.n, nrules / 2);
	assert_int_equal(p.rules[1].dest.addr[2], 1);
	assert_int_equal(p.rules[256].dest.addr[1], 1);
	policy_free(&p);
	free(doc);
}

static void test_anchors(void **state)
{
	static const char doc[] = "rules:\n"
				  "  - allow: 10.0.0.0/8\n"
				  "    ports: &web [tcp:80, tcp:443]\n"
				  "  - allow: &host 192.0.2.1\n"
				  "    ports: *web\n"
				  "  - deny: *host\n";
	static const char *const want[] = {
		"allow 10.0.0.0/8 tcp:80",
		"allow 10.0.0.0/8 tcp:443",
		"allow 192.0.2.1/32 tcp:80",
		"allow 192.0.2.1/32 tcp:443",
		"deny 192.0.2.1/32 any",
	};
	static const char *const whole[] = {
		"allow 10.0.0.1/32 tcp:80",
		"deny 10.0.0.2/32 any",
		"allow 10.0.0.3/32 any",
	};
	struct egr_policy p;

	(void)state;
	parse_ok(doc, &p);
	assert_rules(&p, want, ARRAY_LEN(want));
	policy_free(&p);

	/* a whole rule, and a key */
	parse_ok("rules:\n"
		 "  - &r {allow: 10.0.0.1, ports: [tcp:80]}\n"
		 "  - *r\n"
		 "  - &k deny: 10.0.0.2\n"
		 "  - *r\n"
		 "  - allow: 10.0.0.3\n"
		 "  - *k : 10.0.0.2\n",
		 &p);
	assert_rules(&p, whole, ARRAY_LEN(whole));
	policy_free(&p);
}

/* Aliases can make a small file expand past what any kernel holds. */
static void test_expansion_limit(void **state)
{
	char want[128];
	char *doc, *o;
	int i;

	(void)state;
	doc = malloc(64 * 1024);
	assert_non_null(doc);
	/* 2 x 1024 rules, 2049 times */
	o = doc + sprintf(doc, "rules:\n  - &r {allow: any, ports: [tcp:1");
	for (i = 2; i <= 1024; i++)
		o += sprintf(o, ", tcp:%d", i);
	o += sprintf(o, "]}\n");
	for (i = 0; i < 2048; i++)
		o += sprintf(o, "  - *r\n");
	snprintf(want, sizeof(want),
		 "policy.yaml:2: too many rules (more than %u after expanding any and ports)",
		 EGR_MAX_MAX_RULES);
	parse_bad(doc, o - doc, want, -EINVAL);
	free(doc);
}

#define NOT_MAPPING \
	"policy.yaml:1: a policy must be a mapping with default:, audit: and rules:, not "

#define EMPTY "policy.yaml: empty policy: expected a mapping with default:, audit: and rules:"

struct bad_doc {
	const char *doc;
	const char *msg;
};

static const struct bad_doc bad_docs[] = {
	/* keys */
	{ "default: deny\nrules:\n  - allow: 10.0.0.0/8\n  - alow: 10.0.0.1\n",
	  "policy.yaml:4: unknown key 'alow' in rule" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    port: tcp:80\n",
	  "policy.yaml:3: unknown key 'port' in rule" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    action: allow\n",
	  "policy.yaml:3: unknown key 'action' in rule" },
	{ "rules:\n  - dest: 10.0.0.0/8\n    action: allow\n",
	  "policy.yaml:2: unknown key 'dest' in rule" },
	{ "rules:\n  - Allow: 10.0.0.0/8\n", "policy.yaml:2: unknown key 'Allow' in rule" },
	{ "default: deny\ndefualt: allow\n",
	  "policy.yaml:2: unknown key 'defualt' (expected default, audit, dns or rules)" },
	{ "default: deny\n\"x\\ty\": 1\n",
	  "policy.yaml:2: unknown key 'x\\x09y' (expected default, audit, dns or rules)" },
	{ "default: deny\n[a]: 1\n",
	  "policy.yaml:2: a key must be a single value, not a sequence" },
	{ "default: deny\ndefault: allow\n", "policy.yaml:2: duplicate key 'default'" },
	{ "audit: true\naudit: true\n", "policy.yaml:2: duplicate key 'audit'" },
	{ "rules: []\nrules: []\n", "policy.yaml:2: duplicate key 'rules'" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    allow: 10.0.0.1\n",
	  "policy.yaml:3: duplicate key 'allow' in rule" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: tcp\n    ports: udp\n",
	  "policy.yaml:4: duplicate key 'ports' in rule" },
	/* allow/deny */
	{ "rules:\n  - allow: 10.0.0.0/8\n    deny: 10.0.0.0/8\n",
	  "policy.yaml:3: rule has both allow: and deny:" },
	{ "rules:\n  - deny: 10.0.0.0/8\n    allow: 10.0.0.0/8\n",
	  "policy.yaml:3: rule has both allow: and deny:" },
	{ "rules:\n  - allow: 10.0.0.0/8\n  - ports: [tcp:80]\n",
	  "policy.yaml:3: rule has neither allow: nor deny:" },
	{ "rules:\n  - {}\n", "policy.yaml:2: rule has neither allow: nor deny:" },
	{ "rules:\n  - 10.0.0.0/8\n",
	  "policy.yaml:2: a rule must be a mapping with allow: or deny:, not a scalar" },
	{ "rules:\n  - - allow: 10.0.0.0/8\n",
	  "policy.yaml:2: a rule must be a mapping with allow: or deny:, not a sequence" },
	{ "rules:\n  - allow: [10.0.0.0/8, 10.0.0.1]\n",
	  "policy.yaml:2: allow: must be a single value, not a sequence" },
	{ "rules:\n  - deny: {a: b}\n",
	  "policy.yaml:2: deny: must be a single value, not a mapping" },
	/* destinations, with the line of the bad value */
	{ "default: deny\nrules:\n  - allow: 10.0.0.0/8\n  - deny: 10.0.0.1\n"
	  "  - allow: 10.1.2.300/8\n",
	  "policy.yaml:5: bad destination '10.1.2.300/8': not an IPv4 or IPv6 address" },
	{ "rules:\n  - allow:\n      10.0.0.0/33\n",
	  "policy.yaml:3: bad prefix length '/33' in '10.0.0.0/33': IPv4 allows 0-32" },
	{ "rules:\n  - allow:\n", "policy.yaml:2: bad destination '': empty" },
	{ "rules:\n  - allow: ''\n", "policy.yaml:2: bad destination '': empty" },
	{ "rules:\n  - allow: ANY\n",
	  "policy.yaml:2: bad destination 'ANY': not an IPv4 or IPv6 address" },
	{ "rules:\n  - allow: \"10.0.0.1\\n\"\n",
	  "policy.yaml:2: bad destination '10.0.0.1\\x0a': not an IPv4 or IPv6 address" },
	{ "rules:\n  - allow: \"10.0.0.1\\0junk\"\n", "policy.yaml:2: allow: contains a NUL byte" },
	/* ports */
	{ "default: deny\n"
	  "audit: false\n"
	  "rules:\n"
	  "  - allow: 10.0.0.0/8\n"
	  "    ports:\n"
	  "      - tcp:443\n"
	  "      - tcp:0\n",
	  "policy.yaml:7: bad port 'tcp:0': ports are 1-65535" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: [tcp:443,\n      tcp:9000-8000]\n",
	  "policy.yaml:4: bad port range 'tcp:9000-8000': first port is above last" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: sctp:1\n",
	  "policy.yaml:3: bad protocol 'sctp:1': use tcp, udp or icmp" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: [icmp:8]\n",
	  "policy.yaml:3: bad port spec 'icmp:8': icmp takes no port" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: [tcp:65536]\n",
	  "policy.yaml:3: bad port 'tcp:65536': ports are 1-65535" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: []\n",
	  "policy.yaml:3: empty ports list: leave out ports: to match every port" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports:\n",
	  "policy.yaml:3: empty ports list: leave out ports: to match every port" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: {tcp: 80}\n",
	  "policy.yaml:3: ports: must be a port spec or a sequence of them, not a mapping" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: [[tcp:80]]\n",
	  "policy.yaml:3: a port spec must be a single value, not a sequence" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: tcp:80, udp:53\n",
	  "policy.yaml:3: bad port 'tcp:80, udp:53': not a decimal number" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: 443\n",
	  "policy.yaml:3: bad protocol '443': use tcp, udp or icmp" },
	/* the destination is checked even when ports come first */
	{ "rules:\n  - ports: [tcp:80]\n    allow: 10.0.0.0/8x\n",
	  "policy.yaml:3: bad prefix length '/8x' in '10.0.0.0/8x': not a decimal number" },
	/* default and audit */
	{ "default: drop\n", "policy.yaml:1: bad default 'drop': use allow or deny" },
	{ "default: Deny\n", "policy.yaml:1: bad default 'Deny': use allow or deny" },
	{ "default:\n", "policy.yaml:1: bad default '': use allow or deny" },
	{ "default: [deny]\n", "policy.yaml:1: default: must be a single value, not a sequence" },
	{ "audit: yes\n", "policy.yaml:1: bad audit 'yes': use true or false" },
	{ "audit: True\n", "policy.yaml:1: bad audit 'True': use true or false" },
	{ "audit: 1\n", "policy.yaml:1: bad audit '1': use true or false" },
	{ "audit:\n", "policy.yaml:1: bad audit '': use true or false" },
	{ "default: deny\naudit: {a: 1}\n",
	  "policy.yaml:2: audit: must be a single value, not a mapping" },
	/* rules: */
	{ "default: deny\nrules: 10.0.0.0/8\n",
	  "policy.yaml:2: rules: must be a sequence of rules, not a scalar" },
	{ "rules:\n  allow: 10.0.0.0/8\n",
	  "policy.yaml:2: rules: must be a sequence of rules, not a mapping" },
	{ "rules: ''\n", "policy.yaml:1: rules: must be a sequence of rules, not a scalar" },
	/* the document */
	{ "", EMPTY },
	{ "# nothing but a comment\n\n", EMPTY },
	{ "---\n", EMPTY },
	{ "~\n", EMPTY },
	{ "- allow: 10.0.0.0/8\n", NOT_MAPPING "a sequence" },
	{ "deny\n", NOT_MAPPING "a scalar" },
	{ "[]", NOT_MAPPING "a sequence" },
	{ "default: deny\n---\ndefault: allow\n", "policy.yaml:3: more than one YAML document" },
	{ "&a [*a]\n", NOT_MAPPING "a sequence" },
	{ "rules: &r [*r]\n",
	  "policy.yaml:1: a rule must be a mapping with allow: or deny:, not a sequence" },
	/* an alias is its anchored node, line included, wherever it is used */
	{ "&t {rules: [*t]}\n", "policy.yaml:1: unknown key 'rules' in rule" },
	{ "rules: &s [{allow: 10.0.0.1, ports: *s}]\n",
	  "policy.yaml:1: a port spec must be a single value, not a mapping" },
	{ "rules:\n  - &r\n    allow: 10.0.0.1\n    ports: *r\n",
	  "policy.yaml:2: ports: must be a port spec or a sequence of them, not a mapping" },
	{ "rules:\n  - allow: &h 10.0.0.1\n  - deny: 10.0.0.2\n    ports: *h\n",
	  "policy.yaml:2: bad protocol '10.0.0.1': use tcp, udp or icmp" },
	{ "default: &d deny\nrules: *d\n",
	  "policy.yaml:1: rules: must be a sequence of rules, not a scalar" },
	{ "default: &a deny\naudit: &a true\n", "policy.yaml:2: YAML error: second occurrence" },
	{ "default: deny\n--- &a [*a]\n", "policy.yaml:2: more than one YAML document" },
	/* YAML syntax */
	{ "default: deny\nrules:\n  - allow: 10.0.0.0/8\n   ports: [tcp:80]\n",
	  "policy.yaml:4: YAML error: did not find expected '-' indicator" },
	{ "default: deny\nrules: [\n",
	  "policy.yaml:3: YAML error: did not find expected node content" },
	{ "rules:\n  - allow: 10.0.0.0/8\n    ports: [tcp:80\n",
	  "policy.yaml:4: YAML error: did not find expected ',' or ']'" },
	{ "default: deny\n\tdefault: allow\n",
	  "policy.yaml:2: YAML error: found a tab character that violates indentation" },
	{ "rules:\n  - deny: *nope\n", "policy.yaml:2: YAML error: found undefined alias" },
	{ "default: deny\n---\n[\n",
	  "policy.yaml:4: YAML error: did not find expected node content" },
	{ "{\"default\": \"deny\",\n \"rules\": [{\"allow\": \"10.0.0.0/8\"}\n}\n",
	  "policy.yaml:3: YAML error: did not find expected ',' or ']'" },
	{ "default: deny\nrules:\n  - allow: \xc3\x28\n",
	  "policy.yaml:3: YAML error: invalid trailing UTF-8 octet" },
	/* a YAML error anywhere in the document wins over one in its content */
	{ "default: drop\nrules: [\n",
	  "policy.yaml:3: YAML error: did not find expected node content" },
	{ "default: drop\naudit: *x\n", "policy.yaml:2: YAML error: found undefined alias" },
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad_docs); i++) {
		cur_case = bad_docs[i].msg;
		parse_bad(bad_docs[i].doc, strlen(bad_docs[i].doc), bad_docs[i].msg, -EINVAL);
	}
	cur_case = NULL;
}

/* The buffer is taken by length: no NUL needed, and embedded NULs are seen. */
static void test_buffer_length(void **state)
{
	static const char doc[] = "default: allow\nXXXX";
	struct egr_policy p;
	char err[256];

	(void)state;
	assert_int_equal(policy_parse_buf(doc, 15, "p", &p, err, sizeof(err)), 0);
	assert_int_equal(p.dflt, EGR_ALLOW);
	policy_free(&p);
	parse_bad("default: deny\n\0rules: []\n", 25,
		  "policy.yaml:2: YAML error: control characters are not allowed", -EINVAL);
}

static void test_err_handling(void **state)
{
	struct egr_policy p;
	char small[12];

	(void)state;
	/* no error buffer */
	assert_int_equal(policy_parse_buf("audit: 3", 8, "x", &p, NULL, 0), -EINVAL);
	assert_int_equal(p.n, 0);
	/* a short buffer truncates and terminates */
	assert_int_equal(policy_parse_buf("audit: 3", 8, "policy.yaml", &p, small, sizeof(small)),
			 -EINVAL);
	assert_string_equal(small, "policy.yaml");
	/* no buffer at all reads as empty */
	assert_int_equal(policy_parse_buf(NULL, 0, "x", &p, NULL, 0), -EINVAL);
	assert_null(p.rules);
	/* no name */
	assert_int_equal(policy_parse_buf("audit: 3", 8, NULL, &p, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "<policy>:1:");
}

static char *write_tmp(const char *content, size_t len)
{
	char *path = strdup("/tmp/egr_test_policy_XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_file(void **state)
{
	struct egr_policy p;
	char err[512], want[512];
	char *path, *buf, *o;
	int i;

	(void)state;
	path = write_tmp(spec_yaml, strlen(spec_yaml));
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), 0);
	assert_rules(&p, spec_rules, ARRAY_LEN(spec_rules));
	assert_int_equal(p.dflt, EGR_DENY);
	policy_free(&p);
	unlink(path);
	free(path);

	/* errors name the file */
	path = write_tmp("rules:\n  - alow: 10.0.0.1\n", 26);
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: unknown key 'alow' in rule", path);
	assert_string_equal(err, want);
	assert_int_equal(p.n, 0);
	assert_null(p.rules);
	unlink(path);
	free(path);

	/* the line of a bad byte far into a file */
	buf = malloc(100000 * 32);
	assert_non_null(buf);
	o = buf + sprintf(buf, "default: deny\nrules:\n");
	for (i = 0; i < 100000; i++)
		o += sprintf(o, "  - allow: 10.%d.%d.0/24\n", i / 256 % 256, i % 256);
	o += sprintf(o, "  - allow: \xff\n");
	path = write_tmp(buf, o - buf);
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:100003: YAML error: invalid leading UTF-8 octet", path);
	assert_string_equal(err, want);
	assert_null(p.rules);
	unlink(path);
	free(path);
	free(buf);

	/* an empty file */
	path = write_tmp("", 0);
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s: empty policy: expected a mapping with default:, audit: and rules:", path);
	assert_string_equal(err, want);
	assert_null(p.rules);
	unlink(path);
	free(path);
}

static void test_file_errors(void **state)
{
	struct egr_policy p;
	char err[512], want[600];
	char *path;
	int fd;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(policy_parse_file("/nonexistent/policy.yaml", &p, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "cannot open policy file '/nonexistent/policy.yaml': "
				 "No such file or directory");
	assert_int_equal(p.n, 0);
	assert_null(p.rules);

	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(policy_parse_file("/tmp", &p, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "cannot read policy file '/tmp': Is a directory");
	assert_null(p.rules);

	/* Over 256 MiB: refused from its size, without reading (sparse file). */
	path = write_tmp("", 0);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (256 << 20) + 1), 0);
	close(fd);
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "policy file '%s' is larger than 256 MiB", path);
	assert_string_equal(err, want);
	assert_null(p.rules);
	unlink(path);
	free(path);
}

/* A pipe has no size up front (bash's <(...), /dev/stdin). */
static void test_file_pipe(void **state)
{
	struct egr_policy p;
	char err[256], path[64];
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], spec_json, strlen(spec_json)), (ssize_t)strlen(spec_json));
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	assert_int_equal(policy_parse_file(path, &p, err, sizeof(err)), 0);
	close(fds[0]);
	assert_rules(&p, spec_rules, ARRAY_LEN(spec_rules));
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_defaults_and_audit),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_ports_forms),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_expansion_limit),
		cmocka_unit_test_teardown(test_errors, show_case),
		cmocka_unit_test(test_buffer_length),
		cmocka_unit_test(test_err_handling),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
