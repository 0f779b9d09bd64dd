/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Policy files (YAML, and JSON, which libyaml reads as YAML flow style). */
#ifndef EGR_POLICY_FILE_H
#define EGR_POLICY_FILE_H

#include "egressctl.h"
#include "policy/rule.h"

/* A policy file is typed or generated config; anything bigger is a mistake. */
#define POLICY_FILE_MAX (256u << 20)

/*
 * Rules after expanding "any" and port lists. No kernel can hold more, and
 * aliases can make a small file expand to (rules x ports) many.
 */
#define POLICY_RULES_MAX EGR_MAX_MAX_RULES

/*
 * Parse a policy document:
 *   default: deny|allow          (optional; absent -> has_dflt false, dflt deny)
 *   audit: true|false            (optional)
 *   rules:                       (optional; may be empty)
 *     - allow: <dest>            (exactly one of allow:/deny:)
 *       ports: [tcp:443, udp:53] (optional; a sequence, or one scalar)
 *     - deny: <dest>
 * <dest> accepts "any" (two rules, v4 and v6). Each (dest, portspec) pair
 * becomes one struct egr_urule. Unknown keys are errors. Duplicate rules
 * are kept once.
 * Returns 0 or -EINVAL/-ENOMEM; on error err holds one line such as
 * "policy.yaml:7: bad port 'tcp:0': ports are 1-65535" and p is left empty.
 * name is used only in messages.
 */
int policy_parse_buf(const char *buf, size_t len, const char *name, struct egr_policy *p,
		     char *err, size_t errlen);
int policy_parse_file(const char *path, struct egr_policy *p, char *err, size_t errlen);

#endif /* EGR_POLICY_FILE_H */
