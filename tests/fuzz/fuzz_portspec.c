// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Port specs (user/policy/addr.c): parse_portspec(). Invariants: ports 1..65535,
 * lo <= hi, only tcp and udp carry ports, format_portspec() ->
 * parse_portspec() gives the same spec; a refusal has a one-line message.
 */
#include "fuzz.h"
#include "policy/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egr_portspec ps, back;
	char *s = fuzz_cstr(data, size), err[256] = "", buf[32];

	memset(&ps, 0, sizeof(ps));
	if (parse_portspec(s, &ps, err, sizeof(err))) {
		FUZZ_CHECK(fuzz_one_line(err), "'%s': message '%s'", s, err);
		free(s);
		return 0;
	}
	FUZZ_CHECK(ps.proto == EGR_UP_ANY || ps.proto == EGR_UP_TCP || ps.proto == EGR_UP_UDP ||
			   ps.proto == EGR_UP_ICMP,
		   "'%s': proto %d", s, ps.proto);
	if (ps.has_ports) {
		FUZZ_CHECK(ps.proto == EGR_UP_TCP || ps.proto == EGR_UP_UDP, "'%s': ports on %d", s,
			   ps.proto);
		FUZZ_CHECK(ps.lo >= 1 && ps.lo <= ps.hi, "'%s': ports %u-%u", s, ps.lo, ps.hi);
	}
	format_portspec(&ps, buf, sizeof(buf));
	memset(&back, 0, sizeof(back));
	FUZZ_CHECK(!parse_portspec(buf, &back, err, sizeof(err)), "'%s' -> '%s': %s", s, buf, err);
	FUZZ_CHECK(back.proto == ps.proto && back.has_ports == ps.has_ports &&
			   (!ps.has_ports || (back.lo == ps.lo && back.hi == ps.hi)),
		   "'%s' -> '%s' parses differently", s, buf);
	free(s);
	return 0;
}
