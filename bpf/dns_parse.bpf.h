/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS messages in BPF: name expansion (with compression) and the walk of an
 * answer's records, following the CNAME chain from the question name. Pure
 * code on a per-CPU work area (struct egr_dns_parse): no maps of its own, so
 * the test object tests/bpf/dns_parse.bpf.c runs exactly this code on
 * crafted and fuzzed answers and compares it with the reference parser
 * (tests/lib/dnsref.c), which reads the types below from here.
 *
 * What an answer yields (egr_dns_answer()): the chain of names, starting at
 * the question name, each CNAME in the answer section whose owner is a name
 * of the chain adding its target; and every A and AAAA record of the answer
 * section whose owner is a name of the chain, with that name's place in the
 * chain. Records of other owners, classes other than IN, and the authority
 * and additional sections are ignored.
 *
 * Verifier notes (measured on 6.18, see the design notes): every loop is a
 * bpf_loop() whose state lives in the work area, not on the stack, and every
 * index into a buffer is masked; pointers in names must go strictly
 * backwards, so a name's expansion ends; label types 0x40 and 0x80 are
 * refused.
 */
#ifndef DNS_PARSE_BPF_H
#define DNS_PARSE_BPF_H

#define DNS_MSG_MASK (EGR_DNS_MSG_MAX - 1)
#define DNS_NAME_MASK (EGR_NAME_KEY_MAX - 1)
#define DNS_HOPS_MAX 64 /* compression pointers followed in one name */
#define DNS_LABELS_MAX 128 /* labels in one name (253 characters) */

#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_AAAA 28
#define DNS_C_IN 1

/* egr_dns_parse.err */
enum {
	EGR_DP_OK = 0,
	EGR_DP_MALFORMED, /* a name or record runs out of the message, a bad label */
};

/* An address from an answer. */
struct egr_dns_addr {
	__u8 family; /* 4 or 6 */
	__u8 owner; /* its owner's place in the chain */
	__u16 pad;
	__u32 ttl; /* seconds, as in the record */
	__u8 addr[16];
};

/* Buffer of egr_dns_parse for name expansion: a chain slot, or tmp. */
#define DNS_SEL_TMP EGR_DNS_CHAIN

/* Name buffers: a name, zero-padded, and room for the last 8-byte store. */
#define DNS_NBUF (EGR_NAME_KEY_MAX + 8)

struct egr_dns_parse {
	__u8 msg[EGR_DNS_MSG_MAX + 8]; /* the message (+ room for 8-byte loads) */
	__u32 mlen;
	/* results */
	__u32 err; /* EGR_DP_* */
	__u32 nchain;
	__u32 naddr;
	__u32 dropped; /* addresses over EGR_DNS_ADDRS */
	__u16 qtype, qclass; /* of the question */
	__u16 clen[EGR_DNS_CHAIN]; /* characters of each chain name */
	__u16 coff[EGR_DNS_CHAIN]; /* where in msg it was read from */
	/* names: lowercase, dotted, without final dot, zero-padded */
	__u8 chain[EGR_DNS_CHAIN][DNS_NBUF];
	__u8 tmp[DNS_NBUF];
	struct egr_dns_addr addr[EGR_DNS_ADDRS];
	/* the record walk */
	__u32 pos; /* next record */
	__u32 an; /* records in the answer section */
	__s32 owner; /* the record's owner in the chain, -1: none (kept here,
		      * not in a register: one path for every value) */
	/* one name's expansion */
	__u32 x_pos, x_olen, x_end, x_min, x_hops, x_sel;
	__s32 x_done; /* 1 done, -1 bad, 0 going */
	__u32 pad;
};

#ifdef __bpf__ /* (the types above are also the tests') */

struct dns_lctx {
	struct egr_dns_parse *s;
};

static __always_inline __u8 *dns_buf(struct egr_dns_parse *s, __u32 sel)
{
	return sel < EGR_DNS_CHAIN ? s->chain[sel & (EGR_DNS_CHAIN - 1)] : s->tmp;
}

/* The high bit of each byte of x that is 0 (exact for the bytes below the
 * first zero byte, which is all that is needed).
 */
#define DNS_HASZERO(x) (((x)-0x0101010101010101ULL) & ~(x)&0x8080808080808080ULL)

static __always_inline __u16 dns_u16(const struct egr_dns_parse *s, __u32 off)
{
	return ((__u16)s->msg[off & DNS_MSG_MASK] << 8) | s->msg[(off + 1) & DNS_MSG_MASK];
}

/* One label (or pointer, or the end) of the name being expanded. */
static long dns_x_label(__u64 i, void *data)
{
	struct egr_dns_parse *s = ((struct dns_lctx *)data)->s;
	__u32 pos = s->x_pos, len, olen, ptr, j;
	__u8 b, *out;

	if (pos >= s->mlen)
		goto bad;
	b = s->msg[pos & DNS_MSG_MASK];
	if (b == 0) {
		if (!s->x_end)
			s->x_end = pos + 1;
		s->x_done = 1;
		return 1;
	}
	if ((b & 0xc0) == 0xc0) {
		if (pos + 1 >= s->mlen)
			goto bad;
		ptr = ((__u32)(b & 0x3f) << 8) | s->msg[(pos + 1) & DNS_MSG_MASK];
		if (!s->x_end)
			s->x_end = pos + 2;
		/* strictly backwards from where this name started or last
		 * jumped: the expansion always ends
		 */
		if (ptr >= s->x_min || ++s->x_hops > DNS_HOPS_MAX)
			goto bad;
		s->x_min = ptr;
		s->x_pos = ptr;
		return 0;
	}
	if (b & 0xc0)
		goto bad; /* 0x40, 0x80: label types nobody uses */
	len = b;
	if (pos + 1 + len > s->mlen)
		goto bad;
	olen = s->x_olen;
	if (olen + !!olen + len > EGR_NAME_MAX)
		goto bad;
	out = dns_buf(s, s->x_sel);
	if (olen)
		out[olen++ & DNS_NAME_MASK] = '.';
	/* 8 bytes at a time: lowercase, and no '.' or NUL in the label (it
	 * would read as another name); bytes past the label are stored as 0
	 */
	for (j = 0; j < 64; j += 8) {
		__u64 x, h, valid, up, d;

		if (j >= len)
			break;
		x = *(__u64 *)&s->msg[(pos + 1 + j) & DNS_MSG_MASK];
		valid = len - j >= 8 ? ~0ULL : (1ULL << ((len - j) * 8)) - 1;
		x &= valid;
		h = x & 0x7f7f7f7f7f7f7f7fULL;
		up = (h + 0x3f3f3f3f3f3f3f3fULL) & ~(h + 0x2525252525252525ULL) & ~x &
		     0x8080808080808080ULL;
		x |= up >> 2;
		d = x ^ 0x2e2e2e2e2e2e2e2eULL;
		if ((DNS_HASZERO(x) | DNS_HASZERO(d)) & valid)
			goto bad;
		*(__u64 *)&out[(olen + j) & DNS_NAME_MASK] = x;
	}
	s->x_olen = olen + len;
	s->x_pos = pos + 1 + len;
	return 0;
bad:
	s->x_done = -1;
	return 1;
}

/* Expand the name at off into buffer sel (zero-padded): the offset after
 * the name in the message, or -1 for a bad name. Its length in s->x_olen.
 * (Global functions are verified once, not at each call.)
 */
__noinline int egr_dns_expand(struct egr_dns_parse *s, __u32 off, __u32 sel)
{
	struct dns_lctx c = { .s = s };
	__u8 *out;

	if (!s)
		return -1;
	out = dns_buf(s, sel);
	__builtin_memset(out, 0, DNS_NBUF);
	s->x_pos = off;
	s->x_olen = 0;
	s->x_end = 0;
	s->x_min = off;
	s->x_hops = 0;
	s->x_sel = sel;
	s->x_done = 0;
	bpf_loop(DNS_LABELS_MAX + DNS_HOPS_MAX + 1, dns_x_label, &c, 0);
	if (s->x_done != 1)
		return -1;
	return s->x_end;
}

/* Are two zero-padded name buffers equal? */
static __always_inline bool dns_name_eq(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 d = 0;
	int k;

#pragma unroll
	for (k = 0; k < EGR_NAME_KEY_MAX / 8; k++)
		d |= x[k] ^ y[k];
	return !d;
}

/* The place in the chain (of s->nchain names) of the name in buffer sel
 * (just expanded: its length in s->x_olen), or -1.
 */
__noinline int egr_dns_in_chain(struct egr_dns_parse *s, __u32 sel)
{
	__u32 k, n;
	int at = -1;

	if (!s)
		return -1;
	n = s->nchain;
	for (k = 0; k < EGR_DNS_CHAIN; k++)
		if (k < n && k != sel && s->clen[k] == s->x_olen &&
		    dns_name_eq(s->chain[k], dns_buf(s, sel)))
			at = k;
	return at;
}

/* The chain slot of the owner name at pos into s->owner (-1: not in the
 * chain); returns the offset after the name, or -1 for a bad name.
 */
__noinline int egr_dns_owner(struct egr_dns_parse *s, __u32 pos)
{
	__u32 k, n, ptr;
	int e;

	if (!s)
		return -1;
	n = s->nchain;
	s->owner = -1;
	/* Most owners are a pointer to where a chain name was read. */
	if (pos + 2 <= s->mlen && (s->msg[pos & DNS_MSG_MASK] & 0xc0) == 0xc0) {
		ptr = dns_u16(s, pos) & 0x3fff;
		for (k = 0; k < EGR_DNS_CHAIN; k++)
			if (k < n && s->coff[k] == ptr && ptr < pos)
				s->owner = k;
		if (s->owner >= 0)
			return pos + 2;
	}
	e = egr_dns_expand(s, pos, DNS_SEL_TMP);
	if (e < 0)
		return -1;
	s->owner = egr_dns_in_chain(s, DNS_SEL_TMP);
	return e;
}

/* One record of the answer section. */
static long dns_rr(__u64 i, void *data)
{
	struct egr_dns_parse *s = ((struct dns_lctx *)data)->s;
	__u32 pos = s->pos, end, rdata, rdlen, ttl, n;
	__u16 type, class;
	int e;

	if (i >= s->an)
		return 1;
	e = egr_dns_owner(s, pos);
	if (e < 0)
		goto bad;
	end = e;
	if (end + 10 > s->mlen)
		goto bad;
	type = dns_u16(s, end);
	class = dns_u16(s, end + 2);
	ttl = ((__u32)dns_u16(s, end + 4) << 16) | dns_u16(s, end + 6);
	rdlen = dns_u16(s, end + 8);
	rdata = end + 10;
	if (rdata + rdlen > s->mlen)
		goto bad;
	s->pos = rdata + rdlen;
	if (s->owner < 0 || class != DNS_C_IN)
		return 0;
	if (type == DNS_T_CNAME) {
		n = s->nchain;
		if (n >= EGR_DNS_CHAIN)
			return 0; /* a longer chain: its names are not followed */
		e = egr_dns_expand(s, rdata, n);
		if (e < 0 || e > rdata + rdlen)
			goto bad;
		/* a loop adds no name: the names of the chain stay distinct, so
		 * an owner is at one place only
		 */
		if (egr_dns_in_chain(s, n) >= 0)
			return 0;
		s->clen[n & (EGR_DNS_CHAIN - 1)] = s->x_olen;
		s->coff[n & (EGR_DNS_CHAIN - 1)] = rdata;
		s->nchain = n + 1;
		return 0;
	}
	if ((type == DNS_T_A && rdlen == 4) || (type == DNS_T_AAAA && rdlen == 16)) {
		struct egr_dns_addr *a;

		n = s->naddr;
		if (n >= EGR_DNS_ADDRS) {
			s->dropped++;
			return 0;
		}
		a = &s->addr[n & (EGR_DNS_ADDRS - 1)];
		a->family = rdlen == 4 ? 4 : 6;
		a->owner = s->owner;
		a->ttl = ttl;
		/* (the message has 8 bytes of room past its end) */
		*(__u64 *)&a->addr[0] = *(__u64 *)&s->msg[rdata & DNS_MSG_MASK];
		*(__u64 *)&a->addr[8] = *(__u64 *)&s->msg[(rdata + 8) & DNS_MSG_MASK];
		if (rdlen == 4) {
			*(__u32 *)&a->addr[4] = 0;
			*(__u64 *)&a->addr[8] = 0;
		}
		s->naddr = n + 1;
	}
	return 0;
bad:
	s->err = EGR_DP_MALFORMED;
	return 1;
}

/*
 * Walk the answer in s->msg[0, s->mlen), whose header says it is a
 * response with one question: the question name into chain[0], then the
 * answer section. s->err says whether the message was well formed as far
 * as it was read. The header itself (flags, counts) is the caller's.
 */
__noinline int egr_dns_answer(struct egr_dns_parse *s)
{
	struct dns_lctx c = { .s = s };
	int e;

	if (!s)
		return 0;
	s->err = EGR_DP_OK;
	s->nchain = 0;
	s->naddr = 0;
	s->dropped = 0;
	s->an = dns_u16(s, 6);
	e = egr_dns_expand(s, 12, 0);
	if (e < 0 || e + 4 > s->mlen) {
		s->err = EGR_DP_MALFORMED;
		return 0;
	}
	s->clen[0] = s->x_olen;
	s->coff[0] = 12;
	s->qtype = dns_u16(s, e);
	s->qclass = dns_u16(s, e + 2);
	s->nchain = 1;
	s->pos = e + 4; /* qtype, qclass */
	bpf_loop(EGR_DNS_RRS, dns_rr, &c, 0);
	return 0;
}

#endif /* __bpf__ */
#endif /* DNS_PARSE_BPF_H */
