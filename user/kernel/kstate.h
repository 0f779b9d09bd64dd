/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side of one attached cgroup: its program instance, links and
 * maps pinned under EGR_PIN_ROOT/<cgroup id>/. Every egressctl process
 * opens the pins afresh; nothing is kept in userspace between commands.
 */
#ifndef EGR_KSTATE_H
#define EGR_KSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "egressctl.h"
#include "policy/rule.h"

struct egr_kstate {
	uint64_t cgid;
	char dir[128]; /* the pin directory */
	int ctl_fd, meta_fd, v4_fd, v6_fd, rules_fd, hits_fd, stats_fd, free_fd;
	int ncpus;
	struct egr_meta meta;
	struct egr_ctl *ctl_mm; /* egr_ctl mmap()ed on first use (kgen.c); NULL */
};

struct egr_attach_opts {
	uint8_t dflt;	    /* EGR_ALLOW / EGR_DENY */
	bool audit;
	uint32_t max_rules; /* 0: EGR_DEFAULT_MAX_RULES */
	bool no_verdict_cache; /* benchmarks only: judge every packet in full */
};

struct egressctl_bpf; /* the skeleton, build/egressctl.skel.h */

/* Open and load one program instance sized for o->max_rules (0: the
 * default) and initialise its maps: empty tries in both slots, egr_ctl with
 * o's default and audit flag, egr_meta (label, cgid), egr_evcfg. ks gets
 * the map fds and meta; the skeleton owns the fds (no kstate_close()). The
 * caller destroys *skel. Nothing is pinned or attached.
 */
int kstate_load(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		struct egressctl_bpf **skel, struct egr_kstate *ks);

/* Mount bpffs at /sys/fs/bpf if needed and create EGR_PIN_ROOT (0700). */
int kstate_prepare(void);

/* Attach to the cgroup directory cgpath (id cgid; rel is its path below the
 * cgroup v2 mount, kept for display). Loads a program
 * instance, creates and pins its maps and links. If the cgroup is already
 * attached, changes nothing and sets *created = false.
 */
int kstate_attach(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, bool *created);

/* Open the pins of an attached cgroup. -ENOENT when not attached; -EPROTO
 * when the pins are not egressctl's; -EPROTONOSUPPORT when they are of
 * another map layout (ks->meta.abi says which).
 */
int kstate_open(uint64_t cgid, struct egr_kstate *ks);

/* The one-line error for a target of another map layout (abi), with how to
 * upgrade it; spec: the target as the user wrote it, or NULL.
 */
void kstate_pr_other_layout(const char *label, uint32_t abi, const char *spec);
void kstate_close(struct egr_kstate *ks);

/* Open one more pin of an attached cgroup by name ("egr_events", ...). */
int kstate_open_pin(const struct egr_kstate *ks, const char *name);

/* What to call a target in output: the container name when the state
 * directory knows the cgroup (see state.c), else "cgroup:<path>".
 */
const char *kstate_label(const struct egr_kstate *ks, char *buf, size_t len);

/* Remove what attaches and detaches killed mid-way left (tmp-*, dead-*). */
void kstate_clean_stale(void);

/* Remove the links (the kernel detaches the program) and every pin. */
int kstate_detach(uint64_t cgid);

/* Cgroup ids with pins under EGR_PIN_ROOT. *ids is malloc'd. */
int kstate_list(uint64_t **ids, size_t *n);

/* Is the link pin gone (an interrupted attach or detach)? 1 yes. */
int kstate_link_missing(const struct egr_kstate *ks);

/* Is the egress link still attached to a live cgroup? 1 yes, 0 defunct. */
int kstate_link_alive(const struct egr_kstate *ks);

/* --- the tries of a slot (ktries.c) --- */

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

/* Sum the per-CPU counters. */
int kstate_stats(const struct egr_kstate *ks, struct egr_counter out[EGR_STAT_MAX]);

/* Read the active slot's default and flags. */
/* The id of the BPF map behind fd, or 0. */
uint32_t kstate_map_id(int fd);

int kstate_slot_cfg(const struct egr_kstate *ks, struct egr_ctl *cfg);
/* The policy generation (user/kgen.c): read it, store a new value, or bump
 * it after a change (flip: the other slot becomes live).
 */
int kstate_gen_read(const struct egr_kstate *ks, uint64_t *gen);
int kstate_gen_publish(const struct egr_kstate *ks, uint64_t gen);
int kstate_gen_bump(const struct egr_kstate *ks, bool flip);
/* Drop the mapping kgen.c made (kstate_close() does). */
void kstate_gen_unmap(struct egr_kstate *ks);

/* --- policy (kpolicy.c) --- */

/* A rule in force, read back from the kernel. */
struct egr_live_rule {
	struct egr_urule rule;
	struct egr_rule krule; /* as the kernel holds it (.id == id) */
	uint32_t id;
	uint64_t hits;
};

/* Read the active policy (rules sorted by family, prefix, deny first). */
int kpolicy_read(const struct egr_kstate *ks, struct egr_policy *pol, struct egr_live_rule **rules,
		 size_t *n);

/* The same; with_hits false skips reading the counters (hits = 0). */
int kpolicy_read_ex(const struct egr_kstate *ks, struct egr_policy *pol,
		    struct egr_live_rule **rules, size_t *n, bool with_hits);

/* Add (allow/deny) or remove rules live. All-or-nothing: every check is
 * made before the first write. err gets one line on failure.
 */
int kpolicy_add(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		size_t errlen);
int kpolicy_remove(struct egr_kstate *ks, const struct egr_urule *r, size_t n, char *err,
		   size_t errlen);

/* Replace the whole policy atomically (default, audit and rules). */
int kpolicy_apply(struct egr_kstate *ks, const struct egr_policy *p, char *err, size_t errlen);

/* apply reads the live policy to keep rule ids (and so hit counters) of
 * rules that stay. With a big policy, start that read first, in a thread,
 * while the file is parsed, then hand it to kpolicy_apply_prefetched()
 * (which joins and frees it). Hold the lock from before the start.
 */
struct egr_prefetch;
int kpolicy_prefetch(const struct egr_kstate *ks, struct egr_prefetch **pf);
int kpolicy_apply_prefetched(struct egr_kstate *ks, const struct egr_policy *p,
			     struct egr_prefetch *pf, char *err, size_t errlen);
void kpolicy_prefetch_cancel(struct egr_prefetch *pf);

/* Change the default verdict / audit flag of the live slot. */
int kpolicy_set_cfg(struct egr_kstate *ks, int dflt, int audit);

/* Rebuild egr_meta's counts and the rule-id free stack from the live slot
 * (after a change whose process died: egr_meta.dirty). Under the lock.
 */
int kpolicy_recover(struct egr_kstate *ks);

/* Update n elements (keys, values of the sizes given), batched. */
/* The rule-id cache (idcache.c): the rules in force with their ids, as
 * the last apply left them, if nothing changed since; 0, or -errno (then
 * read the kernel). _save after an apply; _drop at detach.
 */
struct egr_crule;
struct egr_compiled;
int idcache_load(const struct egr_kstate *ks, struct egr_crule **out, size_t *n);
int idcache_save(const struct egr_kstate *ks, const struct egr_compiled *c);
void idcache_drop(uint64_t cgid);

int kstate_update_many(int fd, const void *keys, const void *vals, uint32_t n, size_t ksz,
		       size_t vsz);

/* Serialize changes to pinned state across processes (flock). */
int kstate_lock(void);
void kstate_unlock(int fd);

#endif /* EGR_KSTATE_H */
