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
#include "egressctl.h"
#include "rule.h"

struct egr_kstate {
	uint64_t cgid;
	char dir[128]; /* the pin directory */
	int ctl_fd, meta_fd, v4_fd, v6_fd, rules_fd, hits_fd, stats_fd, free_fd;
	int ncpus;
	struct egr_meta meta;
};

struct egr_attach_opts {
	uint8_t dflt;	    /* EGR_ALLOW / EGR_DENY */
	bool audit;
	uint32_t max_rules; /* 0: EGR_DEFAULT_MAX_RULES */
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
 * when the pins are not egressctl's (or of another ABI version).
 */
int kstate_open(uint64_t cgid, struct egr_kstate *ks);
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

/* Empty tries of capacity cap: fds[0] IPv4, fds[1] IPv6. Installing them
 * into an outer map makes the kernel wait for running programs (RCU).
 */
int kstate_create_tries(uint32_t cap, int fds[2]);
int kstate_install_tries(int v4_fd, int v6_fd, uint32_t slot, const int fds[2]);

/* The trie in slot slot of an outer map (egr_v4/egr_v6): fd or -errno. */
int kstate_trie_fd(int outer_fd, uint32_t slot);

/* Sum the per-CPU counters. */
int kstate_stats(const struct egr_kstate *ks, struct egr_counter out[EGR_STAT_MAX]);

/* Read the active slot's default and flags. */
int kstate_slot_cfg(const struct egr_kstate *ks, struct egr_ctl *cfg);

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
int kstate_update_many(int fd, const void *keys, const void *vals, uint32_t n, size_t ksz,
		       size_t vsz);

/* Serialize changes to pinned state across processes (flock). */
int kstate_lock(void);
void kstate_unlock(int fd);

#endif /* EGR_KSTATE_H */
