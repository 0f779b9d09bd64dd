// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Destinations and port specs: text <-> struct egr_dest / egr_portspec, and
 * the growable rule array of a policy. Parsing is strict on purpose: a
 * firewall rule that means something other than what the user typed is
 * worse than a refusal, so anything odd is an error naming the text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "util/err.h"

/*
 * A strict decimal number: "0" or [1-9][0-9]*, nothing else (no sign, no
 * space, no leading zero, which some tools would read as octal). Values
 * above max are reported as max + 1 so callers need only one range check.
 * Returns the value, -1 for empty text, -2 for anything not decimal, -3 for
 * a leading zero.
 */
static long parse_decimal(const char *s, size_t n, long max)
{
	long v = 0;
	size_t i;

	if (!n)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -2;
	if (s[0] == '0' && n > 1)
		return -3;
	for (i = 0; i < n; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return max + 1;
	}
	return v;
}

static const char *decimal_problem(long v)
{
	return v == -1 ? "missing number" : v == -3 ? "leading zero" : "not a decimal number";
}

static void clear_host_bits(uint8_t *addr, unsigned int plen, unsigned int bytes)
{
	unsigned int i = plen / 8;

	if (i >= bytes)
		return;
	/* plen % 8 == 0 clears byte i whole */
	addr[i] &= (uint8_t)(0xff << (8 - plen % 8));
	memset(addr + i + 1, 0, bytes - i - 1);
}

/*
 * inet_pton() on [s, end) without copying the text out first: policy files
 * hold a million of these. glibc's rules, step by step (resolv/inet_pton.c):
 * four decimal parts 0-255 without leading zeros; for IPv6 groups of 1-4
 * hex digits, one "::", a dotted IPv4 tail. Neither may take a text that
 * inet_pton() refuses, and both give its bytes; what they refuse,
 * parse_dest() still asks inet_pton() about. tests/unit/test_addr.c and
 * tests/fuzz/fuzz_addr.c compare them with it.
 */
static bool pton4(const char *s, const char *end, uint8_t out[4])
{
	unsigned int v = 0, parts = 0;
	bool digit = false;
	uint8_t tmp[4];

	for (; s < end; s++) {
		if (*s >= '0' && *s <= '9') {
			if (digit && !v)
				return false; /* leading zero */
			v = v * 10 + (*s - '0');
			if (v > 255)
				return false;
			digit = true;
		} else if (*s == '.' && digit && parts < 3) {
			tmp[parts++] = v;
			v = 0;
			digit = false;
		} else {
			return false;
		}
	}
	if (!digit || parts != 3)
		return false;
	tmp[3] = v;
	memcpy(out, tmp, 4);
	return true;
}

/* Hex digit values + 1; 0: not a hex digit. */
static const uint8_t hex1[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static bool pton6(const char *s, const char *end, uint8_t out[16])
{
	size_t tp = 0, gap = SIZE_MAX, digits = 0, n;
	const char *tok;
	unsigned int v = 0;
	uint8_t tmp[16];
	int x;

	memset(tmp, 0, sizeof(tmp));
	if (s == end)
		return false;
	if (*s == ':' && (++s == end || *s != ':'))
		return false; /* one leading colon */
	tok = s;
	while (s < end) {
		char c = *s++;

		x = hex1[(unsigned char)c] - 1;
		if (x >= 0) {
			if (digits == 4)
				return false;
			v = v << 4 | x;
			digits++;
		} else if (c == ':') {
			tok = s;
			if (!digits) {
				if (gap != SIZE_MAX)
					return false; /* a second "::" */
				gap = tp;
				continue;
			}
			if (s == end || tp + 2 > 16)
				return false; /* trailing colon, or too long */
			tmp[tp++] = v >> 8;
			tmp[tp++] = v;
			digits = 0;
			v = 0;
		} else if (c == '.' && tp + 4 <= 16 && pton4(tok, end, tmp + tp)) {
			tp += 4;
			digits = 0;
			break;
		} else {
			return false;
		}
	}
	if (digits) {
		if (tp + 2 > 16)
			return false;
		tmp[tp++] = v >> 8;
		tmp[tp++] = v;
	}
	if (gap != SIZE_MAX) {
		if (tp == 16)
			return false; /* "::" standing for nothing */
		n = tp - gap;
		memmove(tmp + 16 - n, tmp + gap, n);
		memset(tmp + gap, 0, 16 - n - gap);
		tp = 16;
	}
	if (tp != 16)
		return false;
	memcpy(out, tmp, 16);
	return true;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int parse_dest(const char *s, struct egr_dest *d, char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8], qp[4 * QUOTE_MAX + 8];
	char abuf[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t alen;
	unsigned int max;
	long plen;

	memset(d, 0, sizeof(*d));
	if (!s || !*s) {
		seterr(err, errlen, "bad destination '': empty");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen >= sizeof(abuf))
		goto not_addr;
	if (pton4(s, s + alen, d->addr)) {
		d->family = 4;
		max = 32;
	} else if (pton6(s, s + alen, d->addr)) {
		d->family = 6;
		max = 128;
	} else {
		/* what the fast paths refuse, inet_pton() has the last word on */
		memcpy(abuf, s, alen);
		abuf[alen] = '\0';
		if (inet_pton(AF_INET, abuf, d->addr) == 1) {
			d->family = 4;
			max = 32;
		} else if (inet_pton(AF_INET6, abuf, d->addr) == 1) {
			d->family = 6;
			max = 128;
		} else {
			goto not_addr;
		}
	}

	if (slash) {
		plen = parse_decimal(slash + 1, strlen(slash + 1), 255);
		if (plen < 0) {
			seterr(err, errlen, "bad prefix length '%s' in '%s': %s",
			       quote_text(slash, qp, sizeof(qp)), quote_text(s, q, sizeof(q)),
			       decimal_problem(plen));
			goto fail;
		}
		if (plen > (long)max) {
			seterr(err, errlen, "bad prefix length '%s' in '%s': IPv%u allows 0-%u",
			       quote_text(slash, qp, sizeof(qp)), quote_text(s, q, sizeof(q)), d->family,
			       max);
			goto fail;
		}
	} else {
		plen = max;
	}
	d->plen = plen;

	/*
	 * The kernel judges a packet to ::ffff:a.b.c.d by the IPv4 rules
	 * (unmap_v4mapped() in bpf/parsing.bpf.h), so an IPv6 rule inside
	 * ::ffff:0:0/96 could never match. Store it as the IPv4 rule the
	 * user meant instead.
	 */
	if (d->family == 6 && d->plen >= 96 && !memcmp(d->addr, v4mapped_prefix, 12)) {
		memmove(d->addr, d->addr + 12, 4);
		memset(d->addr + 4, 0, 12);
		d->family = 4;
		d->plen -= 96;
	}
	clear_host_bits(d->addr, d->plen, 16);
	return 0;

not_addr:
	seterr(err, errlen, "bad destination '%s': not an IPv4 or IPv6 address",
	       quote_text(s, q, sizeof(q)));
fail:
	memset(d, 0, sizeof(*d));
	return -EINVAL;
}

int parse_dest_or_name(const char *s, struct egr_dest *d, char *err, size_t errlen)
{
	char canon[EGR_NAME_BUF];
	const char *in;
	int ret = parse_dest(s, d, err, errlen);

	if (!ret || !s || !name_like(s))
		return ret;
	ret = name_parse(s, canon, err, errlen);
	if (ret)
		return ret;
	in = name_intern(canon);
	if (!in) {
		seterr(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	dest_set_name(d, in);
	return 0;
}

int parse_dests(const char *s, struct egr_dest out[2], char *err, size_t errlen)
{
	int ret;

	if (s && s[0] == 'a' && !strcmp(s, "any")) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = 4;
		out[1].family = 6;
		return 2;
	}
	ret = parse_dest_or_name(s, &out[0], err, errlen);
	return ret < 0 ? ret : 1;
}

/* One port of a spec; what names the whole spec in messages. */
static int parse_port(const char *p, size_t n, const char *what, const char *s, uint16_t *port,
		      char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8];
	long v = parse_decimal(p, n, 65535);

	if (v < 0) {
		seterr(err, errlen, "%s '%s': %s", what, quote_text(s, q, sizeof(q)),
		       v == -1 ? "missing port number" : decimal_problem(v));
		return -EINVAL;
	}
	if (v < 1 || v > 65535) {
		seterr(err, errlen, "%s '%s': ports are 1-65535", what, quote_text(s, q, sizeof(q)));
		return -EINVAL;
	}
	*port = v;
	return 0;
}

static const struct {
	const char *name;
	enum egr_uproto proto;
} protos[] = {
	{ "any", EGR_UP_ANY },
	{ "tcp", EGR_UP_TCP },
	{ "udp", EGR_UP_UDP },
	{ "icmp", EGR_UP_ICMP },
};

int parse_portspec(const char *s, struct egr_portspec *ps, char *err, size_t errlen)
{
	char q[4 * QUOTE_MAX + 8];
	const char *colon, *ports, *dash;
	size_t nlen, i;
	int ret;

	memset(ps, 0, sizeof(*ps));
	if (!s || !*s) {
		seterr(err, errlen, "bad port spec '': empty");
		return -EINVAL;
	}
	colon = strchr(s, ':');
	nlen = colon ? (size_t)(colon - s) : strlen(s);
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strlen(protos[i].name) == nlen && !strncmp(s, protos[i].name, nlen))
			break;
	if (i == sizeof(protos) / sizeof(protos[0])) {
		seterr(err, errlen, "bad protocol '%s': use tcp, udp or icmp",
		       quote_text(s, q, sizeof(q)));
		return -EINVAL;
	}
	ps->proto = protos[i].proto;
	if (!colon)
		return 0;
	if (ps->proto != EGR_UP_TCP && ps->proto != EGR_UP_UDP) {
		seterr(err, errlen, "bad port spec '%s': %s takes no port", quote_text(s, q, sizeof(q)),
		       protos[i].name);
		goto fail;
	}

	ports = colon + 1;
	dash = strchr(ports, '-');
	if (!dash) {
		ret = parse_port(ports, strlen(ports), "bad port", s, &ps->lo, err, errlen);
		if (ret)
			goto fail;
		ps->hi = ps->lo;
	} else {
		ret = parse_port(ports, dash - ports, "bad port range", s, &ps->lo, err, errlen);
		if (!ret)
			ret = parse_port(dash + 1, strlen(dash + 1), "bad port range", s, &ps->hi,
					 err, errlen);
		if (ret)
			goto fail;
		if (ps->lo > ps->hi) {
			seterr(err, errlen, "bad port range '%s': first port is above last",
			       quote_text(s, q, sizeof(q)));
			goto fail;
		}
	}
	ps->has_ports = true;
	return 0;

fail:
	memset(ps, 0, sizeof(*ps));
	return -EINVAL;
}

const char *format_dest(const struct egr_dest *d, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!len)
		return buf;
	if (d->family == EGR_FAM_NAME) {
		snprintf(buf, len, "%s", dest_name(d) ? dest_name(d) : "?");
		return buf;
	}
	if ((d->family != 4 && d->family != 6) ||
	    !inet_ntop(d->family == 4 ? AF_INET : AF_INET6, d->addr, a, sizeof(a)))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", a, d->plen);
	return buf;
}

const char *format_portspec(const struct egr_portspec *ps, char *buf, size_t len)
{
	const char *name = "any";
	size_t i;

	if (!len)
		return buf;
	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].proto == ps->proto)
			name = protos[i].name;
	if (!ps->has_ports || ps->proto == EGR_UP_ANY)
		snprintf(buf, len, "%s", name);
	else if (ps->lo == ps->hi)
		snprintf(buf, len, "%s:%u", name, ps->lo);
	else
		snprintf(buf, len, "%s:%u-%u", name, ps->lo, ps->hi);
	return buf;
}

int policy_add(struct egr_policy *p, const struct egr_urule *r)
{
	struct egr_urule *n;
	size_t cap;

	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 16;
		if (cap < p->cap || cap > SIZE_MAX / sizeof(*n))
			return -ENOMEM;
		n = realloc(p->rules, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->rules = n;
		p->cap = cap;
	}
	p->rules[p->n++] = *r;
	return 0;
}

void policy_free(struct egr_policy *p)
{
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

/* Field by field: struct padding is not ours to compare. */
bool urule_equal(const struct egr_urule *a, const struct egr_urule *b)
{
	size_t alen = a->dest.family == 4 ? 4 : 16;

	if (a->action != b->action || a->dest.family != b->dest.family ||
	    a->dest.plen != b->dest.plen || memcmp(a->dest.addr, b->dest.addr, alen))
		return false;
	if (a->ps.proto != b->ps.proto || a->ps.has_ports != b->ps.has_ports)
		return false;
	return !a->ps.has_ports || (a->ps.lo == b->ps.lo && a->ps.hi == b->ps.hi);
}
