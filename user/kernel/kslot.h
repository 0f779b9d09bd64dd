/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The slots of a policy, filled and emptied for apply (user/kernel/kslot.c). */
#ifndef EGR_KSLOT_H
#define EGR_KSLOT_H

#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"
#include "kernel/kstate.h"
#include "kernel/ktries.h"
#include "policy/compile.h"

/* The inactive slot's tries t, empty. The last apply left them empty; after
 * an interrupted change they may hold entries, then fresh tries replace
 * them (nothing reads the inactive slot, so this changes no verdict).
 */
int kslot_inactive(struct egr_kstate *ks, uint32_t slot, struct egr_tries *t);

/* Write everything slot needs before the flip: its half of egr_rules,
 * zeroed hit counters for the fresh rule ids fresh[0..nfresh), and its
 * tries t.
 */
int kslot_fill(struct egr_kstate *ks, const struct egr_compiled *c, uint32_t slot,
	       const struct egr_tries *t, const uint32_t *fresh, uint32_t nfresh);

/* Above this many entries, replacing the old slot's tries (one wait for
 * running programs per family, ~10 ms) is cheaper than deleting entries.
 */
#define KSLOT_CLEAR_INPLACE_MAX 65536

/* The old slot's trie keys, per family and shard, known from the live rules
 * read before the change: emptying the slot then needs no walk of the tries.
 */
struct kslot_keys {
	uint8_t *k[2][EGR_SHARDS];
	uint32_t n[2][EGR_SHARDS];
};

int kslot_keys_of(const struct egr_crule *live, size_t nl, struct kslot_keys *o);
void kslot_keys_free(struct kslot_keys *o);

/* Empty slot's tries after the flip; npfx: their entries, per family;
 * old: their keys, if known (NULL: walk them).
 */
int kslot_empty(struct egr_kstate *ks, uint32_t slot, const uint32_t npfx[2],
		const struct kslot_keys *old);

#endif /* EGR_KSLOT_H */
