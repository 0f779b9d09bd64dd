/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building DNS messages for the tests (header only): names with or without
 * compression, records of any type, the header's counts kept up to date.
 */
#ifndef EGR_TESTS_DNSMSG_H
#define EGR_TESTS_DNSMSG_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct dnsmsg {
	uint8_t b[8192];
	size_t len;
};

static inline void dm_u16(struct dnsmsg *m, uint16_t v)
{
	m->b[m->len++] = v >> 8;
	m->b[m->len++] = v & 0xff;
}

static inline void dm_u32(struct dnsmsg *m, uint32_t v)
{
	dm_u16(m, v >> 16);
	dm_u16(m, v & 0xffff);
}

/* Count one more record in the header field at off (4 qd, 6 an, 8 ns, 10 ar). */
static inline void dm_count(struct dnsmsg *m, int off)
{
	uint16_t v = (uint16_t)(m->b[off] << 8 | m->b[off + 1]) + 1;

	m->b[off] = v >> 8;
	m->b[off + 1] = v & 0xff;
}

/* A response header: id, flags QR RD RA, no counts yet. */
static inline void dm_header(struct dnsmsg *m, uint16_t id)
{
	memset(m, 0, sizeof(*m));
	dm_u16(m, id);
	dm_u16(m, 0x8180);
	m->len = 12;
}

/*
 * A name: its labels, then a pointer to ptr if ptr (else the root). Labels
 * are '.'-separated; "" is no label. Returns where it starts.
 */
static inline size_t dm_name_ptr(struct dnsmsg *m, const char *name, uint16_t ptr)
{
	size_t at = m->len;
	const char *s = name, *dot;

	while (*s) {
		size_t n;

		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		m->b[m->len++] = n;
		memcpy(m->b + m->len, s, n);
		m->len += n;
		s += n + (dot ? 1 : 0);
	}
	if (ptr)
		dm_u16(m, 0xc000 | ptr);
	else
		m->b[m->len++] = 0;
	return at;
}

static inline size_t dm_name(struct dnsmsg *m, const char *name)
{
	return dm_name_ptr(m, name, 0);
}

/* The question (name at offset 12). */
static inline void dm_question(struct dnsmsg *m, const char *name, uint16_t type)
{
	dm_name(m, name);
	dm_u16(m, type);
	dm_u16(m, 1);
	dm_count(m, 4);
}

/* A record's fixed part after its owner name; rdlen filled by the caller. */
static inline void dm_rr(struct dnsmsg *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	dm_u16(m, type);
	dm_u16(m, 1);
	dm_u32(m, ttl);
	dm_u16(m, rdlen);
}

/* An A record owned by a pointer to owner. */
static inline void dm_a(struct dnsmsg *m, uint16_t owner, uint32_t ttl, const char *addr)
{
	dm_u16(m, 0xc000 | owner);
	dm_rr(m, 1, ttl, 4);
	inet_pton(AF_INET, addr, m->b + m->len);
	m->len += 4;
	dm_count(m, 6);
}

static inline void dm_aaaa(struct dnsmsg *m, uint16_t owner, uint32_t ttl, const char *addr)
{
	dm_u16(m, 0xc000 | owner);
	dm_rr(m, 28, ttl, 16);
	inet_pton(AF_INET6, addr, m->b + m->len);
	m->len += 16;
	dm_count(m, 6);
}

/* A CNAME owned by a pointer to owner, its target written as name (then a
 * pointer to tptr, if any). Returns where the target starts.
 */
static inline size_t dm_cname(struct dnsmsg *m, uint16_t owner, uint32_t ttl, const char *name,
			      uint16_t tptr)
{
	size_t rdl, at;

	dm_u16(m, 0xc000 | owner);
	dm_rr(m, 5, ttl, 0);
	rdl = m->len - 2;
	at = dm_name_ptr(m, name, tptr);
	m->b[rdl] = (m->len - at) >> 8;
	m->b[rdl + 1] = (m->len - at) & 0xff;
	dm_count(m, 6);
	return at;
}

#endif /* EGR_TESTS_DNSMSG_H */
