/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The LPM tries of a policy slot (user/kernel/ktries.c). */
#ifndef EGR_KTRIES_H
#define EGR_KTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "egressctl.h"
#include "kernel/kstate.h"
#include "policy/rule.h"

/* fd[family: 0 IPv4, 1 IPv6][shard], -1 when not open. */
struct egr_tries {
	int fd[2][EGR_SHARDS];
};

/* The shard of a prefix of length >= 1 (prefixes of length 0 are in all). */
static inline uint32_t egr_shard(const uint8_t *addr)
{
	return EGR_SHARD_OF(addr[0]);
}

/* Is prefix d in shard s? */
static inline bool egr_in_shard(const struct egr_dest *d, uint32_t s)
{
	return !d->plen || egr_shard(d->addr) == s;
}

/* The size of a trie key of family f (0 IPv4, 1 IPv6). */
static inline size_t egr_key_size(int f)
{
	return f ? sizeof(struct egr_lpm_v6) : sizeof(struct egr_lpm_v4);
}

/* Prefix d as a key of its family's tries, into key (egr_key_size() bytes). */
static inline void egr_make_key(const struct egr_dest *d, void *key)
{
	uint32_t plen = d->plen;

	memcpy(key, &plen, sizeof(plen));
	memcpy((uint8_t *)key + sizeof(plen), d->addr, d->family == 6 ? 16 : 4);
}

void ktries_init(struct egr_tries *t);
void ktries_close(struct egr_tries *t);
/* New empty tries of capacity cap. */
int ktries_create(uint32_t cap, struct egr_tries *t);
/* The tries installed in slot slot. */
int ktries_open(const struct egr_kstate *ks, uint32_t slot, struct egr_tries *t);
/* One of them, opened into t on first use (t from ktries_init()): fd or
 * -errno.
 */
int ktries_fd(const struct egr_kstate *ks, uint32_t slot, int family, uint32_t shard,
	      struct egr_tries *t);
/* Install t into slot (one outer update per family; each makes the kernel
 * wait for running programs, an RCU grace period); _family: one family of
 * one or two slots (t[i] into slots[i]) in one outer update.
 */
int ktries_install(const struct egr_kstate *ks, uint32_t slot, const struct egr_tries *t);
int ktries_install_family(const struct egr_kstate *ks, int family, const uint32_t *slots,
			  const struct egr_tries *t, int nslots);
/* 1 if every trie is empty, 0 if not, or -errno. */
int ktries_empty(const struct egr_tries *t);
/* Make every shard's prefix of length 0 what shard 0 holds (a live edit of
 * it writes each shard in turn; this repairs an interrupted one).
 */
int ktries_sync_zero(const struct egr_tries *t);

#endif /* EGR_KTRIES_H */
