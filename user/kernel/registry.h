/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The registry of managed cgroups: a pinned hash map EGR_PIN_ROOT/egr_managed
 * (cgroup id -> struct egr_managed) kept by attach and detach. Programs that
 * act for all of egressctl (the packet-socket LSM hook, the strict-mode
 * guard) look cgroups up in it.
 */
#ifndef EGR_REGISTRY_H
#define EGR_REGISTRY_H

#include <stdint.h>

/* Open (creating and pinning it if needed) the registry map. fd or -errno. */
int registry_open(void);
int registry_add(uint64_t cgid);
int registry_del(uint64_t cgid);

#endif /* EGR_REGISTRY_H */
