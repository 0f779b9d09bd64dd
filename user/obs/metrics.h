/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus text exposition (format 0.0.4) of every attached cgroup, shared
 * by `egressctl metrics` and `egressctl serve`. Reading the kernel
 * (metrics_collect) and formatting (metrics_format) are separate so the
 * formatting is testable without BPF.
 */
#ifndef EGR_METRICS_H
#define EGR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "kernel/kread.h"
#include "kernel/kstate.h"
#include "util/err.h"

/* A snapshot of one attached cgroup. */
struct metrics_target {
	char label[300]; /* target_label() */
	char cgroup[256]; /* cgroup path (egr_meta.path) */
	uint64_t cgid;
	bool alive; /* the egress link is attached to a live cgroup */
	bool audit;
	struct egr_counter st[EGR_STAT_MAX];
	uint32_t capacity; /* egr_meta.max_rules */
	uint32_t nprefix[2]; /* prefixes with rules: [0] IPv4, [1] IPv6 */
	uint32_t nnames;     /* names with rules */
	uint32_t max_learned; /* egr_meta.max_learned */
	uint32_t learned;    /* addresses learned that have not all expired */
	struct egr_live_rule *rules; /* sorted as kpolicy_read() sorts */
	size_t nrules;
	struct egr_comm_stat *comm; /* refused calls per process name (kread_comm()) */
	size_t ncomm;
};

/* Snapshot every attached target, or (nonly > 0) those among the cgroup ids
 * only[0..nonly) (pins not made by egressctl are skipped; a target that
 * cannot be read is left out, with a warning). *out is malloc'd; free with
 * metrics_free(). 0 or -errno.
 */
int metrics_collect(const uint64_t *only, size_t nonly, struct metrics_target **out, size_t *n,
		    struct egr_warn *warn);
void metrics_free(struct metrics_target *t, size_t n);

/* Write the exposition of n targets to f. version/libbpf go into
 * egressctl_build_info. Of targets with the same label (a defunct cgroup
 * and its live successor under one container name) only one is written,
 * the live one, so no series repeats. 0, -ENOMEM, or -EIO if writing to f
 * failed.
 */
int metrics_format(FILE *f, const struct metrics_target *t, size_t n, const char *version,
		   const char *libbpf);

/* The strict-mode guard's families: egressctl_guard_installed always; with
 * gi (NULL: none pinned) where it is attached, its cgroups by state (held:
 * live cgroups it drops everything of) and its packets by verdict.
 */
struct egr_guard_info;
int metrics_format_guard(FILE *f, const struct egr_guard_info *gi, size_t held);

/* metrics_collect() + metrics_format() (+ the guard's families when every
 * target is asked for) into a malloc'd buffer. 0 or -errno.
 */
int metrics_render(const uint64_t *only, size_t nonly, char **buf, size_t *len,
		   struct egr_warn *warn);

/* Write s as a label value: backslash, double quote and newline escaped as
 * \\, \" and \n; bytes that are not UTF-8 replaced by U+FFFD (Prometheus
 * refuses them); everything else as is. No quotes around it.
 */
void metrics_escape(FILE *f, const char *s);

/* A process name (comm, up to 16 bytes) as text that is safe in a label, a
 * JSON string and on a terminal, and tells names apart: printable ASCII as
 * is but for %, " and backslash, every other byte as %XX. buf: 49 bytes.
 */
const char *metrics_comm_text(const char *comm, char *buf, size_t len);

/* The label value of the names past the bound: longer than any comm can be. */
#define METRICS_COMM_OTHER "_other_processes"

/* The rule as text: "allow 10.0.0.0/8 tcp:443" (the form `list` shows). */
const char *metrics_rule_text(const struct egr_urule *r, char *buf, size_t len);

#endif /* EGR_METRICS_H */
