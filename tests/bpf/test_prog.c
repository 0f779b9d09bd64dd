// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The real BPF program under bpf_prog_test_run_opts() on crafted packets.
 * Policies go into its maps through the real loader code (kpolicy_apply,
 * kpolicy_add, kpolicy_remove), then each packet's verdict, the per-cgroup
 * counters and the per-rule hits are read back. Needs root.
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
#include "egressctl.skel.h"
#include "bpf/fix.h"
#include "bpf/pkt.h"
#include "kernel/kapply.h"
#include "kernel/kgen.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "lib/oracle.h"
#include "policy/compile.h"

#define CAP FIX_CAP

#define setup fix_setup
#define teardown fix_teardown

static void apply(struct fix *f, struct egr_policy *p)
{
	apply_ks(&f->ks, p);
}

static int run_buf(struct fix *f, uint8_t *buf, size_t len)
{
	return fix_run_buf(f->prog, buf, len);
}

/* Run one packet; returns the program's verdict (1 pass, 0 drop). */
static int run(struct fix *f, const struct pktspec *s)
{
	return fix_run(f->prog, s);
}

static uint64_t stat_pkts(struct fix *f, int k)
{
	struct egr_counter st[EGR_STAT_MAX];

	assert_int_equal(kstate_stats(&f->ks, st), 0);
	return st[k].packets;
}

static uint64_t stat_bytes(struct fix *f, int k)
{
	struct egr_counter st[EGR_STAT_MAX];

	assert_int_equal(kstate_stats(&f->ks, st), 0);
	return st[k].bytes;
}

#define V4(d, pr, port) ((struct pktspec){ .family = 4, .dst = d, .proto = pr, .dport = port })
#define V6(d, pr, port) ((struct pktspec){ .family = 6, .dst = d, .proto = pr, .dport = port })
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static void test_default_only(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };

	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.1.1", TCP, 80)), 0);
	assert_int_equal(run(f, &V6("2001:db8::1", UDP, 53)), 0);
	p.dflt = EGR_ALLOW;
	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.1.1", TCP, 80)), 1);
	assert_int_equal(run(f, &V6("2001:db8::1", UDP, 53)), 1);
}

/* The semantic table of the issue, on real packets. */
static void test_semantics(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	const struct {
		struct pktspec s;
		int want;
	} cases[] = {
		{ V4("198.18.0.7", TCP, 1), 1 },      /* allow /24 any */
		{ V4("198.18.1.7", TCP, 1), 0 },      /* outside: default */
		{ V4("192.168.100.2", UDP, 53), 1 },  /* /32 udp:53 inside deny /16 */
		{ V4("192.168.100.2", TCP, 53), 0 },  /* wrong proto: falls to /16 deny */
		{ V4("192.168.100.2", UDP, 54), 0 },  /* wrong port */
		{ V4("192.168.5.5", UDP, 53), 0 },    /* deny /16 */
		{ V4("10.1.1.1", TCP, 443), 1 },      /* allow /16 tcp:443 under deny /8 */
		{ V4("10.1.1.1", TCP, 80), 0 },	      /* /8 deny */
		{ V4("10.1.1.1", UDP, 443), 0 },      /* /8 deny */
		{ V4("10.2.1.1", TCP, 443), 0 },      /* /8 deny */
		{ V4("10.9.9.9", TCP, 22), 0 },	      /* tie: deny wins */
		{ V4("10.9.9.9", TCP, 23), 0 },	      /* /32 allow tcp:22 only; /8 deny */
		{ V4("172.16.0.1", TCP, 8000), 1 },   /* range lo */
		{ V4("172.16.0.1", TCP, 8999), 1 },   /* range hi */
		{ V4("172.16.0.1", TCP, 7999), 0 },   /* below */
		{ V4("172.16.0.1", TCP, 9000), 0 },   /* above */
		{ V4("172.16.0.1", IPPROTO_ICMP, 0), 1 }, /* icmp rule, v4 number */
		{ V6("2001:db8::5", TCP, 443), 1 },   /* v6 port rule */
		{ V6("2001:db8::5", TCP, 8500), 1 },
		{ V6("2001:db8::5", TCP, 80), 0 },
		{ V6("2001:db8:1::5", TCP, 80), 1 },  /* longer v6 any */
		{ V6("2001:db9::5", TCP, 443), 0 },   /* outside */
		{ V6("2001:db8::5", IPPROTO_ICMPV6, 0), 1 }, /* icmp = icmpv6 in v6 */
		{ V6("fd00::1", UDP, 53), 0 },	      /* v4-only rules don't open v6 */
	};
	size_t i;

	add_rule(&p, "allow", "198.18.0.0/24", NULL);
	add_rule(&p, "allow", "192.168.100.2", "udp:53");
	add_rule(&p, "deny", "192.168.0.0/16", NULL);
	add_rule(&p, "deny", "10.0.0.0/8", NULL);
	add_rule(&p, "allow", "10.1.0.0/16", "tcp:443");
	add_rule(&p, "allow", "10.9.9.9", "tcp:22");
	add_rule(&p, "deny", "10.9.9.9", "tcp:22");
	add_rule(&p, "allow", "172.16.0.0/12", "tcp:8000-8999");
	add_rule(&p, "allow", "172.16.0.0/12", "icmp");
	add_rule(&p, "allow", "2001:db8::/32", "tcp:443");
	add_rule(&p, "allow", "2001:db8::/32", "tcp:8000-8999");
	add_rule(&p, "allow", "2001:db8::/32", "icmp");
	add_rule(&p, "allow", "2001:db8:1::/48", NULL);
	apply(f, &p);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = run(f, &cases[i].s);

		if (got != cases[i].want)
			fail_msg("case %zu: %s proto %u port %u: got %d want %d", i, cases[i].s.dst,
				 cases[i].s.proto, cases[i].s.dport, got, cases[i].want);
	}
	policy_free(&p);
}

static void test_counters_exact(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_live_rule *lr;
	uint8_t buf[512];
	uint64_t a0, d0, b0;
	size_t n, i, plen;
	int k;

	add_rule(&p, "allow", "198.18.0.0/24", "udp:53");
	apply(f, &p);
	a0 = stat_pkts(f, EGR_STAT_ALLOWED);
	d0 = stat_pkts(f, EGR_STAT_DENIED);
	b0 = stat_bytes(f, EGR_STAT_ALLOWED);
	plen = build_pkt(buf, sizeof(buf), &V4("198.18.0.1", UDP, 53)) - 14;
	for (k = 0; k < 7; k++)
		assert_int_equal(run(f, &V4("198.18.0.1", UDP, 53)), 1);
	for (k = 0; k < 5; k++)
		assert_int_equal(run(f, &V4("198.18.0.1", UDP, 54)), 0);
	assert_int_equal(stat_pkts(f, EGR_STAT_ALLOWED) - a0, 7);
	assert_int_equal(stat_pkts(f, EGR_STAT_DENIED) - d0, 5);
	assert_int_equal(stat_bytes(f, EGR_STAT_ALLOWED) - b0, 7 * plen);
	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lr[0].hits, 7);
	free(lr);

	/* Re-applying the same rule keeps its id and counter. */
	add_rule(&p, "allow", "198.18.1.0/24", NULL);
	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.0.1", UDP, 53)), 1);
	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		if (lr[i].rule.dest.plen == 24 && lr[i].rule.ps.proto == EGR_UP_UDP)
			assert_int_equal(lr[i].hits, 8);
	free(lr);
	policy_free(&p);
}

/* Run one packet repeat times in one test run (one socket: the first run
 * judges it and fills the socket's verdict cache, the others reuse it).
 */
static int run_repeat(struct fix *f, const struct pktspec *s, int repeat)
{
	uint8_t buf[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = repeat);

	o.data_size_in = build_pkt(buf, sizeof(buf), s);
	if (bpf_prog_test_run_opts(f->prog, &o))
		fail_msg("test run: %s", strerror(errno));
	return o.retval & 1;
}

static uint64_t gen(struct fix *f)
{
	uint64_t g = 0;

	assert_int_equal(kgen_read(&f->ks, &g), 0);
	return g;
}

/* Cached verdicts count exactly like judged ones; every change bumps the
 * generation (+1 and the other slot for apply, +2 for the others).
 */
static void test_cache(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_urule r = { .action = EGR_DENY };
	struct egr_live_rule *lr;
	struct egr_dest d[2];
	char err[256];
	uint64_t g0, a0, d0, u0;
	size_t n;

	add_rule(&p, "allow", "198.18.0.0/24", "udp:53");
	g0 = gen(f);
	apply(f, &p);
	assert_int_equal(gen(f), g0 + 1);
	a0 = stat_pkts(f, EGR_STAT_ALLOWED);
	d0 = stat_pkts(f, EGR_STAT_DENIED);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 53), 100), 1);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 54), 60), 0);
	assert_int_equal(stat_pkts(f, EGR_STAT_ALLOWED) - a0, 100);
	assert_int_equal(stat_pkts(f, EGR_STAT_DENIED) - d0, 60);
	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(lr[0].hits, 100);
	free(lr);

	/* a live edit: +2, the same slot */
	assert_int_equal(parse_dests("198.18.0.1", d, err, sizeof(err)), 1);
	r.dest = d[0];
	assert_int_equal(kpolicy_add(&f->ks, &r, 1, err, sizeof(err)), 0);
	assert_int_equal(gen(f), g0 + 3);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 53), 10), 0);
	assert_int_equal(kpolicy_remove(&f->ks, &r, 1, err, sizeof(err)), 0);
	assert_int_equal(gen(f), g0 + 5);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 53), 10), 1);

	/* the default and audit: +2 */
	assert_int_equal(kpolicy_set_cfg(&f->ks, -1, 1), 0);
	assert_int_equal(gen(f), g0 + 7);
	u0 = stat_pkts(f, EGR_STAT_AUDIT);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 54), 40), 1);
	assert_int_equal(stat_pkts(f, EGR_STAT_AUDIT) - u0, 40);
	assert_int_equal(kpolicy_set_cfg(&f->ks, EGR_ALLOW, 0), 0);
	assert_int_equal(gen(f), g0 + 9);
	a0 = stat_pkts(f, EGR_STAT_ALLOWED);
	assert_int_equal(run_repeat(f, &V4("198.18.0.1", UDP, 54), 40), 1);
	assert_int_equal(stat_pkts(f, EGR_STAT_ALLOWED) - a0, 40);
	policy_free(&p);
}

/* Prefixes of length 0 live in every trie shard; others in one. */
static void test_shards(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_urule r = { .action = EGR_ALLOW };
	struct egr_dest d[2];
	char err[256];
	int i;

	apply(f, &p);
	/* live: "any" is 0.0.0.0/0 and ::/0 */
	assert_int_equal(parse_dests("any", d, err, sizeof(err)), 2);
	for (i = 0; i < 2; i++) {
		r.dest = d[i];
		assert_int_equal(kpolicy_add(&f->ks, &r, 1, err, sizeof(err)), 0);
	}
	assert_int_equal(run(f, &V4("10.1.2.3", UDP, 53)), 1);
	assert_int_equal(run(f, &V4("198.18.0.1", UDP, 53)), 1);
	assert_int_equal(run(f, &V6("2001:db8::1", UDP, 53)), 1);
	assert_int_equal(run(f, &V6("8000::1", UDP, 53)), 1);
	for (i = 0; i < 2; i++) {
		r.dest = d[i];
		assert_int_equal(kpolicy_remove(&f->ks, &r, 1, err, sizeof(err)), 0);
	}
	assert_int_equal(run(f, &V4("10.1.2.3", UDP, 53)), 0);
	assert_int_equal(run(f, &V4("198.18.0.1", UDP, 53)), 0);
	assert_int_equal(run(f, &V6("8000::1", UDP, 53)), 0);
	/* applied: a /1 in one shard, the /0 deny in both */
	add_rule(&p, "allow", "128.0.0.0/1", NULL);
	add_rule(&p, "deny", "0.0.0.0/0", "udp:53");
	p.dflt = EGR_ALLOW;
	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.0.1", UDP, 53)), 1); /* /1 wins */
	assert_int_equal(run(f, &V4("10.1.2.3", UDP, 53)), 0);	  /* /0 deny */
	assert_int_equal(run(f, &V4("10.1.2.3", UDP, 54)), 1);	  /* default */
	policy_free(&p);
}

static void test_live_edits(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY }, e = { 0 };
	char err[256];

	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 80)), 0);
	add_rule(&e, "allow", "198.18.3.0/24", "tcp:80");
	assert_int_equal(kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 80)), 1);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 81)), 0);
	/* adding it twice changes nothing */
	assert_int_equal(kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	assert_int_equal(f->ks.meta.nrules, 1);
	/* a deny on the same prefix and port wins the tie */
	e.rules[0].action = EGR_DENY;
	assert_int_equal(kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 80)), 0);
	/* remove takes both */
	assert_int_equal(kpolicy_remove(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	assert_int_equal(f->ks.meta.nrules, 0);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 80)), 0);
	assert_int_equal(kpolicy_remove(&f->ks, e.rules, e.n, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no such rule: 198.18.3.0/24 tcp:80"));
	/* defaults flip live */
	assert_int_equal(kpolicy_set_cfg(&f->ks, EGR_ALLOW, -1), 0);
	assert_int_equal(run(f, &V4("198.18.3.3", TCP, 80)), 1);
	assert_int_equal(kpolicy_set_cfg(&f->ks, EGR_DENY, -1), 0);
	policy_free(&e);
}

/* Many edits fill the live half with garbage; the edit that does not fit
 * becomes a rebuild and everything still holds.
 */
static void test_compaction(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY }, e = { 0 };
	char err[256], dst[32];
	int i;

	apply(f, &p);
	add_rule(&e, "allow", "198.18.4.0/24", "tcp:1");
	for (i = 1; i <= 3 * CAP; i++) {
		e.rules[0].ps.lo = e.rules[0].ps.hi = 1 + i % 20;
		if (kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)))
			fail_msg("add %d: %s", i, err);
		if (i % 20 == 0) {
			/* 20 rules on one prefix: remove them again */
			int j;

			for (j = 1; j <= 20; j++) {
				e.rules[0].ps.lo = e.rules[0].ps.hi = j;
				kpolicy_remove(&f->ks, e.rules, e.n, err, sizeof(err));
			}
		}
	}
	assert_true(f->ks.meta.used[0] + f->ks.meta.used[1] <= CAP);
	/* the last adds (i = 3061..3072) left ports 2..13 */
	for (i = 1; i <= 20; i++) {
		snprintf(dst, sizeof(dst), "198.18.4.%d", i);
		assert_int_equal(run(f, &V4(dst, TCP, i)), i >= 2 && i <= 13);
	}
	assert_int_equal(f->ks.meta.nrules, 12);
	policy_free(&e);
}

/* A change whose process died leaves egr_meta dirty and wrong: the next
 * change rebuilds it from the live slot, so ids stay unique.
 */
static void test_recover(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY }, e = { 0 };
	struct egr_live_rule *lr;
	char err[256];
	uint32_t k = 0;
	size_t n, i, j;

	add_rule(&p, "allow", "198.18.7.1", NULL);
	add_rule(&p, "allow", "198.18.7.2", NULL);
	add_rule(&p, "allow", "198.18.7.3", NULL);
	apply(f, &p);
	add_rule(&e, "allow", "198.18.7.2", NULL);
	assert_int_equal(kpolicy_remove(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	/* as if killed mid-change: counts and allocator state are garbage */
	f->ks.meta.dirty = 1;
	f->ks.meta.next_id = 0;
	f->ks.meta.nfree = 0;
	f->ks.meta.nrules = 99;
	f->ks.meta.nprefix[0] = 42;
	assert_int_equal(bpf_map_update_elem(f->ks.meta_fd, &k, &f->ks.meta, BPF_ANY), 0);
	policy_free(&e);
	add_rule(&e, "allow", "198.18.7.4", "udp");
	add_rule(&e, "allow", "198.18.7.5", NULL);
	assert_int_equal(kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)), 0);
	assert_int_equal(f->ks.meta.dirty, 0);
	assert_int_equal(f->ks.meta.nrules, 4);
	assert_int_equal(f->ks.meta.nprefix[0], 4);
	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_int_not_equal(lr[i].id, lr[j].id);
	free(lr);
	assert_int_equal(run(f, &V4("198.18.7.4", UDP, 9)), 1);
	assert_int_equal(run(f, &V4("198.18.7.2", UDP, 9)), 0);
	policy_free(&p);
	policy_free(&e);
}

static void test_capacity(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY }, e = { 0 };
	char err[256], d[32];
	int i;

	for (i = 0; i < CAP; i++) {
		snprintf(d, sizeof(d), "198.18.%d.%d", i / 256, i % 256);
		add_rule(&p, "allow", d, NULL);
	}
	apply(f, &p);
	add_rule(&e, "allow", "198.19.0.1", NULL);
	/* an instance without pins cannot grow (attached ones do: kgrow.c,
	 * tests/e2e/18_grow.sh)
	 */
	assert_int_equal(kpolicy_add(&f->ks, e.rules, e.n, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "policy too large"));
	assert_int_equal(run(f, &V4("198.19.0.1", TCP, 1)), 0);
	assert_int_equal(run(f, &V4("198.18.3.255", TCP, 1)), 1);
	add_rule(&p, "allow", "198.19.0.1", NULL);
	assert_int_equal(kpolicy_apply(&f->ks, &p, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "policy too large"));
	assert_int_equal(run(f, &V4("198.18.3.255", TCP, 1)), 1);
	policy_free(&p);
	policy_free(&e);
}

static void test_parsing_edges(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct pktspec s;
	uint8_t buf[512];
	uint64_t m0;
	size_t len;

	add_rule(&p, "allow", "198.18.5.0/24", "tcp:443");
	add_rule(&p, "deny", "198.18.6.0/24", "tcp:22");
	add_rule(&p, "allow", "198.18.6.0/24", NULL);
	add_rule(&p, "allow", "2001:db8:5::/48", "udp:53");
	add_rule(&p, "allow", "2001:db8:7::/48", NULL);
	apply(f, &p);

	/* loopback always passes, whatever the policy */
	assert_int_equal(run(f, &V4("127.0.0.1", TCP, 1)), 1);
	assert_int_equal(run(f, &V4("127.255.0.9", UDP, 1)), 1);
	assert_int_equal(run(f, &V6("::1", TCP, 1)), 1);
	/* ::ffff:a.b.c.d is judged by the IPv4 rules */
	assert_int_equal(run(f, &V6("::ffff:198.18.5.1", TCP, 443)), 1);
	assert_int_equal(run(f, &V6("::ffff:198.18.5.1", TCP, 80)), 0);
	assert_int_equal(run(f, &V6("::ffff:127.0.0.1", TCP, 80)), 1);

	/* IPv4 fragments: ports unknown, so port allow rules do not match */
	s = V4("198.18.5.1", TCP, 443);
	s.frag = 0x2000; /* MF, first fragment */
	assert_int_equal(run(f, &s), 0);
	s.frag = 0x0010; /* non-first fragment */
	assert_int_equal(run(f, &s), 0);
	/* ... but address-only allow rules do; a port deny rule catches it */
	s = V4("198.18.6.1", TCP, 80);
	s.frag = 0x0010;
	assert_int_equal(run(f, &s), 0);
	s = V4("198.18.6.1", UDP, 80);
	s.frag = 0x0010;
	assert_int_equal(run(f, &s), 1);
	/* RFC 1858 tiny TCP header */
	s = V4("198.18.5.1", TCP, 443);
	s.truncate = 20 + 8;
	assert_int_equal(run(f, &s), 0);

	/* IPv6 extension headers are walked */
	s = V6("2001:db8:5::1", UDP, 53);
	s.next6[0] = 256; /* hop-by-hop */
	s.next6[1] = IPPROTO_DSTOPTS;
	s.next6[2] = IPPROTO_ROUTING;
	assert_int_equal(run(f, &s), 1);
	s.dport = 54;
	assert_int_equal(run(f, &s), 0);
	/* a fragment header with offset: ports unknown */
	s = V6("2001:db8:5::1", UDP, 53);
	s.next6[0] = IPPROTO_FRAGMENT;
	s.frag = 0x0008;
	assert_int_equal(run(f, &s), 0);
	s = V6("2001:db8:7::1", UDP, 53);
	s.next6[0] = IPPROTO_FRAGMENT;
	s.frag = 0x0008;
	assert_int_equal(run(f, &s), 1); /* address-only allow */
	/* a chain past the walk bound: protocol unknown */
	s = V6("2001:db8:5::1", UDP, 53);
	for (int i = 0; i < 10; i++)
		s.next6[i] = IPPROTO_DSTOPTS;
	assert_int_equal(run(f, &s), 0);

	/* an IPv4 ethertype with a bad version nibble: dropped, counted as
	 * malformed (the test runner refuses packets shorter than a header)
	 */
	m0 = stat_pkts(f, EGR_STAT_MALFORMED);
	len = build_pkt(buf, sizeof(buf), &V4("198.18.6.1", UDP, 80));
	buf[14] = 0x55;
	assert_int_equal(run_buf(f, buf, len), 0);
	assert_int_equal(stat_pkts(f, EGR_STAT_MALFORMED) - m0, 1);
	policy_free(&p);
}

static void test_audit(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY, .audit = true };
	uint64_t a0, d0;

	apply(f, &p);
	a0 = stat_pkts(f, EGR_STAT_AUDIT);
	d0 = stat_pkts(f, EGR_STAT_DENIED);
	assert_int_equal(run(f, &V4("198.18.9.9", TCP, 1)), 1);
	assert_int_equal(run(f, &V4("198.18.9.9", TCP, 2)), 1);
	assert_int_equal(stat_pkts(f, EGR_STAT_AUDIT) - a0, 2);
	assert_int_equal(stat_pkts(f, EGR_STAT_DENIED) - d0, 0);
	assert_int_equal(kpolicy_set_cfg(&f->ks, -1, 0), 0);
	assert_int_equal(run(f, &V4("198.18.9.9", TCP, 1)), 0);
	assert_int_equal(stat_pkts(f, EGR_STAT_DENIED) - d0, 1);
}

/* Random policies and packets: the kernel's verdict equals the userspace
 * model of the same walk (compile_eval) and the plain reference.
 */
static void test_differential(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6,
					  47 };
	struct fix *f = *state;
	int round, k, checked = 0;

	srand(7);
	for (round = 0; round < 150; round++) {
		struct egr_policy p;
		struct egr_compiled c;
		char err[256];

		fix_rand_policy(&p);
		if (compile_policy(&p, &c, err, sizeof(err))) {
			policy_free(&p);
			continue;
		}
		apply(f, &p);
		for (k = 0; k < 40; k++) {
			struct egr_tpkt t;
			struct pktspec s;
			uint32_t rid;
			int want, ref, urule;

			fix_rand_pkt(&t, &s.dst, protos[rand() % 5]);
			s = (struct pktspec){ .family = t.family, .dst = s.dst, .proto = t.proto,
					      .dport = t.dport };
			want = compile_eval(&c, &t, &rid);
			ref = policy_eval_ref(&p, &t, &urule);
			assert_int_equal(want, ref);
			if (run(f, &s) != want)
				fail_msg("round %d: %s proto %u port %u: kernel %d, model %d", round,
					 s.dst, s.proto, s.dport, !want, want);
			checked++;
		}
		compiled_free(&c);
		policy_free(&p);
	}
	assert_true(checked > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parsing_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_differential, setup, teardown),
	};

	if (geteuid()) {
		fprintf(stderr, "test_prog: needs root (loads BPF programs)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("bpf_prog", tests, NULL, NULL);
}
