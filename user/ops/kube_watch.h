/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * watch --kubernetes (kube_watch.c): the pods of this node from the
 * Kubernetes API (runtime/kube.h), each pod's annotation policy
 * (egressctl.io/policy, egressctl.io/allow, egressctl.io/deny,
 * egressctl.io/default, egressctl.io/audit: the label schema) in force on
 * the pod's cgroup, which holds every container of the pod. List, then
 * watch from the list's resourceVersion; resume after the server ends a
 * watch; list again after a 410 Gone; while the API server cannot be
 * reached, retry with a growing pause (0.5 s doubling up to 8 s) while
 * what is in force stays in force. A pod whose cgroup is not there yet is
 * looked for again about every half second.
 */
#ifndef EGR_KUBE_WATCH_H
#define EGR_KUBE_WATCH_H

#include "ops/watch.h"
#include "runtime/kube.h"

#define KUBE_ANNOTATION_PREFIX "egressctl.io/"

/* Until *stop; logs through o. 0. */
int watch_kubernetes(const struct watch_opts *o, struct kube_conn *k, volatile int *stop);

#endif /* EGR_KUBE_WATCH_H */
