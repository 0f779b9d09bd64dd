/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side of one attached cgroup: its program instance, links and
 * maps pinned under EGR_PIN_ROOT/<cgroup id>/. Every egressctl process
 * opens the pins afresh; nothing is kept in userspace between commands.
 * These are the primitives; attaching and detaching a target as a whole
 * (with the packet-socket guard, the registry and strict mode) is
 * user/ops/attach.c. Functions that fail with a message put it in err.
 */
#ifndef EGR_KSTATE_H
#define EGR_KSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "egressctl.h"

struct egr_kstate {
	uint64_t cgid;
	char dir[128]; /* the pin directory */
	int ctl_fd, meta_fd, v4_fd, v6_fd, rules_fd, hits_fd, stats_fd, free_fd;
	int names_fd, nlive_fd, learn_fd; /* name rules (include/egressctl.h) */
	int ncpus;
	struct egr_meta meta;
	struct egr_ctl *ctl_mm; /* egr_ctl mmap()ed on first use (kgen.c); NULL */
};

struct egr_attach_opts {
	uint8_t dflt;	    /* EGR_ALLOW / EGR_DENY */
	bool audit;
	uint32_t max_rules; /* 0: EGR_DEFAULT_MAX_RULES */
	uint32_t max_learned; /* 0: EGR_DEFAULT_MAX_LEARNED */
	bool no_verdict_cache; /* benchmarks only: judge every packet in full */
	bool preloaded; /* take a preloaded instance if one fits (kernel/kpool.h) */
	/* Pinned in place but not attached: the caller fills the policy in,
	 * then attaches the links (kstate_repair()). A process can then never
	 * connect() under the empty default-deny policy of a new instance:
	 * its socket hooks would refuse at once, for good.
	 */
	bool no_links;
};

struct egressctl_bpf; /* the skeleton, build/egressctl.skel.h */

/* Load one program instance: the one function every way of making an
 * instance goes through (attach, capacity growth, tests, benchmarks).
 * Opens the object, sizes its maps for o->max_rules (0: the default),
 * loads it (the verifier: most of the cost) and initialises its maps:
 * empty tries in both slots, egr_ctl with o's default and audit flag and
 * generation 2, egr_meta (label, cgid, load flags), egr_evcfg, the
 * egr_comm overflow key. ks gets the map fds and meta; the skeleton owns
 * the fds (no kstate_close()). The caller destroys *skel. Nothing is
 * pinned or attached.
 *
 * Load-time settings (egr_meta.flags): the socket hooks refuse TCP
 * connects with ECONNREFUSED when kstate_have_set_retval() and the
 * environment has no EGRESSCTL_TEST_NO_SET_RETVAL=1 (a test hook: EPERM
 * then, as on kernels before 6.1); o->no_verdict_cache (benchmarks).
 */
int kstate_load(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		struct egressctl_bpf **skel, struct egr_kstate *ks, char *err, size_t errlen);

/* The same, as the successor of the attached instance from (pins open):
 * its load-time settings, and its maps that must outlive the swap
 * (egr_sk, egr_stats, egr_events, egr_evcfg, egr_comm) taken over
 * instead of new ones (kgrow.c). egr_evcfg is left as it is.
 */
int kstate_load_ex(const struct egr_attach_opts *o, const char *label, uint64_t cgid,
		   const struct egr_kstate *from, struct egressctl_bpf **skel,
		   struct egr_kstate *ks, char *err, size_t errlen);

/* The load-time settings (egr_meta.flags) an instance loaded now for o
 * gets: o's and the environment's.
 */
uint32_t kstate_load_flags(const struct egr_attach_opts *o);

/* Can socket-address programs call bpf_set_retval() here (a load probe)? */
bool kstate_have_set_retval(void);

/* The programs of an instance and their links on the cgroup, in the order
 * they are attached (the egress filter first).
 */
struct kstate_hook {
	const char *prog;     /* program name in the object */
	const char *prog_pin; /* its pin, and its link's pin */
	const char *link_pin;
	int type;	      /* enum bpf_attach_type */
};
#define KSTATE_NHOOKS 7
extern const struct kstate_hook kstate_hooks[KSTATE_NHOOKS];

/* Pin a loaded instance's maps and programs into dir (no links). */
int kstate_pin(struct egressctl_bpf *skel, const char *dir);

/* The pins an instance's directory may hold (kernel/pindir.h). */
struct pinset;
const struct pinset *kstate_pinset(void);

/* Point every link pinned in dir at the program pinned beside it where it
 * does not already (bpf_link_update(): atomic per link and cgroup). *n
 * counts the links changed. The last step of swapping in an instance
 * (kgrow.c), and its repair when that was interrupted.
 */
int kstate_finish_swap(const char *dir, int *n);

/* Mount bpffs at /sys/fs/bpf if needed and create EGR_PIN_ROOT (0700). */
int kstate_prepare(char *err, size_t errlen);

/* Are there pins for cgroup cgid (attached, or an attach or detach
 * interrupted)?
 */
bool kstate_pinned(uint64_t cgid);

/* Load a program instance for the cgroup directory cgpath (id cgid; rel is
 * its path below the cgroup v2 mount, kept for display), pin its maps and
 * programs, attach and pin its links (not with o->no_links).
 */
int kstate_create(const char *cgpath, const char *rel, uint64_t cgid,
		  const struct egr_attach_opts *o, char *err, size_t errlen);

/* The same with an instance already loaded and pinned in the temporary
 * directory tmp (a preloaded one, kernel/kpool.h): egr_meta is made to name
 * cgid and rel, then it is placed and (unless no_links) attached as
 * kstate_create() does. On failure tmp is removed.
 */
int kstate_adopt(const char *tmp, const char *cgpath, const char *rel, uint64_t cgid,
		 bool no_links, char *err, size_t errlen);

/* Remove the pins of an instance in dir, then dir. 0 or -ENOTEMPTY. */
int kstate_dir_remove(const char *dir);

/* How many of the links of cgid's pins are missing (an interrupted
 * command, or an attach with no_links not finished yet).
 */
unsigned int kstate_links_missing(uint64_t cgid);

/* Attach the links an interrupted command left missing in the pins of cgid;
 * *made counts them.
 */
int kstate_repair(const char *cgpath, uint64_t cgid, int *made, char *err, size_t errlen);

/* Open the pins of an attached cgroup. -ENOENT when not attached; -EPROTO
 * when the pins are not egressctl's; -EPROTONOSUPPORT when they are of
 * another map layout (ks->meta.abi says which).
 */
int kstate_open(uint64_t cgid, struct egr_kstate *ks);

/* The error line for a target of another map layout (abi), with the
 * commands that upgrade it; spec: the target as the user wrote it (NULL:
 * label).
 */
void kstate_other_layout(const char *label, uint32_t abi, const char *spec, char *err,
			 size_t errlen);
void kstate_close(struct egr_kstate *ks);

/* Open one more pin of an attached cgroup by name ("egr_events", ...). */
int kstate_open_pin(const struct egr_kstate *ks, const char *name);

/* Write ks->meta to egr_meta. 0 or -errno. */
int kstate_write_meta(const struct egr_kstate *ks);

/* Remove what attaches and detaches killed mid-way left (tmp-*, dead-*). */
void kstate_clean_stale(void);

/* Remove the pins of cgid (its links first: the kernel detaches the
 * program) if egressctl made them. -ENOENT when there are none; once they
 * have left their name (the target is detached) only -ENOTEMPTY.
 */
int kstate_remove(uint64_t cgid, char *err, size_t errlen);

/* Cgroup ids with pins under EGR_PIN_ROOT. *ids is malloc'd. */
int kstate_list(uint64_t **ids, size_t *n);

/* Is the link pin gone (an interrupted attach or detach)? 1 yes. */
int kstate_link_missing(const struct egr_kstate *ks);

/* Is the egress link still attached to a live cgroup? 1 yes, 0 defunct. */
int kstate_link_alive(const struct egr_kstate *ks);

/* Sum the per-CPU counters. */
int kstate_stats(const struct egr_kstate *ks, struct egr_counter out[EGR_STAT_MAX]);

/* Serialize changes to pinned state across processes (flock). */
int kstate_lock(void);
void kstate_unlock(int fd);

#endif /* EGR_KSTATE_H */
