// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * prog_ns: the real egress program under bpf_prog_test_run_opts(), ns per
 * packet against the number of prefixes in force.
 *
 *   prog_ns [-r REPS] [-R REPEAT] [-s SEED] N...
 *
 * For each N and each rule shape (ports=0: "allow PREFIX"; ports=1: "allow
 * PREFIX tcp:443 udp:53", two rules per prefix) one program instance with
 * its own maps is loaded (as tests/bpf/test_prog.c does) and filled through
 * kpolicy_apply() with N random prefixes (bench/prefixes.h, 3/4 IPv4) plus
 * the bench receiver (198.19.0.0/24, 2001:db8:ff::/48). All instances stay
 * loaded, so the configurations are measured interleaved: REPS rounds, each
 * running every configuration once. Packets (UDP, dport 53):
 *   v4_hit     198.19.0.1            one lookup, first rule matches
 *   v6_hit     2001:db8:ff::1        same, IPv6
 *   v4_miss    198.19.200.1          no prefix: the default (deny) decides
 *   v4_walk    198.19.0.1 dport 54   (ports=1 only) the /24's rules do not
 *                                    match: one more lookup, then default
 *   v4_rand1   512 destinations inside random policy prefixes, one run
 *              each (repeat=1: each lookup walks a different trie path)
 *   v4_hit1    v4_hit with repeat=1, the baseline for v4_rand1
 * Each runs on a second set of instances loaded with the verdict cache off
 * (packet names with "_nc"): with repeat, test runs reuse one socket, so
 * the cached instances answer all runs but the first from the cache.
 * Output (stdout): CSV "n,ports,packet,rep,ns". Lines starting with '#'
 * carry setup facts (apply time, verifier instruction count).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "egressctl.skel.h"
#include "prefixes.h"
#include "bpf/pkt.h"
#include "kernel/kapply.h"
#include "kernel/kstate.h"
#include "policy/addr.h"
#include "policy/compile.h"

#define NRAND 512
#define NVAR 4 /* per N: ports 0/1, verdict cache on/off */

struct inst {
	size_t n;
	int ports;
	int nocache; /* verdict cache off: every run judged in full */
	struct egressctl_bpf *skel;
	struct egr_kstate ks;
	int prog;
	uint8_t rand_pkt[NRAND][128];
	size_t rand_len[NRAND];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "prog_ns: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void add(struct egr_policy *p, const struct egr_dest *d, int ports)
{
	struct egr_urule r = { .action = EGR_ALLOW, .dest = *d };

	if (!ports) {
		if (policy_add(p, &r))
			die("policy", ENOMEM);
		return;
	}
	r.ps = (struct egr_portspec){ .proto = EGR_UP_TCP, .has_ports = true, .lo = 443, .hi = 443 };
	if (policy_add(p, &r))
		die("policy", ENOMEM);
	r.ps = (struct egr_portspec){ .proto = EGR_UP_UDP, .has_ports = true, .lo = 53, .hi = 53 };
	if (policy_add(p, &r))
		die("policy", ENOMEM);
}

static void load(struct inst *in, uint64_t seed)
{
	size_t nrules = in->n * (in->ports ? 2 : 1) + 8, i;
	struct egr_attach_opts o = { .dflt = EGR_DENY };
	struct egr_policy p = { .dflt = EGR_DENY };
	uint32_t cap = 1024;
	struct bpfx *px = calloc(in->n ? in->n : 1, sizeof(*px));
	struct egr_dest d;
	char err[256];
	uint64_t t0;

	while (cap < nrules)
		cap <<= 1;
	if (!px || bp_generate(in->n, seed, px))
		die("prefixes", ENOMEM);
	o.max_rules = cap;
	o.no_verdict_cache = in->nocache;
	if (kstate_load(&o, "/bench", 0, &in->skel, &in->ks, err, sizeof(err))) {
		fprintf(stderr, "prog_ns: load: %s\n", err);
		exit(1);
	}
	in->prog = bpf_program__fd(in->skel->progs.egr_egress);

	for (i = 0; i < in->n; i++) {
		memset(&d, 0, sizeof(d));
		d.family = px[i].family;
		d.plen = px[i].plen;
		memcpy(d.addr, px[i].addr, 16);
		add(&p, &d, in->ports);
	}
	if (parse_dest("198.19.0.0/24", &d, err, sizeof(err)) < 0)
		die("dest", EINVAL);
	add(&p, &d, in->ports);
	if (parse_dest("2001:db8:ff::/48", &d, err, sizeof(err)) < 0)
		die("dest", EINVAL);
	add(&p, &d, in->ports);
	t0 = now_ns();
	if (kpolicy_apply(&in->ks, &p, err, sizeof(err))) {
		fprintf(stderr, "prog_ns: apply: %s\n", err);
		exit(1);
	}
	printf("# n %zu ports %d%s rules %zu cap %u kpolicy_apply_ms %.1f\n", in->n, in->ports,
	       in->nocache ? " nocache" : "", p.n, cap, (now_ns() - t0) / 1e6);
	policy_free(&p);

	/* Random destinations inside random IPv4 prefixes of the policy. */
	for (i = 0; i < NRAND; i++) {
		uint64_t r = bp_rand(&seed);
		const struct bpfx *x = NULL;
		char a[64];
		uint8_t b[4];
		size_t j;

		for (j = 0; j < in->n && !x; j++) {
			const struct bpfx *c = &px[(r + j) % in->n];

			if (c->family == 4)
				x = c;
		}
		if (!x) { /* tiny N without IPv4: use the receiver */
			snprintf(a, sizeof(a), "198.19.0.1");
		} else {
			uint32_t host = (uint32_t)(bp_rand(&seed));
			uint32_t net;

			memcpy(&net, x->addr, 4);
			net = ntohl(net);
			if (x->plen < 32)
				net |= host & (0xffffffffu >> x->plen);
			net = htonl(net);
			memcpy(b, &net, 4);
			inet_ntop(AF_INET, b, a, sizeof(a));
		}
		in->rand_len[i] = build_pkt(in->rand_pkt[i], sizeof(in->rand_pkt[i]),
					    &(struct pktspec){ .family = 4, .dst = a,
							       .proto = IPPROTO_UDP, .dport = 53 });
	}
	free(px);
}

/* ns per run as the kernel measured it; the verdict must be want. */
static double run(struct inst *in, const uint8_t *buf, size_t len, int repeat, int want)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .repeat = repeat);

	if (bpf_prog_test_run_opts(in->prog, &o))
		die("test run", errno);
	if (want >= 0 && (int)(o.retval & 1) != want) {
		fprintf(stderr, "prog_ns: n %zu ports %d: verdict %u, want %d\n", in->n, in->ports,
			o.retval, want);
		exit(1);
	}
	return o.duration;
}

int main(int argc, char **argv)
{
	int reps = 5, repeat = 200000, c, nn = 0, r, i, j;
	uint64_t seed = 1;
	struct inst *ins;
	size_t ns[16];
	struct {
		const char *name;
		struct pktspec s;
		int want;
	} pk[] = {
		{ "v4_hit", { .family = 4, .dst = "198.19.0.1", .proto = IPPROTO_UDP, .dport = 53 }, 1 },
		{ "v6_hit", { .family = 6, .dst = "2001:db8:ff::1", .proto = IPPROTO_UDP, .dport = 53 }, 1 },
		{ "v4_miss", { .family = 4, .dst = "198.19.200.1", .proto = IPPROTO_UDP, .dport = 53 }, 0 },
		{ "v4_walk", { .family = 4, .dst = "198.19.0.1", .proto = IPPROTO_UDP, .dport = 54 }, 0 },
	};
	uint8_t buf[4][128];
	size_t len[4];

	while ((c = getopt(argc, argv, "r:R:s:")) != -1) {
		if (c == 'r')
			reps = atoi(optarg);
		else if (c == 'R')
			repeat = atoi(optarg);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	for (; optind < argc && nn < 16; optind++)
		ns[nn++] = strtoull(argv[optind], NULL, 10);
	if (!nn || reps < 1 || repeat < 1) {
		fprintf(stderr, "usage: prog_ns [-r REPS] [-R REPEAT] [-s SEED] N...\n");
		return 2;
	}
	libbpf_set_print(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ins = calloc(NVAR * nn, sizeof(*ins));
	if (!ins)
		die("alloc", ENOMEM);
	for (i = 0; i < 4; i++)
		len[i] = build_pkt(buf[i], sizeof(buf[i]), &pk[i].s);
	for (i = 0; i < NVAR * nn; i++) {
		ins[i].n = ns[i / NVAR];
		ins[i].ports = i % 2;
		ins[i].nocache = (i % NVAR) / 2;
		load(&ins[i], seed + ins[i].n);
	}
	{
		struct bpf_prog_info info;
		uint32_t il = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(ins[0].prog, &info, &il))
			printf("# verified_insns %u xlated_bytes %u jited_bytes %u\n",
			       info.verified_insns, info.xlated_prog_len, info.jited_prog_len);
	}
	printf("n,ports,packet,rep,ns\n");
	for (r = 0; r < reps; r++) {
		for (i = 0; i < NVAR * nn; i++) {
			struct inst *in = &ins[i];
			const char *sfx = in->nocache ? "_nc" : "";
			double sum = 0;

			for (j = 0; j < 4; j++) {
				if (j == 3 && !in->ports)
					continue;
				printf("%zu,%d,%s%s,%d,%.1f\n", in->n, in->ports, pk[j].name, sfx, r,
				       run(in, buf[j], len[j], repeat, pk[j].want));
			}
			if (in->nocache)
				continue; /* the repeat=1 runs are uncached anyway */
			for (j = 0; j < NRAND; j++)
				sum += run(in, in->rand_pkt[j], in->rand_len[j], 1, 1);
			printf("%zu,%d,v4_rand1,%d,%.1f\n", in->n, in->ports, r, sum / NRAND);
			sum = 0;
			for (j = 0; j < NRAND; j++)
				sum += run(in, buf[0], len[0], 1, 1);
			printf("%zu,%d,v4_hit1,%d,%.1f\n", in->n, in->ports, r, sum / NRAND);
		}
	}
	for (i = 0; i < NVAR * nn; i++)
		egressctl_bpf__destroy(ins[i].skel);
	free(ins);
	return 0;
}
