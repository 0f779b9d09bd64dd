// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for user/obs/metrics.c: label escaping and the exposition format. */
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
#include "kernel/guard.h"
#include "obs/metrics.h"
#include "policy/addr.h"
#include "lib/cases.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	metrics_escape(f, s);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "cgroup:/docker/abc", "cgroup:/docker/abc" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "\\n", "\\\\n" }, /* a backslash and an n stay two characters */
		{ "tab\there", "tab\there" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* é */
		{ "\xe2\x82\xac 5", "\xe2\x82\xac 5" }, /* € */
		{ "\xf0\x9f\x90\xb3", "\xf0\x9f\x90\xb3" }, /* U+1F433 */
		{ "bad\xff", "bad\xef\xbf\xbd" }, /* invalid byte */
		{ "\xc3", "\xef\xbf\xbd" }, /* truncated */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong '/' */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "x\xc3(", "x\xef\xbf\xbd(" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		char *got;

		cur_case = cases[i].in;
		got = escaped(cases[i].in);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	cur_case = NULL;
}

static struct egr_urule mkrule(int action, const char *dest, const char *ps)
{
	struct egr_urule r = { .action = action };
	char err[128];

	assert_int_equal(parse_dest(dest, &r.dest, err, sizeof(err)), 0);
	if (ps)
		assert_int_equal(parse_portspec(ps, &r.ps, err, sizeof(err)), 0);
	return r;
}

static void test_rule_text(void **state)
{
	struct egr_urule r;
	char buf[128];

	(void)state;
	r = mkrule(EGR_ALLOW, "10.0.0.0/8", "tcp:443");
	assert_string_equal(metrics_rule_text(&r, buf, sizeof(buf)), "allow 10.0.0.0/8 tcp:443");
	r = mkrule(EGR_DENY, "2001:db8::/32", NULL);
	assert_string_equal(metrics_rule_text(&r, buf, sizeof(buf)), "deny 2001:db8::/32 any");
	r = mkrule(EGR_DENY, "198.18.0.1", "udp:53-54");
	assert_string_equal(metrics_rule_text(&r, buf, sizeof(buf)),
			    "deny 198.18.0.1/32 udp:53-54");
}

/* Two targets: one with rules and counters, one with a label to escape. */
static struct metrics_target *sample_targets(size_t *n)
{
	struct metrics_target *t = calloc(3, sizeof(*t));

	assert_non_null(t);
	snprintf(t[0].label, sizeof(t[0].label), "web");
	snprintf(t[0].cgroup, sizeof(t[0].cgroup), "/docker/abc");
	t[0].alive = true;
	t[0].capacity = 16384;
	t[0].st[EGR_STAT_ALLOWED] = (struct egr_counter){ 7, 896 };
	t[0].st[EGR_STAT_DENIED] = (struct egr_counter){ 5, 1140 };
	t[0].st[EGR_STAT_AUDIT] = (struct egr_counter){ 0, 0 };
	t[0].st[EGR_STAT_LOOPBACK] = (struct egr_counter){ 3, 180 };
	t[0].st[EGR_STAT_EV_SENT].packets = 4;
	t[0].st[EGR_STAT_EV_SUPPRESSED].packets = 99;
	t[0].st[EGR_STAT_EV_LOST].packets = 1;
	t[0].nprefix[0] = 1;
	t[0].nprefix[1] = 1;
	t[0].nrules = 2;
	t[0].rules = calloc(2, sizeof(*t[0].rules));
	assert_non_null(t[0].rules);
	t[0].rules[0].rule = mkrule(EGR_ALLOW, "10.0.0.0/8", "tcp:443");
	t[0].rules[0].hits = 12345678901ull;
	t[0].rules[1].rule = mkrule(EGR_DENY, "2001:db8::/32", NULL);
	t[0].rules[1].hits = 2;

	snprintf(t[1].label, sizeof(t[1].label), "cgroup:/odd\"name\\x");
	snprintf(t[1].cgroup, sizeof(t[1].cgroup), "/odd\"name\\x");
	t[1].alive = false;
	t[1].audit = true;
	t[1].capacity = 64;
	t[1].st[EGR_STAT_AUDIT] = (struct egr_counter){ 2, 200 };
	*n = 2;
	return t;
}

static char *format(const struct metrics_target *t, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_format(f, t, n, "0.1.0", "v1.1"), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static bool has_line(const char *text, const char *line)
{
	size_t l = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[l] == '\n')
			return true;
		p++;
	}
	return false;
}

static void test_format_lines(void **state)
{
	static const char *const want[] = {
		"# HELP egressctl_build_info egressctl version and the libbpf it runs with; always 1.",
		"# TYPE egressctl_build_info gauge",
		"egressctl_build_info{version=\"0.1.0\",libbpf=\"v1.1\"} 1",
		"# TYPE egressctl_packets_total counter",
		"egressctl_attached{target=\"web\",cgroup=\"/docker/abc\"} 1",
		"egressctl_attached{target=\"cgroup:/odd\\\"name\\\\x\",cgroup=\"/odd\\\"name\\\\x\"} 0",
		"egressctl_packets_total{target=\"web\",cgroup=\"/docker/abc\",verdict=\"allowed\"} 7",
		"egressctl_packets_total{target=\"web\",cgroup=\"/docker/abc\",verdict=\"denied\"} 5",
		"egressctl_packets_total{target=\"web\",cgroup=\"/docker/abc\",verdict=\"audit\"} 0",
		"egressctl_bytes_total{target=\"web\",cgroup=\"/docker/abc\",verdict=\"allowed\"} 896",
		"egressctl_bytes_total{target=\"web\",cgroup=\"/docker/abc\",verdict=\"denied\"} 1140",
		"egressctl_packets_total{target=\"cgroup:/odd\\\"name\\\\x\",cgroup=\"/odd\\\"name\\\\x\",verdict=\"audit\"} 2",
		"egressctl_bytes_total{target=\"cgroup:/odd\\\"name\\\\x\",cgroup=\"/odd\\\"name\\\\x\",verdict=\"audit\"} 200",
		"egressctl_unjudged_packets_total{target=\"web\",cgroup=\"/docker/abc\",reason=\"loopback\"} 3",
		"egressctl_unjudged_bytes_total{target=\"web\",cgroup=\"/docker/abc\",reason=\"loopback\"} 180",
		"egressctl_unjudged_packets_total{target=\"web\",cgroup=\"/docker/abc\",reason=\"nopolicy\"} 0",
		"# TYPE egressctl_rule_hits_total counter",
		"egressctl_rule_hits_total{target=\"web\",action=\"allow\",dest=\"10.0.0.0/8\",ports=\"tcp:443\"} 12345678901",
		"egressctl_rule_hits_total{target=\"web\",action=\"deny\",dest=\"2001:db8::/32\",ports=\"any\"} 2",
		"# TYPE egressctl_policy_rules gauge",
		"egressctl_policy_rules{target=\"web\"} 2",
		"egressctl_policy_rules{target=\"cgroup:/odd\\\"name\\\\x\"} 0",
		"egressctl_audit_mode{target=\"web\"} 0",
		"egressctl_audit_mode{target=\"cgroup:/odd\\\"name\\\\x\"} 1",
		"egressctl_map_entries{target=\"web\",map=\"rules\"} 2",
		"egressctl_map_entries{target=\"web\",map=\"prefixes_v4\"} 1",
		"egressctl_map_entries{target=\"web\",map=\"prefixes_v6\"} 1",
		"egressctl_map_capacity{target=\"web\",map=\"rules\"} 16384",
		"egressctl_map_capacity{target=\"cgroup:/odd\\\"name\\\\x\",map=\"prefixes_v6\"} 64",
		"# TYPE egressctl_events_lost_total counter",
		"egressctl_events_sent_total{target=\"web\",cgroup=\"/docker/abc\"} 4",
		"egressctl_events_suppressed_total{target=\"web\",cgroup=\"/docker/abc\"} 99",
		"egressctl_events_lost_total{target=\"web\",cgroup=\"/docker/abc\"} 1",
	};
	struct metrics_target *t;
	size_t n, i;
	char *out;

	(void)state;
	t = sample_targets(&n);
	out = format(t, n);
	for (i = 0; i < ARRAY_LEN(want); i++) {
		cur_case = want[i];
		assert_true(has_line(out, want[i]));
	}
	cur_case = NULL;
	/* the odd target has no rules: no rule_hits line for it */
	assert_null(strstr(out, "egressctl_rule_hits_total{target=\"cgroup:/odd"));
	free(out);
	metrics_free(t, n);
}

/* Structure: every family has HELP then TYPE, once, and its samples follow
 * as one group; every sample line is "name{...} value" or "name value".
 */
static void check_structure(const char *out)
{
	char fams[64][64], cur[64] = "";
	size_t nf = 0, i;
	const char *p = out;

	assert_true(strlen(out) > 0);
	assert_int_equal(out[strlen(out) - 1], '\n');
	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[1024], name[64];
		size_t len;

		assert_non_null(nl);
		len = nl - p;
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		cur_case = line;
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%63s", name), 1);
			for (i = 0; i < nf; i++)
				assert_string_not_equal(fams[i], name);
			assert_true(nf < ARRAY_LEN(fams));
			snprintf(fams[nf++], sizeof(fams[0]), "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
		} else if (!strncmp(line, "# TYPE ", 7)) {
			char type[16];

			assert_int_equal(sscanf(line + 7, "%63s %15s", name, type), 2);
			assert_string_equal(name, cur);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge"));
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
		} else {
			size_t nl2 = strcspn(line, "{ ");
			const char *v = strrchr(line, ' ');
			char *end;

			assert_int_equal(nl2, strlen(cur));
			assert_memory_equal(line, cur, nl2);
			assert_non_null(v);
			strtoull(v + 1, &end, 10);
			assert_int_equal(*end, '\0');
			assert_true(end > v + 1);
		}
		p = nl + 1;
	}
	cur_case = NULL;
}

static void test_format_structure(void **state)
{
	struct metrics_target *t;
	size_t n;
	char *out;

	(void)state;
	t = sample_targets(&n);
	out = format(t, n);
	check_structure(out);
	free(out);
	out = format(t, 0); /* nothing attached: every family, build_info only */
	check_structure(out);
	assert_true(has_line(out, "# TYPE egressctl_packets_total counter"));
	assert_true(has_line(out, "# TYPE egressctl_events_lost_total counter"));
	assert_null(strstr(out, "egressctl_packets_total{"));
	free(out);
	metrics_free(t, n);
}

/* A defunct cgroup and a live one under one name: only the live one. */
static void test_format_dup_labels(void **state)
{
	struct metrics_target *t = calloc(3, sizeof(*t));
	char *out;
	int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 3; i++) {
		snprintf(t[i].label, sizeof(t[i].label), "web");
		snprintf(t[i].cgroup, sizeof(t[i].cgroup), "/docker/%d", i);
		t[i].st[EGR_STAT_ALLOWED].packets = 100 + i;
	}
	t[1].alive = true;
	out = format(t, 3);
	check_structure(out);
	assert_true(has_line(out, "egressctl_attached{target=\"web\",cgroup=\"/docker/1\"} 1"));
	assert_null(strstr(out, "/docker/0"));
	assert_null(strstr(out, "/docker/2"));
	assert_true(has_line(out, "egressctl_policy_rules{target=\"web\"} 0"));
	assert_non_null(strstr(out, "verdict=\"allowed\"} 101\n"));
	free(out);
	metrics_free(t, 3);
}

static void test_format_write_error(void **state)
{
	struct metrics_target *t;
	size_t n;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		skip();
	t = sample_targets(&n);
	setvbuf(f, NULL, _IONBF, 0);
	assert_int_equal(metrics_format(f, t, n, "0.1.0", "v1.1"), -EIO);
	fclose(f);
	metrics_free(t, n);
}

static char *format_guard(const struct egr_guard_info *gi, size_t held)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(metrics_format_guard(f, gi, held), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_format_guard(void **state)
{
	struct egr_guard_info gi = { .alive = true, .entries = 3, .managed = 2 };
	static const char *const want[] = {
		"egressctl_guard_installed 1",
		"egressctl_guard_attached{cgroup=\"/docker\"} 1",
		"egressctl_guard_cgroups{cgroup=\"/docker\",state=\"managed\"} 2",
		"egressctl_guard_cgroups{cgroup=\"/docker\",state=\"allowed\"} 1",
		"egressctl_guard_cgroups{cgroup=\"/docker\",state=\"held\"} 4",
		"egressctl_guard_packets_total{cgroup=\"/docker\",verdict=\"denied\"} 17",
		"egressctl_guard_packets_total{cgroup=\"/docker\",verdict=\"loopback\"} 0",
		"# TYPE egressctl_guard_packets_total counter",
	};
	char *out;
	size_t i;

	(void)state;
	out = format_guard(NULL, 0);
	assert_string_equal(out + strlen(out) - strlen("egressctl_guard_installed 0\n"),
			    "egressctl_guard_installed 0\n");
	assert_null(strstr(out, "egressctl_guard_attached"));
	free(out);
	strcpy(gi.meta.path, "/docker");
	gi.stats[EGR_GSTAT_DENIED].packets = 17;
	out = format_guard(&gi, 4);
	for (i = 0; i < ARRAY_LEN(want); i++) {
		cur_case = want[i];
		assert_true(has_line(out, want[i]));
	}
	cur_case = NULL;
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_escape, show_case),
		cmocka_unit_test_teardown(test_rule_text, show_case),
		cmocka_unit_test_teardown(test_format_lines, show_case),
		cmocka_unit_test_teardown(test_format_structure, show_case),
		cmocka_unit_test_teardown(test_format_dup_labels, show_case),
		cmocka_unit_test_teardown(test_format_write_error, show_case),
		cmocka_unit_test_teardown(test_format_guard, show_case),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
