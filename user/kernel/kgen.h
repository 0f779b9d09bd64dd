/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The policy generation and the live slot (user/kernel/kgen.c). */
#ifndef EGR_KGEN_H
#define EGR_KGEN_H

#include <stdbool.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"

/* Read the generation, store a new value, or bump it after a change (flip:
 * the other slot becomes live).
 */
int kgen_read(const struct egr_kstate *ks, uint64_t *gen);
int kgen_publish(const struct egr_kstate *ks, uint64_t gen);
int kgen_bump(const struct egr_kstate *ks, bool flip);
/* Drop the mapping kgen.c made (kstate_close() does). */
void kgen_unmap(struct egr_kstate *ks);

/* The live slot's default and flags, with its slot and the generation. */
int kgen_slot_cfg(const struct egr_kstate *ks, struct egr_ctl *cfg);

/* Raise egr_ctl[0].lhead (the learned-address ring's head, which the
 * programs move) to at least v, atomically. 0 or -errno.
 */
int kgen_lhead_at_least(const struct egr_kstate *ks, uint64_t v);

#endif /* EGR_KGEN_H */
