// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Destinations (user/policy/addr.c): parse_dest() / parse_dests(). Invariants: an
 * accepted destination is an address (family 4 or 6, a prefix length that
 * fits, no host bits) or a name (policy/name.h: 1-253 characters, valid
 * per name_parse()), and survives format_dest() -> parse_dest() unchanged;
 * a refused one comes with a one-line message. An address alone (no '/')
 * is accepted by parse_dest() (addresses only; parse_dests() takes names
 * too) exactly when inet_pton() takes it, with the same bytes: parse_dest()
 * reads addresses itself.
 */
#include <arpa/inet.h>
#include "fuzz.h"
#include "policy/addr.h"
#include "policy/name.h"

static void check_vs_inet_pton(const char *s, int ret, const struct egr_dest *d)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t a[16] = { 0 };
	int fam;

	if (strchr(s, '/') || !*s || strlen(s) > INET6_ADDRSTRLEN)
		return;
	fam = inet_pton(AF_INET, s, a) == 1 ? 4 : inet_pton(AF_INET6, s, a) == 1 ? 6 : 0;
	if (fam == 6 && !memcmp(a, mapped, 12)) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		fam = 4;
	}
	FUZZ_CHECK(!ret == !!fam, "'%s': parse_dest %d, inet_pton family %d", s, ret, fam);
	if (fam)
		FUZZ_CHECK(d->family == fam && !memcmp(d->addr, a, 16),
			   "'%s': other bytes than inet_pton()", s);
}

/* A name: valid, canonical, and the same interned name back. */
static void check_name(const struct egr_dest *d, const char *in)
{
	char canon[EGR_DEST_STRLEN], buf[EGR_DEST_STRLEN], err[256] = "";
	const char *n = dest_name(d);
	struct egr_dest back;

	FUZZ_CHECK(n && *n && strlen(n) <= 253, "'%s': name length", in);
	FUZZ_CHECK(!name_parse(n, canon, err, sizeof(err)) && !strcmp(canon, n),
		   "'%s': name '%s' is not canonical: %s", in, n, err);
	format_dest(d, buf, sizeof(buf));
	FUZZ_CHECK(!parse_dest_or_name(buf, &back, err, sizeof(err)) && dest_is_name(&back) &&
			   dest_name(&back) == n,
		   "'%s' -> '%s' parses differently: %s", in, buf, err);
}

static void check_dest(const struct egr_dest *d, const char *in)
{
	unsigned int bytes = d->family == 4 ? 4 : 16, i;
	struct egr_dest back;
	char buf[64], err[256] = "";

	if (dest_is_name(d)) {
		check_name(d, in);
		return;
	}
	FUZZ_CHECK(d->family == 4 || d->family == 6, "'%s': family %u", in, d->family);
	FUZZ_CHECK(d->plen <= bytes * 8, "'%s': plen %u", in, d->plen);
	for (i = 0; i < bytes * 8; i++)
		if (i >= d->plen)
			FUZZ_CHECK(!(d->addr[i / 8] & (0x80 >> (i % 8))), "'%s': host bit %u set",
				   in, i);
	for (i = bytes; i < 16; i++)
		FUZZ_CHECK(!d->addr[i], "'%s': byte %u past the family set", in, i);
	format_dest(d, buf, sizeof(buf));
	FUZZ_CHECK(!parse_dest(buf, &back, err, sizeof(err)), "'%s' -> '%s' does not parse: %s", in,
		   buf, err);
	FUZZ_CHECK(back.family == d->family && back.plen == d->plen &&
			   !memcmp(back.addr, d->addr, 16),
		   "'%s' -> '%s' parses differently", in, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egr_dest d[2], one;
	char *s = fuzz_cstr(data, size), err[256] = "";
	int n, i;

	memset(&one, 0, sizeof(one));
	n = parse_dest(s, &one, err, sizeof(err));
	if (!n)
		check_dest(&one, s);
	else
		FUZZ_CHECK(fuzz_one_line(err), "parse_dest('%s'): message '%s'", s, err);
	check_vs_inet_pton(s, n, &one);
	memset(d, 0, sizeof(d));
	err[0] = 0;
	n = parse_dests(s, d, err, sizeof(err));
	FUZZ_CHECK(n == -22 || n == 1 || n == 2, "parse_dests('%s') = %d", s, n);
	if (n < 0)
		FUZZ_CHECK(fuzz_one_line(err), "parse_dests('%s'): message '%s'", s, err);
	for (i = 0; i < n; i++)
		check_dest(&d[i], s);
	/* a tiny buffer must not overflow, and must still say something */
	{
		char small[8];

		if (parse_dest(s, &one, small, sizeof(small)))
			FUZZ_CHECK(strlen(small) < sizeof(small), "message overflow");
	}
	free(s);
	return 0;
}
