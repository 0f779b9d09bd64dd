/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reference parser of DNS answers (tests/lib/dnsref.c), for the tests
 * only: what bpf/dns_parse.bpf.h must find in a message, written as plain
 * C without the verifier's constraints. tests/unit/test_dnsref.c pins it
 * on crafted answers, tests/fuzz/fuzz_dns.c fuzzes it, and
 * tests/bpf/test_dns_parse.c runs the BPF parser on the same bytes
 * (crafted and mutated) and compares the two.
 *
 * The semantics (the same as egr_dns_answer()): the chain starts at the
 * question name; a CNAME of the answer section whose owner is in the
 * chain adds its target unless it is in the chain already (at most
 * EGR_DNS_CHAIN names); an A (4 bytes) or
 * AAAA (16 bytes) record of class IN whose owner is in the chain gives an
 * address with that owner's place (at most EGR_DNS_ADDRS, the rest
 * counted as dropped). At most EGR_DNS_RRS records are read. Names are
 * lowercased and dotted; a compression pointer must point before where
 * the name started or last jumped, at most 64 jumps; label types
 * 0x40/0x80, a '.' or NUL inside a label, or a name over 253 characters
 * make the message malformed, as does anything read past its end.
 */
#ifndef EGR_TESTS_DNSREF_H
#define EGR_TESTS_DNSREF_H

#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"

struct dnsref_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t owner;	/* place of the owner in the chain */
	uint32_t ttl;
	uint8_t addr[16];
};

struct dnsref {
	int malformed;
	uint32_t nchain, naddr, dropped;
	uint16_t qtype, qclass;
	char chain[EGR_DNS_CHAIN][EGR_NAME_KEY_MAX];
	struct dnsref_addr addr[EGR_DNS_ADDRS];
};

/* Parse the answer m[0, len) (its header's counts, not its flags). */
void dnsref_parse(const uint8_t *m, size_t len, struct dnsref *out);

/* Expand the name at off into out (EGR_NAME_KEY_MAX): the offset after it
 * in the message, or -1 for a bad name.
 */
long dnsref_name(const uint8_t *m, size_t len, size_t off, char *out);

#endif /* EGR_TESTS_DNSREF_H */
