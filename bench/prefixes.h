/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Deterministic random prefix sets for the benchmarks (bench/gen_policy.c
 * and bench/prog_ns.c draw the same sets from the same seed).
 *
 * A set of N prefixes is 3/4 IPv4 (/8../32, weighted like a routing table:
 * mostly /24 and /32) and 1/4 IPv6 (/32../128 in 2000::/3, mostly /48 and
 * /64), all distinct. None overlaps the bench's own address ranges
 * (198.18.0.0/15, 2001:db8::/32), so bench traffic matches only the rule
 * the harness adds for its receiver, and no filter can shortcut on an
 * early random match.
 */
#ifndef EGR_BENCH_PREFIXES_H
#define EGR_BENCH_PREFIXES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bpfx {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t addr[16]; /* network order, host bits clear */
};

static inline uint64_t bp_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline int bp_plen4(uint64_t *s)
{
	unsigned int r = bp_rand(s) % 1000;

	if (r < 10)
		return 8 + bp_rand(s) % 5; /* /8../12 */
	if (r < 100)
		return 13 + bp_rand(s) % 7; /* /13../19 */
	if (r < 250)
		return 20 + bp_rand(s) % 4; /* /20../23 */
	if (r < 700)
		return 24;
	if (r < 850)
		return 25 + bp_rand(s) % 7; /* /25../31 */
	return 32;
}

static inline int bp_plen6(uint64_t *s)
{
	unsigned int r = bp_rand(s) % 1000;

	if (r < 50)
		return 32;
	if (r < 150)
		return 33 + bp_rand(s) % 15; /* /33../47 */
	if (r < 500)
		return 48;
	if (r < 600)
		return 49 + bp_rand(s) % 15; /* /49../63 */
	if (r < 850)
		return 64;
	if (r < 900)
		return 65 + bp_rand(s) % 63; /* /65../127 */
	return 128;
}

static inline void bp_mask(uint8_t *a, int plen, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++) {
		int bits = plen - 8 * i;

		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

/* Does p overlap the bench ranges 198.18.0.0/15 or 2001:db8::/32? */
static inline int bp_reserved(const struct bpfx *p)
{
	static const uint8_t v4[4] = { 198, 18, 0, 0 }, v6[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint8_t a[16], b[16];
	int l, bytes = p->family == 4 ? 4 : 16;

	l = p->family == 4 ? (p->plen < 15 ? p->plen : 15) : (p->plen < 32 ? p->plen : 32);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memcpy(a, p->addr, bytes);
	memcpy(b, p->family == 4 ? v4 : v6, 4);
	bp_mask(a, l, bytes);
	bp_mask(b, l, bytes);
	return !memcmp(a, b, bytes);
}

static inline uint64_t bp_hash(const struct bpfx *p)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)p->family << 8 | p->plen);
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* n distinct prefixes (3/4 IPv4) from seed into out[n]. 0, or -1 (ENOMEM). */
static inline int bp_generate(size_t n, uint64_t seed, struct bpfx *out)
{
	size_t hcap = 16, i, n4 = n - n / 4;
	struct bpfx **tab;
	uint64_t s = seed;

	while (hcap < 2 * n)
		hcap <<= 1;
	tab = calloc(hcap, sizeof(*tab));
	if (!tab)
		return -1;
	for (i = 0; i < n;) {
		struct bpfx *p = &out[i];
		uint64_t r1 = bp_rand(&s), r2 = bp_rand(&s), h;

		memset(p, 0, sizeof(*p));
		if (i < n4) {
			p->family = 4;
			p->plen = bp_plen4(&s);
			memcpy(p->addr, &r1, 4);
			if (p->addr[0] == 0 || p->addr[0] >= 224 || p->addr[0] == 127)
				p->addr[0] = 1 + r2 % 223; /* unicast-looking */
			if (p->addr[0] == 127)
				p->addr[0] = 128;
			bp_mask(p->addr, p->plen, 4);
		} else {
			p->family = 6;
			p->plen = bp_plen6(&s);
			memcpy(p->addr, &r1, 8);
			memcpy(p->addr + 8, &r2, 8);
			p->addr[0] = 0x20 | (p->addr[0] & 0x1f); /* 2000::/3 */
			bp_mask(p->addr, p->plen, 16);
		}
		if (bp_reserved(p))
			continue;
		h = bp_hash(p) & (hcap - 1);
		while (tab[h] && memcmp(tab[h], p, sizeof(*p)))
			h = (h + 1) & (hcap - 1);
		if (tab[h])
			continue; /* duplicate: draw again */
		tab[h] = p;
		i++;
	}
	free(tab);
	return 0;
}

#endif /* EGR_BENCH_PREFIXES_H */
