// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain (user/kernel/kexplain.c) against the kernel: for 10,000 random
 * (policy, packet) pairs, kexplain() on the maps in force and the egress
 * program run on the same packet (bpf_prog_test_run_opts()) agree on the
 * verdict and on the deciding rule (the one whose hit counter the run
 * moves, none for the default), and both agree with the reference model.
 * Plus the classes of `explain` without a port spec, loopback, inbound,
 * audit and ::ffff:a.b.c.d. Needs root.
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
#include "kernel/kexplain.h"
#include "kernel/kpolicy.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "lib/oracle.h"

#define setup fix_setup
#define teardown fix_teardown

static int run(struct fix *f, const struct pktspec *s)
{
	return fix_run(f->prog, s);
}

static uint64_t hits_of(struct fix *f, uint32_t id)
{
	uint64_t v[256] = { 0 }, sum = 0;
	int c;

	assert_true(f->ks.ncpus <= 256);
	assert_int_equal(bpf_map_lookup_elem(f->ks.hits_fd, &id, v), 0);
	for (c = 0; c < f->ks.ncpus; c++)
		sum += v[c];
	return sum;
}

static struct kx_pkt kx_of(const struct egr_tpkt *t)
{
	struct kx_pkt p = { .family = t->family, .proto = t->proto, .dport = t->dport };

	memcpy(p.dst, t->dst, 16);
	return p;
}

static void test_random(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, 47 };
	struct fix *f = *state;
	int round, k, pairs = 0, by_rule = 0;

	srand(1616);
	for (round = 0; pairs < 10000; round++) {
		struct egr_live_rule *lr;
		struct egr_policy p;
		size_t nl, i;

		fix_rand_policy(&p);
		p.audit = rand() % 8 == 0;
		apply_ks(&f->ks, &p);
		assert_int_equal(kpolicy_read(&f->ks, NULL, &lr, &nl), 0);
		for (k = 0; k < 40; k++, pairs++) {
			struct egr_tpkt t;
			struct kx_result r;
			struct kx_pkt q;
			struct pktspec s = { 0 };
			const char *dst;
			uint64_t before[64], after;
			int ref, urule, got, want;

			fix_rand_pkt(&t, &dst, protos[rand() % 4]);
			ref = policy_eval_ref(&p, &t, &urule);
			q = kx_of(&t);
			assert_int_equal(kexplain(&f->ks, &q, &r), 0);
			assert_int_equal(r.verdict, ref);
			assert_int_equal(r.audit, p.audit);
			assert_int_equal(r.reason, urule < 0 ? KX_DEFAULT : KX_RULE);
			if (urule >= 0 && !urule_equal(&r.rule, &p.rules[urule]))
				fail_msg("round %d %s proto %u port %u: explain names another rule "
					 "than the model",
					 round, dst, t.proto, t.dport);
			assert_true(nl <= 64);
			for (i = 0; i < nl; i++) {
				before[i] = hits_of(f, lr[i].id);
				if (r.reason == KX_RULE && lr[i].id == r.rule_id)
					assert_int_equal(r.hits, before[i]);
			}
			s.family = t.family;
			s.dst = dst;
			s.proto = t.proto;
			s.dport = t.dport;
			got = run(f, &s);
			want = r.verdict == EGR_ALLOW || r.audit;
			if (got != want)
				fail_msg("round %d %s proto %u port %u: kernel %d, explain %d", round,
					 dst, t.proto, t.dport, got, want);
			for (i = 0; i < nl; i++) {
				after = hits_of(f, lr[i].id);
				if (after - before[i] != (r.reason == KX_RULE && lr[i].id == r.rule_id))
					fail_msg("round %d %s proto %u port %u: the run credited rule "
						 "%u (+%llu), explain says %s %u",
						 round, dst, t.proto, t.dport, lr[i].id,
						 (unsigned long long)(after - before[i]),
						 r.reason == KX_RULE ? "rule" : "default", r.rule_id);
			}
			by_rule += r.reason == KX_RULE;
		}
		free(lr);
		policy_free(&p);
	}
	fprintf(stderr, "# explain: %d pairs over %d policies, %d decided by a rule\n", pairs,
		round, by_rule);
	assert_true(by_rule > 2000 && pairs - by_rule > 2000);
}

/* Loopback and inbound are always allowed; ::ffff:a.b.c.d is IPv4. */
static void test_special(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct kx_pkt q = { .family = 4, .proto = IPPROTO_TCP, .dport = 80 };
	struct kx_result r;

	add_rule(&p, "allow", "198.18.0.0/24", "tcp:80");
	apply_ks(&f->ks, &p);
	inet_pton(AF_INET, "127.0.0.9", q.dst);
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_LOOPBACK);
	assert_int_equal(r.verdict, EGR_ALLOW);
	q.family = 6;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", q.dst);
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_LOOPBACK);
	inet_pton(AF_INET6, "::ffff:198.18.0.5", q.dst);
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_RULE);
	assert_int_equal(r.rule.dest.family, 4);
	q.family = 4;
	inet_pton(AF_INET, "198.18.1.5", q.dst);
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_DEFAULT);
	assert_int_equal(r.verdict, EGR_DENY);
	q.inbound = true;
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_INBOUND);
	assert_int_equal(r.verdict, EGR_ALLOW);
	q.proto = IPPROTO_UDP; /* UDP has no connections */
	assert_int_equal(kexplain(&f->ks, &q, &r), 0);
	assert_int_equal(r.reason, KX_DEFAULT);
	policy_free(&p);
}

/* Without a port spec: classes per protocol and port ranges. */
static void test_classes(void **state)
{
	struct fix *f = *state;
	struct egr_policy p = { .dflt = EGR_DENY };
	struct kx_pkt q = { .family = 4 };
	struct kx_class *c;
	size_t n, i;

	add_rule(&p, "allow", "198.18.0.0/24", "tcp:443");
	add_rule(&p, "allow", "198.18.0.0/16", "tcp:8000-8999");
	add_rule(&p, "deny", "198.18.0.9", "tcp:8080");
	add_rule(&p, "allow", "198.18.0.0/15", "udp");
	apply_ks(&f->ks, &p);
	inet_pton(AF_INET, "198.18.0.9", q.dst);
	assert_int_equal(kexplain_all(&f->ks, &q, &c, &n), 0);
	/* tcp: 443 rule / 8000-8079,8081-8999 rule / 8080 deny / rest default;
	 * udp: rule; icmp: default; other: default
	 */
	assert_int_equal(n, 7);
	for (i = 0; i < n; i++) {
		char ps[32];
		const struct kx_class *x = &c[i];

		if (x->proto == IPPROTO_TCP && x->r.reason == KX_DEFAULT) {
			assert_int_equal(x->nports, 3);
			assert_int_equal(x->ports[0].lo, 1);
			assert_int_equal(x->ports[0].hi, 442);
			assert_int_equal(x->ports[1].lo, 444);
			assert_int_equal(x->ports[1].hi, 7999);
			assert_int_equal(x->ports[2].lo, 9000);
			assert_int_equal(x->ports[2].hi, 65535);
		} else if (x->proto == IPPROTO_TCP && x->r.verdict == EGR_DENY) {
			assert_int_equal(x->nports, 1);
			assert_int_equal(x->ports[0].lo, 8080);
			assert_int_equal(x->ports[0].hi, 8080);
		} else if (x->proto == IPPROTO_TCP) {
			format_portspec(&x->r.rule.ps, ps, sizeof(ps));
			if (!strcmp(ps, "tcp:443")) {
				assert_int_equal(x->nports, 1);
				assert_int_equal(x->ports[0].lo, 443);
			} else {
				assert_string_equal(ps, "tcp:8000-8999");
				assert_int_equal(x->nports, 2);
				assert_int_equal(x->ports[0].hi, 8079);
				assert_int_equal(x->ports[1].lo, 8081);
			}
		} else if (x->proto == IPPROTO_UDP) {
			assert_int_equal(x->r.reason, KX_RULE);
			assert_int_equal(x->nports, 1);
			assert_int_equal(x->ports[0].lo, 1);
			assert_int_equal(x->ports[0].hi, 65535);
		} else {
			assert_int_equal(x->r.reason, KX_DEFAULT);
			assert_int_equal(x->nports, 0);
		}
	}
	kexplain_free(c, n);
	policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_special, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	};

	if (geteuid()) {
		fprintf(stderr, "test_explain: needs root (loads BPF programs)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("bpf_explain", tests, NULL, NULL);
}
