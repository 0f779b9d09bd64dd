// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Name rules in the real program's maps: apply and live edits write the
 * name trie, the incarnations and the slot flag as include/egressctl.h
 * says; the judge consults learned addresses just above a default deny
 * (seeded into egr_learn here; learning from real answers is the e2e
 * tier's, and parsing them the dns_parse test's). Needs root.
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
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "bpf/pkt.h"
#include "kernel/kapply.h"
#include "kernel/kgen.h"
#include "kernel/knames.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "policy/name.h"

#define CAP 256

struct fix {
	struct egressctl_bpf *skel;
	struct egr_kstate ks;
	int prog;
};

static int setup(void **state)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY, .max_rules = CAP, .max_learned = 64 };
	struct fix *f = calloc(1, sizeof(*f));
	char err[256] = "";
	int ret;

	assert_non_null(f);
	ret = kstate_load(&o, "/bpf-test", 0, &f->skel, &f->ks, err, sizeof(err));
	if (ret)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(ret, 0);
	f->prog = bpf_program__fd(f->skel->progs.egr_egress);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	egressctl_bpf__destroy(f->skel);
	free(f);
	return 0;
}

static void rule(struct egr_policy *p, int action, const char *dest, const char *ps)
{
	struct egr_urule r = { .action = action };
	char err[512];

	assert_int_equal(parse_dest_or_name(dest, &r.dest, err, sizeof(err)), 0);
	if (ps)
		assert_int_equal(parse_portspec(ps, &r.ps, err, sizeof(err)), 0);
	assert_int_equal(policy_add(p, &r), 0);
}

static void apply(struct fix *f, struct egr_policy *p)
{
	char err[256] = "";

	if (kpolicy_apply(&f->ks, p, err, sizeof(err)))
		fail_msg("apply: %s", err);
}

static void edit(struct fix *f, bool add, const char *dest, const char *ps)
{
	struct egr_policy p = { 0 };
	char err[256] = "";
	int ret;

	rule(&p, EGR_ALLOW, dest, ps);
	ret = add ? kpolicy_add(&f->ks, p.rules, p.n, err, sizeof(err)) :
		    kpolicy_remove(&f->ks, p.rules, p.n, err, sizeof(err));
	if (ret)
		fail_msg("%s %s: %s", add ? "add" : "remove", dest, err);
	policy_free(&p);
}

static uint32_t live_slot(struct fix *f)
{
	struct egr_ctl cfg;

	assert_int_equal(kgen_slot_cfg(&f->ks, &cfg), 0);
	return cfg.slot;
}

static uint32_t slot_flags(struct fix *f)
{
	struct egr_ctl cfg;

	assert_int_equal(kgen_slot_cfg(&f->ks, &cfg), 0);
	return cfg.flags;
}

/* The id of the live rule with that destination and port spec, or -1. */
static long rule_id(struct fix *f, const char *dest, const char *ps)
{
	struct egr_live_rule *lr;
	char d[EGR_DEST_STRLEN], p[32];
	size_t n, i;
	long id = -1;

	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	for (i = 0; i < n; i++)
		if (!strcmp(format_dest(&lr[i].rule.dest, d, sizeof(d)), dest) &&
		    !strcmp(format_portspec(&lr[i].rule.ps, p, sizeof(p)), ps))
			id = lr[i].id;
	free(lr);
	return id;
}

static uint32_t inc_of(struct fix *f, uint32_t slot, uint32_t id)
{
	uint32_t inc;

	assert_int_equal(knlive_get(&f->ks, slot, id, &inc), 0);
	return inc;
}

static size_t names_in(struct fix *f, uint32_t slot)
{
	struct kname_ent *e;
	size_t n;

	assert_int_equal(knames_read(&f->ks, slot, &e, &n), 0);
	free(e);
	return n;
}

/* apply: names in the new slot only, incarnations kept for rules that
 * stay, fresh for new ones, gone from the old slot; the flag follows.
 */
static void test_apply(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	uint32_t s, inc_a, inc_w;
	long a, w, b;

	rule(&p, EGR_ALLOW, "api.example.com", "tcp:443");
	rule(&p, EGR_ALLOW, "*.example.com", NULL);
	rule(&p, EGR_ALLOW, "198.18.0.0/24", NULL);
	apply(f, &p);
	s = live_slot(f);
	assert_true(slot_flags(f) & EGR_SF_NAMES);
	assert_int_equal(names_in(f, s), 2);
	assert_int_equal(names_in(f, !s), 0);
	assert_int_equal(f->ks.meta.nnames, 2);
	a = rule_id(f, "api.example.com", "tcp:443");
	w = rule_id(f, "*.example.com", "any");
	assert_true(a >= 0 && w >= 0);
	inc_a = inc_of(f, s, a);
	inc_w = inc_of(f, s, w);
	assert_true(inc_a && inc_w && inc_a != inc_w);

	/* the same names again, one more: kept ids keep their incarnation */
	rule(&p, EGR_ALLOW, "b.example.org", "udp:53");
	apply(f, &p);
	assert_int_equal(live_slot(f), !s);
	s = !s;
	assert_int_equal(names_in(f, s), 3);
	assert_int_equal(names_in(f, !s), 0);
	assert_int_equal(rule_id(f, "api.example.com", "tcp:443"), a);
	assert_int_equal(inc_of(f, s, a), inc_a);
	assert_int_equal(inc_of(f, s, w), inc_w);
	assert_int_equal(inc_of(f, !s, a), 0);
	b = rule_id(f, "b.example.org", "udp:53");
	assert_true(inc_of(f, s, b) > inc_w && inc_of(f, s, b) > inc_a);

	/* no names left: flag off, the names gone */
	policy_free(&p);
	p = (struct egr_policy){ .dflt = EGR_DENY };
	rule(&p, EGR_ALLOW, "198.18.0.0/24", NULL);
	apply(f, &p);
	s = live_slot(f);
	assert_false(slot_flags(f) & EGR_SF_NAMES);
	assert_int_equal(names_in(f, 0) + names_in(f, 1), 0);
	assert_int_equal(inc_of(f, !s, a) + inc_of(f, !s, w) + inc_of(f, !s, b), 0);
	policy_free(&p);
}

/* Live edits: the entry, a fresh incarnation, out of force on remove. */
static void test_live_edits(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_policy back;
	struct egr_live_rule *lr;
	uint32_t s, inc1;
	size_t n;
	long id, id2;

	apply(f, &p);
	s = live_slot(f);
	assert_false(slot_flags(f) & EGR_SF_NAMES);
	edit(f, true, "Api.Example.com", "tcp:443");
	assert_true(slot_flags(f) & EGR_SF_NAMES);
	id = rule_id(f, "api.example.com", "tcp:443");
	assert_true(id >= 0);
	inc1 = inc_of(f, s, id);
	assert_true(inc1 > 0);
	edit(f, true, "api.example.com", "tcp:443"); /* already in force: no-op */
	assert_int_equal(inc_of(f, s, id), inc1);
	edit(f, true, "api.example.com", "udp:443");
	id2 = rule_id(f, "api.example.com", "udp:443");
	assert_true(inc_of(f, s, id2) > inc1);
	assert_int_equal(names_in(f, s), 1);
	edit(f, false, "api.example.com", "tcp:443");
	assert_int_equal(inc_of(f, s, id), 0);
	assert_int_equal(names_in(f, s), 1);
	edit(f, false, "api.example.com", "udp:443");
	assert_int_equal(names_in(f, s), 0);
	assert_false(slot_flags(f) & EGR_SF_NAMES);
	/* read back as a policy, with the dns settings */
	edit(f, true, "*.example.net", NULL);
	assert_int_equal(kpolicy_read(&f->ks, &back, &lr, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(dest_name(&back.rules[0].dest), "*.example.net");
	assert_int_equal(back.min_ttl, EGR_DEFAULT_MIN_TTL);
	free(lr);
	policy_free(&back);
	policy_free(&p);
}

/* A change interrupted: the bookkeeping comes back from the kernel, and
 * what an apply left in the other slot's names goes.
 */
static void test_recover(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_lpm_name key;
	struct egr_dest d;
	struct egr_prefix pv = { .first = 0, .count = 1 };
	char err[256];
	uint32_t s;

	rule(&p, EGR_ALLOW, "a.example.com", NULL);
	rule(&p, EGR_ALLOW, "b.example.com", NULL);
	apply(f, &p);
	s = live_slot(f);
	/* debris of an apply killed before its flip */
	assert_int_equal(parse_dest_or_name("junk.example.com", &d, err, sizeof(err)), 0);
	knames_key(!s, &d, &key);
	pv.plen = key.prefixlen / 8;
	assert_int_equal(bpf_map_update_elem(f->ks.names_fd, &key, &pv, BPF_ANY), 0);
	assert_int_equal(knlive_set(&f->ks, !s, 7, 12345), 0);
	f->ks.meta.nnames = 0;
	f->ks.meta.dirty = 1;
	assert_int_equal(kpolicy_recover(&f->ks), 0);
	assert_int_equal(f->ks.meta.nnames, 2);
	assert_int_equal(names_in(f, !s), 0);
	assert_int_equal(inc_of(f, !s, 7), 0);
	policy_free(&p);
}

/* --- the judge: learned addresses (seeded here) --- */

static int run(struct fix *f, const struct pktspec *ps)
{
	uint8_t buf[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .repeat = 1);

	o.data_size_in = build_pkt(buf, sizeof(buf), ps);
	if (bpf_prog_test_run_opts(f->prog, &o))
		fail_msg("test run: %s", strerror(errno));
	return o.retval & 1;
}

/* addr learned for rule id (its live incarnation) with proto/ports, for
 * ttl seconds from now (negative: expired).
 */
static void learn(struct fix *f, const char *addr, long id, int proto, int port, long ttl)
{
	struct egr_learn_key k = { 0 };
	struct egr_learned v;
	uint64_t now = klearn_now();

	memset(&v, 0, sizeof(v));
	k.family = strchr(addr, ':') ? 6 : 4;
	assert_int_equal(inet_pton(k.family == 4 ? AF_INET : AF_INET6, addr, k.addr), 1);
	v.ref[2].id = id;
	v.ref[2].inc = inc_of(f, live_slot(f), id);
	v.ref[2].expires = ttl >= 0 ? now + ttl * 1000000000ull : now - 1000000000ull;
	v.ref[2].proto = proto;
	if (port) {
		v.ref[2].flags = EGR_RF_PORTS;
		v.ref[2].port_lo = v.ref[2].port_hi = port;
	}
	assert_int_equal(bpf_map_update_elem(f->ks.learn_fd, &k, &v, BPF_ANY), 0);
}

static uint64_t hits_of(struct fix *f, long id)
{
	struct egr_live_rule *lr;
	uint64_t h = 0;
	size_t n, i;

	assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &n), 0);
	for (i = 0; i < n; i++)
		if (lr[i].id == id)
			h = lr[i].hits;
	free(lr);
	return h;
}

#define V4(d, pr, port) ((struct pktspec){ .family = 4, .dst = d, .proto = pr, .dport = port })
#define V6(d, pr, port) ((struct pktspec){ .family = 6, .dst = d, .proto = pr, .dport = port })

static void test_judge(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	long a, any;

	rule(&p, EGR_ALLOW, "api.example.com", "tcp:443");
	rule(&p, EGR_ALLOW, "ping.example.com", "icmp");
	rule(&p, EGR_DENY, "10.0.0.0/8", NULL);
	rule(&p, EGR_DENY, "198.18.66.0/24", NULL);
	apply(f, &p);
	a = rule_id(f, "api.example.com", "tcp:443");
	any = rule_id(f, "ping.example.com", "icmp");
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 443)), 0); /* not learned yet */
	learn(f, "198.18.5.5", a, IPPROTO_TCP, 443, 60);
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 443)), 1);
	assert_int_equal(hits_of(f, a), 1);
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 80)), 0);  /* the rule's port */
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_UDP, 443)), 0); /* and protocol */
	assert_int_equal(run(f, &V4("198.18.5.6", IPPROTO_TCP, 443)), 0); /* another address */
	/* DNS rebinding: a deny rule covering the address wins */
	learn(f, "10.1.2.3", a, IPPROTO_TCP, 443, 60);
	assert_int_equal(run(f, &V4("10.1.2.3", IPPROTO_TCP, 443)), 0);
	learn(f, "198.18.66.7", a, IPPROTO_TCP, 443, 60);
	assert_int_equal(run(f, &V4("198.18.66.7", IPPROTO_TCP, 443)), 0);
	/* expired */
	learn(f, "198.18.5.7", a, IPPROTO_TCP, 443, -1);
	assert_int_equal(run(f, &V4("198.18.5.7", IPPROTO_TCP, 443)), 0);
	/* IPv6, ICMPv6 for an icmp rule */
	learn(f, "2001:db8::7", any, IPPROTO_ICMPV6, 0, 60);
	assert_int_equal(run(f, &V6("2001:db8::7", IPPROTO_ICMPV6, 0)), 1);
	assert_int_equal(run(f, &V6("2001:db8::7", IPPROTO_TCP, 443)), 0);
	/* the rule removed: what it learned no longer counts */
	edit(f, false, "api.example.com", "tcp:443");
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 443)), 0);
	/* added again: a new incarnation, the old address still not allowed */
	edit(f, true, "api.example.com", "tcp:443");
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 443)), 0);
	policy_free(&p);
}

/* Learned addresses only matter under a default deny; in audit mode a
 * learned address is allowed, not audited.
 */
static void test_judge_default(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY, .audit = true };
	struct egr_counter st[EGR_STAT_MAX];
	long a;

	rule(&p, EGR_ALLOW, "api.example.com", "tcp:443");
	apply(f, &p);
	a = rule_id(f, "api.example.com", "tcp:443");
	learn(f, "198.18.5.5", a, IPPROTO_TCP, 443, 60);
	assert_int_equal(kstate_stats(&f->ks, st), 0);
	assert_int_equal(run(f, &V4("198.18.5.5", IPPROTO_TCP, 443)), 1);
	assert_int_equal(run(f, &V4("198.18.5.6", IPPROTO_TCP, 443)), 1); /* audit */
	{
		struct egr_counter st2[EGR_STAT_MAX];

		assert_int_equal(kstate_stats(&f->ks, st2), 0);
		assert_int_equal(st2[EGR_STAT_ALLOWED].packets - st[EGR_STAT_ALLOWED].packets, 1);
		assert_int_equal(st2[EGR_STAT_AUDIT].packets - st[EGR_STAT_AUDIT].packets, 1);
	}
	p.audit = false;
	p.dflt = EGR_ALLOW;
	apply(f, &p);
	assert_int_equal(run(f, &V4("198.18.5.6", IPPROTO_TCP, 80)), 1);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_judge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_judge_default, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "bpf tests need root\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
