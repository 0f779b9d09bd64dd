// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Policy files parsed in pieces (user/policy/policy_split.c) against the whole
 * parse (policy_parse_buf()). Invariant: a split that succeeds gives what
 * the whole parse gives; one that does not says -EAGAIN and leaves nothing.
 */
#include <errno.h>
#include "fuzz.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "policy/policy_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egr_policy whole, split;
	char err[512];
	unsigned int nseg;
	int rw, rs;

	rw = policy_parse_buf((const char *)data, size, "fuzz.yaml", &whole, err, sizeof(err));
	for (nseg = 2; nseg <= 4; nseg++) {
		rs = policy_parse_split((const char *)data, size, nseg, &split);
		FUZZ_CHECK(rs == 0 || rs == -EAGAIN || rs == -ENOMEM, "split returned %d", rs);
		if (rs) {
			FUZZ_CHECK(!split.n && !split.rules, "failed split left %zu rules",
				   split.n);
			continue;
		}
		FUZZ_CHECK(!rw, "split parsed what the whole parse refuses: %s", err);
		FUZZ_CHECK(split.n == whole.n && split.dflt == whole.dflt &&
				   split.audit == whole.audit && split.has_dflt == whole.has_dflt &&
				   split.has_audit == whole.has_audit &&
				   !memcmp(split.rules, whole.rules,
					   whole.n * sizeof(*whole.rules)),
			   "%u pieces: %zu rules, whole %zu", nseg, split.n, whole.n);
		policy_free(&split);
	}
	policy_free(&whole);
	return 0;
}
