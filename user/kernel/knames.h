/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Name rules in the kernel (user/kernel/knames.c): the name trie egr_names
 * (both slots in one trie, the slot in the key's first byte), the
 * incarnations egr_nlive of name rule ids, and the learned addresses
 * egr_learn (include/egressctl.h).
 */
#ifndef EGR_KNAMES_H
#define EGR_KNAMES_H

#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"
#include "policy/compile.h"

/* One entry of the name trie: the name (interned destination) and its
 * slice.
 */
struct kname_ent {
	struct egr_dest dest;
	struct egr_prefix pv;
};

/* The name trie key of name destination d in slot. */
void knames_key(uint32_t slot, const struct egr_dest *d, struct egr_lpm_name *key);

/* The entries of slot: *out malloc'd (NULL when none). */
int knames_read(const struct egr_kstate *ks, uint32_t slot, struct kname_ent **out, size_t *n);

/* The rules of exactly name d in slot: 1 found (pv set), 0 not, -errno. */
int knames_lookup(const struct egr_kstate *ks, uint32_t slot, const struct egr_dest *d,
		  struct egr_prefix *pv);

/* Put c's names into slot (their slices at base + first). */
int knames_fill(const struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
		uint32_t base);

/* Delete the entries of the name destinations among d[0..n) from slot. */
int knames_delete(const struct egr_kstate *ks, uint32_t slot, const struct egr_crule *d, size_t n);

/* Delete every entry of slot (after an interrupted change). */
int knames_clear_slot(const struct egr_kstate *ks, uint32_t slot);

/* egr_nlive: incarnation of name rule id in slot (0: not a name rule). */
int knlive_get(const struct egr_kstate *ks, uint32_t slot, uint32_t id, uint32_t *inc);
int knlive_set(const struct egr_kstate *ks, uint32_t slot, uint32_t id, uint32_t inc);
/* Set n entries of slot at once: ids[i] -> incs[i]. */
int knlive_set_many(const struct egr_kstate *ks, uint32_t slot, const uint32_t *ids,
		    const uint32_t *incs, uint32_t n);
/* Zero slot's half. */
int knlive_clear(const struct egr_kstate *ks, uint32_t slot);

/* A learned address and what holds it (egr_learn, read back). */
struct klearned {
	struct egr_learn_key key;
	struct egr_lref ref[EGR_LEARN_REFS];
};

/* Every learned address: *out malloc'd. */
int klearn_read(const struct egr_kstate *ks, struct klearned **out, size_t *n);

/* Now on the clock of egr_lref.expires (CLOCK_MONOTONIC_COARSE, ns). */
uint64_t klearn_now(void);

#endif /* EGR_KNAMES_H */
