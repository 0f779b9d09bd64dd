// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container label policies (user/runtime/docker_labels.c):
 * docker_label_policy() on the JSON text of Config.Labels. The input is
 * used as is, and also as the value of each egressctl.* label, so the
 * rule-list and policy-document parsers behind the labels get arbitrary
 * text too. Invariants: 1 with a
 * well-formed policy, 0 with none, or -EINVAL with a one-line message and
 * an empty policy.
 */
#include <errno.h>
#include <jansson.h>
#include "fuzz.h"
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/name.h"
#include "runtime/docker_labels.h"

static void check(const char *json)
{
	struct egr_policy p;
	char err[512] = "";
	size_t i;
	int ret = docker_label_policy(json, &p, err, sizeof(err));

	FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EINVAL || ret == -ENOMEM, "returned %d", ret);
	if (ret < 0) {
		FUZZ_CHECK(fuzz_one_line(err), "message '%s'", err);
		FUZZ_CHECK(!p.n, "failure left %zu rules", p.n);
		return;
	}
	for (i = 0; i < p.n; i++) {
		FUZZ_CHECK(p.rules[i].dest.family == 4 || p.rules[i].dest.family == 6 ||
				   dest_is_name(&p.rules[i].dest),
			   "family");
		FUZZ_CHECK(p.rules[i].action == EGR_ALLOW || p.rules[i].action == EGR_DENY,
			   "action");
	}
	policy_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "egressctl.allow", "egressctl.deny", "egressctl.policy",
					    "egressctl.default", "egressctl.audit" };
	char *s = fuzz_cstr(data, size);
	size_t i;

	check(s);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *o = json_object();
		char *text;

		/* jansson wants UTF-8; invalid input is simply not a label */
		if (json_object_set_new(o, keys[i], json_string(s)) == 0) {
			text = json_dumps(o, JSON_COMPACT);
			if (text) {
				check(text);
				free(text);
			}
		}
		json_decref(o);
	}
	free(s);
	return 0;
}
