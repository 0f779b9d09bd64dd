// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * DNS answers: the reference parser (tests/lib/dnsref.c) on any bytes, and,
 * when the fuzzer runs as root, the kernel's parser (bpf/dns_parse.bpf.h, in
 * the test object tests/bpf/dns_parse.bpf.c, by bpf_prog_test_run_opts())
 * on the same bytes: both must find the same chain and addresses, or both
 * a malformed message. Invariants of the reference: a chain of 1 to
 * EGR_DNS_CHAIN distinct lowercase names of at most 253 characters,
 * addresses owned by a name of the chain, counts within their bounds.
 */
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fuzz.h"
#include "egressctl.h"
#include "dns_parse.bpf.h"
#include "dns_parse.skel.h"
#include "lib/dnsref.h"

#define RUN_MAX 3500

static struct dns_parse_bpf *skel;
static struct egr_dns_parse res;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	libbpf_set_print(NULL);
	if (geteuid() == 0)
		skel = dns_parse_bpf__open_and_load();
	fprintf(stderr, "fuzz_dns: %s\n",
		skel ? "comparing with the kernel's parser" : "reference parser only (not root)");
	return 0;
}

static void kernel_same(const uint8_t *m, size_t len, const struct dnsref *r)
{
	static uint8_t pkt[14 + 28 + RUN_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = 1);
	uint32_t z = 0, i;

	memset(pkt, 0, 14 + 28);
	pkt[12] = 0x08;
	pkt[14] = 0x45;
	pkt[14 + 2] = (28 + len) >> 8;
	pkt[14 + 3] = (28 + len) & 0xff;
	pkt[14 + 9] = 17;
	memcpy(pkt + 14 + 28, m, len);
	o.data_size_in = 14 + 28 + len;
	memset(&res, 0, sizeof(res));
	FUZZ_CHECK(!bpf_map_update_elem(bpf_map__fd(skel->maps.work), &z, &res, BPF_ANY), "map");
	FUZZ_CHECK(!bpf_prog_test_run_opts(bpf_program__fd(skel->progs.parse), &o), "test run");
	FUZZ_CHECK(o.retval == 1, "the program did not parse");
	FUZZ_CHECK(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.work), &z, &res), "map");
	FUZZ_CHECK((res.err == EGR_DP_MALFORMED) == !!r->malformed, "malformed: kernel %u ref %d",
		   res.err, r->malformed);
	if (r->malformed)
		return;
	FUZZ_CHECK(res.nchain == r->nchain && res.naddr == r->naddr && res.dropped == r->dropped &&
			   res.qtype == r->qtype && res.qclass == r->qclass,
		   "counts: kernel %u %u %u, ref %u %u %u", res.nchain, res.naddr, res.dropped,
		   r->nchain, r->naddr, r->dropped);
	for (i = 0; i < r->nchain; i++)
		FUZZ_CHECK(res.clen[i] == strlen(r->chain[i]) &&
				   !memcmp(res.chain[i], r->chain[i], EGR_NAME_KEY_MAX),
			   "chain name %u: '%s'", i, r->chain[i]);
	for (i = 0; i < r->naddr; i++)
		FUZZ_CHECK(res.addr[i].family == r->addr[i].family &&
				   res.addr[i].owner == r->addr[i].owner &&
				   res.addr[i].ttl == r->addr[i].ttl &&
				   !memcmp(res.addr[i].addr, r->addr[i].addr, 16),
			   "address %u", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsref r;
	uint32_t i, k;

	dnsref_parse(data, size, &r);
	if (!r.malformed) {
		FUZZ_CHECK(r.nchain >= 1 && r.nchain <= EGR_DNS_CHAIN, "nchain %u", r.nchain);
		FUZZ_CHECK(r.naddr <= EGR_DNS_ADDRS, "naddr %u", r.naddr);
		for (i = 0; i < r.nchain; i++) {
			const char *c = r.chain[i];

			FUZZ_CHECK(strlen(c) <= EGR_NAME_MAX, "chain %u too long", i);
			for (k = 0; c[k]; k++)
				FUZZ_CHECK(c[k] < 'A' || c[k] > 'Z', "chain %u not lowercase", i);
			for (k = 0; k < i; k++)
				FUZZ_CHECK(strcmp(c, r.chain[k]), "chain %u repeats %u", i, k);
		}
		for (i = 0; i < r.naddr; i++)
			FUZZ_CHECK(r.addr[i].owner < r.nchain &&
					   (r.addr[i].family == 4 || r.addr[i].family == 6),
				   "address %u", i);
	}
	if (skel && size >= 12 && size <= RUN_MAX)
		kernel_same(data, size, &r);
	return 0;
}
