// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files, YAML and JSON (user/policy/policy_file.c): policy_parse_buf().
 * Invariants: on success every rule is well formed and no two rules are the
 * same (duplicates are kept once), and the compiler accepts it or refuses it
 * cleanly; on failure the policy is empty and the message is one line.
 */
#include "fuzz.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "policy/compile.h"
#include "policy/policy_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egr_policy p;
	struct egr_compiled c;
	char err[512] = "";
	size_t i, j;

	memset(&p, 0, sizeof(p));
	if (policy_parse_buf((const char *)data, size, "fuzz.yaml", &p, err, sizeof(err))) {
		FUZZ_CHECK(fuzz_one_line(err), "message '%s'", err);
		FUZZ_CHECK(!p.n && !p.rules, "failed parse left %zu rules", p.n);
		return 0;
	}
	FUZZ_CHECK(p.dflt == EGR_ALLOW || p.dflt == EGR_DENY, "default %u", p.dflt);
	for (i = 0; i < p.n; i++) {
		const struct egr_urule *r = &p.rules[i];

		FUZZ_CHECK(r->action == EGR_ALLOW || r->action == EGR_DENY, "rule %zu action", i);
		FUZZ_CHECK(r->dest.family == 4 || r->dest.family == 6 || dest_is_name(&r->dest),
			   "rule %zu family", i);
		FUZZ_CHECK(dest_is_name(&r->dest) || r->dest.plen <= (r->dest.family == 4 ? 32 : 128),
			   "rule %zu plen", i);
		FUZZ_CHECK(!r->ps.has_ports || (r->ps.lo >= 1 && r->ps.lo <= r->ps.hi),
			   "rule %zu ports", i);
		for (j = i + 1; j < p.n && p.n < 2048; j++)
			FUZZ_CHECK(!urule_equal(r, &p.rules[j]), "rules %zu and %zu are the same",
				   i, j);
	}
	memset(&c, 0, sizeof(c));
	err[0] = 0;
	if (compile_policy(&p, &c, err, sizeof(err)))
		FUZZ_CHECK(fuzz_one_line(err), "compile message '%s'", err);
	else
		compiled_free(&c);
	policy_free(&p);
	return 0;
}
