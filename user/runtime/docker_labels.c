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

/* "198.18.5.0/24, 198.18.6.1 udp:53 tcp:443" -> rules with action; ";"
 * separates rules as "," does (Podman's --annotation splits values at ",").
 */
static int parse_rule_list(const char *what, const char *key, const char *text, int action,
			   struct egr_policy *p, char *err, size_t errlen)
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
			snprintf(err, errlen, "%s %s: %s", what, key, e);
			ret = -EINVAL;
			break;
		}
		while ((tok = strtok_r(NULL, " \t\n", &save2))) {
			if (nps == (int)(sizeof(ps) / sizeof(ps[0]))) {
				snprintf(err, errlen, "%s %s: too many port specs in one rule",
					 what, key);
				ret = -EINVAL;
				break;
			}
			if (parse_portspec(tok, &ps[nps], e, sizeof(e))) {
				snprintf(err, errlen, "%s %s: %s", what, key, e);
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

int label_policy(const char *labels_json, const char *prefix, const char *what,
		 struct egr_policy *p, char *err, size_t errlen)
{
	size_t pl = strlen(prefix);
	char k[80], src[120];
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
	snprintf(k, sizeof(k), "%spolicy", prefix);
	v = json_object_get(j, k);
	if (v) {
		const char *doc = json_string_value(v);

		found = true;
		snprintf(src, sizeof(src), "%s %s", what, k);
		ret = policy_parse_buf(doc ? doc : "", doc ? strlen(doc) : 0, src, p, err, errlen);
		if (ret)
			goto out;
	}
	json_object_foreach(j, key, v)
	{
		const char *val = json_string_value(v), *sub = key + pl;
		char qv[80], qk[80];

		if (strncmp(key, prefix, pl))
			continue;
		found = true;
		if (!val)
			val = "";
		if (!strcmp(sub, "policy")) {
			continue;
		} else if (!strcmp(sub, "allow")) {
			ret = parse_rule_list(what, key, val, EGR_ALLOW, p, err, errlen);
		} else if (!strcmp(sub, "deny")) {
			ret = parse_rule_list(what, key, val, EGR_DENY, p, err, errlen);
		} else if (!strcmp(sub, "default")) {
			if (strcmp(val, "deny") && strcmp(val, "allow")) {
				snprintf(err, errlen, "%s %s: '%s': use deny or allow", what, key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->dflt = !strcmp(val, "allow") ? EGR_ALLOW : EGR_DENY;
			p->has_dflt = true;
		} else if (!strcmp(sub, "audit")) {
			if (strcmp(val, "true") && strcmp(val, "false")) {
				snprintf(err, errlen, "%s %s: '%s': use true or false", what, key,
					 quote_text(val, qv, sizeof(qv)));
				ret = -EINVAL;
			}
			p->audit = !strcmp(val, "true");
			p->has_audit = true;
		} else {
			snprintf(
				err, errlen,
				"unknown %s %s (use %spolicy, %sallow, %sdeny, %sdefault, %saudit)",
				what, quote_text(key, qk, sizeof(qk)), prefix, prefix, prefix,
				prefix, prefix);
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

int docker_label_policy(const char *labels_json, struct egr_policy *p, char *err, size_t errlen)
{
	return label_policy(labels_json, DOCKER_LABEL_PREFIX, "label", p, err, errlen);
}
