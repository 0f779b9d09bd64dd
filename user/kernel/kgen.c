// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The policy generation, egr_ctl[0].generation: its low bit is the live
 * slot; every change to what a packet may be judged by ends by bumping it
 * (+1 flips the slot, +2 keeps it). The program re-reads it after judging
 * and judges again if it moved, and its per-socket verdict caches are tagged
 * with it (include/egressctl.h). It is written with one atomic store through
 * an mmap() of the map, so a reader never sees half of a new value.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/kgen.h"

/* egr_ctl's values, mapped once per open instance (a cache in ks: the
 * mapping stands for the map, which does not change while ks is open).
 */
static struct egr_ctl *ctl_map(const struct egr_kstate *ks)
{
	struct egr_kstate *mut = (struct egr_kstate *)ks;
	void *m;

	if (ks->ctl_mm)
		return ks->ctl_mm;
	m = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, ks->ctl_fd, 0);
	if (m == MAP_FAILED)
		return NULL;
	mut->ctl_mm = m;
	return m;
}

void kgen_unmap(struct egr_kstate *ks)
{
	if (ks->ctl_mm)
		munmap(ks->ctl_mm, sysconf(_SC_PAGESIZE));
	ks->ctl_mm = NULL;
}

int kgen_read(const struct egr_kstate *ks, uint64_t *gen)
{
	struct egr_ctl *m = ctl_map(ks);

	if (!m)
		return -errno;
	*gen = __atomic_load_n(&m[EGR_CTL_ACTIVE].generation, __ATOMIC_ACQUIRE);
	return *gen ? 0 : -EPROTO;
}

int kgen_publish(const struct egr_kstate *ks, uint64_t gen)
{
	struct egr_ctl *m = ctl_map(ks);

	if (!m)
		return -errno;
	__atomic_store_n(&m[EGR_CTL_ACTIVE].generation, gen, __ATOMIC_RELEASE);
	return 0;
}

int kgen_lhead_at_least(const struct egr_kstate *ks, uint64_t v)
{
	struct egr_ctl *m = ctl_map(ks);
	__u64 cur; /* the ABI's type, as the field's (uint64_t may differ) */

	if (!m)
		return -errno;
	cur = __atomic_load_n(&m[EGR_CTL_ACTIVE].lhead, __ATOMIC_ACQUIRE);
	while (cur < v && !__atomic_compare_exchange_n(&m[EGR_CTL_ACTIVE].lhead, &cur, v, false,
						       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return 0;
}

int kgen_bump(const struct egr_kstate *ks, bool flip)
{
	uint64_t gen = 0;
	int err = kgen_read(ks, &gen);

	return err ? err : kgen_publish(ks, gen + (flip ? 1 : 2));
}

int kgen_slot_cfg(const struct egr_kstate *ks, struct egr_ctl *cfg)
{
	uint64_t gen = 0;
	uint32_t k;
	int err = kgen_read(ks, &gen);

	if (err)
		return err;
	k = 1 + (gen & 1);
	if (bpf_map_lookup_elem(ks->ctl_fd, &k, cfg))
		return -errno;
	cfg->slot = gen & 1;
	cfg->generation = gen;
	return 0;
}
