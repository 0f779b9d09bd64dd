/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Policy files (YAML, and JSON, which libyaml reads as YAML flow style). */
#ifndef EGR_POLICY_FILE_H
#define EGR_POLICY_FILE_H

#include "policy/rule.h"

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
