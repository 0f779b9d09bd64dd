// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The LPM tries of a policy slot: one per family and shard, held by the
 * outer maps egr_v4/egr_v6 at index EGR_TRIE_IDX(slot, shard). A prefix
 * lives in the shard of its address's top bit(s) (egr_shard()); prefixes
 * shorter than that are in every shard. Sharding lets apply fill the tries
 * from several threads: each trie takes one lock per update.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kmap.h"
#include "kernel/ktries.h"

void ktries_init(struct egr_tries *t)
{
	int f, s;

	for (f = 0; f < 2; f++)
		for (s = 0; s < EGR_SHARDS; s++)
			t->fd[f][s] = -1;
}

void ktries_close(struct egr_tries *t)
{
	int f, s;

	for (f = 0; f < 2; f++)
		for (s = 0; s < EGR_SHARDS; s++) {
			if (t->fd[f][s] >= 0)
				close(t->fd[f][s]);
			t->fd[f][s] = -1;
		}
}

int ktries_create(uint32_t cap, struct egr_tries *t)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int f, s;

	ktries_init(t);
	for (f = 0; f < 2; f++)
		for (s = 0; s < EGR_SHARDS; s++) {
			t->fd[f][s] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE,
						     f ? "egr_v6_in" : "egr_v4_in", egr_key_size(f),
						     sizeof(struct egr_prefix), cap, &opts);
			if (t->fd[f][s] < 0) {
				int err = -errno;

				ktries_close(t);
				return err;
			}
		}
	return 0;
}

int ktries_open(const struct egr_kstate *ks, uint32_t slot, struct egr_tries *t)
{
	int f, s, fd;

	ktries_init(t);
	for (f = 0; f < 2; f++)
		for (s = 0; s < EGR_SHARDS; s++) {
			fd = ktries_fd(ks, slot, f, s, t);
			if (fd < 0) {
				ktries_close(t);
				return fd;
			}
		}
	return 0;
}

int ktries_fd(const struct egr_kstate *ks, uint32_t slot, int family, uint32_t shard,
	      struct egr_tries *t)
{
	uint32_t idx = EGR_TRIE_IDX(slot, shard), id;

	if (t->fd[family][shard] >= 0)
		return t->fd[family][shard];
	if (bpf_map_lookup_elem(family ? ks->v6_fd : ks->v4_fd, &idx, &id))
		return -errno;
	t->fd[family][shard] = bpf_map_get_fd_by_id(id);
	return t->fd[family][shard] < 0 ? -errno : t->fd[family][shard];
}

int ktries_install_family(const struct egr_kstate *ks, int family, const uint32_t *slots,
			  const struct egr_tries *t, int nslots)
{
	uint32_t idx[2 * EGR_SHARDS];
	int fds[2 * EGR_SHARDS], i, s;

	if (nslots < 1 || nslots > 2)
		return -EINVAL;
	for (i = 0; i < nslots; i++)
		for (s = 0; s < EGR_SHARDS; s++) {
			idx[i * EGR_SHARDS + s] = EGR_TRIE_IDX(slots[i], s);
			fds[i * EGR_SHARDS + s] = t[i].fd[family][s];
		}
	return kmap_update_many(family ? ks->v6_fd : ks->v4_fd, idx, fds, nslots * EGR_SHARDS,
				  sizeof(uint32_t), sizeof(int));
}

int ktries_install(const struct egr_kstate *ks, uint32_t slot, const struct egr_tries *t)
{
	int err = ktries_install_family(ks, 0, &slot, t, 1);

	return err ? err : ktries_install_family(ks, 1, &slot, t, 1);
}

int ktries_empty(const struct egr_tries *t)
{
	uint8_t key[sizeof(struct egr_lpm_v6)];
	int f, s;

	for (f = 0; f < 2; f++)
		for (s = 0; s < EGR_SHARDS; s++) {
			if (!bpf_map_get_next_key(t->fd[f][s], NULL, key))
				return 0;
			if (errno != ENOENT)
				return -errno;
		}
	return 1;
}

int ktries_sync_zero(const struct egr_tries *t)
{
	uint8_t key[sizeof(struct egr_lpm_v6)] = { 0 }; /* prefix length 0 */
	struct egr_prefix pv;
	int f, s;

	for (f = 0; f < 2; f++) {
		bool found = !bpf_map_lookup_elem(t->fd[f][0], key, &pv) && pv.plen == 0;

		for (s = 1; s < EGR_SHARDS; s++) {
			if (found ? bpf_map_update_elem(t->fd[f][s], key, &pv, BPF_ANY) :
				    bpf_map_delete_elem(t->fd[f][s], key) && errno != ENOENT)
				return -errno;
		}
	}
	return 0;
}
