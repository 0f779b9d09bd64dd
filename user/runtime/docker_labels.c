// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The policy a container's labels carry (see docker_labels.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "egressctl.h"
#include "policy/addr.h"
#include "policy/policy_file.h"
#include "runtime/docker_labels.h"

#define LABEL_PREFIX "egressctl."

/* "198.18.5.0/24, 198.18.6.1 udp:53 tcp:443" -> rules with action; ";"
 * separates rules as "," does (Podman's --annotation splits values at ",").
 */
static int parse_rule_list(const char *key, const char *text, int action, struct egr_policy *p,
			   char *err, size_t errlen)
{
	char *copy = strdup(text), *rule, *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (rule = strtok_r(copy, ",;", &save); rule && !ret; rule = strtok_r(NULL, ",;", &save)) {
		char *tok, *save2 = NULL, e[256];
		struct egr_portspec ps[16];
		struct egr_dest d[2];
		int nd, nps = 0, i, j;

		tok = strtok_r(rule, " \t\n", &save2);
		if (!tok)
			continue; /* "a, , b" or a trailing comma */
		nd = parse_dests(tok, d, e, sizeof(e));
		if (nd < 0) {
			snprintf(err, errlen, "label %s: %s", key, e);
			ret = -EINVAL;
			break;
		}
		while ((tok = strtok_r(NULL, " \t\n", &save2))) {
			if (nps == (int)(sizeof(ps) / sizeof(ps[0]))) {
				snprintf(err, errlen, "label %s: too many port specs in one rule",
					 key);
				ret = -EINVAL;
				break;
			}
			if (parse_portspec(tok, &ps[nps], e, sizeof(e))) {
				snprintf(err, errlen, "label %s: %s", key, e);
				ret = -EINVAL;
				break;
			}
			nps++;
		}
		for (i = 0; i < nd && !ret; i++) {
			for (j = 0; j < (nps ? nps : 1) && !ret; j++) {
				struct egr_urule r = { .action = action, .dest = d[i] };

				if (nps)
					r.ps = ps[j];
				if (policy_add(p, &r))
					ret = -ENOMEM;
			}
		}
	}
	free(copy);
	return ret;
}

int docker_label_policy(const char *labels_json, struct egr_policy *p, char *err, size_t errlen)
{
	const char *key;
	json_t *j, *v;
	bool found = false;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	if (!labels_json)
		return 0;
	j = json_loads(labels_json, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	/* The document first: allow/deny/default/audit labels add to it. */
	v = json_object_get(j, LABEL_PREFIX "policy");
	if (v) {
		const char *doc = json_string_value(v);

		found = true;
		ret = policy_parse_buf(doc ? doc : "", doc ? strlen(doc) : 0,
				       "label " LABEL_PREFIX "policy", p, err, errlen);
		if (ret)
			goto out;
	}
	json_object_foreach(j, key, v)
	{
		const char *val = json_string_value(v);
		char qv[80], qk[80];

		if (strncmp(key, LABEL_PREFIX, strlen(LABEL_PREFIX)))
			continue;
		found = true;
		if (!val)
			val = "";
		if (!strcmp(key, LABEL_PREFIX "policy")) {
			continue;
		} else if (!strcmp(key, LABEL_PREFIX "allow")) {
			ret = parse_rule_list(key, val, EGR_ALLOW, p, err, errlen);
		} else if (!strcmp(key, LABEL_PREFIX "deny")) {
			ret = parse_rule_list(key, val, EGR_DENY, p, err, errlen);
		} else if (!strcmp(key, LABEL_PREFIX "default")) {
			if (strcmp(val, "deny") && strcmp(val, "allow")) {
				snprintf(err, errlen, "label %s: '%s': use deny or allow", key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->dflt = !strcmp(val, "allow") ? EGR_ALLOW : EGR_DENY;
			p->has_dflt = true;
		} else if (!strcmp(key, LABEL_PREFIX "audit")) {
			if (strcmp(val, "true") && strcmp(val, "false")) {
				snprintf(err, errlen, "label %s: '%s': use true or false", key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->audit = !strcmp(val, "true");
			p->has_audit = true;
		} else {
			snprintf(
				err, errlen,
				"unknown label %s (use %spolicy, %sallow, %sdeny, %sdefault, %saudit)",
				quote_text(key, qk, sizeof(qk)), LABEL_PREFIX, LABEL_PREFIX,
				LABEL_PREFIX, LABEL_PREFIX, LABEL_PREFIX);
			ret = -EINVAL;
		}
		if (ret)
			break;
	}
out:
	json_decref(j);
	if (ret) {
		policy_free(p);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	if (!found)
		return 0;
	if (!p->has_dflt)
		p->dflt = EGR_DENY;
	return 1;
}
