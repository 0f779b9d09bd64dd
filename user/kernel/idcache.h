/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The rule-id cache (user/kernel/idcache.c): the rules in force with their
 * ids, as the last apply left them, if nothing changed since; 0, or -errno
 * (then read the kernel). _save after an apply; _drop at detach.
 */
#ifndef EGR_IDCACHE_H
#define EGR_IDCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"
#include "policy/compile.h"

int idcache_load(const struct egr_kstate *ks, struct egr_crule **out, size_t *n);
int idcache_save(const struct egr_kstate *ks, const struct egr_compiled *c);
void idcache_drop(uint64_t cgid);

#endif /* EGR_IDCACHE_H */
