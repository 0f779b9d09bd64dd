/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the bpf-tier tests share: building policies rule by rule, applying
 * them with the real loader code, and the random policies and packets of
 * the differential tests (the same address pools, so random rules overlap
 * random packets often: prefixes nest, ports sit on range edges).
 * Included by one test file each (static functions); needs cmocka.
 */
#ifndef EGR_TEST_FIX_H
#define EGR_TEST_FIX_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "bpf/pkt.h"
#include "kernel/kapply.h"
#include "kernel/kstate.h"
#include "lib/oracle.h"
#include "policy/addr.h"
#include "policy/rule.h"

#define FIX_CAP 1024

/* One instance, loaded with the real loader (kstate_load()), not attached:
 * its egress program run on crafted packets (bpf_prog_test_run_opts()).
 */
struct fix {
	struct egressctl_bpf *skel;
	struct egr_kstate ks;
	int prog; /* egr_egress */
};

static inline int fix_setup(void **state)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY, .max_rules = FIX_CAP };
	struct fix *f = calloc(1, sizeof(*f));
	char err[256] = "";

	assert_non_null(f);
	if (kstate_load(&o, "/bpf-test", 0, &f->skel, &f->ks, err, sizeof(err)))
		fail_msg("%s", err);
	f->prog = bpf_program__fd(f->skel->progs.egr_egress);
	*state = f;
	return 0;
}

static inline int fix_teardown(void **state)
{
	struct fix *f = *state;

	egressctl_bpf__destroy(f->skel);
	free(f);
	return 0;
}

/* Run a built packet buf[0..len) once; the program's verdict (1 pass). */
static inline int fix_run_buf(int prog, uint8_t *buf, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o))
		fail_msg("test run of a %zu-byte packet: %s", len, strerror(errno));
	return o.retval & 1;
}

static inline int fix_run(int prog, const struct pktspec *s)
{
	uint8_t buf[512];

	return fix_run_buf(prog, buf, build_pkt(buf, sizeof(buf), s));
}

/* Add "<action> <dest> [<portspec>]" to p (dest may make two rules: any). */
static void add_rule(struct egr_policy *p, const char *action, const char *dest, const char *ps)
{
	struct egr_dest d[2];
	char err[256];
	int n, i;

	n = parse_dests(dest, d, err, sizeof(err));
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		struct egr_urule r = { .action = !strcmp(action, "allow") ? EGR_ALLOW : EGR_DENY,
				       .dest = d[i] };

		if (ps)
			assert_int_equal(parse_portspec(ps, &r.ps, err, sizeof(err)), 0);
		assert_int_equal(policy_add(p, &r), 0);
	}
}

static void apply_ks(struct egr_kstate *ks, const struct egr_policy *p)
{
	char err[256] = "";
	int ret = kpolicy_apply(ks, p, err, sizeof(err));

	if (ret)
		fail_msg("apply: %s", err);
}

/* The pools: nested prefixes, and destinations in and around them. */
static const char *const fix_v4[] = { "0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
				      "10.1.2.3", "10.1.2.128/25" };
static const char *const fix_v6[] = { "::/0", "2001:db8::/32", "2001:db8:1::/48",
				      "2001:db8:1:2::/64", "2001:db8:1:2::3" };
static const char *const fix_ps[] = { NULL,	 "tcp",	   "udp",    "icmp",
				      "tcp:80", "tcp:80-90", "udp:53", "tcp:85" };
static const char *const fix_d4[] = { "10.1.2.3", "10.1.2.4", "10.1.2.200",
				      "10.1.3.1", "10.2.0.1", "11.0.0.1" };
static const char *const fix_d6[] = { "2001:db8:1:2::3", "2001:db8:1:2::4", "2001:db8:1:3::1",
				      "2001:db8:2::1", "2001:db8:9::1" };
static const uint16_t fix_ports[] = { 53, 80, 85, 90, 91, 443 };
#define FIX_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A random policy of 1..12 rules from the pools, random default. */
static void fix_rand_policy(struct egr_policy *p)
{
	int k, nr = 1 + rand() % 12;

	memset(p, 0, sizeof(*p));
	p->dflt = rand() % 2;
	for (k = 0; k < nr; k++) {
		bool six = rand() % 2;

		add_rule(p, rand() % 2 ? "allow" : "deny",
			 six ? fix_v6[rand() % FIX_N(fix_v6)] : fix_v4[rand() % FIX_N(fix_v4)],
			 fix_ps[rand() % FIX_N(fix_ps)]);
	}
}

/* A random destination from the pools with the given protocol: t for the
 * evaluators (ICMP has no port), *dst its text.
 */
static void fix_rand_pkt(struct egr_tpkt *t, const char **dst, uint8_t proto)
{
	bool six = rand() % 2;

	memset(t, 0, sizeof(*t));
	t->family = six ? 6 : 4;
	*dst = six ? fix_d6[rand() % FIX_N(fix_d6)] : fix_d4[rand() % FIX_N(fix_d4)];
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		proto = six ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	t->proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		t->dport = fix_ports[rand() % FIX_N(fix_ports)];
	inet_pton(six ? AF_INET6 : AF_INET, *dst, t->dst);
}

#endif /* EGR_TEST_FIX_H */
