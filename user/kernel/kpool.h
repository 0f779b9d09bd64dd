/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Program instances loaded ahead of need (watch --preload). Loading an
 * instance is mostly the verifier (a quarter of a second of CPU on a quiet
 * machine, seconds under load), so an attach that takes a ready-made one
 * (verified, its maps created and initialised for the default capacity, a
 * deny default and no audit) costs a few milliseconds instead.
 *
 * A preloaded instance is pinned, unattached, as EGR_PIN_ROOT/pool-<build>-
 * <pid>-<n>: <build> names the BPF object and load flags it was made with,
 * so a process only takes instances it could have made itself; <pid> is the
 * process that keeps it (watch). It is taken by renaming it to the
 * temporary directory of an attach: one rename, so two threads or processes
 * never get the same instance. None of it is a target: list, status and
 * kstate_list() see only <cgroup id> directories.
 *
 * Nothing leaks: the keeper removes its instances when it exits; what a
 * killed keeper left is adopted by the next one (kpool_fill()) or removed by
 * kpool_drain(false) (watch --once, detach --gone).
 */
#ifndef EGR_KPOOL_H
#define EGR_KPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kernel/kstate.h"

struct kpool_info {
	unsigned int entries; /* preloaded instances (any keeper, any build) */
	unsigned int own; /* ... kept by this process */
	unsigned int orphans; /* ... whose keeper is gone */
	uint64_t memlock; /* bytes the kernel charges for one instance */
};

/* Take a preloaded instance for an attach of cgid with options o and place
 * it: egr_meta names cgid and rel, the maps and programs are renamed to
 * EGR_PIN_ROOT/<cgid> and the links attached to cgpath (kstate_create()'s
 * end). 0; -ENOENT when there is none or o is not the default (the caller
 * loads one); another -errno (err filled) when placing it failed.
 */
int kpool_claim(const struct egr_attach_opts *o, const char *cgpath, const char *rel,
		uint64_t cgid, char *err, size_t errlen);

/*
 * Toward want instances kept by this process: adopt the instances of
 * keepers that are gone (of this build), remove those of other builds and,
 * beyond want + 1, this process's extra ones; then, with fewer than want,
 * load one. 1 when it loaded one, 0 when there were enough, or -errno (err
 * filled). Threads may call it at once.
 */
int kpool_fill(unsigned int want, char *err, size_t errlen);

/* At least one instance kept by this process: loads one now (the caller's
 * thread) when there is none. 1 when it loaded one, 0, or -errno (err).
 * Touches no other entry.
 */
int kpool_reserve(char *err, size_t errlen);

/* Remove this process's instances (own), or (!own) those whose keeper is
 * gone (a killed watch's, any build). How many went.
 */
int kpool_drain(bool own);

void kpool_info(struct kpool_info *pi);

#endif /* EGR_KPOOL_H */
