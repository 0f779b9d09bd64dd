// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gen_policy: one random allowlist of N prefixes (bench/prefixes.h), written
 * in every input format the benchmark loads, so every configuration enforces
 * the same semantics: default deny, allow the N prefixes, plus an allow for
 * the receiver (TARGET4, TARGET6) placed last (the worst case for a linear
 * chain; the random prefixes never overlap the bench ranges).
 *
 *   gen_policy N SEED DIR [TARGET4 TARGET6]
 *
 * DIR/egr.yaml         egressctl apply -f
 * DIR/ipt4.rules       iptables-restore:  chain EGR, N4 rules, then DROP
 * DIR/ipt6.rules       ip6tables-restore: same for IPv6 (ICMPv6 first: ND)
 * DIR/ipset.restore    ipset restore: hash:net egr4 / egr6
 * DIR/ipset4.rules     iptables-restore: one --match-set rule, then DROP
 * DIR/ipset6.rules     ip6tables-restore: same for IPv6
 * DIR/nft.conf         nft -f: table inet egrbench, interval sets a4 / a6
 * DIR/counts           "N4 N6" (random prefixes per family)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "prefixes.h"

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "gen_policy: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static void close_out(FILE *f)
{
	if (fclose(f)) {
		perror("gen_policy: write");
		exit(1);
	}
}

static const char *fmt(const struct bpfx *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->plen);
	return buf;
}

int main(int argc, char **argv)
{
	const char *dir, *t4 = "198.19.0.0/24", *t6 = "2001:db8:ff::/48";
	size_t n, i, n4 = 0, n6 = 0;
	struct bpfx *p;
	uint64_t seed;
	char b[64];
	FILE *f;

	if (argc != 4 && argc != 6) {
		fprintf(stderr, "usage: gen_policy N SEED DIR [TARGET4 TARGET6]\n");
		return 2;
	}
	n = strtoull(argv[1], NULL, 10);
	seed = strtoull(argv[2], NULL, 0);
	dir = argv[3];
	if (argc == 6) {
		t4 = argv[4];
		t6 = argv[5];
	}
	mkdir(dir, 0755);
	p = calloc(n ? n : 1, sizeof(*p));
	if (!p || bp_generate(n, seed, p)) {
		fprintf(stderr, "gen_policy: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		p[i].family == 4 ? n4++ : n6++;

	f = open_out(dir, "egr.yaml");
	fprintf(f, "# %zu random prefixes (seed %s) + the bench receiver\ndefault: deny\nrules:\n",
		n, argv[2]);
	for (i = 0; i < n; i++)
		fprintf(f, "  - allow: %s\n", fmt(&p[i], b, sizeof(b)));
	fprintf(f, "  - allow: %s\n  - allow: %s\n", t4, t6);
	close_out(f);

	for (int v6 = 0; v6 < 2; v6++) {
		f = open_out(dir, v6 ? "ipt6.rules" : "ipt4.rules");
		fprintf(f, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
			   ":OUTPUT ACCEPT [0:0]\n:EGR - [0:0]\n-A OUTPUT -j EGR\n");
		if (v6)
			fprintf(f, "-A EGR -p ipv6-icmp -j ACCEPT\n");
		for (i = 0; i < n; i++)
			if ((p[i].family == 6) == v6)
				fprintf(f, "-A EGR -d %s -j ACCEPT\n", fmt(&p[i], b, sizeof(b)));
		fprintf(f, "-A EGR -d %s -j ACCEPT\n-A EGR -j DROP\nCOMMIT\n", v6 ? t6 : t4);
		close_out(f);

		f = open_out(dir, v6 ? "ipset6.rules" : "ipset4.rules");
		fprintf(f, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
			   ":OUTPUT ACCEPT [0:0]\n");
		if (v6)
			fprintf(f, "-A OUTPUT -p ipv6-icmp -j ACCEPT\n");
		fprintf(f, "-A OUTPUT -m set --match-set egr%d dst -j ACCEPT\n-A OUTPUT -j DROP\nCOMMIT\n",
			v6 ? 6 : 4);
		close_out(f);
	}

	f = open_out(dir, "ipset.restore");
	for (int v6 = 0; v6 < 2; v6++) {
		size_t m = v6 ? n6 : n4, hs = 1024;

		while (hs < m)
			hs <<= 1;
		fprintf(f, "create egr%d hash:net family inet%s hashsize %zu maxelem %zu\n",
			v6 ? 6 : 4, v6 ? "6" : "", hs, m + 65536);
		for (i = 0; i < n; i++)
			if ((p[i].family == 6) == v6)
				fprintf(f, "add egr%d %s\n", v6 ? 6 : 4, fmt(&p[i], b, sizeof(b)));
		fprintf(f, "add egr%d %s\n", v6 ? 6 : 4, v6 ? t6 : t4);
	}
	close_out(f);

	f = open_out(dir, "nft.conf");
	fprintf(f, "table inet egrbench {\n");
	for (int v6 = 0; v6 < 2; v6++) {
		fprintf(f, "\tset a%d {\n\t\ttype ipv%d_addr\n\t\tflags interval\n\t\tauto-merge\n"
			   "\t\telements = {\n",
			v6 ? 6 : 4, v6 ? 6 : 4);
		for (i = 0; i < n; i++)
			if ((p[i].family == 6) == v6)
				fprintf(f, "\t\t\t%s,\n", fmt(&p[i], b, sizeof(b)));
		fprintf(f, "\t\t\t%s\n\t\t}\n\t}\n", v6 ? t6 : t4);
	}
	fprintf(f, "\tchain out {\n\t\ttype filter hook output priority filter; policy drop;\n"
		   "\t\tip daddr @a4 accept\n\t\tmeta l4proto ipv6-icmp accept\n"
		   "\t\tip6 daddr @a6 accept\n\t}\n}\n");
	close_out(f);

	f = open_out(dir, "counts");
	fprintf(f, "%zu %zu\n", n4, n6);
	close_out(f);
	free(p);
	return 0;
}
