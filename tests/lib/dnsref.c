// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reference parser of DNS answers (see dnsref.h). */
#include <string.h>
#include "lib/dnsref.h"

#define HOPS_MAX 64

static uint16_t u16(const uint8_t *m, size_t off)
{
	return (uint16_t)(m[off] << 8 | m[off + 1]);
}

long dnsref_name(const uint8_t *m, size_t len, size_t off, char *out)
{
	size_t pos = off, min = off, olen = 0, end = 0, hops = 0, i;

	memset(out, 0, EGR_NAME_KEY_MAX);
	for (;;) {
		uint8_t b;

		if (pos >= len)
			return -1;
		b = m[pos];
		if (b == 0)
			return end ? (long)end : (long)pos + 1;
		if ((b & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= len)
				return -1;
			ptr = (size_t)(b & 0x3f) << 8 | m[pos + 1];
			if (!end)
				end = pos + 2;
			if (ptr >= min || ++hops > HOPS_MAX)
				return -1;
			min = pos = ptr;
			continue;
		}
		if (b & 0xc0)
			return -1;
		if (pos + 1 + b > len || olen + !!olen + b > EGR_NAME_MAX)
			return -1;
		if (olen)
			out[olen++] = '.';
		for (i = 0; i < b; i++) {
			char c = m[pos + 1 + i];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c == '.' || c == 0)
				return -1;
			out[olen++] = c;
		}
		pos += 1 + b;
	}
}

void dnsref_parse(const uint8_t *m, size_t len, struct dnsref *r)
{
	char owner[EGR_NAME_KEY_MAX];
	size_t pos;
	uint32_t an, i, k;
	long e;

	memset(r, 0, sizeof(*r));
	if (len < 12) {
		r->malformed = 1;
		return;
	}
	an = u16(m, 6);
	e = dnsref_name(m, len, 12, r->chain[0]);
	if (e < 0 || (size_t)e + 4 > len) {
		r->malformed = 1;
		return;
	}
	r->nchain = 1;
	r->qtype = u16(m, e);
	r->qclass = u16(m, e + 2);
	pos = e + 4;
	for (i = 0; i < an && i < EGR_DNS_RRS; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;
		size_t rdata;
		int own = -1;

		e = dnsref_name(m, len, pos, owner);
		if (e < 0 || (size_t)e + 10 > len)
			goto bad;
		type = u16(m, e);
		class = u16(m, e + 2);
		ttl = (uint32_t)u16(m, e + 4) << 16 | u16(m, e + 6);
		rdlen = u16(m, e + 8);
		rdata = e + 10;
		if (rdata + rdlen > len)
			goto bad;
		pos = rdata + rdlen;
		for (k = 0; k < r->nchain; k++)
			if (!strcmp(r->chain[k], owner))
				own = k;
		if (own < 0 || class != 1)
			continue;
		if (type == 5) {
			if (r->nchain >= EGR_DNS_CHAIN)
				continue;
			e = dnsref_name(m, len, rdata, r->chain[r->nchain]);
			if (e < 0 || (size_t)e > rdata + rdlen)
				goto bad;
			for (k = 0; k < r->nchain; k++)
				if (!strcmp(r->chain[k], r->chain[r->nchain]))
					break;
			if (k == r->nchain)
				r->nchain++; /* (a loop adds no name) */
			continue;
		}
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
			struct dnsref_addr *a;

			if (r->naddr >= EGR_DNS_ADDRS) {
				r->dropped++;
				continue;
			}
			a = &r->addr[r->naddr++];
			a->family = rdlen == 4 ? 4 : 6;
			a->owner = own;
			a->ttl = ttl;
			memcpy(a->addr, m + rdata, rdlen);
		}
	}
	return;
bad:
	r->malformed = 1;
}
