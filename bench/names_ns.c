// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * names_ns: the real egress program under bpf_prog_test_run_opts(), ns per
 * packet to addresses that name rules learned, against an address-only
 * policy allowing the same addresses (issue 15's third benchmark).
 *
 *   names_ns [-r REPS] [-R REPEAT] [-n NAMES] [-a ADDRS]
 *
 * Two program instances, both with the verdict cache off (every run judged
 * in full):
 *   names  NAMES name rules (n<i>.bench.test tcp:443) and ADDRS learned
 *          addresses, address i held by rule i % NAMES (written into
 *          egr_learn as the ingress program writes them, TTL one hour)
 *   addr   ADDRS address rules "allow <address i>/32 tcp:443", the same
 *          addresses, and nothing else
 * Packets (TCP SYN, dport 443), to the same destinations in both:
 *   one     the first address, REPEAT times in one test run
 *   rand1   512 of the addresses, spread over the set, one run each
 * Configurations are measured interleaved: REPS rounds, each running both.
 * Output (stdout): CSV "config,packet,rep,ns"; '#' lines: setup facts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "bpf/pkt.h"
#include "kernel/kapply.h"
#include "kernel/kgen.h"
#include "kernel/kmap.h"
#include "kernel/knames.h"
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "policy/name.h"

#define NRAND 512

struct inst {
	const char *name;
	struct egressctl_bpf *skel;
	struct egr_kstate ks;
	int prog;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "names_ns: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Address i: 198.18.0.0/15 and beyond it in order (map contents only:
 * nothing is sent anywhere, the packets exist only in test runs).
 */
static void addr_of(uint32_t i, uint8_t a[4])
{
	uint32_t v = htonl((198u << 24 | 18u << 16) + i + 1);

	memcpy(a, &v, 4);
}

static void load(struct inst *in, uint32_t cap, uint32_t learned)
{
	struct egr_attach_opts o = { .dflt = EGR_DENY, .max_rules = cap, .max_learned = learned,
				     .no_verdict_cache = true };
	char err[256];

	if (kstate_load(&o, "/bench", 0, &in->skel, &in->ks, err, sizeof(err))) {
		fprintf(stderr, "names_ns: load: %s\n", err);
		exit(1);
	}
	in->prog = bpf_program__fd(in->skel->progs.egr_egress);
}

static void apply(struct inst *in, struct egr_policy *p)
{
	char err[256];
	uint64_t t0 = now_ns();

	if (kpolicy_apply(&in->ks, p, err, sizeof(err))) {
		fprintf(stderr, "names_ns: apply: %s\n", err);
		exit(1);
	}
	printf("# %s rules %zu apply_ms %.1f\n", in->name, p->n, (now_ns() - t0) / 1e6);
}

static void add(struct egr_policy *p, const char *dest)
{
	struct egr_urule r = { .action = EGR_ALLOW };
	char err[512];

	if (parse_dest_or_name(dest, &r.dest, err, sizeof(err)) ||
	    parse_portspec("tcp:443", &r.ps, err, sizeof(err)) || policy_add(p, &r))
		die(dest, EINVAL);
}

/* The names instance: its rules, then the learned addresses. */
static void fill_names(struct inst *in, uint32_t names, uint32_t addrs)
{
	struct egr_policy p = { .dflt = EGR_DENY };
	struct egr_live_rule *lr;
	struct egr_learn_key *k = calloc(addrs, sizeof(*k));
	struct egr_learned *v = calloc(addrs, sizeof(*v));
	uint32_t *id = calloc(names, sizeof(*id)), *inc = calloc(names, sizeof(*inc)), i;
	uint64_t exp = klearn_now() + 3600ull * 1000000000ull, t0;
	struct egr_ctl cfg;
	char name[64];
	size_t n, j;

	if (!k || !v || !id || !inc)
		die("alloc", ENOMEM);
	for (i = 0; i < names; i++) {
		snprintf(name, sizeof(name), "n%u.bench.test", i);
		add(&p, name);
	}
	apply(in, &p);
	if (kpolicy_read(&in->ks, NULL, &lr, &n) || kgen_slot_cfg(&in->ks, &cfg))
		die("read back", EIO);
	for (j = 0; j < n; j++) {
		uint32_t x = strtoul(dest_name(&lr[j].rule.dest) + 1, NULL, 10);

		id[x] = lr[j].id;
		if (knlive_get(&in->ks, cfg.slot, lr[j].id, &inc[x]))
			die("incarnation", EIO);
	}
	free(lr);
	for (i = 0; i < addrs; i++) {
		k[i].family = 4;
		addr_of(i, k[i].addr);
		v[i].ref[0] = (struct egr_lref){ .id = id[i % names], .inc = inc[i % names],
						 .expires = exp, .port_lo = 443, .port_hi = 443,
						 .proto = IPPROTO_TCP, .flags = EGR_RF_PORTS };
	}
	t0 = now_ns();
	if (kmap_update_many(in->ks.learn_fd, k, v, addrs, sizeof(*k), sizeof(*v)))
		die("learned addresses", EIO);
	printf("# names learned %u seed_ms %.1f\n", addrs, (now_ns() - t0) / 1e6);
	policy_free(&p);
	free(k);
	free(v);
	free(id);
	free(inc);
}

static void fill_addrs(struct inst *in, uint32_t addrs)
{
	struct egr_policy p = { .dflt = EGR_DENY };
	char a[INET_ADDRSTRLEN];
	uint8_t b[4];
	uint32_t i;

	for (i = 0; i < addrs; i++) {
		addr_of(i, b);
		add(&p, inet_ntop(AF_INET, b, a, sizeof(a)));
	}
	apply(in, &p);
	policy_free(&p);
}

static double run(struct inst *in, const uint8_t *buf, size_t len, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .repeat = repeat);

	if (bpf_prog_test_run_opts(in->prog, &o))
		die("test run", errno);
	if ((o.retval & 1) != 1) {
		fprintf(stderr, "names_ns: %s: a packet was denied\n", in->name);
		exit(1);
	}
	return o.duration;
}

int main(int argc, char **argv)
{
	int reps = 5, repeat = 200000, c, r, j, x;
	uint32_t names = 10000, addrs = 100000, cap = 1024, lcap = 1024, i;
	static uint8_t pkt[NRAND + 1][128];
	size_t len[NRAND + 1];
	struct inst in[2] = { { .name = "names" }, { .name = "addr" } };
	char a[INET_ADDRSTRLEN];
	uint8_t b[4];

	while ((c = getopt(argc, argv, "r:R:n:a:")) != -1) {
		if (c == 'r')
			reps = atoi(optarg);
		else if (c == 'R')
			repeat = atoi(optarg);
		else if (c == 'n')
			names = strtoul(optarg, NULL, 10);
		else if (c == 'a')
			addrs = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (reps < 1 || repeat < 1 || !names || addrs < names) {
		fprintf(stderr, "usage: names_ns [-r REPS] [-R REPEAT] [-n NAMES] [-a ADDRS]\n");
		return 2;
	}
	libbpf_set_print(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (cap < addrs + 8)
		cap <<= 1;
	while (lcap < addrs)
		lcap <<= 1;
	load(&in[0], cap, lcap);
	fill_names(&in[0], names, addrs);
	load(&in[1], cap, EGR_MIN_MAX_LEARNED);
	fill_addrs(&in[1], addrs);
	for (j = 0; j <= NRAND; j++) {
		i = j == NRAND ? 0 : (uint32_t)((uint64_t)j * addrs / NRAND + j % 7) % addrs;
		addr_of(i, b);
		len[j] = build_pkt(pkt[j], sizeof(pkt[j]),
				   &(struct pktspec){ .family = 4,
						      .dst = inet_ntop(AF_INET, b, a, sizeof(a)),
						      .proto = IPPROTO_TCP,
						      .dport = 443 });
	}
	printf("config,packet,rep,ns\n");
	for (r = 0; r < reps; r++) {
		for (x = 0; x < 2; x++) {
			double sum = 0;

			printf("%s,one,%d,%.1f\n", in[x].name, r,
			       run(&in[x], pkt[NRAND], len[NRAND], repeat));
			for (j = 0; j < NRAND; j++)
				sum += run(&in[x], pkt[j], len[j], 1);
			printf("%s,rand1,%d,%.1f\n", in[x].name, r, sum / NRAND);
		}
	}
	egressctl_bpf__destroy(in[0].skel);
	egressctl_bpf__destroy(in[1].skel);
	return 0;
}
