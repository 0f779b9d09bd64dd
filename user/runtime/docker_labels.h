/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Policies in a container's labels (user/runtime/docker_labels.c). */
#ifndef EGR_DOCKER_LABELS_H
#define EGR_DOCKER_LABELS_H

#include <stddef.h>
#include "policy/rule.h"

/*
 * The policy a container's labels carry:
 *   egressctl.policy   a policy document (YAML/JSON, as for `apply -f`)
 *   egressctl.allow    "<dest> [<portspec>...], <dest> ..." allow rules (";"
 *                      separates them too)
 *   egressctl.deny     the same, deny rules
 *   egressctl.default  deny|allow (default: deny)
 *   egressctl.audit    true|false
 * labels_json is Config.Labels as JSON text (or NULL). Returns 1 and p when
 * there is a policy, 0 when no egressctl.* label is set, -EINVAL with one
 * line in err when a label is bad (any other egressctl.* key too).
 */
/* The keys of Docker labels and OCI annotations: egressctl.policy, ... */
#define DOCKER_LABEL_PREFIX "egressctl."

int docker_label_policy(const char *labels_json, struct egr_policy *p, char *err, size_t errlen);

/* The same schema under other keys: <prefix>policy, <prefix>allow, ...
 * (a Kubernetes pod's annotations: "egressctl.io/"); what names them in
 * errors ("annotation").
 */
int label_policy(const char *json, const char *prefix, const char *what, struct egr_policy *p,
		 char *err, size_t errlen);

#endif /* EGR_DOCKER_LABELS_H */
