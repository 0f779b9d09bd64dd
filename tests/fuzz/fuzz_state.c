// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * State files (user/runtime/state.c): state_from_json(), and the round trip
 * state_to_json() -> state_from_json() of whatever it accepts.
 */
#include "fuzz.h"
#include "policy/addr.h"
#include "runtime/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct egr_state s, back;
	char *text = fuzz_cstr(data, size), *out, err[512] = "";
	size_t i;

	memset(&s, 0, sizeof(s));
	if (state_from_json(text, &s, err, sizeof(err))) {
		/* Not one line, always: jansson's "near '...'" quotes the input
		 * raw. State files are egressctl's own (root, 0600): no check.
		 */
		FUZZ_CHECK(err[0], "no message");
		free(text);
		return 0;
	}
	out = state_to_json(&s);
	FUZZ_CHECK(out, "state_to_json failed");
	memset(&back, 0, sizeof(back));
	FUZZ_CHECK(!state_from_json(out, &back, err, sizeof(err)), "round trip: %s\n%s", err, out);
	FUZZ_CHECK(back.pol.n == s.pol.n && back.pol.dflt == s.pol.dflt && !strcmp(back.id, s.id) &&
			   !strcmp(back.name, s.name),
		   "round trip differs:\n%s", out);
	for (i = 0; i < s.pol.n; i++)
		FUZZ_CHECK(urule_equal(&s.pol.rules[i], &back.pol.rules[i]), "rule %zu differs", i);
	free(out);
	state_free(&back);
	state_free(&s);
	free(text);
	return 0;
}
